//! `pec encrypt` and `pec decrypt`: encryption at rest (CMS EnvelopedData) of the provider's
//! own stores (quarantine, sealed log exports, archives). Never of a PEC mailbox.
//!
//! With `--pgp KEY.asc` (feature `openpgp`) `pec encrypt` writes an OpenPGP message to
//! OpenPGP certificates instead (SEIPDv1, AES-256; `--armor` for ASCII armor), which
//! `gpg --decrypt` opens; `--to` and `--pgp` do not mix (one file, one format).
//!
//! Exit 0 on success, 2 on any error. Both stream (bounded memory). With `--out` the result
//! goes to a temporary file beside it, renamed only on success; on standard output an error
//! leaves incomplete output behind (exit 2: discard it).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pec_core::Error;
use pec_core::atrest::{self, KeyTransport, Recipient, RecipientKey, SoftwareKey};

use crate::output::print_error;

/// Arguments of `pec encrypt`.
#[derive(Debug, clap::Args)]
pub struct EncryptArgs {
    /// A recipient certificate (PEM or DER; every certificate of a PEM file is a recipient).
    /// Repeat for each: at least two whose private keys are kept offline (archive, auditor).
    #[arg(long = "to", required_unless_present = "pgp", value_name = "CERT")]
    to: Vec<PathBuf>,
    /// An OpenPGP public key file (ASCII-armored as `gpg --armor --export` writes it, or
    /// binary; every certificate in it is a recipient, through its newest valid encryption
    /// subkey): write an OpenPGP message (SEIPDv1, AES-256) instead of CMS. Repeat for each
    /// recipient. Not with --to. Needs pec built with the `openpgp` feature.
    #[arg(long = "pgp", value_name = "KEY.asc", conflicts_with_all = ["to", "oaep_sha1", "pkcs1"])]
    pgp: Vec<PathBuf>,
    /// With --pgp: ASCII-armored output (`-----BEGIN PGP MESSAGE-----`) instead of binary.
    #[arg(long, requires = "pgp", conflicts_with = "to")]
    armor: bool,
    /// RSAES-OAEP with SHA-1 instead of SHA-256, for keys that decrypt in an HSM without
    /// SHA-256 OAEP (SoftHSM2).
    #[arg(long = "oaep-sha1", conflicts_with = "pkcs1")]
    oaep_sha1: bool,
    /// RSAES-PKCS1-v1_5 key transport instead of OAEP, for HSMs without OAEP.
    #[arg(long)]
    pkcs1: bool,
    /// Write here (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The file to encrypt (`-`: standard input, written with indefinite lengths).
    input: PathBuf,
}

/// Arguments of `pec decrypt`.
#[derive(Debug, clap::Args)]
pub struct DecryptArgs {
    /// The recipient's private key (PEM or DER, PKCS#8 or PKCS#1).
    #[arg(long, conflicts_with = "pkcs11_uri", required_unless_present = "pkcs11_uri")]
    key: Option<PathBuf>,
    /// The key's certificate (PEM or DER): only the recipient it names is tried. Without it
    /// a software key tries every recipient; a PKCS#11 key reads it from the token.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// A PKCS#11 URI (RFC 7512) naming the token and key; the PIN comes from --pin-source.
    /// The key needs CKA_DECRYPT; SoftHSM2 decrypts only OAEP-SHA1 and PKCS#1 v1.5.
    #[arg(long = "pkcs11-uri")]
    pkcs11_uri: Option<String>,
    /// The PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long = "pkcs11-module")]
    pkcs11_module: Option<PathBuf>,
    /// Where the PIN is: `file:PATH` or `env:VARIABLE` (never the PIN itself).
    #[arg(long = "pin-source")]
    pin_source: Option<String>,
    /// Only unwrap the content key (a drill: proves the key opens the file, writes nothing).
    #[arg(long = "check-key", conflicts_with = "out")]
    check_key: bool,
    /// Write here (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The encrypted file (DER or BER `.p7m`; `-`: standard input).
    input: PathBuf,
}

/// `pec encrypt`.
pub fn run_encrypt(a: &EncryptArgs) -> ExitCode {
    finish(encrypt(a))
}

/// `pec decrypt`.
pub fn run_decrypt(a: &DecryptArgs) -> ExitCode {
    finish(decrypt(a))
}

fn finish(r: Result<(), Error>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            print_error(&e, false);
            ExitCode::from(2)
        }
    }
}

