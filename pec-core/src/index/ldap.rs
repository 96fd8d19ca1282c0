//! The providers index from a live LDAP server (docs/SPEC.md §8.1: base `o=postacert`, entries of
//! object class `provider`), through ldap3's blocking API.
//!
//! Each [`LdapSource::load`] runs on its own short-lived thread: ldap3's `LdapConn` builds
//! a private tokio runtime and must not run inside another one (TOOLCHAIN.md), and a
//! caller inside an async runtime (or a C caller) must still be able to use it. The thread
//! also gives a hard deadline: the caller waits at most `connect_timeout + search_timeout`
//! (plus a small margin), whatever the server does.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapConn, LdapConnSettings, LdapError, Scope, SearchEntry};

use super::directory::Directory;
use super::ldif::{self, LdifLimits};
use super::refresh::IndexSource;
use crate::error::{DirectoryError, Error, LimitError, Result};

/// The attributes requested from the server (the certificate in binary transfer, RFC 4522).
const ATTRIBUTES: &[&str] = &[
    "objectClass",
    "providerName",
    "providerUnit",
    "providerCertificateHash",
    "providerCertificate;binary",
    "mailReceipt",
    "managedDomains",
    "LDIFLocationURL",
    "description",
];

/// An LDAP server holding the providers index.
///
/// `ldap://host:port`, `ldaps://host:port` (TLS with rustls and the platform's roots) and
/// `ldapi://%2Fpath%2Fto%2Fsocket` URLs; anonymous or simple bind; a subtree search
/// `(objectClass=provider)` under `base`, paged (RFC 2696) by `page_size`.
#[derive(Clone)]
pub struct LdapSource {
    /// Server URL.
    pub url: String,
    /// Search base (default `o=postacert`, docs/SPEC.md §8.1).
    pub base: String,
    /// Simple bind DN and password; `None` binds anonymously.
    pub bind: Option<(String, String)>,
    /// Bound on TCP/TLS connection and bind.
    pub connect_timeout: Duration,
    /// Bound on the whole search (every page).
    pub search_timeout: Duration,
    /// Entries per page (RFC 2696 paged results); 0 disables paging.
    pub page_size: u32,
    /// Bounds on the number of entries and values accepted.
    pub limits: LdifLimits,
}

impl LdapSource {
    /// A source for `url` with base `o=postacert`, anonymous bind, 5 s connect timeout,
    /// 30 s search timeout, pages of 500 entries.
    pub fn new(url: impl Into<String>) -> Self {
        LdapSource {
            url: url.into(),
            base: "o=postacert".into(),
            bind: None,
            connect_timeout: Duration::from_secs(5),
            search_timeout: Duration::from_secs(30),
            page_size: 500,
            limits: LdifLimits::default(),
        }
    }

    /// Sets the search base.
    pub fn with_base(mut self, base: impl Into<String>) -> Self {
        self.base = base.into();
        self
    }

    /// Binds with a DN and password (simple bind).
    pub fn with_bind(mut self, dn: impl Into<String>, password: impl Into<String>) -> Self {
        self.bind = Some((dn.into(), password.into()));
        self
    }

    /// Sets the connect and search timeouts.
    pub fn with_timeouts(mut self, connect: Duration, search: Duration) -> Self {
        self.connect_timeout = connect;
        self.search_timeout = search;
        self
    }

