//! `pec`: inspect, build, sign and verify Italian certified email (PEC), and query the
//! providers index.
//!
//! Exit codes are part of the contract: see each subcommand and [`EXIT_STATUS`].

mod atrest;
mod bench;
mod bench_engine;
mod build;
mod demo;
mod engine;
mod index;
mod input;
mod inspect;
mod log;
mod mailsec;
mod output;
mod pkcs11;
mod serve;
mod values;
mod verify;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Exit status of a usage error (BSD `sysexits.h` `EX_USAGE`): an unknown option, a value
/// outside its set, a missing argument. Distinct from 2, input that could not be read.
pub const EX_USAGE: u8 = 64;

/// The exit statuses, shown at the end of `pec --help` and in the man page.
const EXIT_STATUS: &str = "\
Exit status:
  0   success (verify: every message valid; index lookup: found)
  1   verify: a message invalid or indeterminate; index lookup: not found
  2   an input could not be read or parsed, or building/signing failed
  64  usage error: unknown option or subcommand, a value not in its set, a missing argument";

/// Italian certified email (PEC, RFC 6109) from the command line.
#[derive(Debug, Parser)]
#[command(name = "pec", version, about, after_help = EXIT_STATUS)]
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
    /// Verify signed messages, one or many (`--json`: one object per line with a `file` key
    /// when more than one). Exit status is the worst verdict: 0 valid, 1 invalid or
    /// indeterminate, 2 unreadable input.
    Verify(verify::Args),
    /// The providers index.
    #[command(subcommand)]
    Index(index::Command),
    /// TLS material for inter-provider mail: certificate fingerprints, TLSA records.
    #[command(subcommand)]
    Tls(mailsec::TlsCommand),
    /// DKIM: the DNS record of a signing key (`pec build --dkim-key ...` signs).
    #[command(subcommand)]
    Dkim(mailsec::DkimCommand),
    /// A complete PEC exchange between two providers on an embedded default (no server,
    /// no network), writing every message produced.
    Demo(demo::Args),
    /// In-process throughput of signing, verification, parsing and index look-ups.
    Bench(bench::Args),
    /// Encrypt a file at rest (CMS EnvelopedData, RSA-OAEP and AES-256-CBC) to recipient
    /// certificates, or (--pgp, feature `openpgp`) an OpenPGP message to GnuPG keys:
    /// quarantine, sealed log exports, archives; never a PEC mailbox. Exit 0 on success, 2 on
    /// any error.
    Encrypt(atrest::EncryptArgs),
    /// Decrypt what `pec encrypt` or `openssl cms -encrypt` wrote, with a key file or a
    /// PKCS#11 key. Exit 0 on success, 2 on any error (discard the output then).
    Decrypt(atrest::DecryptArgs),
    /// Print a shell completion script: `pec completions bash > /etc/bash_completion.d/pec`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page pec(1) in roff (`pec man | man -l -`), or with --dir write
    /// pec(1) and one page per subcommand (pec-verify.1, ...) into a directory.
    Man {
        /// Write every page into this directory instead of printing pec(1).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// The provider engine's state and timers.
    #[command(subcommand)]
    Engine(engine::Command),
    /// The legal log: export, seal (RFC 3161), verify, search, purge.
    #[command(subcommand)]
    Log(log::Command),
    /// Run the provider behind an MTA: SMTP access and incoming points, LMTP delivery
    /// point, re-injection to [relay] smtp, timers, daily seal, admin socket (docs/SERVE.md).
    /// Foreground, logs on stderr; SIGTERM/SIGINT stop it cleanly (exit 0). Exit 2 on a
    /// configuration or start-up error.
    Serve(serve::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version print on stdout and succeed; everything else is a usage
            // error, exit 64, never 2 (which means unreadable input)
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(EX_USAGE) } else { ExitCode::SUCCESS };
        }
    };
    match cli.command {
        Command::Inspect(a) => inspect::run(&a),
        Command::Build(a) => build::run(&a),
        Command::Sign(a) => build::run_sign(&a),
        Command::Verify(a) => verify::run(&a),
        Command::Index(c) => index::run(&c),
        Command::Tls(c) => mailsec::run_tls(&c),
        Command::Dkim(c) => mailsec::run_dkim(&c),
        Command::Demo(a) => demo::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Encrypt(a) => atrest::run_encrypt(&a),
        Command::Decrypt(a) => atrest::run_decrypt(&a),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "pec", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man { dir } => man(dir.as_deref()),
        Command::Engine(c) => engine::run(&c),
        Command::Log(c) => log::run(&c),
        Command::Serve(a) => serve::run(&a),
    }
}

/// Prints a usage error of `pec SUBCOMMAND` the way clap does and returns [`EX_USAGE`].
pub fn usage_error(subcommand: &str, message: &str) -> ExitCode {
    let mut cli = Cli::command().bin_name("pec");
    cli.build();
    let kind = clap::error::ErrorKind::MissingRequiredArgument;
    let e = match cli.find_subcommand_mut(subcommand) {
        Some(sub) => sub.error(kind, message),
        None => cli.error(kind, message),
    };
    let _ = e.print();
    ExitCode::from(EX_USAGE)
}

/// `pec man [--dir DIR]`: pages generated from the same definitions as `--help`.
fn man(dir: Option<&std::path::Path>) -> ExitCode {
    let cmd = Cli::command();
    let r = match dir {
        Some(d) => std::fs::create_dir_all(d).and_then(|()| clap_mangen::generate_to(cmd, d)),
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd).render(&mut out).and_then(|()| out.flush())
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let what = dir.map(|d| d.display().to_string()).unwrap_or_else(|| "<stdout>".into());
            output::print_error(&pec_core::Error::io(what, &e), false);
            ExitCode::from(2)
        }
    }
}
