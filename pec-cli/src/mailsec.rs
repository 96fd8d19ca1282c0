//! Mail security around PEC (MAILSEC.md): `pec index postfix-maps`, `pec tls fingerprint|tlsa`,
//! `pec dkim record`, and the `--dkim-*` options of `pec build` and `pec sign`.
//!
//! Exit 0 on success, 2 on any error (nothing written then), 64 on a usage error.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use pec_core::Error;
use pec_core::error::BuildError;
use pec_core::index::{IndexSigners, ProviderRecord};
use pec_core::mailsec::dkim::{DkimKey, DnsRecord, SignerDkimKey, SoftwareDkimKey};
use pec_core::mailsec::tls;
use pec_core::provider::ProviderFile;
use serde_json::json;

use crate::output::print_error;

fn finish(r: Result<(), Error>, json: bool) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            print_error(&e, json);
            ExitCode::from(2)
        }
    }
}

// ---------------------------------------------------------------- pec index postfix-maps

/// Arguments of `pec index postfix-maps`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["index", "ldap"])))]
pub struct PostfixMapsArgs {
    /// The index as an LDIF file.
    #[arg(long)]
    index: Option<PathBuf>,
    /// The index on an LDAP server (ldap://, ldaps://, ldapi://).
    #[arg(long)]
    ldap: Option<String>,
    /// Base DN on the LDAP server.
    #[arg(long = "ldap-base", default_value = "o=postacert")]
    ldap_base: String,
    /// Our provider file (TOML: name, domain, and the `[tls]` section).
    #[arg(long)]
    provider: PathBuf,
    /// The directory to write `tls_policy`, `ccert_access`, `tlsa.zone` and
    /// `main.cf.snippet` into (each replaced atomically); created if missing.
    #[arg(long)]
    out: PathBuf,
    /// Also list the other providers' index (S/MIME) certificates in `ccert_access`: they
    /// match only where a peer uses its signing certificate for TLS (test networks).
    #[arg(long = "index-certs")]
    index_certs: bool,
}

/// Runs `pec index postfix-maps`: prints the paths written.
pub fn run_postfix_maps(a: &PostfixMapsArgs) -> ExitCode {
    finish(postfix_maps(a), false)
}

