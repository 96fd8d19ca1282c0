//! Refresh policy of the providers index (docs/SPEC.md §8.1: every provider keeps a local copy
//! refreshed daily and uses it instead of querying the central server per message).
//!
//! A [`RefreshingDirectory`] serves look-ups from its current copy (an `Arc<Directory>`
//! swapped atomically, so readers never wait) and reloads it from an [`IndexSource`] on
//! demand or on an interval. A failed reload (server down, bad file, bad signature) keeps the
//! last good copy and records the failure; the age of the copy is visible.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;

use super::directory::Directory;
use super::ldif::{self, LdifLimits};
use super::{ProviderDirectory, ProviderRecord};
use crate::error::{Error, Result};

/// Where an index comes from: a file, an LDAP server, a test fake.
pub trait IndexSource: Send + Sync {
    /// Loads a complete, validated index. Must not return a partial index.
    fn load(&self) -> Result<Directory>;
    /// A short human description (`LDIF /etc/pec/providers.ldif`, `LDAP ldaps://...`).
    fn describe(&self) -> String;
}

/// The signature check of a signed index: takes the `.p7m` DER and returns the verified
/// content (in the library, `crate::verify::index::signed_index_verifier` with the caller's trust).
pub type IndexVerifier = Arc<dyn Fn(&[u8]) -> Result<Vec<u8>> + Send + Sync>;

/// An LDIF file on disk, plain or signed (`.p7m`, docs/SPEC.md §8.1).
#[derive(Clone)]
pub struct LdifFileSource {
    path: PathBuf,
    verifier: Option<IndexVerifier>,
    limits: LdifLimits,
}

impl LdifFileSource {
    /// A plain LDIF file.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LdifFileSource { path: path.into(), verifier: None, limits: LdifLimits::default() }
    }

    /// A signed LDIF file (`.p7m`, DER or base64/PEM): every load verifies it with
    /// `verifier` through [`ldif::unwrap_signed_index`] before parsing the content. An
    /// unsigned file is then refused.
    pub fn signed(path: impl Into<PathBuf>, verifier: IndexVerifier) -> Self {
        LdifFileSource {
            path: path.into(),
            verifier: Some(verifier),
            limits: LdifLimits::default(),
        }
    }

    /// Replaces the input limits.
    pub fn with_limits(mut self, limits: LdifLimits) -> Self {
        self.limits = limits;
        self
    }
}

impl fmt::Debug for LdifFileSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdifFileSource")
            .field("path", &self.path)
            .field("signed", &self.verifier.is_some())
            .field("limits", &self.limits)
            .finish()
    }
}

impl IndexSource for LdifFileSource {
    fn load(&self) -> Result<Directory> {
        let meta = std::fs::metadata(&self.path).map_err(|e| Error::io(self.path.display(), &e))?;
        if meta.len() > self.limits.max_bytes as u64 {
            return Err(Error::Limit(crate::error::LimitError {
                what: "LDIF size",
                limit: self.limits.max_bytes as u64,
                actual: meta.len(),
            }));
        }
        let bytes = std::fs::read(&self.path).map_err(|e| Error::io(self.path.display(), &e))?;
        match &self.verifier {
            Some(v) => {
                let content = ldif::unwrap_signed_index(&bytes, &|der| v(der))?;
                Directory::from_ldif_with_limits(&content, &self.limits)
            }
            None => Directory::from_ldif_with_limits(&bytes, &self.limits),
        }
    }

    fn describe(&self) -> String {
        let kind = if self.verifier.is_some() { "signed LDIF" } else { "LDIF" };
        format!("{kind} {}", self.path.display())
    }
}

/// A failed reload, as recorded by [`RefreshingDirectory`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshFailure {
    /// The error.
    pub error: Error,
    /// When the attempt failed.
    pub at: SystemTime,
}

struct Copy {
    dir: Arc<Directory>,
    loaded: Instant,
    loaded_at: SystemTime,
}

/// A providers index that reloads itself from a source and never loses its last good copy.
///
/// Look-ups ([`ProviderDirectory`]) read the current copy without locking. [`refresh`]
/// reloads on demand; [`with_max_age`] makes look-ups trigger a reload of a stale copy
/// (one caller at a time pays the reload, the others keep reading the old copy);
/// [`start_interval`] runs reloads on a background thread.
///
/// [`refresh`]: RefreshingDirectory::refresh
/// [`with_max_age`]: RefreshingDirectory::with_max_age
/// [`start_interval`]: RefreshingDirectory::start_interval
pub struct RefreshingDirectory {
    source: Box<dyn IndexSource>,
    current: ArcSwap<Copy>,
    last_error: Mutex<Option<RefreshFailure>>,
    max_age: Option<Duration>,
    last_attempt: Mutex<Instant>,
    refreshing: AtomicBool,
}

impl RefreshingDirectory {
    /// Loads the index from `source`. A first load that fails is an error: there is no
    /// silently empty index.
    pub fn new(source: impl IndexSource + 'static) -> Result<Self> {
        Self::from_boxed(Box::new(source))
    }

