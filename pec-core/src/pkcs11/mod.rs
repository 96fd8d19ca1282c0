//! Signing with a key kept in an HSM, through PKCS#11 (feature `pkcs11`).
//!
//! Providers keep their signing key in an HSM (RFC 6109 §5.1: every message a provider
//! emits is signed with the provider's key). [`Pkcs11Signer`] implements
//! [`crate::signer::Signer`] over any PKCS#11 module: the token and key are chosen by an
//! RFC 7512 [`Pkcs11Uri`], the PIN comes from the URI's `pin-source` (a file or an
//! environment variable, never the command line).
//!
//! # Process model
//!
//! `C_Initialize` succeeds once per module per process, so the module's context is shared
//! process-wide ([`shared_context`]): two signers on the same module share it.
//!
//! A signer keeps a pool of logged-in sessions. A PKCS#11 session may move between threads
//! but must not be used by two threads at once, so each signature checks a session out of
//! the pool; when all `pool_size` sessions are busy the caller waits for one to come back.
//!
//! # Recovery
//!
//! When a session dies under the pool (`CKR_SESSION_HANDLE_INVALID`, `CKR_SESSION_CLOSED`,
//! `CKR_USER_NOT_LOGGED_IN`, `CKR_DEVICE_REMOVED`, `CKR_TOKEN_NOT_PRESENT`, and
//! `CKR_KEY_HANDLE_INVALID` / `CKR_OBJECT_HANDLE_INVALID`, since object handles change when
//! a token is logged out or re-initialised), the session is dropped and a new one is opened:
//! the slot is found again by the token's label, the user logs in again and the key handle
//! is looked up again. A signature is attempted at most [`MAX_ATTEMPTS`] times, with a short
//! backoff, then fails with [`HsmError::RetriesExhausted`]. A failed signature returns an
//! error and nothing else: the caller's input is untouched and can be queued again.

mod decrypt;
mod uri;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::Decode as _;

pub use self::decrypt::RsaDecryptMechanism;
pub use self::uri::{ObjectType, PinSource, Pkcs11Uri, resolve_pin};
use crate::error::{CertificateError, Error, HsmError, Result};
use crate::signer::Signer;

/// How many times one signature is attempted when sessions keep dying.
pub const MAX_ATTEMPTS: u32 = 3;
/// Backoff before the second attempt; it doubles for each further attempt.
const BACKOFF: Duration = Duration::from_millis(20);
/// Largest pool accepted.
const MAX_POOL_SIZE: usize = 1024;
/// Largest number of objects examined when looking a key or certificate up.
const MAX_OBJECTS: usize = 64;

/// DER prefix of a DigestInfo with SHA-256 (RFC 8017 §9.2 note 1); the 32-byte hash follows.
const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// The PIN used to log in to the token.
///
/// Its `Debug` output never shows the PIN.
#[derive(Clone)]
pub enum Pin {
    /// The PIN itself (already read by the caller from a safe place).
    Value(String),
    /// Read it from the URI's `pin-source` (or `pin-value`) with [`resolve_pin`].
    FromUri,
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pin::Value(_) => f.write_str("Pin::Value(REDACTED)"),
            Pin::FromUri => f.write_str("Pin::FromUri"),
        }
    }
}

/// Where the signer certificate comes from.
#[derive(Clone, Debug)]
pub enum CertSource {
    /// The DER certificate, read by the caller (from a file).
    Der(Vec<u8>),
    /// The certificate object on the token with the key's `id` and/or `object` label
    /// (`CKO_CERTIFICATE`, i.e. `type=cert`).
    FromToken,
}

/// Which PKCS#11 mechanism produces the RSA PKCS#1 v1.5 SHA-256 signature.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum MechanismChoice {
    /// `CKM_SHA256_RSA_PKCS` when the token lists it, otherwise `CKM_RSA_PKCS` over a
    /// DigestInfo built here.
    #[default]
    Auto,
    /// Always `CKM_SHA256_RSA_PKCS` (the token hashes).
    Sha256RsaPkcs,
    /// Always `CKM_RSA_PKCS` over a DER DigestInfo(SHA-256) computed here, for tokens that
    /// cannot hash.
    RsaPkcsDigestInfo,
}

