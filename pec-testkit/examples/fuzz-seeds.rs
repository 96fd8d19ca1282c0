//! Writes the fuzz targets' generated seeds as `DIR/<target>/<name>`
//! ([`pec_testkit::fuzz_seeds`]); `scripts/fuzz.sh` runs it before fuzzing.
//!
//!     cargo run -p pec-testkit --example fuzz-seeds -- DIR

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: fuzz-seeds DIR");
        std::process::exit(64);
    };
    match pec_testkit::fuzz_seeds::write(std::path::Path::new(&dir)) {
        Ok(n) => println!("{n} seeds written to {}", std::path::Path::new(&dir).display()),
        Err(e) => {
            eprintln!("fuzz-seeds: {e}");
            std::process::exit(1);
        }
    }
}
