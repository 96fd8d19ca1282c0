//! PKCS#11 signing throughput on SoftHSM2 (RSA-2048, `CKM_SHA256_RSA_PKCS`): a pool of 4
//! sessions driven by 2 threads against a single session, with the ratio printed.
//!
//! Run: `cargo bench -p pec-core --bench pkcs11`. Skipped (with a message) when SoftHSM2,
//! pkcs11-tool or openssl is absent. The token is created by the test kit
//! (`tests/softhsm/make-token.sh`) in a temporary directory under `target/`.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use pec_core::pkcs11::{CertSource, Pin, Pkcs11Signer, Pkcs11Uri};
use pec_core::signer::Signer;
use pec_testkit::softhsm::{MODULE, make_token, throughput};

#[allow(unsafe_code)]
fn setup() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("pec-pkcs11-bench-{}", std::process::id()));
    let dir = make_token(&dir)?;
    // SAFETY: single-threaded here, before the first C_Initialize.
    unsafe { std::env::set_var("SOFTHSM2_CONF", dir.join("softhsm2.conf")) };
    Some(dir)
}

fn open(dir: &Path, pool: usize) -> Pkcs11Signer {
    let uri = Pkcs11Uri::parse(&format!(
        "pkcs11:token=pec-test;id=%01;type=private?pin-source=file:{}",
        dir.join("pin.txt").display()
    ))
    .expect("URI");
    Pkcs11Signer::open(Path::new(MODULE), &uri, Pin::FromUri, CertSource::FromToken, vec![], pool)
        .expect("open signer")
}

/// Signs `iters` messages with `threads` threads sharing `signer`; returns the wall time.
fn timed(signer: &Pkcs11Signer, threads: u64, iters: u64) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let share = iters / threads + u64::from(t < iters % threads);
            s.spawn(move || {
                for i in 0..share {
                    let message = [t.to_le_bytes(), i.to_le_bytes()].concat();
                    signer.sign(&message).expect("sign");
                }
            });
        }
    });
    start.elapsed()
}

fn main() {
    let Some(dir) = setup() else {
        eprintln!("skipping PKCS#11 benchmark: SoftHSM2 ({MODULE}), pkcs11-tool or openssl absent");
        return;
    };
    let single = open(&dir, 1);
    let pool = open(&dir, 4);

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("pkcs11_sign_rsa2048");
    group.throughput(Throughput::Elements(1));
    group.bench_function("single_session_1_thread", |b| b.iter_custom(|n| timed(&single, 1, n)));
    group.bench_function("single_session_2_threads", |b| b.iter_custom(|n| timed(&single, 2, n)));
    group.bench_function("pool4_2_threads", |b| b.iter_custom(|n| timed(&pool, 2, n)));
    group.finish();

    // The same comparison as a plain rate, through the function `pec bench` uses.
    let window = Duration::from_secs(3);
    let one = throughput(&single, 1, window);
    let contended = throughput(&single, 2, window);
    let pooled = throughput(&pool, 2, window);
    println!("PKCS#11 SoftHSM2 RSA-2048 signatures/s:");
    println!("  single session, 1 thread : {one:8.0}");
    println!("  single session, 2 threads: {contended:8.0}");
    println!("  pool of 4,      2 threads: {pooled:8.0}");
    if one > 0.0 {
        println!("  ratio pool/single        : {:.2}x", pooled / one);
    }
    drop((single, pool));
    let _ = std::fs::remove_dir_all(&dir);
    c.final_summary();
}