/// Options of [`Pkcs11Signer::open_with`] beyond the ones [`Pkcs11Signer::open`] takes.
#[derive(Clone, Copy, Debug)]
pub struct Pkcs11Options {
    /// Number of sessions in the pool (at least 1).
    pub pool_size: usize,
    /// Mechanism selection.
    pub mechanism: MechanismChoice,
}

impl Default for Pkcs11Options {
    fn default() -> Self {
        Pkcs11Options { pool_size: 4, mechanism: MechanismChoice::Auto }
    }
}

/// Returns the process-wide PKCS#11 context of `module`, loading and initialising
/// (`C_Initialize`) the module the first time.
///
/// `C_Initialize` fails when called twice in one process, so every signer on a module
/// shares this context. A module already initialised by someone else in the process
/// (`CKR_CRYPTOKI_ALREADY_INITIALIZED`) is accepted.
///
/// # Errors
/// [`HsmError::Module`] when the path does not exist, is not a loadable library, or
/// `C_Initialize` fails.
pub fn shared_context(module: &Path) -> Result<Pkcs11> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let module_err = |message: String| -> Error {
        HsmError::Module { path: module.display().to_string(), message }.into()
    };
    let key = std::fs::canonicalize(module).map_err(|e| module_err(e.to_string()))?;
    if !key.is_file() {
        return Err(module_err("not a regular file".to_owned()));
    }
    let mut contexts = lock(CONTEXTS.get_or_init(Default::default));
    if let Some(ctx) = contexts.get(&key) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(&key).map_err(|e| module_err(e.to_string()))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(module_err(format!("C_Initialize failed: {}", ck_name(&e)))),
    }
    contexts.insert(key, ctx.clone());
    Ok(ctx)
}

/// A [`Signer`] whose key lives on a PKCS#11 token: RSA PKCS#1 v1.5 over SHA-256, through a
/// pool of logged-in sessions. `Send + Sync`: share one signer between all threads.
pub struct Pkcs11Signer {
    ctx: Pkcs11,
    module: PathBuf,
    uri: Pkcs11Uri,
    pin: AuthPin,
    certificate: Vec<u8>,
    rsa_public_key: Vec<u8>,
    chain: Vec<Vec<u8>>,
    mechanism: SignMechanism,
    pool: Pool,
    slot: Mutex<Slot>,
    recoveries: AtomicU64,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum SignMechanism {
    Sha256RsaPkcs,
    RsaPkcsDigestInfo,
}

impl Pkcs11Signer {
    /// Opens a signer: loads `module` (once per process), finds the token and the private
    /// key named by `uri`, logs in, reads or checks the certificate, and keeps up to
    /// `pool_size` sessions for signing (one is opened now; the others when needed).
    ///
    /// `chain` holds the DER intermediate certificates to embed in signatures.
    ///
    /// PKCS#11 keeps the login state per application and token: while another signer of
    /// this process keeps the same token logged in, `C_Login` answers
    /// `CKR_USER_ALREADY_LOGGED_IN` without checking the PIN, so a wrong PIN is only
    /// detected when the token is not already logged in.
    ///
    /// # Errors
    /// [`HsmError::Module`] (module missing or not loadable), [`HsmError::Uri`] (bad URI,
    /// unreadable PIN source, `type` other than `private`), [`HsmError::TokenNotFound`],
    /// [`HsmError::PinIncorrect`], [`HsmError::KeyNotFound`] (no such key, or no such
    /// certificate with [`CertSource::FromToken`]), [`CertificateError::BadCertificate`],
    /// [`CertificateError::KeyMismatch`] (the certificate is not the key's), and
    /// [`HsmError::Pkcs11`] for any other PKCS#11 failure.
    pub fn open(
        module: &Path,
        uri: &Pkcs11Uri,
        pin: Pin,
        cert: CertSource,
        chain: Vec<Vec<u8>>,
        pool_size: usize,
    ) -> Result<Self> {
        let options = Pkcs11Options { pool_size, ..Pkcs11Options::default() };
        Self::open_with(module, uri, pin, cert, chain, options)
    }

