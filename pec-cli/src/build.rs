//! `pec build KIND --provider FILE.toml [--time RFC3339] ...` and `pec sign`.
//!
//! Exit 0 with the message on stdout; 2 on any error (bad input, signer failure: nothing is
//! written to stdout then, so an MTA keeps the mail queued and retries).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use pec_core::Error;
use pec_core::build::{BuildRequest, Timeout};
use pec_core::error::BuildError;
use pec_core::model::{CertError, MessageKind, ReceiptType};
use pec_core::provider::{Provider, ProviderFile};
use pec_core::signer::{Signer, SoftwareSigner};
use pec_core::timeref::TimeReference;

use crate::output::print_error;

/// Signing options shared by `pec build` and `pec sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The provider's private key (PEM or DER, PKCS#8 or PKCS#1); goes with --cert.
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// The signer certificate (PEM or DER).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Intermediate certificates to embed (PEM bundle).
    #[arg(long)]
    chain: Option<PathBuf>,
    /// A PKCS#11 URI (RFC 7512) naming the token and key; the PIN comes from --pin-source.
    #[arg(long = "pkcs11-uri")]
    pkcs11_uri: Option<String>,
    /// The PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long = "pkcs11-module")]
    pkcs11_module: Option<PathBuf>,
    /// Where the PIN is: `file:PATH` or `env:VARIABLE` (never the PIN itself).
    #[arg(long = "pin-source")]
    pin_source: Option<String>,
}

/// Arguments of `pec build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The kind to build (wire value).
    #[arg(value_parser = crate::values::kind(), ignore_case = true)]
    kind: MessageKind,
    /// The provider file (TOML: name, domain, certified_domains or index).
    #[arg(long)]
    provider: PathBuf,
    /// The time of the transaction (RFC 3339); default: now, Europe/Rome.
    #[arg(long, value_parser = crate::values::time)]
    time: Option<TimeReference>,
    /// The user's message (for posta-certificata, accettazione, non-accettazione).
    #[arg(long)]
    original: Option<PathBuf>,
    /// The transport envelope (or, for errore, any received message).
    #[arg(long)]
    envelope: Option<PathBuf>,
    /// A recipient (repeatable for presa-in-carico).
    #[arg(long)]
    recipient: Vec<String>,
    /// The delivery receipt type asked for (X-TipoRicevuta).
    #[arg(long = "receipt-type", value_parser = crate::values::receipt_type(), ignore_case = true)]
    receipt_type: Option<ReceiptType>,
    /// The daticert error (postacert@errore).
    #[arg(long, value_parser = crate::values::cert_error(), ignore_case = true)]
    error: Option<CertError>,
    /// The extended error text (errore-esteso).
    #[arg(long = "error-text")]
    error_text: Option<String>,
    /// Which timeout notice (preavviso-errore-consegna).
    #[arg(long, value_parser = crate::values::timeout(), ignore_case = true)]
    timeout: Option<Timeout>,
    /// The PEC identifier of the submission (access-point kinds): give the same value to
    /// `accettazione` and `posta-certificata` of one message; generated when absent.
    #[arg(long)]
    id: Option<String>,
    #[command(flatten)]
    sign: SignArgs,
    #[command(flatten)]
    dkim: crate::mailsec::DkimArgs,
}

/// Runs `pec build`.
pub fn run(a: &Args) -> ExitCode {
    match build(a) {
        Ok(bytes) => emit(&bytes),
        Err(e) => {
            print_error(&e, false);
            ExitCode::from(2)
        }
    }
}

