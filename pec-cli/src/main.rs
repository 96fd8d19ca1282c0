//! `pec`: inspect, build, sign and verify Italian certified email (PEC), and query the
//! providers index.
//!
//! Exit codes are part of the contract: see each subcommand.

mod bench;
mod build;
mod demo;
mod engine;
mod index;
mod input;
mod inspect;
mod output;
mod pkcs11;
mod verify;

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
#[allow(clippy::large_enum_variant)] // parsed once per process
enum Command {
    /// Parse and classify a message. Exit 0 when the file was read (PEC or not), 2 when it
    /// could not be read or parsed.
    Inspect(inspect::Args),
    /// Build an envelope, receipt or notice (signed with --key/--cert or --pkcs11-uri) on
    /// stdout. Exit 0 on success, 2 on any error (nothing is written then).
    Build(build::Args),
    /// Sign a message built without signing options: `pec sign ... < unsigned > signed`.
    /// Exit 0 on success, 2 on any error.
    Sign(build::SignCommand),
    /// Verify a signed message. Exit 0 valid, 1 invalid or indeterminate, 2 unreadable input.
    Verify(verify::Args),
    /// The providers index.
    #[command(subcommand)]
    Index(index::Command),
    /// A complete PEC exchange between two providers on an embedded default (no server,
    /// no network), writing every message produced.
    Demo(demo::Args),
    /// In-process throughput of signing, verification, parsing and index look-ups.
    Bench(bench::Args),
    /// The provider engine's state and timers.
    #[command(subcommand)]
    Engine(engine::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect(a) => inspect::run(&a),
        Command::Build(a) => build::run(&a),
        Command::Sign(a) => build::run_sign(&a),
        Command::Verify(a) => verify::run(&a),
        Command::Index(c) => index::run(&c),
        Command::Demo(a) => demo::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Engine(c) => engine::run(&c),
    }
}