    /// [`Pkcs11Signer::open`] with every option.
    ///
    /// # Errors
    /// As [`Pkcs11Signer::open`]; [`Error::InvalidArgument`] for a pool size of 0 or above
    /// 1024, and [`HsmError::Pkcs11`] (`C_GetMechanismList`, `CKR_MECHANISM_INVALID`) when
    /// the token offers neither `CKM_SHA256_RSA_PKCS` nor `CKM_RSA_PKCS` (or not the one
    /// forced).
    pub fn open_with(
        module: &Path,
        uri: &Pkcs11Uri,
        pin: Pin,
        cert: CertSource,
        chain: Vec<Vec<u8>>,
        options: Pkcs11Options,
    ) -> Result<Self> {
        if options.pool_size == 0 || options.pool_size > MAX_POOL_SIZE {
            return Err(Error::InvalidArgument(format!(
                "PKCS#11 pool size must be 1 to {MAX_POOL_SIZE}, not {}",
                options.pool_size
            )));
        }
        if let Some(t) = uri.object_type
            && t != ObjectType::Private
        {
            return Err(uri::uri_err(format!(
                "the signing key URI has type={}, expected type=private",
                t.as_str()
            )));
        }
        let pin = match pin {
            Pin::Value(p) => AuthPin::from(p),
            Pin::FromUri => AuthPin::from(resolve_pin(uri)?),
        };
        // The stored URI never keeps a PIN.
        let uri = Pkcs11Uri { pin_value: None, ..uri.clone() };
        let ctx = shared_context(module)?;
        check_library(&ctx, &uri)?;
        let slot = find_slot(&ctx, &uri)?;

        let mechanisms =
            ctx.get_mechanism_list(slot).map_err(|e| pkcs11_err("C_GetMechanismList", &e))?;
        let has = |m: MechanismType| mechanisms.contains(&m);
        let mechanism = match options.mechanism {
            MechanismChoice::Auto if has(MechanismType::SHA256_RSA_PKCS) => {
                SignMechanism::Sha256RsaPkcs
            }
            MechanismChoice::Auto | MechanismChoice::RsaPkcsDigestInfo
                if has(MechanismType::RSA_PKCS) =>
            {
                SignMechanism::RsaPkcsDigestInfo
            }
            MechanismChoice::Sha256RsaPkcs if has(MechanismType::SHA256_RSA_PKCS) => {
                SignMechanism::Sha256RsaPkcs
            }
            _ => {
                return Err(HsmError::Pkcs11 {
                    function: "C_GetMechanismList".to_owned(),
                    ckr: "CKR_MECHANISM_INVALID".to_owned(),
                }
                .into());
            }
        };

        let first = open_session(&ctx, slot, &pin, &uri)?;
        let certificate = match cert {
            CertSource::Der(der) => der,
            CertSource::FromToken => read_certificate(&first.session, &uri)?,
        };
        let rsa_public_key = rsa_public_key_of(&certificate)?;
        check_key_matches(&first.session, first.key, &rsa_public_key)?;

        let signer = Pkcs11Signer {
            ctx,
            module: module.to_path_buf(),
            uri,
            pin,
            certificate,
            rsa_public_key,
            chain,
            mechanism,
            pool: Pool::new(options.pool_size),
            slot: Mutex::new(slot),
            recoveries: AtomicU64::new(0),
        };
        signer.pool.seed(first);
        Ok(signer)
    }

    /// The DER `RSAPublicKey` of the signer certificate (the form
    /// [`crate::crypto::verify_rsa_pkcs1`] takes).
    pub fn rsa_public_key(&self) -> &[u8] {
        &self.rsa_public_key
    }

