//! What a test needs from the machine: external tools, files, the interop samples.
//!
//! One rule everywhere: a test that needs something the machine lacks is **skipped locally**
//! (a `SKIP:` line on standard error, the test returns early) and **fails under `CI=true`**,
//! so CI never passes by skipping.

use std::path::{Path, PathBuf};

/// Whether the tests run under CI (`CI=true`): missing tools and samples then fail.
pub fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Skips locally, fails under CI: returns `ok`; when it is false, panics if [`ci`] and
/// otherwise prints `SKIP: <what> missing` and returns false.
///
/// # Panics
/// When `ok` is false and `CI=true`.
pub fn require(what: &str, ok: bool) -> bool {
    if !ok {
        assert!(!ci(), "{what} is required when CI=true");
        eprintln!("SKIP: {what} missing");
    }
    ok
}

/// Whether the program `name` can be run: a path that names a file, or a name found in a
/// directory of `PATH`. Under [`require`]: skipped locally, a failure under `CI=true`.
///
/// # Panics
/// When the tool is missing and `CI=true`.
pub fn require_tool(name: &str) -> bool {
    require(name, tool_exists(name))
}

/// [`require_tool`] for every tool named (all are looked up; the missing ones are named).
///
/// # Panics
/// When one is missing and `CI=true`.
pub fn require_tools(names: &[&str]) -> bool {
    let missing: Vec<&str> = names.iter().copied().filter(|n| !tool_exists(n)).collect();
    require(&missing.join(", "), missing.is_empty())
}

/// Whether `path` exists (a file such as a PKCS#11 module, or a directory such as
/// `/etc/ssl/certs`), under [`require`].
///
/// # Panics
/// When it does not exist and `CI=true`.
pub fn require_path(path: impl AsRef<Path>) -> bool {
    let path = path.as_ref();
    require(&path.display().to_string(), path.exists())
}

fn tool_exists(name: &str) -> bool {
    let p = Path::new(name);
    if p.components().count() > 1 {
        return p.is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()))
}

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The real PEC messages (`interop/`, never copied into the repository): `PEC_INTEROP_DIR`
/// when set, else `shared/interop` beside the repository (`<repo>/../shared/interop`).
/// `None` (skipped locally, a failure under `CI=true`) when the directory does not exist.
///
/// # Panics
/// When the directory is missing and `CI=true`.
pub fn interop_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("PEC_INTEROP_DIR") {
        Some(d) => PathBuf::from(d),
        None => repo_root().join("../shared/interop"),
    };
    require(&format!("interop samples at {}", dir.display()), dir.is_dir()).then_some(dir)
}

/// The interop sample `name` (a path below [`interop_dir`]), or `None` as there.
///
/// # Panics
/// When the directory is missing and `CI=true`.
pub fn interop_file(name: &str) -> Option<PathBuf> {
    interop_dir().map(|d| d.join(name))
}

/// The bytes of the interop sample `name`, or `None` as in [`interop_dir`].
///
/// # Panics
/// When the directory is missing and `CI=true`, or the file does not read.
pub fn interop_read(name: &str) -> Option<Vec<u8>> {
    let path = interop_file(name)?;
    Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The repository's openssl-made PKI (`tests/pki/make-pki.sh`: root, PEC CA, providers,
/// expired, revoked, CRLs, ...), created once per test binary in a temporary directory;
/// `None` when openssl is missing (skipped locally, a failure under `CI=true`).
///
/// # Panics
/// When openssl is missing under `CI=true`, or the script fails.
pub fn openssl_pki() -> Option<&'static Path> {
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        if !require_tool("openssl") {
            return None;
        }
        let dir = std::env::temp_dir().join(format!("pec-openssl-pki-{}", std::process::id()));
        let started = std::time::Instant::now();
        let script = repo_root().join("tests/pki/make-pki.sh");
        let status = std::process::Command::new("bash").arg(&script).arg(&dir).status();
        assert!(status.is_ok_and(|s| s.success()), "{} failed", script.display());
        eprintln!("test PKI created in {:?}", started.elapsed());
        Some(dir)
    })
    .as_deref()
}

/// A fresh directory under the system temporary directory, unique in this process (tag,
/// process id, counter); removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `pec-<tag>-<pid>-<n>` under the temporary directory.
    ///
    /// # Panics
    /// When the directory cannot be created.
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("pec-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        if let Err(e) = std::fs::create_dir_all(&p) {
            panic!("{}: {e}", p.display());
        }
        TempDir(p)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// A path inside it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_found_on_path_or_by_path() {
        assert!(tool_exists("sh"));
        assert!(tool_exists("/bin/sh"));
        assert!(!tool_exists("pec-no-such-tool-here"));
        assert!(!tool_exists("/nonexistent/bin/sh"));
    }

    #[test]
    fn present_things_are_required_without_panic() {
        assert!(require("something present", true));
        assert!(require_tools(&["sh"]));
        assert!(require_path("/"));
    }

    #[test]
    fn temp_dirs_are_distinct_and_removed() {
        let a = TempDir::new("kit");
        let b = TempDir::new("kit");
        assert_ne!(a.dir(), b.dir());
        let p = a.dir().to_path_buf();
        std::fs::write(a.path("x"), b"x").unwrap();
        drop(a);
        assert!(!p.exists());
    }
}