fn postfix_maps(a: &PostfixMapsArgs) -> Result<(), Error> {
    let (file, base) = provider_file(&a.provider)?;
    let records: Vec<Arc<ProviderRecord>> = if let Some(path) = &a.index {
        let opts = pec_core::smime::VerifyOptions::default();
        pec_core::index::open_index_file(path, &IndexSigners::new(), &opts)?.records().to_vec()
    } else if let Some(url) = &a.ldap {
        let source = pec_core::index::ldap::LdapSource::new(url).with_base(&a.ldap_base);
        pec_core::index::IndexSource::load(&source)?.records().to_vec()
    } else {
        Vec::new()
    };
    let tls_cfg = file.tls.clone().unwrap_or_default();
    let one_cert = |p: &str| -> Result<Vec<u8>, Error> {
        let certs = tls::read_certificates(&crate::input::read_small(&base.join(p))?)?;
        Ok(certs.into_iter().next().unwrap_or_default())
    };
    let tls_cert = tls_cfg.cert.as_deref().map(one_cert).transpose()?;
    let next_cert = tls_cfg.next_cert.as_deref().map(one_cert).transpose()?;
    let mut peer_certs = BTreeMap::new();
    for (key, peer) in &tls_cfg.peers {
        let mut certs = Vec::new();
        for p in &peer.certs {
            certs.extend(tls::read_certificates(&crate::input::read_small(&base.join(p))?)?);
        }
        peer_certs.insert(key.clone(), certs);
    }
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(a.out.display(), &e))?;
    let out = std::fs::canonicalize(&a.out).map_err(|e| Error::io(a.out.display(), &e))?;
    let map_dir = out.to_string_lossy().into_owned();
    let maps = tls::postfix_maps(&tls::MapsInput {
        own_name: &file.name,
        own_domain: &file.domain,
        tls: &tls_cfg,
        records: &records,
        tls_cert: tls_cert.as_deref(),
        next_cert: next_cert.as_deref(),
        peer_certs: &peer_certs,
        index_certs: a.index_certs,
        map_dir: &map_dir,
    })?;
    for (name, text) in maps.files() {
        let path = out.join(name);
        write_atomically(&path, text.as_bytes())?;
        println!("{}", path.display());
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`, so
/// a reader (postmap, a zone loader) sees the old file or the new one, never a part.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let r = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    r.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path.display(), &e)
    })
}

/// The parsed provider file and the directory its relative paths start from.
fn provider_file(path: &Path) -> Result<(ProviderFile, PathBuf), Error> {
    let text = String::from_utf8(crate::input::read_small(path)?)
        .map_err(|_| BuildError::ProviderConfig("provider file is not UTF-8".into()))?;
    let file = ProviderFile::parse(&text)?;
    Ok((file, path.parent().unwrap_or(Path::new(".")).to_path_buf()))
}

// ---------------------------------------------------------------- pec tls

/// `pec tls ...`
#[derive(Debug, clap::Subcommand)]
pub enum TlsCommand {
    /// The SHA-256 fingerprints of each certificate of a file (PEM or DER) and of its public
    /// key, `AA:BB:...`, as `check_ccert_access` matches them with
    /// `smtpd_tls_fingerprint_digest = sha256`.
    Fingerprint {
        /// The certificate file.
        cert: PathBuf,
        /// Print JSON (`certificate`, `public_key`; an array for several certificates).
        #[arg(long)]
        json: bool,
    },
    /// The DANE-EE TLSA record data (`3 1 1 <sha256 of the SubjectPublicKeyInfo>`) of a
    /// certificate (the first of the file); with --host, the whole record for port 25.
    Tlsa {
        /// The certificate file.
        cert: PathBuf,
        /// The MX host name: print `_25._tcp.<host>. IN TLSA 3 1 1 ...`.
        #[arg(long)]
        host: Option<String>,
    },
}

/// Runs `pec tls ...`.
pub fn run_tls(c: &TlsCommand) -> ExitCode {
    match c {
        TlsCommand::Fingerprint { cert, json } => finish(
            (|| {
                let certs = tls::read_certificates(&crate::input::read_small(cert)?)?;
                let mut all = Vec::new();
                for c in &certs {
                    let f = tls::fingerprints(c)?;
                    if !*json {
                        println!("certificate {}\npublic-key  {}", f.certificate, f.public_key);
                    }
                    all.push(json!({"certificate": f.certificate, "public_key": f.public_key}));
                }
                if *json {
                    let v = if all.len() == 1 { all.remove(0) } else { all.into() };
                    println!("{v}");
                }
                Ok(())
            })(),
            *json,
        ),
        TlsCommand::Tlsa { cert, host } => finish(
            (|| {
                let certs = tls::read_certificates(&crate::input::read_small(cert)?)?;
                let c = certs.first().map(Vec::as_slice).unwrap_or_default();
                match host {
                    Some(h) => println!("{}", tls::tlsa_record(h, c)?),
                    None => println!("{}", tls::tlsa_rdata(c)?),
                }
                Ok(())
            })(),
            false,
        ),
    }
}

// ---------------------------------------------------------------- DKIM

/// The DKIM key options (`pec build`, `pec sign`, `pec dkim record`).
#[derive(Debug, Clone, clap::Args)]
pub struct DkimKeyArgs {
    /// DKIM: the RSA private key (PEM or DER, PKCS#8 or PKCS#1).
    #[arg(long = "dkim-key", conflicts_with = "dkim_pkcs11_uri")]
    dkim_key: Option<PathBuf>,
    /// DKIM: a PKCS#11 URI naming the key, signed through the session pool (module and PIN
    /// from --pkcs11-module and --pin-source); its public key comes from --dkim-cert or the
    /// token's certificate.
    #[arg(long = "dkim-pkcs11-uri")]
    dkim_pkcs11_uri: Option<String>,
    /// DKIM: a certificate holding the PKCS#11 key's public key.
    #[arg(long = "dkim-cert", requires = "dkim_pkcs11_uri")]
    dkim_cert: Option<PathBuf>,
}

/// The DKIM options of `pec build` and `pec sign`.
#[derive(Debug, Clone, clap::Args)]
pub struct DkimArgs {
    #[command(flatten)]
    key: DkimKeyArgs,
    /// DKIM: the selector (`s=`); required with a DKIM key.
    #[arg(long = "dkim-selector")]
    dkim_selector: Option<String>,
    /// DKIM: the signing domain (`d=`); default: the provider domain.
    #[arg(long = "dkim-domain")]
    dkim_domain: Option<String>,
}

impl DkimKeyArgs {
    fn given(&self) -> bool {
        self.dkim_key.is_some() || self.dkim_pkcs11_uri.is_some()
    }

    fn load(&self, module: Option<&Path>, pin: Option<&str>) -> Result<Box<dyn DkimKey>, Error> {
        if let Some(k) = &self.dkim_key {
            return Ok(Box::new(SoftwareDkimKey::from_pem(&crate::input::read_small(k)?)?));
        }
        let uri = self
            .dkim_pkcs11_uri
            .as_deref()
            .ok_or_else(|| Error::InvalidArgument("no DKIM key: give --dkim-key".into()))?;
        let signer = crate::pkcs11::signer(uri, module, pin, self.dkim_cert.as_deref(), None)?;
        Ok(Box::new(SignerDkimKey::new(signer)?))
    }
}

impl DkimArgs {
    /// DKIM-signs `message` when a DKIM key was given (the field is prepended; the message
    /// is unchanged), else returns it as is. `domain` is the default `d=`.
    pub fn apply(
        &self,
        message: Vec<u8>,
        domain: Option<&str>,
        pkcs11_module: Option<&Path>,
        pin_source: Option<&str>,
    ) -> Result<Vec<u8>, Error> {
        if !self.key.given() {
            if self.dkim_selector.is_some() || self.dkim_domain.is_some() {
                return Err(Error::InvalidArgument(
                    "--dkim-selector and --dkim-domain need --dkim-key or --dkim-pkcs11-uri".into(),
                ));
            }
            return Ok(message);
        }
        let selector = self
            .dkim_selector
            .as_deref()
            .ok_or_else(|| Error::InvalidArgument("a DKIM key needs --dkim-selector".into()))?;
        let domain = self.dkim_domain.as_deref().or(domain).ok_or_else(|| {
            Error::InvalidArgument("a DKIM key needs --dkim-domain (no provider domain)".into())
        })?;
        let key = self.key.load(pkcs11_module, pin_source)?;
        pec_core::mailsec::dkim::sign_message(&message, key.as_ref(), domain, selector)
    }
}

/// `pec dkim ...`
#[derive(Debug, clap::Subcommand)]
pub enum DkimCommand {
    /// Print the DNS TXT record of a DKIM key: `<selector>._domainkey.<domain>. IN TXT (...)`
    /// with strings of at most 255 bytes.
    Record(RecordArgs),
}

/// Arguments of `pec dkim record`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    #[command(flatten)]
    key: DkimKeyArgs,
    /// The PKCS#11 module (with --dkim-pkcs11-uri).
    #[arg(long = "pkcs11-module")]
    pkcs11_module: Option<PathBuf>,
    /// Where the PIN is: `file:PATH` or `env:VARIABLE` (with --dkim-pkcs11-uri).
    #[arg(long = "pin-source")]
    pin_source: Option<String>,
    /// The selector.
    #[arg(long = "dkim-selector", visible_alias = "selector")]
    selector: String,
    /// The signing domain.
    #[arg(long = "dkim-domain", visible_alias = "domain")]
    domain: String,
    /// Print JSON: `name` and `value` (the TXT data, unsplit).
    #[arg(long)]
    json: bool,
}

/// Runs `pec dkim ...`.
pub fn run_dkim(c: &DkimCommand) -> ExitCode {
    match c {
        DkimCommand::Record(a) => {
            if !a.key.given() {
                return crate::usage_error(
                    "dkim",
                    "pec dkim record needs --dkim-key or --dkim-pkcs11-uri",
                );
            }
            finish(
                (|| {
                    let key = a.key.load(a.pkcs11_module.as_deref(), a.pin_source.as_deref())?;
                    let r = DnsRecord::new(&a.selector, &a.domain, key.as_ref())?;
                    if a.json {
                        println!("{}", json!({"name": r.name, "value": r.value}));
                    } else {
                        println!("{}", r.zone_line());
                    }
                    Ok(())
                })(),
                a.json,
            )
        }
    }
}