    /// True when signatures go through `CKM_RSA_PKCS` over a DigestInfo built here, false
    /// when the token hashes (`CKM_SHA256_RSA_PKCS`).
    pub fn uses_digest_info(&self) -> bool {
        self.mechanism == SignMechanism::RsaPkcsDigestInfo
    }

    /// How many sessions were dropped and reopened since the signer was opened.
    pub fn recoveries(&self) -> u64 {
        self.recoveries.load(Ordering::Relaxed)
    }

    /// The pool's capacity.
    pub fn pool_size(&self) -> usize {
        self.pool.capacity
    }

    /// The slot the signer currently uses (it may change after a recovery).
    pub fn slot_id(&self) -> u64 {
        lock(&self.slot).id()
    }

    /// Signs with the given session discipline; see [`Signer::sign`].
    fn sign_inner(&self, message: &[u8]) -> Result<Vec<u8>> {
        let digest_info;
        let (mechanism, data) = match self.mechanism {
            SignMechanism::Sha256RsaPkcs => (Mechanism::Sha256RsaPkcs, message),
            SignMechanism::RsaPkcsDigestInfo => {
                digest_info = sha256_digest_info(message);
                (Mechanism::RsaPkcs, digest_info.as_slice())
            }
        };
        let mut last = String::new();
        let mut refind = false;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(BACKOFF * (1 << (attempt - 1)));
            }
            let mut lease = match self.checkout(refind) {
                Ok(lease) => lease,
                Err(Failure::Recoverable(ckr)) => {
                    last = ckr;
                    refind = true;
                    continue;
                }
                Err(Failure::Fatal(e)) => return Err(e),
            };
            let Some(pooled) = lease.session.as_ref() else {
                // A lease always holds a session until it is returned; treat the
                // impossible as a lost session.
                refind = true;
                continue;
            };
            let error = match pooled.session.sign(&mechanism, pooled.key, data) {
                Ok(signature) => return Ok(signature),
                Err(e) => e,
            };
            match diagnose(&pooled.session, &error) {
                Diagnosis::Lost { dead } => {
                    last = ck_name(&error);
                    lease.discard(dead);
                    self.recoveries.fetch_add(1, Ordering::Relaxed);
                    refind = true;
                }
                // The session itself is fine (a bad input, a key that refuses): keep it.
                Diagnosis::Healthy => return Err(pkcs11_err("C_Sign", &error)),
            }
        }
        Err(HsmError::RetriesExhausted { attempts: MAX_ATTEMPTS, ckr: last }.into())
    }

    /// Takes an idle session, or opens one when the pool is not full, or waits.
    fn checkout(&self, refind: bool) -> std::result::Result<Lease<'_>, Failure> {
        let mut state = lock(&self.pool.state);
        loop {
            if let Some(s) = state.idle.pop() {
                return Ok(Lease { pool: &self.pool, session: Some(s) });
            }
            if state.open < self.pool.capacity {
                state.open += 1;
                break;
            }
            state = self.pool.available.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        drop(state);
        // A slot in the pool is reserved: open outside the lock.
        match self.open_pooled(refind) {
            Ok(s) => Ok(Lease { pool: &self.pool, session: Some(s) }),
            Err(e) => {
                self.pool.release_slot();
                Err(e)
            }
        }
    }

    fn open_pooled(&self, refind: bool) -> std::result::Result<PooledSession, Failure> {
        let slot = if refind {
            let slot = find_slot(&self.ctx, &self.uri).map_err(|e| match e {
                Error::Hsm(HsmError::TokenNotFound(_)) => {
                    Failure::Recoverable("CKR_TOKEN_NOT_PRESENT".to_owned())
                }
                e => Failure::Fatal(e),
            })?;
            *lock(&self.slot) = slot;
            slot
        } else {
            *lock(&self.slot)
        };
        open_session(&self.ctx, slot, &self.pin, &self.uri).map_err(|e| match e {
            Error::Hsm(HsmError::Pkcs11 { ckr, .. }) if is_recoverable_name(&ckr) => {
                Failure::Recoverable(ckr)
            }
            e => Failure::Fatal(e),
        })
    }
}

