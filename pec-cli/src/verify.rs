//! `pec verify [--json] FILE [--ca-file PEM]... [--ca-path DIR] [--crl FILE]...
//! [--index LDIF [--index-signer CERT]...] [--ldap URL [--ldap-base DN]]
//! [--at RFC3339 | --at-signing-time]`.
//!
//! Exit 0 valid, 1 invalid or indeterminate, 2 when the input could not be read.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use pec_core::chain::TrustStore;
use pec_core::revocation::CrlStore;
use pec_core::smime::{Verdict, VerificationReport, VerifyOptions, VerifyTime};
use pec_core::{Error, verify_message};
use serde_json::{Value, json};

use crate::output::print_error;

/// Arguments of `pec verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// The signed message (`-` for standard input).
    file: PathBuf,
    /// A PEM bundle of trust anchors (repeatable).
    #[arg(long = "ca-file")]
    ca_file: Vec<PathBuf>,
    /// A directory of trust anchors, such as /etc/ssl/certs.
    #[arg(long = "ca-path")]
    ca_path: Option<PathBuf>,
    /// A CRL file, PEM or DER (repeatable).
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// Fetch missing CRLs from the certificates' http:// distribution points (offline by
    /// default).
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
    #[arg(long, conflicts_with = "at_signing_time")]
    at: Option<String>,
    /// Evaluate certificates at the CMS signingTime (legal evidence is judged then).
    #[arg(long = "at-signing-time")]
    at_signing_time: bool,
}

/// Runs `pec verify`.
pub fn run(a: &Args) -> ExitCode {
    let opts = match options(a) {
        Ok(o) => o,
        Err(e) => {
            print_error(&e, a.json);
            return ExitCode::from(2);
        }
    };
    let input = match crate::input::read(&a.file) {
        Ok(i) => i,
        Err(e) => {
            print_error(&e, a.json);
            return ExitCode::from(2);
        }
    };
    let report = match verify_message(&input, &opts) {
        Ok(r) => r,
        Err(e) => {
            print_error(&e, a.json);
            return ExitCode::from(2);
        }
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report_json(&report)).unwrap_or_default());
    } else {
        print_text(&report);
    }
    if report.verdict == Verdict::Valid { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn options(a: &Args) -> Result<VerifyOptions, Error> {
    let mut trust = TrustStore::new();
    for f in &a.ca_file {
        let bytes = crate::input::read_small(f)?;
        trust.add_pem_bundle(&bytes)?;
    }
    if let Some(d) = &a.ca_path {
        trust.add_dir(d)?;
    }
    let mut crls = CrlStore::new();
    for f in &a.crl {
        crls.add(&crate::input::read_small(f)?)?;
    }
    if a.fetch_crls {
        crls.set_fetcher(Arc::new(pec_core::revocation::HttpCrlFetcher::new()));
    }
    let time = if a.at_signing_time {
        VerifyTime::SigningTime
    } else if let Some(t) = &a.at {
        let dt = DateTime::parse_from_rfc3339(t)
            .map_err(|_| pec_core::error::ParseError::InvalidTime(t.clone()))?;
        VerifyTime::At(dt.with_timezone(&Utc))
    } else {
        VerifyTime::Now
    };
    let mut opts = VerifyOptions {
        trust: Arc::new(trust),
        crls: if crls.is_empty() && !a.fetch_crls { None } else { Some(Arc::new(crls)) },
        index: None,
        time,
        now: None,
    };
    // a signed index must be signed by a named index signer, verified against the same
    // trust anchors and CRLs, now
    let index_trust = crate::index::IndexTrust {
        signers: crate::index::index_signers(&a.index_signer)?,
        opts: VerifyOptions { time: VerifyTime::Now, ..opts.clone() },
    };
    opts.index =
        crate::index::load(a.index.as_deref(), a.ldap.as_deref(), &a.ldap_base, &index_trust)?;
    Ok(opts)
}

fn time_json(t: &Option<DateTime<Utc>>) -> Value {
    t.map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

/// The JSON report of `pec verify --json` (contract: keys are stable).
pub fn report_json(r: &VerificationReport) -> Value {
    json!({
        "verdict": r.verdict.as_str(),
        "reasons": r.reasons.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
        "digest": r.digest.map(|d| d.name()),
        "weak_digest": r.weak_digest,
        "signing_time": time_json(&r.signing_time),
        "evaluated_at": time_json(&r.evaluated_at),
        "signer": r.signer.as_ref().map(|s| json!({
            "subject": s.subject,
            "issuer": s.issuer,
            "serial": s.serial,
            "sha1": s.sha1,
            "not_before": time_json(&s.not_before),
            "not_after": time_json(&s.not_after),
            "email": s.email,
        })),
        "chain": r.chain,
        "revocation": r.revocation.as_str(),
        "provider": r.provider.as_ref().map(|p| json!({"name": p.name, "mail_receipt": p.mail_receipt})),
        "canonicalized": r.canonicalized,
        "time_source": r.time_source.as_str(),
        "signed_scope": r.signed_scope.map(|s| s.as_str()),
        "weaknesses": r.weaknesses.iter().map(|w| w.as_str()).collect::<Vec<_>>(),
    })
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
