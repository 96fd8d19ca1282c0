//! A hermetic SoftHSM2 token (`tests/softhsm/make-token.sh`) and, with the `pkcs11`
//! feature, the PKCS#11 signing-throughput helper.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The SoftHSM2 module the tests load.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// Creates a token in `dir` with `tests/softhsm/make-token.sh` (label `pec-test`, PIN 1234
/// in `dir/pin.txt`, an RSA-2048 key and its certificate with id 01, label `provider`;
/// `dir/softhsm2.conf` for `SOFTHSM2_CONF`). `None` when SoftHSM2, pkcs11-tool or openssl
/// is missing (skipped locally, a failure under `CI=true`).
///
/// # Panics
/// When a tool is missing under `CI=true`, or the script fails.
pub fn make_token(dir: &Path) -> Option<PathBuf> {
    if !crate::require_tools(&["softhsm2-util", "pkcs11-tool", "openssl", MODULE]) {
        return None;
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        panic!("{}: {e}", dir.display());
    }
    let script = crate::repo_root().join("tests/softhsm/make-token.sh");
    let out = match Command::new("sh").arg(&script).arg(dir).output() {
        Ok(out) => out,
        Err(e) => panic!("{}: {e}", script.display()),
    };
    assert!(out.status.success(), "make-token.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(dir.to_path_buf())
}

/// Measures signing throughput: `threads` threads sign 64-byte messages through `signer`
/// for about `duration`; returns signatures per second (0 when none succeeded). Failed
/// signatures are not counted.
#[cfg(feature = "pkcs11")]
pub fn throughput(
    signer: &pec_core::pkcs11::Pkcs11Signer,
    threads: usize,
    duration: std::time::Duration,
) -> f64 {
    use pec_core::signer::Signer as _;
    let threads = threads.clamp(1, 256);
    let start = std::time::Instant::now();
    let done: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut message = [0u8; 64];
                    let mut n = 0u64;
                    while start.elapsed() < duration {
                        message[..8].copy_from_slice(&n.to_le_bytes());
                        message[8] = t as u8;
                        if signer.sign(&message).is_ok() {
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    let secs = start.elapsed().as_secs_f64();
    if secs > 0.0 { done as f64 / secs } else { 0.0 }
}