impl Signer for Pkcs11Signer {
    fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// Signs `message` with RSA PKCS#1 v1.5 over SHA-256 on the token.
    ///
    /// # Errors
    /// [`HsmError::RetriesExhausted`] when sessions kept dying for [`MAX_ATTEMPTS`]
    /// attempts; [`HsmError::PinIncorrect`] when the PIN stopped working during a
    /// re-login; [`HsmError::Pkcs11`] (`C_Sign`, with the CKR name) for any other failure.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.sign_inner(message)
    }
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("module", &self.module)
            .field("uri", &self.uri)
            .field("pin", &"REDACTED")
            .field("mechanism", &self.mechanism)
            .field("pool_size", &self.pool.capacity)
            .field("certificate_len", &self.certificate.len())
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Pkcs11Signer {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut lock(&self.pool.state).idle);
        for s in idle {
            // Closing may fail when the session already died; nothing to do then.
            let _ = s.session.close();
        }
    }
}

/// The DER DigestInfo (RFC 8017 §9.2) of SHA-256(`message`), the input of `CKM_RSA_PKCS`.
pub fn sha256_digest_info(message: &[u8]) -> Vec<u8> {
    let hash = crate::crypto::DigestAlgorithm::Sha256.digest(message);
    let mut out = Vec::with_capacity(SHA256_DIGEST_INFO_PREFIX.len() + hash.len());
    out.extend_from_slice(&SHA256_DIGEST_INFO_PREFIX);
    out.extend_from_slice(&hash);
    out
}

// ---------------------------------------------------------------------------------------
// Pool

struct PooledSession {
    session: Session,
    key: ObjectHandle,
}

struct PoolState {
    idle: Vec<PooledSession>,
    /// Sessions open: idle plus checked out (plus being opened).
    open: usize,
}

struct Pool {
    state: Mutex<PoolState>,
    available: Condvar,
    capacity: usize,
}

impl Pool {
    fn new(capacity: usize) -> Self {
        Pool {
            state: Mutex::new(PoolState { idle: Vec::with_capacity(capacity), open: 0 }),
            available: Condvar::new(),
            capacity,
        }
    }

    fn seed(&self, s: PooledSession) {
        let mut state = lock(&self.state);
        state.open += 1;
        state.idle.push(s);
    }

    fn release_slot(&self) {
        let mut state = lock(&self.state);
        state.open = state.open.saturating_sub(1);
        drop(state);
        self.available.notify_one();
    }
}

/// A session checked out of the pool; it goes back on drop.
struct Lease<'a> {
    pool: &'a Pool,
    session: Option<PooledSession>,
}

impl Lease<'_> {
    /// Drops the session instead of returning it; closes it unless it is already dead.
    fn discard(&mut self, dead: bool) {
        if let Some(s) = self.session.take() {
            if !dead {
                let _ = s.session.close();
            }
            // A dead session is not closed: its handle may already belong to a new session.
            self.pool.release_slot();
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            lock(&self.pool.state).idle.push(s);
            self.pool.available.notify_one();
        }
    }
}