fn emit(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    if out.write_all(bytes).and_then(|()| out.flush()).is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

fn build(a: &Args) -> Result<Vec<u8>, Error> {
    let provider = load_provider(&a.provider)?;
    let original = a.original.as_deref().map(crate::input::read).transpose()?;
    let envelope = a.envelope.as_deref().map(crate::input::read).transpose()?;
    let signer = load_signer(&a.sign)?;
    let req = BuildRequest {
        kind: a.kind.clone(),
        // without --time, the provider's time zone (default Europe/Rome) applies
        time: a.time,
        original: original.as_deref(),
        envelope: envelope.as_deref(),
        recipients: a.recipient.clone(),
        receipt_type: a.receipt_type.clone(),
        error: a.error.clone(),
        error_text: a.error_text.clone(),
        timeout: a.timeout,
        smtp: None,
        identifier: a.id.clone(),
        auth_results: None,
    };
    let bytes = provider.build(&req, signer.as_deref())?;
    let (module, pin) = (a.sign.pkcs11_module.as_deref(), a.sign.pin_source.as_deref());
    a.dkim.apply(bytes, Some(&provider.domain), module, pin)
}

/// Loads a provider file; `index = "..."` is resolved relative to the file.
pub fn load_provider(path: &std::path::Path) -> Result<Provider, Error> {
    let text = crate::input::read_small(path)?;
    let text = String::from_utf8(text)
        .map_err(|_| BuildError::ProviderConfig("provider file is not UTF-8".into()))?;
    let file = ProviderFile::parse(&text)?;
    let provider = Provider::from_file(&file)?;
    match &file.index {
        Some(idx) => {
            let p = path.parent().unwrap_or(std::path::Path::new(".")).join(idx);
            let dir = crate::index::load(Some(&p), None, "", &Default::default())?
                .ok_or_else(|| BuildError::ProviderConfig("index not loaded".into()))?;
            Ok(provider.with_directory(dir))
        }
        None => Ok(provider),
    }
}

/// Builds the signer named by the options, if any.
pub fn load_signer(a: &SignArgs) -> Result<Option<Arc<dyn Signer>>, Error> {
    if let Some(uri) = &a.pkcs11_uri {
        return pkcs11_signer(a, uri).map(Some);
    }
    let (Some(key), Some(cert)) = (&a.key, &a.cert) else {
        if a.key.is_some() || a.cert.is_some() {
            return Err(Error::InvalidArgument("--key and --cert go together".into()));
        }
        return Ok(None);
    };
    let key = crate::input::read_small(key)?;
    let cert = crate::input::read_small(cert)?;
    let chain = a.chain.as_deref().map(crate::input::read_small).transpose()?.unwrap_or_default();
    Ok(Some(Arc::new(SoftwareSigner::from_pem(&key, &cert, &chain)?)))
}

fn pkcs11_signer(a: &SignArgs, uri: &str) -> Result<Arc<dyn Signer>, Error> {
    crate::pkcs11::signer(
        uri,
        a.pkcs11_module.as_deref(),
        a.pin_source.as_deref(),
        a.cert.as_deref(),
        a.chain.as_deref(),
    )
}

/// Arguments of `pec sign`.
#[derive(Debug, clap::Args)]
pub struct SignCommand {
    #[command(flatten)]
    sign: SignArgs,
    /// The signing time (RFC 3339); default now.
    #[arg(long, value_parser = crate::values::time)]
    time: Option<TimeReference>,
    #[command(flatten)]
    dkim: crate::mailsec::DkimArgs,
}

/// Runs `pec sign < unsigned > signed`.
pub fn run_sign(a: &SignCommand) -> ExitCode {
    if a.sign.key.is_none() && a.sign.pkcs11_uri.is_none() {
        return crate::usage_error("sign", "pec sign needs --key and --cert, or --pkcs11-uri");
    }
    let r = (|| -> Result<Vec<u8>, Error> {
        let signer = load_signer(&a.sign)?.ok_or_else(|| {
            Error::InvalidArgument("pec sign needs --key/--cert or --pkcs11-uri".into())
        })?;
        let time = a.time.unwrap_or_else(TimeReference::now);
        let input = crate::input::read(std::path::Path::new("-"))?;
        let signed = pec_core::smime::sign_message(&input, signer.as_ref(), time.utc())?;
        let (module, pin) = (a.sign.pkcs11_module.as_deref(), a.sign.pin_source.as_deref());
        a.dkim.apply(signed, None, module, pin)
    })();
    match r {
        Ok(b) => emit(&b),
        Err(e) => {
            print_error(&e, false);
            ExitCode::from(2)
        }
    }
}
