//! Writes two providers for the provider engine's C, Python and Perl tests into DIR
//! ([`pec_testkit::TwoProviders::write_engine_files`]): the test PKI (`root.pem`,
//! `chain.pem`, `a.key`/`a.pem`, `b.key`/`b.pem`), `index.ldif`, and the engine
//! configurations `a-engine.toml` (Example PEC, `pec.example.it`) and `b-engine.toml` (Other
//! PEC, `pec.other.it`). Certificates are valid from a day ago for 30 days.
//!
//!     cargo run -p pec-testkit --example engine-fixtures -- DIR

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: engine-fixtures DIR");
        std::process::exit(64);
    };
    let dir = std::path::Path::new(&dir);
    let result = std::fs::create_dir_all(dir)
        .map_err(|e| pec_core::Error::io(dir.display(), &e))
        .and_then(|()| pec_testkit::TwoProviders::generate(30)?.write_engine_files(dir));
    if let Err(e) = result {
        eprintln!("engine-fixtures: {e}");
        std::process::exit(1);
    }
}