enum Failure {
    Recoverable(String),
    Fatal(Error),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------
// Token, session and object lookup

fn check_library(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<()> {
    if uri.library_manufacturer.is_none()
        && uri.library_description.is_none()
        && uri.library_version.is_none()
    {
        return Ok(());
    }
    let info = ctx.get_library_info().map_err(|e| pkcs11_err("C_GetInfo", &e))?;
    let version = info.library_version();
    let ok = matches_attr(&uri.library_manufacturer, info.manufacturer_id())
        && matches_attr(&uri.library_description, info.library_description())
        && uri.library_version.is_none_or(|v| v == (version.major(), version.minor()));
    if ok { Ok(()) } else { Err(HsmError::TokenNotFound(uri.to_string()).into()) }
}

fn matches_attr(want: &Option<String>, have: &str) -> bool {
    want.as_deref().is_none_or(|w| w == have.trim_end())
}

/// Finds the slot whose token matches the URI (label, serial, manufacturer, model,
/// slot-id, slot description and manufacturer). The first match wins.
fn find_slot(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot> {
    let slots = ctx.get_slots_with_token().map_err(|e| pkcs11_err("C_GetSlotList", &e))?;
    for slot in slots {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        if uri.slot_description.is_some() || uri.slot_manufacturer.is_some() {
            let Ok(info) = ctx.get_slot_info(slot) else { continue };
            if !matches_attr(&uri.slot_description, info.slot_description())
                || !matches_attr(&uri.slot_manufacturer, info.manufacturer_id())
            {
                continue;
            }
        }
        // A slot whose token vanished between the two calls is skipped.
        let Ok(token) = ctx.get_token_info(slot) else { continue };
        if matches_attr(&uri.token, token.label())
            && matches_attr(&uri.serial, token.serial_number())
            && matches_attr(&uri.manufacturer, token.manufacturer_id())
            && matches_attr(&uri.model, token.model())
        {
            return Ok(slot);
        }
    }
    Err(HsmError::TokenNotFound(uri.to_string()).into())
}

/// Opens a read-only session on `slot`, logs the user in (once per token: an
/// already-logged-in token is fine) and finds the private key.
fn open_session(ctx: &Pkcs11, slot: Slot, pin: &AuthPin, uri: &Pkcs11Uri) -> Result<PooledSession> {
    // Sessions are not closed on drop: the pool decides (a dead handle must not be closed,
    // it may have been reused).
    let session = ctx.open_ro_session_no_drop(slot).map_err(|e| pkcs11_err("C_OpenSession", &e))?;
    let result = login(&session, pin).and_then(|()| find_private_key(&session, uri));
    match result {
        Ok(key) => Ok(PooledSession { session, key }),
        Err(e) => {
            let _ = session.close();
            Err(e)
        }
    }
}

fn login(session: &Session, pin: &AuthPin) -> Result<()> {
    match session.login(UserType::User, Some(pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(
            rv @ (RvError::PinIncorrect
            | RvError::PinInvalid
            | RvError::PinLenRange
            | RvError::PinExpired
            | RvError::PinLocked),
            _,
        )) => Err(HsmError::PinIncorrect { ckr: rv_name(rv) }.into()),
        Err(e) => Err(pkcs11_err("C_Login", &e)),
    }
}

fn object_template(class: ObjectClass, uri: &Pkcs11Uri) -> Vec<Attribute> {
    let mut template = vec![Attribute::Class(class)];
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    template
}

fn find_one(
    session: &Session,
    template: &[Attribute],
    what: &str,
    uri: &Pkcs11Uri,
) -> Result<ObjectHandle> {
    let found: Vec<ObjectHandle> = session
        .iter_objects(template)
        .map_err(|e| pkcs11_err("C_FindObjectsInit", &e))?
        .take(MAX_OBJECTS)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| pkcs11_err("C_FindObjects", &e))?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(HsmError::KeyNotFound(format!("{uri} (no {what})")).into()),
        [first, ..] if uri.id.is_some() || uri.object.is_some() => Ok(*first),
        many => Err(HsmError::KeyNotFound(format!(
            "{uri} ({} objects of type {what} match: name one with id= or object=)",
            many.len()
        ))
        .into()),
    }
}

fn find_private_key(session: &Session, uri: &Pkcs11Uri) -> Result<ObjectHandle> {
    find_one(session, &object_template(ObjectClass::PRIVATE_KEY, uri), "private key", uri)
}

fn read_certificate(session: &Session, uri: &Pkcs11Uri) -> Result<Vec<u8>> {
    let handle =
        find_one(session, &object_template(ObjectClass::CERTIFICATE, uri), "certificate", uri)?;
    let attrs = session
        .get_attributes(handle, &[AttributeType::Value])
        .map_err(|e| pkcs11_err("C_GetAttributeValue", &e))?;
    attrs
        .into_iter()
        .find_map(|a| match a {
            Attribute::Value(v) => Some(v),
            _ => None,
        })
        .ok_or_else(|| {
            HsmError::KeyNotFound(format!("{uri} (certificate without CKA_VALUE)")).into()
        })
}

/// Checks that the certificate's modulus is the private key's (`CKA_MODULUS`), when the
/// token shows it.
fn check_key_matches(session: &Session, key: ObjectHandle, rsa_public_key: &[u8]) -> Result<()> {
    let Ok(attrs) = session.get_attributes(key, &[AttributeType::Modulus]) else {
        return Ok(());
    };
    let Some(modulus) = attrs.into_iter().find_map(|a| match a {
        Attribute::Modulus(m) => Some(m),
        _ => None,
    }) else {
        return Ok(());
    };
    let cert_modulus = RsaPublicKey::from_der(rsa_public_key)
        .map_err(|e| CertificateError::BadCertificate(format!("RSA public key: {e}")))?
        .modulus;
    if strip_zeros(&modulus) == strip_zeros(cert_modulus.as_bytes()) {
        Ok(())
    } else {
        Err(CertificateError::KeyMismatch.into())
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(start..).unwrap_or(&[])
}

/// `RSAPublicKey` (RFC 8017 §A.1.1).
#[derive(der::Sequence)]
struct RsaPublicKey<'a> {
    modulus: der::asn1::UintRef<'a>,
    public_exponent: der::asn1::UintRef<'a>,
}

/// The DER `RSAPublicKey` inside the certificate's SubjectPublicKeyInfo.
fn rsa_public_key_of(certificate: &[u8]) -> Result<Vec<u8>> {
    let cert = x509_cert::Certificate::from_der(certificate)
        .map_err(|e| CertificateError::BadCertificate(format!("signer certificate: {e}")))?;
    let spki = cert.tbs_certificate().subject_public_key_info();
    if spki.algorithm.oid != const_oid::db::rfc5912::RSA_ENCRYPTION {
        return Err(CertificateError::BadCertificate(format!(
            "signer certificate key is {}, not RSA",
            spki.algorithm.oid
        ))
        .into());
    }
    let key = spki.subject_public_key.as_bytes().ok_or_else(|| {
        CertificateError::BadCertificate("public key bit string is not octet-aligned".into())
    })?;
    RsaPublicKey::from_der(key)
        .map_err(|e| CertificateError::BadCertificate(format!("RSA public key: {e}")))?;
    Ok(key.to_vec())
}

// ---------------------------------------------------------------------------------------
// Errors

enum Diagnosis {
    /// The session (or its login, or the key handle) is gone: drop it and retry.
    /// `dead`: the handle itself is invalid and must not be closed.
    Lost { dead: bool },
    /// The session works: the error is about this signature.
    Healthy,
}

/// Decides whether a failed `C_SignInit`/`C_Sign` lost the session. The listed CKR values
/// say so directly; for any other error the session is asked (`C_GetSessionInfo`): a
/// session that is no longer logged in is lost too. (SoftHSM2 answers `CKR_GENERAL_ERROR`,
/// not `CKR_USER_NOT_LOGGED_IN`, when the token was logged out under a session.)
fn diagnose(session: &Session, error: &CkError) -> Diagnosis {
    if let CkError::Pkcs11(rv, _) = error
        && is_recoverable(*rv)
    {
        return Diagnosis::Lost { dead: session_is_dead(*rv) };
    }
    match session.get_session_info() {
        Ok(info) => match info.session_state() {
            SessionState::RoUser | SessionState::RwUser => Diagnosis::Healthy,
            _ => Diagnosis::Lost { dead: false },
        },
        Err(CkError::Pkcs11(rv, _)) if is_recoverable(rv) => {
            Diagnosis::Lost { dead: session_is_dead(rv) }
        }
        Err(_) => Diagnosis::Healthy,
    }
}

/// Errors after which the session is dropped and the signature retried on a new one.
fn is_recoverable(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::UserNotLoggedIn
            | RvError::DeviceRemoved
            | RvError::TokenNotPresent
            | RvError::KeyHandleInvalid
            | RvError::ObjectHandleInvalid
    )
}

