//! # pec-testkit
//!
//! What pec's tests, `pec demo`, `pec bench` and the criterion benches share, kept out of
//! the engine: `pec-core`'s public API and `libpec` carry none of it. Not published; never a
//! dependency of `pec-ffi` or of `pec-core`'s normal dependencies (a dev-dependency of
//! pec-core's integration tests and benches, a dependency of the `pec` command).
//!
//! - [`pki`]: the generated PKI (root, name-constrained PEC CA, provider certificates, CRLs);
//! - [`scenario`]: two providers on it, with signers, index, trust, CRLs, files for the CLI;
//! - [`workload`]: messages of N KiB, the 20 000-domain index, the bench workloads;
//! - [`env`]: `require_tool` and friends (skip locally, fail under `CI=true`), the interop
//!   directory (`PEC_INTEROP_DIR`, else `<repo>/../shared/interop`);
//! - [`fuzz_seeds`]: seeds for the fuzz targets (the hostile shapes of issue 12);
//! - [`postfix`]: real Postfix instances on 127.0.0.2, 127.0.0.3, … (ENGINE.md §4) and a tiny
//!   SMTP client;
//! - [`softhsm`]: a hermetic SoftHSM2 token and the PKCS#11 throughput helper;
//! - [`smtp`]: an in-test SMTP sink (the MTA's re-injection port), free ports, a command
//!   run with its standard input written from another thread.
//!
//! **Never use these keys for anything real.**
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod env;
pub mod fuzz_seeds;
pub mod pki;
pub mod postfix;
pub mod scenario;
pub mod smtp;
pub mod softhsm;
pub mod tsa;
pub mod workload;

pub use env::{
    TempDir, ci, interop_dir, interop_file, interop_read, openssl_pki, repo_root, require,
    require_path, require_tool, require_tools,
};
pub use pki::{Issued, ProviderSpec, TestPki, pem};
pub use scenario::TwoProviders;
