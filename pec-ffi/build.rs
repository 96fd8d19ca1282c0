//! Link arguments of libpec, set here and nowhere else.
//!
//! The shared library carries the SONAME `libpec.so.<major>` (`libpec.so.0` while the version
//! is 0.x), so programs linked against it keep working across compatible updates;
//! `pec-ffi/install.sh` installs `libpec.so.<version>` with the `libpec.so.<major>` and
//! `libpec.so` links.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    if matches!(os.as_str(), "linux" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "android") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpec.so.{major}");
    }
}