fn is_recoverable_name(ckr: &str) -> bool {
    matches!(
        ckr,
        "CKR_SESSION_HANDLE_INVALID"
            | "CKR_SESSION_CLOSED"
            | "CKR_USER_NOT_LOGGED_IN"
            | "CKR_DEVICE_REMOVED"
            | "CKR_TOKEN_NOT_PRESENT"
            | "CKR_KEY_HANDLE_INVALID"
            | "CKR_OBJECT_HANDLE_INVALID"
            | "CKR_SLOT_ID_INVALID"
    )
}

/// Errors after which the session handle is gone (never close it again).
fn session_is_dead(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::DeviceRemoved
            | RvError::TokenNotPresent
    )
}

/// `CKR_PIN_INCORRECT` from `RvError::PinIncorrect`: cryptoki's `Display` is the long
/// description, its `Debug` the variant name, which maps one-to-one onto the CKR name.
fn rv_name(rv: RvError) -> String {
    match rv {
        RvError::VendorDefined(code) => format!("CKR_VENDOR_DEFINED(0x{code:08X})"),
        RvError::UnknownErrorCode(code) => format!("CKR_0x{code:08X}"),
        other => camel_to_ckr("CKR_", &format!("{other:?}")),
    }
}

fn camel_to_ckr(prefix: &str, camel: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + camel.len() + 8);
    out.push_str(prefix);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The CKR name (or a description of a non-PKCS#11 failure) of a cryptoki error.
fn ck_name(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, _) => rv_name(*rv),
        other => other.to_string(),
    }
}

