//! Encryption at rest of the engine's own stores (MAILSEC.md §3): the sealed daily log
//! exports (`DAY.jsonl.p7m`, written after sealing: the time stamp covers the plaintext) and
//! the quarantine (`<identifier>.eml.p7m`), as CMS EnvelopedData to every `[atrest]`
//! recipient (`pec_core::atrest`). **Never a PEC mailbox**: the engine does not write one.
//!
//! The plaintext is encrypted from memory: it never reaches the disk. Each file is written
//! to a temporary name beside it, synced and renamed, so a reader sees either nothing or the
//! whole file.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use pec_core::atrest::{Recipient, encrypt_bytes};

use crate::EngineError;

/// Whom the engine encrypts its stores to (`[atrest] recipients`, `key_transport`).
#[derive(Clone, Debug)]
pub struct AtRest {
    recipients: Vec<Recipient>,
}

impl AtRest {
    /// At rest to `recipients` (at least one).
    ///
    /// # Errors
    /// [`EngineError::Config`] without recipients.
    pub fn new(recipients: Vec<Recipient>) -> Result<AtRest, EngineError> {
        if recipients.is_empty() {
            return Err(EngineError::Config("[atrest] recipients is empty".into()));
        }
        Ok(AtRest { recipients })
    }

    /// The recipients.
    pub fn recipients(&self) -> &[Recipient] {
        &self.recipients
    }

    /// The CMS EnvelopedData (DER) of `plaintext` to every recipient.
    ///
    /// # Errors
    /// [`EngineError::Build`] when encryption fails.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, EngineError> {
        Ok(encrypt_bytes(plaintext, &self.recipients)?)
    }

    /// Writes `plaintext` encrypted to `path` (atomically: a temporary file beside it,
    /// synced, renamed).
    ///
    /// # Errors
    /// [`EngineError::Build`] when encryption fails, [`EngineError::Config`] when the file
    /// cannot be written.
    pub fn write(&self, path: &Path, plaintext: &[u8]) -> Result<(), EngineError> {
        let der = self.encrypt(plaintext)?;
        write_atomic(path, &der)
            .map_err(|e| EngineError::Config(format!("{}: {e}", path.display())))
    }
}

/// Writes `bytes` to `path` through a temporary file beside it (synced, then renamed).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // the rename itself survives a crash once the directory is synced
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The quarantine (`[quarantine] dir`): the bytes of every message the access or incoming
/// point quarantined (a virus), kept for 30 months as `<identifier>.eml.p7m`, encrypted to
/// the `[atrest]` recipients (`<identifier>.eml` without `[atrest]`), written in the event's
/// transaction before it commits: a message is never answered 250 without its copy.
#[derive(Clone, Debug)]
pub struct Quarantine {
    dir: PathBuf,
    atrest: Option<Arc<AtRest>>,
}

/// A message kept in the quarantine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quarantined {
    /// The file written.
    pub path: PathBuf,
    /// SHA-256 of the plaintext (hex): the exact bytes received.
    pub sha256: String,
}

impl Quarantine {
    /// The quarantine in `dir`, encrypted to `atrest` when given.
    pub fn new(dir: PathBuf, atrest: Option<Arc<AtRest>>) -> Quarantine {
        Quarantine { dir, atrest }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `identifier`: `<identifier>.eml.p7m` (`.eml` without `[atrest]`); the
    /// characters of an identifier outside `A-Z a-z 0-9 . _ @ + -` become `_`.
    pub fn path_of(&self, identifier: &str) -> PathBuf {
        let safe: String = identifier
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '+' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let safe = safe.trim_start_matches('.');
        let safe = if safe.is_empty() { "_" } else { safe };
        let ext = if self.atrest.is_some() { "eml.p7m" } else { "eml" };
        self.dir.join(format!("{safe}.{ext}"))
    }

    /// Keeps `bytes` (the message as received) under `identifier`. A copy already kept there
    /// is never replaced (it is evidence): another message under the same identifier goes to
    /// `<identifier>.<first 16 hex digits of its SHA-256>.eml.p7m`, which the same bytes
    /// kept again (a retried transaction) replace with an equal copy.
    ///
    /// # Errors
    /// [`EngineError::Store`] (temporary: the MTA keeps the message and retries) when the
    /// directory or file cannot be written; [`EngineError::Build`] when encryption fails.
    pub fn keep(&self, identifier: &str, bytes: &[u8]) -> Result<Quarantined, EngineError> {
        let io = |p: &Path, e: std::io::Error| {
            EngineError::Store(format!("quarantine {}: {e}", p.display()))
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        let sha256 = crate::legal::hex(&Sha256::digest(bytes));
        let mut path = self.path_of(identifier);
        if path.exists() {
            let name =
                path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let ext = if self.atrest.is_some() { ".eml.p7m" } else { ".eml" };
            let stem = name.strip_suffix(ext).unwrap_or(&name);
            path = self.dir.join(format!("{stem}.{}{ext}", &sha256[..16]));
        }
        match &self.atrest {
            Some(a) => {
                let der = a.encrypt(bytes)?;
                write_atomic(&path, &der).map_err(|e| io(&path, e))?;
            }
            None => write_atomic(&path, bytes).map_err(|e| io(&path, e))?,
        }
        Ok(Quarantined { path, sha256 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_stay_inside_the_directory() {
        let q = Quarantine::new(PathBuf::from("/q"), None);
        assert_eq!(
            q.path_of("opec1.20261201@pec.a.test"),
            Path::new("/q/opec1.20261201@pec.a.test.eml")
        );
        assert_eq!(q.path_of("../../etc/passwd"), Path::new("/q/_.._etc_passwd.eml"));
        assert_eq!(q.path_of("<a/b>"), Path::new("/q/_a_b_.eml"));
        assert_eq!(q.path_of(".."), Path::new("/q/_.eml"));
        assert_eq!(q.path_of(""), Path::new("/q/_.eml"));
    }

    #[test]
    fn a_kept_copy_is_never_replaced_by_another_message() {
        let d = tempfile::tempdir().unwrap();
        let q = Quarantine::new(d.path().to_path_buf(), None);
        let first = q.keep("id@x", b"first").unwrap();
        assert_eq!(first.path, d.path().join("id@x.eml"));
        let second = q.keep("id@x", b"second").unwrap();
        assert_ne!(second.path, first.path);
        assert_eq!(std::fs::read(&first.path).unwrap(), b"first");
        assert_eq!(std::fs::read(&second.path).unwrap(), b"second");
        assert_eq!(q.keep("id@x", b"second").unwrap(), second, "the same bytes: the same file");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2, "no temporary file left");
    }
}
