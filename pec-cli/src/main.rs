//! `pec`: inspect, build, sign and verify Italian certified email (PEC), and query the
//! providers index.
//!
//! Exit codes are part of the contract: see each subcommand.

mod bench;
mod input;
mod inspect;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Italian certified email (PEC, RFC 6109) from the command line.
#[derive(Debug, Parser)]
#[command(name = "pec", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and classify a message. Exit 0 when the file was read (PEC or not), 2 when it
    /// could not be read or parsed.
    Inspect(inspect::Args),
    /// In-process throughput of signing, verification, parsing and index look-ups.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect(a) => inspect::run(&a),
        Command::Bench(a) => bench::run(&a),
    }
}