/// The PKCS#11 function name (`C_Sign`) of a cryptoki `Function`.
fn function_name(f: Function) -> String {
    format!("C_{f:?}")
}

fn pkcs11_err(function: &str, e: &CkError) -> Error {
    let function = match e {
        CkError::Pkcs11(_, f) => function_name(*f),
        _ => function.to_owned(),
    };
    HsmError::Pkcs11 { function, ckr: ck_name(e) }.into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn ckr_names() {
        assert_eq!(rv_name(RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(rv_name(RvError::SessionHandleInvalid), "CKR_SESSION_HANDLE_INVALID");
        assert_eq!(rv_name(RvError::UserNotLoggedIn), "CKR_USER_NOT_LOGGED_IN");
        assert_eq!(rv_name(RvError::Cancel), "CKR_CANCEL");
        assert_eq!(rv_name(RvError::RandomNoRng), "CKR_RANDOM_NO_RNG");
        assert_eq!(rv_name(RvError::SessionReadWriteSoExists), "CKR_SESSION_READ_WRITE_SO_EXISTS");
        assert_eq!(rv_name(RvError::VendorDefined(0x8000_0001)), "CKR_VENDOR_DEFINED(0x80000001)");
        assert_eq!(function_name(Function::Sign), "C_Sign");
        assert_eq!(function_name(Function::GetMechanismList), "C_GetMechanismList");
        assert!(is_recoverable_name(&rv_name(RvError::SessionClosed)));
    }

    #[test]
    fn digest_info() {
        let di = sha256_digest_info(b"abc");
        assert_eq!(di.len(), 51);
        assert_eq!(
            crate::crypto::hex(&di),
            "3031300d060960864801650304020105000420\
             ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn pin_debug_is_redacted() {
        assert!(!format!("{:?}", Pin::Value("1234".into())).contains("1234"));
    }

    #[test]
    fn missing_module_is_typed() {
        let err = shared_context(Path::new("/nonexistent/libnothing.so")).unwrap_err();
        assert!(matches!(err, Error::Hsm(HsmError::Module { .. })), "{err:?}");
    }
}