    /// As [`RefreshingDirectory::new`] with a boxed source.
    pub fn from_boxed(source: Box<dyn IndexSource>) -> Result<Self> {
        let dir = source.load()?;
        let now = Instant::now();
        Ok(RefreshingDirectory {
            source,
            current: ArcSwap::from_pointee(Copy {
                dir: Arc::new(dir),
                loaded: now,
                loaded_at: SystemTime::now(),
            }),
            last_error: Mutex::new(None),
            max_age: None,
            last_attempt: Mutex::new(now),
            refreshing: AtomicBool::new(false),
        })
    }

    /// Look-ups reload the copy when it is older than `max_age`; after a failed reload the
    /// next attempt waits `max_age` again (no retry storm against a dead server).
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The current copy.
    pub fn current(&self) -> Arc<Directory> {
        Arc::clone(&self.current.load().dir)
    }

    /// Reloads from the source now. On success the new copy replaces the old one and the
    /// recorded failure is cleared; on failure the old copy stays, the failure is recorded
    /// ([`last_error`](Self::last_error)) and returned.
    pub fn refresh(&self) -> Result<()> {
        if let Ok(mut t) = self.last_attempt.lock() {
            *t = Instant::now();
        }
        match self.source.load() {
            Ok(dir) => {
                self.current.store(Arc::new(Copy {
                    dir: Arc::new(dir),
                    loaded: Instant::now(),
                    loaded_at: SystemTime::now(),
                }));
                if let Ok(mut e) = self.last_error.lock() {
                    *e = None;
                }
                Ok(())
            }
            Err(error) => {
                if let Ok(mut e) = self.last_error.lock() {
                    *e = Some(RefreshFailure { error: error.clone(), at: SystemTime::now() });
                }
                Err(error)
            }
        }
    }

    /// How old the current copy is.
    pub fn age(&self) -> Duration {
        self.current.load().loaded.elapsed()
    }

    /// When the current copy was loaded (wall clock).
    pub fn loaded_at(&self) -> SystemTime {
        self.current.load().loaded_at
    }

    /// The failure of the last reload, if the last reload failed.
    pub fn last_error(&self) -> Option<RefreshFailure> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// [`Directory::is_certified`] on the current copy.
    pub fn is_certified(&self, address: &str) -> bool {
        self.copy().dir.is_certified(address)
    }

    /// [`Directory::by_certificate`] on the current copy.
    pub fn by_certificate(&self, der: &[u8]) -> Option<Arc<ProviderRecord>> {
        self.copy().dir.by_certificate(der)
    }

    /// The source's description.
    pub fn describe(&self) -> String {
        self.source.describe()
    }

    /// Starts a background thread that calls [`refresh`](Self::refresh) every `every`.
    /// The thread holds only a weak reference: it stops when the returned handle is dropped
    /// or [`stop`](RefreshHandle::stop)ped, or when the directory is dropped.
    pub fn start_interval(self: &Arc<Self>, every: Duration) -> RefreshHandle {
        let weak: Weak<Self> = Arc::downgrade(self);
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("pec-index-refresh".into())
            .spawn(move || {
                loop {
                    match rx.recv_timeout(every) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    match weak.upgrade() {
                        // The failure is recorded in last_error.
                        Some(dir) => {
                            let _ = dir.refresh();
                        }
                        None => return,
                    }
                }
            })
            .ok();
        RefreshHandle { stop: Some(tx), thread }
    }

    fn copy(&self) -> arc_swap::Guard<Arc<Copy>> {
        if let Some(max_age) = self.max_age {
            let guard = self.current.load();
            if guard.loaded.elapsed() > max_age {
                drop(guard);
                self.maybe_refresh(max_age);
            }
        }
        self.current.load()
    }

    fn maybe_refresh(&self, max_age: Duration) {
        let due = self.last_attempt.lock().map(|t| t.elapsed() > max_age).unwrap_or(false);
        if due
            && self
                .refreshing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            // The failure is recorded in last_error; the old copy keeps serving.
            let _ = self.refresh();
            self.refreshing.store(false, Ordering::Release);
        }
    }
}

impl fmt::Debug for RefreshingDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingDirectory")
            .field("source", &self.source.describe())
            .field("records", &self.current.load().dir.len())
            .field("age", &self.age())
            .field("last_error", &self.last_error())
            .finish()
    }
}

impl ProviderDirectory for RefreshingDirectory {
    fn by_domain(&self, domain: &str) -> Option<Arc<ProviderRecord>> {
        self.copy().dir.by_domain(domain)
    }

    fn by_cert_hash(&self, sha1_hex: &str) -> Option<Arc<ProviderRecord>> {
        self.copy().dir.by_cert_hash(sha1_hex)
    }

    fn by_name(&self, name: &str) -> Option<Arc<ProviderRecord>> {
        self.copy().dir.by_name(name)
    }
}

/// The background refresh thread of [`RefreshingDirectory::start_interval`]; dropping it
/// stops the thread.
#[derive(Debug)]
pub struct RefreshHandle {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RefreshHandle {
    /// Stops the thread and waits for it (at most one refresh in progress).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RefreshHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
