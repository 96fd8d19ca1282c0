//! `pec verify [--json] FILE... [--ca-file PEM]... [--ca-path DIR] [--crl FILE]...
//! [--index LDIF [--index-signer CERT]...] [--ldap URL [--ldap-base DN]]
//! [--at RFC3339 | --at-signing-time]`.
//!
//! Exit 0 valid, 1 invalid or indeterminate, 2 when the input could not be read. With many
//! files (a mailbox checked in one process: trust anchors, CRLs and index loaded once) each
//! file is verified in turn, an unreadable one does not stop the others, and the exit status
//! is the worst of them; `--json` then prints one object per line with a `file` key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pec_core::open::TrustSources;
use pec_core::smime::{Verdict, VerificationReport, VerifyOptions, VerifyTime};
use pec_core::timeref::TimeReference;
use pec_core::view::ReportView;
use pec_core::{Error, verify_message};
use serde_json::Value;

use crate::output::{error_json, print_error};

/// Arguments of `pec verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// The signed messages (`-` for standard input, at most once).
    #[arg(required = true, num_args = 1..)]
    files: Vec<PathBuf>,
    /// Trust anchors: a PEM bundle or a DER certificate (repeatable).
    #[arg(long = "ca-file")]
    ca_file: Vec<PathBuf>,
    /// A directory of trust anchors, such as /etc/ssl/certs.
    #[arg(long = "ca-path")]
    ca_path: Option<PathBuf>,
    /// A CRL file, PEM or DER (repeatable).
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// Fetch missing CRLs from the certificates' http:// and https:// distribution points
    /// (offline by default; a proxy from HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY).
    #[arg(long = "fetch-crls")]
    fetch_crls: bool,
    /// The providers index as LDIF (plain, or signed `.p7m` signed by an `--index-signer`
    /// and verified against the trust anchors) to use as trust list.
    #[arg(long)]
    index: Option<PathBuf>,
    /// The certificate allowed to sign a `.p7m` index, PEM or DER (repeatable). A signed
    /// index signed by any other certificate, or given without this option, is refused.
    #[arg(long = "index-signer", value_name = "CERT")]
    index_signer: Vec<PathBuf>,
    /// The providers index from an LDAP server (ldap://, ldaps://, ldapi://).
    #[arg(long)]
    ldap: Option<String>,
    /// Base DN of the index on the LDAP server.
    #[arg(long = "ldap-base", default_value = "o=postacert")]
    ldap_base: String,
    /// Evaluate certificates at this instant (RFC 3339).
    #[arg(long, conflicts_with = "at_signing_time", value_parser = crate::values::time)]
    at: Option<TimeReference>,
    /// Evaluate certificates at the CMS signingTime (legal evidence is judged then).
    #[arg(long = "at-signing-time")]
    at_signing_time: bool,
}

/// Runs `pec verify`.
pub fn run(a: &Args) -> ExitCode {
    if a.files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return crate::usage_error("verify", "standard input (`-`) can be read only once");
    }
    let opts = match options(a) {
        Ok(o) => o,
        Err(e) => {
            print_error(&e, a.json);
            return ExitCode::from(2);
        }
    };
    if let [file] = a.files.as_slice() {
        return ExitCode::from(verify_one(a, file, &opts));
    }
    let mut worst = 0;
    for file in &a.files {
        worst = worst.max(verify_many(a, file, &opts));
    }
    ExitCode::from(worst)
}

/// One file, today's exact output: the report on stdout (pretty JSON with `--json`), an
/// error on stderr. Returns the exit status.
fn verify_one(a: &Args, file: &Path, opts: &VerifyOptions) -> u8 {
    match read_and_verify(file, opts) {
        Ok(report) => {
            if a.json {
                println!("{}", pec_core::view::report_json(&report));
            } else {
                print_text(&report);
            }
            status(&report)
        }
        Err(e) => {
            print_error(&e, a.json);
            2
        }
    }
}

/// One of many files. With `--json`: one line on stdout per file, the report with a `file`
/// key, or `{"file", "error": {...}}` when it could not be read; in text, a `file:` line
/// opens each report and errors go to stderr with the file name. Returns the exit status.
fn verify_many(a: &Args, file: &Path, opts: &VerifyOptions) -> u8 {
    let name = file.display().to_string();
    let (mut v, code) = match read_and_verify(file, opts) {
        Ok(report) => {
            if !a.json {
                println!("file:        {name}");
                print_text(&report);
                println!();
            }
            (report_json(&report), status(&report))
        }
        Err(e) => {
            if !a.json {
                eprintln!("pec: {name}: error {} ({}): {e}", e.code().as_u32(), e.code().name());
            }
            (error_json(&e), 2)
        }
    };
    if a.json {
        if let Value::Object(m) = &mut v {
            m.insert("file".into(), Value::String(name));
        }
        println!("{}", serde_json::to_string(&v).unwrap_or_default());
    }
    code
}

fn read_and_verify(file: &Path, opts: &VerifyOptions) -> Result<VerificationReport, Error> {
    let input = crate::input::read(file)?;
    verify_message(&input, opts)
}

/// 0 valid, 1 invalid or indeterminate.
fn status(r: &VerificationReport) -> u8 {
    if r.verdict == Verdict::Valid { 0 } else { 1 }
}

fn options(a: &Args) -> Result<VerifyOptions, Error> {
    let sources = TrustSources {
        ca_files: a.ca_file.clone(),
        ca_paths: a.ca_path.iter().cloned().collect(),
        crl_files: a.crl.clone(),
        fetch_crls: a.fetch_crls,
    };
    let time = if a.at_signing_time {
        VerifyTime::SigningTime
    } else if let Some(t) = &a.at {
        VerifyTime::At(t.utc())
    } else {
        VerifyTime::Now
    };
    let mut opts = VerifyOptions { time, ..sources.verify_options()? };
    // a signed index must be signed by a named index signer, verified against the same
    // trust anchors and CRLs, now
    let index_trust = crate::index::IndexTrust {
        signers: pec_core::open::index_signers(&a.index_signer)?,
        opts: VerifyOptions { time: VerifyTime::Now, ..opts.clone() },
    };
    opts.index =
        crate::index::load(a.index.as_deref(), a.ldap.as_deref(), &a.ldap_base, &index_trust)?;
    Ok(opts)
}

/// The JSON report of `pec verify --json`: the wire view
/// (`pec_core::view::ReportView`, contract: keys are stable), as a value (many files add a
/// `file` key).
pub fn report_json(r: &VerificationReport) -> Value {
    serde_json::to_value(ReportView::new(r)).unwrap_or_default()
}

fn print_text(r: &VerificationReport) {
    println!("verdict:     {}", r.verdict);
    for reason in &r.reasons {
        println!("reason:      {reason}");
    }
    if let Some(d) = r.digest {
        println!("digest:      {}{}", d.name(), if r.weak_digest { " (weak)" } else { "" });
    }
    if let Some(t) = r.signing_time {
        println!("signed at:   {t}");
    }
    if let Some(s) = &r.signer {
        println!("signer:      {}", s.subject);
        println!("issuer:      {}", s.issuer);
        if let Some(e) = &s.email {
            println!("email:       {e}");
        }
    }
    for (i, c) in r.chain.iter().enumerate() {
        println!("chain[{i}]:    {c}");
    }
    println!("revocation:  {}", r.revocation.as_str());
    if let Some(p) = &r.provider {
        println!("provider:    {} (receipts to {})", p.name, p.mail_receipt);
    }
}