    /// Sets the page size (0: no paging).
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }

    /// Connects, binds, searches and builds the index. Every provider entry is validated
    /// as the LDIF ones are ([`ldif::record_from_values`]); one bad entry fails the load.
    pub fn load(&self) -> Result<Directory> {
        let me = self.clone();
        let (tx, rx) = mpsc::channel();
        let deadline = self.connect_timeout + self.search_timeout + Duration::from_millis(500);
        let spawned = std::thread::Builder::new().name("pec-index-ldap".into()).spawn(move || {
            let _ = tx.send(me.load_blocking());
        });
        if let Err(e) = spawned {
            return Err(connect_err(&self.url, format!("cannot start the LDAP thread: {e}")));
        }
        match rx.recv_timeout(deadline) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(Error::Directory(DirectoryError::Timeout {
                    operation: "search",
                    millis: millis(deadline),
                }))
            }
            // The thread ended without answering: ldap3 panicked on a malformed response.
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Directory(
                DirectoryError::Search("malformed response from the server".into()),
            )),
        }
    }

    fn load_blocking(&self) -> Result<Directory> {
        let settings = LdapConnSettings::new().set_conn_timeout(self.connect_timeout);
        let mut conn = LdapConn::with_settings(settings, &self.url).map_err(|e| match e {
            LdapError::Timeout { .. } => Error::Directory(DirectoryError::Timeout {
                operation: "connect",
                millis: millis(self.connect_timeout),
            }),
            other => connect_err(&self.url, other.to_string()),
        })?;
        if let Some((dn, pw)) = &self.bind {
            let res = conn
                .with_timeout(self.connect_timeout)
                .simple_bind(dn, pw)
                .map_err(|e| op_err("bind", self.connect_timeout, e, &self.url))?;
            if res.rc != 0 {
                return Err(connect_err(&self.url, format!("bind refused: {res}")));
            }
        }
        let started = Instant::now();
        let mut adapters: Vec<Box<dyn Adapter<'static, &'static str, &'static [&'static str]>>> =
            vec![Box::new(EntriesOnly::new())];
        if self.page_size > 0 {
            let size = i32::try_from(self.page_size).unwrap_or(i32::MAX);
            adapters.push(Box::new(PagedResults::new(size)));
        }
        let mut stream = conn
            .with_timeout(self.search_timeout)
            .streaming_search_with(
                adapters,
                &self.base,
                Scope::Subtree,
                "(objectClass=provider)",
                ATTRIBUTES,
            )
            .map_err(|e| op_err("search", self.search_timeout, e, &self.url))?;
        let mut records = Vec::new();
        let mut values_total = 0usize;
        loop {
            if started.elapsed() > self.search_timeout {
                return Err(Error::Directory(DirectoryError::Timeout {
                    operation: "search",
                    millis: millis(self.search_timeout),
                }));
            }
            let next =
                stream.next().map_err(|e| op_err("search", self.search_timeout, e, &self.url))?;
            let Some(raw) = next else { break };
            if records.len() >= self.limits.max_entries {
                return Err(Error::Limit(LimitError {
                    what: "LDAP entries",
                    limit: self.limits.max_entries as u64,
                    actual: records.len() as u64 + 1,
                }));
            }
            let entry = SearchEntry::construct(raw);
            let n = count_values(&entry.attrs) + count_values(&entry.bin_attrs);
            values_total += n;
            if n > self.limits.max_values_per_entry || values_total > self.limits.max_values {
                return Err(Error::Limit(LimitError {
                    what: "LDAP values",
                    limit: self.limits.max_values as u64,
                    actual: values_total as u64,
                }));
            }
            let values = entry
                .attrs
                .iter()
                .flat_map(|(k, vs)| vs.iter().map(move |v| (k.as_str(), v.as_bytes())))
                .chain(
                    entry
                        .bin_attrs
                        .iter()
                        .flat_map(|(k, vs)| vs.iter().map(move |v| (k.as_str(), v.as_slice()))),
                );
            records.push(ldif::record_from_values(&entry.dn, values)?);
        }
        let res = stream.result();
        if res.rc != 0 {
            return Err(Error::Directory(DirectoryError::Search(format!(
                "{} under {}: {res}",
                self.url, self.base
            ))));
        }
        let _ = conn.unbind();
        // Deterministic order whatever the server returns.
        records.sort_by(|a, b| a.dn.cmp(&b.dn));
        Directory::from_records(records)
    }
}

impl std::fmt::Debug for LdapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapSource")
            .field("url", &self.url)
            .field("base", &self.base)
            .field("bind_dn", &self.bind.as_ref().map(|(dn, _)| dn))
            .field("connect_timeout", &self.connect_timeout)
            .field("search_timeout", &self.search_timeout)
            .field("page_size", &self.page_size)
            .finish()
    }
}

impl IndexSource for LdapSource {
    fn load(&self) -> Result<Directory> {
        LdapSource::load(self)
    }

    fn describe(&self) -> String {
        format!("LDAP {} base {}", self.url, self.base)
    }
}

fn count_values<V>(m: &HashMap<String, Vec<V>>) -> usize {
    m.values().map(Vec::len).sum()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn connect_err(url: &str, message: String) -> Error {
    Error::Directory(DirectoryError::Connect { url: url.to_owned(), message })
}

fn op_err(operation: &'static str, timeout: Duration, e: LdapError, url: &str) -> Error {
    match e {
        LdapError::Timeout { .. } => {
            Error::Directory(DirectoryError::Timeout { operation, millis: millis(timeout) })
        }
        LdapError::LdapResult { result } => {
            Error::Directory(DirectoryError::Search(format!("{operation}: {result}")))
        }
        LdapError::Io { source } if operation == "bind" => connect_err(url, source.to_string()),
        other => Error::Directory(DirectoryError::Search(format!("{operation}: {other}"))),
    }
}