fn encrypt(a: &EncryptArgs) -> Result<(), Error> {
    if !a.pgp.is_empty() {
        return encrypt_pgp(a);
    }
    let transport = if a.pkcs1 {
        KeyTransport::Pkcs1
    } else if a.oaep_sha1 {
        KeyTransport::OaepSha1
    } else {
        KeyTransport::OaepSha256
    };
    let mut recipients = Vec::new();
    for path in &a.to {
        let bytes = crate::input::read_small(path)?;
        recipients.extend(Recipient::from_pem_or_der(&bytes, transport).map_err(|e| at(path, e))?);
    }
    let (input, len) = open_input(&a.input)?;
    with_output(a.out.as_deref(), |out| atrest::encrypt(input, len, &recipients, out).map(|_| ()))
}

/// `pec encrypt --pgp`: an OpenPGP message.
#[cfg(feature = "openpgp")]
fn encrypt_pgp(a: &EncryptArgs) -> Result<(), Error> {
    let mut recipients = Vec::new();
    for path in &a.pgp {
        let bytes = crate::input::read_small(path)?;
        recipients.extend(atrest::PgpRecipient::from_key_file(&bytes).map_err(|e| at(path, e))?);
    }
    let (input, _) = open_input(&a.input)?;
    with_output(a.out.as_deref(), |out| {
        atrest::encrypt_openpgp(input, &recipients, a.armor, out).map(|_| ())
    })
}

/// `pec encrypt --pgp` in a build without OpenPGP.
#[cfg(not(feature = "openpgp"))]
fn encrypt_pgp(_: &EncryptArgs) -> Result<(), Error> {
    Err(Error::InvalidArgument(
        "--pgp: this pec was built without OpenPGP (cargo feature `openpgp` of pec-cli)".into(),
    ))
}

fn decrypt(a: &DecryptArgs) -> Result<(), Error> {
    let key: Box<dyn RecipientKey> = match (&a.key, &a.pkcs11_uri) {
        (Some(k), _) => {
            let key = crate::input::read_small(k)?;
            let cert = a.cert.as_deref().map(crate::input::read_small).transpose()?;
            Box::new(SoftwareKey::from_pem(&key, cert.as_deref())?)
        }
        (None, Some(uri)) => Box::new(crate::pkcs11::open(
            uri,
            a.pkcs11_module.as_deref(),
            a.pin_source.as_deref(),
            a.cert.as_deref(),
            None,
        )?),
        (None, None) => return Err(Error::InvalidArgument("give --key or --pkcs11-uri".into())),
    };
    let (input, _) = open_input(&a.input)?;
    if a.check_key {
        let info = atrest::check_key(input, key.as_ref())?;
        eprintln!(
            "pec: the key opens recipient {} of {} ({}, {})",
            info.recipient + 1,
            info.recipients,
            info.transport,
            info.cipher
        );
        return Ok(());
    }
    with_output(a.out.as_deref(), |out| atrest::decrypt(input, key.as_ref(), out).map(|_| ()))
}

/// The input as a reader, with its length when it is a regular file.
fn open_input(path: &Path) -> Result<(Box<dyn Read>, Option<u64>), Error> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(std::io::stdin().lock()), None));
    }
    let file = File::open(path).map_err(|e| Error::io(path.display(), &e))?;
    let meta = file.metadata().map_err(|e| Error::io(path.display(), &e))?;
    let len = meta.is_file().then_some(meta.len());
    Ok((Box::new(file), len))
}

/// Runs `f` on standard output, or on a temporary file renamed to `out` on success (and
/// removed on failure).
fn with_output(
    out: Option<&Path>,
    f: impl FnOnce(&mut dyn Write) -> Result<(), Error>,
) -> Result<(), Error> {
    let Some(out) = out else {
        let mut w = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        f(&mut w)?;
        return w.flush().map_err(|e| Error::io("<stdout>", &e));
    };
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = out.with_file_name(format!(".{name}.pec-tmp-{}", std::process::id()));
    let result = File::create(&tmp).map_err(|e| Error::io(tmp.display(), &e)).and_then(|file| {
        let mut w = BufWriter::with_capacity(64 * 1024, file);
        f(&mut w)?;
        let file = w.into_inner().map_err(|e| Error::io(tmp.display(), e.error()))?;
        file.sync_all().map_err(|e| Error::io(tmp.display(), &e))?;
        std::fs::rename(&tmp, out).map_err(|e| Error::io(out.display(), &e))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Names the file in a recipient error.
fn at(path: &Path, e: Error) -> Error {
    match e {
        Error::AtRest(pec_core::error::AtRestError::BadRecipient(m)) => {
            pec_core::error::AtRestError::BadRecipient(format!("{}: {m}", path.display())).into()
        }
        other => other,
    }
}
