//! `pec index lookup [--json] (--ldif FILE | --ldap URL) (--domain D | --cert-hash HEX |
//! --cert FILE | --name NAME) [--index-signer CERT]... [--ca-file PEM]... [--ca-path DIR]` —
//! exit 0 found, 1 not found, 2 on a source error (also: a signed `.p7m` index not signed by
//! a named `--index-signer`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use pec_core::Error;
use pec_core::index::{IndexSigners, ProviderDirectory};
use pec_core::open::TrustSources;
use pec_core::smime::VerifyOptions;

use crate::output::print_error;

/// `pec index ...`
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Look a provider up in the index.
    Lookup(LookupArgs),
    /// Write Postfix TLS files from the index and the provider's `[tls]` section:
    /// `tls_policy`, `ccert_access`, `tlsa.zone`, `main.cf.snippet` (each atomically).
    PostfixMaps(crate::mailsec::PostfixMapsArgs),
}

/// Arguments of `pec index lookup`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["ldif", "ldap"])))]
#[command(group(clap::ArgGroup::new("key").required(true).args(["domain", "cert_hash", "cert", "name"])))]
pub struct LookupArgs {
    /// Print JSON (`name`, `mail_receipt`, `managed_domains`, `cert_hashes`, `unit`).
    #[arg(long)]
    json: bool,
    /// The index as an LDIF file (plain, or signed `.p7m`: then `--index-signer` is needed).
    #[arg(long)]
    ldif: Option<PathBuf>,
    /// The index on an LDAP server (ldap://, ldaps://, ldapi://).
    #[arg(long)]
    ldap: Option<String>,
    /// Base DN on the LDAP server.
    #[arg(long = "ldap-base", default_value = "o=postacert")]
    ldap_base: String,
    /// A managed domain (case-insensitive, exact).
    #[arg(long)]
    domain: Option<String>,
    /// The SHA-1 of a provider certificate, hex (case-insensitive).
    #[arg(long = "cert-hash")]
    cert_hash: Option<String>,
    /// A provider certificate file (PEM or DER).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// A provider name (case-insensitive).
    #[arg(long)]
    name: Option<String>,
    /// Trust anchors (a PEM bundle or a DER certificate) for a signed `.p7m` index
    /// (repeatable).
    #[arg(long = "ca-file")]
    ca_file: Vec<PathBuf>,
    /// A directory of trust anchors for a signed `.p7m` index.
    #[arg(long = "ca-path")]
    ca_path: Option<PathBuf>,
    /// The certificate allowed to sign a `.p7m` index, PEM or DER (repeatable). A signed
    /// index signed by any other certificate, or given without this option, is refused.
    #[arg(long = "index-signer", value_name = "CERT")]
    index_signer: Vec<PathBuf>,
}

/// Runs `pec index ...`.
pub fn run(c: &Command) -> ExitCode {
    match c {
        Command::Lookup(a) => lookup(a),
        Command::PostfixMaps(a) => crate::mailsec::run_postfix_maps(a),
    }
}

fn lookup(a: &LookupArgs) -> ExitCode {
    let trust = match trust_options(&a.ca_file, a.ca_path.as_deref(), &a.index_signer) {
        Ok(t) => t,
        Err(e) => {
            print_error(&e, a.json);
            return ExitCode::from(2);
        }
    };
    let dir = match load(a.ldif.as_deref(), a.ldap.as_deref(), &a.ldap_base, &trust) {
        Ok(Some(d)) => d,
        Ok(None) => return ExitCode::from(2),
        Err(e) => {
            print_error(&e, a.json);
            return ExitCode::from(2);
        }
    };
    let found = if let Some(d) = &a.domain {
        dir.by_domain(d)
    } else if let Some(h) = &a.cert_hash {
        dir.by_cert_hash(h)
    } else if let Some(n) = &a.name {
        dir.by_name(n)
    } else if let Some(f) = &a.cert {
        match crate::input::read_small(f).and_then(|b| cert_der(&b)) {
            Ok(der) => dir.by_cert_hash(&pec_core::crypto::sha1_hex(&der)),
            Err(e) => {
                print_error(&e, a.json);
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    match found {
        Some(r) => {
            if a.json {
                // the wire view (`pec_core::view::IndexRecordView`, contract)
                println!("{}", pec_core::view::index_record_json(&r));
            } else {
                println!("{} ({})", r.name, r.dn);
                println!("  mailReceipt:    {}", r.mail_receipt);
                for d in &r.managed_domains {
                    println!("  managedDomains: {d}");
                }
                for h in &r.cert_hashes {
                    println!("  certificate:    {h}");
                }
            }
            ExitCode::SUCCESS
        }
        None => {
            if a.json {
                println!("null");
            } else {
                eprintln!("not found");
            }
            ExitCode::from(1)
        }
    }
}

fn cert_der(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    if bytes.starts_with(b"-----") || bytes.iter().take(64).all(|b| b.is_ascii()) {
        let certs = pec_core::signer::pem_certificates(bytes)?;
        if let Some(c) = certs.into_iter().next() {
            return Ok(c);
        }
    }
    Ok(bytes.to_vec())
}

/// Who may sign a `.p7m` index, and the trust its signature is verified against.
#[derive(Clone, Debug, Default)]
pub struct IndexTrust {
    /// The named index signers (`--index-signer`).
    pub signers: IndexSigners,
    /// Trust anchors (and CRLs, time) for the signature.
    pub opts: VerifyOptions,
}

/// Index trust holding the trust anchors of `--ca-file`/`--ca-path` and the named index
/// signers, opened by the core's front-door services ([`pec_core::open`]).
pub fn trust_options(
    ca_files: &[PathBuf],
    ca_path: Option<&Path>,
    signer_files: &[PathBuf],
) -> Result<IndexTrust, Error> {
    let sources = TrustSources {
        ca_files: ca_files.to_vec(),
        ca_paths: ca_path.map(Path::to_path_buf).into_iter().collect(),
        ..TrustSources::new()
    };
    let opts = sources.verify_options()?;
    Ok(IndexTrust { signers: pec_core::open::index_signers(signer_files)?, opts })
}

/// Loads the index from an LDIF file (plain, or signed `.p7m` accepted only when signed by
/// one of `trust.signers` with a signature valid against `trust.opts`: the core's
/// [`pec_core::index::open_index_file`]) or an LDAP server (neither: `None`).
pub fn load(
    ldif: Option<&Path>,
    ldap: Option<&str>,
    base: &str,
    trust: &IndexTrust,
) -> Result<Option<Arc<dyn ProviderDirectory>>, Error> {
    if let Some(path) = ldif {
        let dir = pec_core::index::open_index_file(path, &trust.signers, &trust.opts)?;
        return Ok(Some(Arc::new(dir)));
    }
    if let Some(url) = ldap {
        let source = pec_core::index::ldap::LdapSource::new(url).with_base(base);
        let dir = pec_core::index::IndexSource::load(&source)?;
        return Ok(Some(Arc::new(dir)));
    }
    Ok(None)
}
