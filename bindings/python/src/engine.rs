//! `pec.Engine`: the provider engine (`pec-engine`) for Python mail services. Each event is
//! one store transaction run with the GIL released; it returns an [`Outcome`] (the reply owed
//! to the MTA, the per-recipient LMTP replies, the messages to send). The caller sends them
//! and acks their ids; a retry of the same event before the ack returns the same bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pec_core::Code;
use pec_core::checks::SmtpEnvelope;
use pec_core::points::{Antivirus, MailboxOutcome, Reply as CoreReply};
use pec_engine::{Clock, EngineConfig, EngineError, Outcome as CoreOutcome, Outgoing};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{Failure, raise};

/// What the engine failed with, carried out of the detached closure.
enum EngineFailure {
    Engine(EngineError),
    Panic(String),
}

fn to_pyerr(py: Python<'_>, f: EngineFailure) -> PyErr {
    match f {
        EngineFailure::Engine(EngineError::Build(e)) => Failure::Core(e).into_pyerr(py),
        EngineFailure::Engine(EngineError::Store(m)) => {
            raise(py, "EngineError", format!("store unavailable: {m}"), Code::EngineStore)
        }
        EngineFailure::Engine(e) => raise(py, "EngineError", e.to_string(), Code::EngineConfig),
        EngineFailure::Panic(m) => Failure::Panic(m).into_pyerr(py),
    }
}

/// Runs `f` with the GIL released, a panic becoming `pec.InternalError`.
fn run<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T, EngineError> + Send) -> PyResult<T> {
    let r = py.detach(|| match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(EngineFailure::Engine(e)),
        Err(p) => Err(EngineFailure::Panic(
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into()),
        )),
    });
    r.map_err(|f| to_pyerr(py, f))
}

/// A reply owed to the MTA: SMTP after DATA, or one LMTP recipient.
#[pyclass(module = "pec", frozen, name = "Reply")]
#[derive(Debug, Clone)]
pub struct Reply {
    /// `250`, `451`, `550`, `552`, `554`.
    #[pyo3(get)]
    code: u16,
    /// The enhanced status code (`2.0.0`, `4.3.0`, ...).
    #[pyo3(get)]
    status: String,
    /// The free text.
    #[pyo3(get)]
    text: String,
}

#[pymethods]
impl Reply {
    /// The whole line, `250 2.0.0 text`.
    #[getter]
    fn line(&self) -> String {
        format!("{} {} {}", self.code, self.status, self.text)
    }

    /// Whether the code is 2xx.
    #[getter]
    fn ok(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// Whether the code is 4xx (the MTA keeps the message and retries).
    #[getter]
    fn temporary(&self) -> bool {
        (400..500).contains(&self.code)
    }

    fn __str__(&self) -> String {
        self.line()
    }

    fn __repr__(&self) -> String {
        format!("<Reply {}>", self.line())
    }
}

impl From<&CoreReply> for Reply {
    fn from(r: &CoreReply) -> Reply {
        Reply { code: r.code, status: r.status.clone(), text: r.text.clone() }
    }
}

/// Recipients of a message that share a route.
#[pyclass(module = "pec", frozen, name = "RouteGroup")]
#[derive(Debug, Clone)]
pub struct RouteGroup {
    /// `relay` (re-inject for another provider or the Internet), `loopback` (to this
    /// provider's own incoming point), `deliver` (store in the local mailboxes, then
    /// `Engine.mailbox_result`), `service-mailbox` (this provider's service mailbox).
    #[pyo3(get)]
    route: String,
    /// The forward paths (`RCPT TO`).
    #[pyo3(get)]
    rcpt_to: Vec<String>,
}

#[pymethods]
impl RouteGroup {
    fn __repr__(&self) -> String {
        format!("<RouteGroup {} {:?}>", self.route, self.rcpt_to)
    }
}

/// A message the engine emitted: send `data` from `mail_from` to each group's `rcpt_to`,
/// then `Engine.ack` its `id`.
#[pyclass(module = "pec", frozen, name = "OutgoingMessage")]
#[derive(Debug)]
pub struct OutgoingMessage {
    /// The outbox id (what `Engine.ack` takes).
    #[pyo3(get)]
    id: i64,
    /// The kind's wire value (`posta-certificata`, `accettazione`, ...) or `forward`.
    #[pyo3(get)]
    kind: String,
    /// The PEC identifier concerned.
    #[pyo3(get)]
    identifier: Option<String>,
    /// Its Message-ID (without angle brackets).
    #[pyo3(get)]
    message_id: Option<String>,
    /// `MAIL FROM` (empty for the null reverse path).
    #[pyo3(get)]
    mail_from: String,
    groups: Vec<RouteGroup>,
    data: Py<PyBytes>,
    /// Whether it was already acknowledged (a replayed outcome): do not send it again.
    #[pyo3(get)]
    sent: bool,
}

#[pymethods]
impl OutgoingMessage {
    /// The recipient groups, by route.
    #[getter]
    fn groups(&self) -> Vec<RouteGroup> {
        self.groups.clone()
    }

    /// The bytes to send (signed, for built messages).
    #[getter]
    fn data(&self, py: Python<'_>) -> Py<PyBytes> {
        self.data.clone_ref(py)
    }

    /// Every recipient, all groups together.
    #[getter]
    fn rcpt_to(&self) -> Vec<String> {
        self.groups.iter().flat_map(|g| g.rcpt_to.iter().cloned()).collect()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<OutgoingMessage {} {} {} bytes{}>",
            self.id,
            self.kind,
            self.data.bind(py).as_bytes().len(),
            if self.sent { " sent" } else { "" }
        )
    }
}

impl OutgoingMessage {
    fn new(py: Python<'_>, o: &Outgoing) -> OutgoingMessage {
        OutgoingMessage {
            id: o.id,
            kind: o.kind.clone(),
            identifier: o.identifier.clone(),
            message_id: o.message_id.clone(),
            mail_from: o.mail_from.clone(),
            groups: o
                .groups
                .iter()
                .map(|g| RouteGroup {
                    route: g.route.as_str().to_string(),
                    rcpt_to: g.rcpt_to.clone(),
                })
                .collect(),
            data: PyBytes::new(py, &o.bytes).unbind(),
            sent: o.sent,
        }
    }
}

/// What an event produced.
#[pyclass(module = "pec", frozen, name = "Outcome")]
#[derive(Debug)]
pub struct Outcome {
    reply: Reply,
    replies: Vec<(String, Reply)>,
    messages: Vec<Py<OutgoingMessage>>,
    /// Whether this is the stored outcome of an event seen before (a retry).
    #[pyo3(get)]
    replayed: bool,
}

#[pymethods]
impl Outcome {
    /// The reply owed to the MTA after DATA.
    #[getter]
    fn reply(&self) -> Reply {
        self.reply.clone()
    }

    /// Per-recipient replies `[(rcpt, Reply)]` (LMTP, `Engine.mailbox_result`).
    #[getter]
    fn replies(&self) -> Vec<(String, Reply)> {
        self.replies.clone()
    }

    /// The messages to send (those with `sent` true were acknowledged before).
    #[getter]
    fn messages(&self, py: Python<'_>) -> Vec<Py<OutgoingMessage>> {
        self.messages.iter().map(|m| m.clone_ref(py)).collect()
    }

    /// The ids of the messages not acknowledged yet (to `Engine.ack` once sent).
    #[getter]
    fn ids(&self) -> Vec<i64> {
        self.messages.iter().map(|m| m.get()).filter(|m| !m.sent).map(|m| m.id).collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "<Outcome {} messages={}{}>",
            self.reply.line(),
            self.messages.len(),
            if self.replayed { " replayed" } else { "" }
        )
    }
}

impl Outcome {
    fn new(py: Python<'_>, o: &CoreOutcome) -> PyResult<Outcome> {
        Ok(Outcome {
            reply: Reply::from(&o.reply),
            replies: o.replies.iter().map(|(r, x)| (r.clone(), Reply::from(x))).collect(),
            messages: o
                .emissions
                .iter()
                .map(|e| Py::new(py, OutgoingMessage::new(py, e)))
                .collect::<PyResult<_>>()?,
            replayed: o.replayed,
        })
    }

    fn rows(py: Python<'_>, rows: &[Outgoing]) -> PyResult<Outcome> {
        Outcome::new(
            py,
            &CoreOutcome {
                reply: CoreReply::ok("ok"),
                replies: Vec::new(),
                emissions: rows.to_vec(),
                replayed: false,
            },
        )
    }
}

/// The mailbox store's answer for one recipient, for `Engine.mailbox_result`.
#[pyclass(module = "pec", frozen, name = "MailboxAnswer")]
#[derive(Debug, Clone)]
pub struct MailboxAnswer {
    /// The recipient.
    #[pyo3(get)]
    rcpt: String,
    /// `stored`, `temporary` or `permanent`.
    #[pyo3(get)]
    outcome: String,
    /// The enhanced status code (`4.2.2`, `5.1.1`).
    #[pyo3(get)]
    status: Option<String>,
    /// The mailbox's text.
    #[pyo3(get)]
    text: Option<String>,
}

#[pymethods]
impl MailboxAnswer {
    #[new]
    #[pyo3(signature = (rcpt, outcome="stored", status=None, text=None))]
    fn new(
        py: Python<'_>,
        rcpt: String,
        outcome: &str,
        status: Option<String>,
        text: Option<String>,
    ) -> PyResult<MailboxAnswer> {
        if !matches!(outcome, "stored" | "temporary" | "permanent") {
            return Err(crate::errors::invalid_argument(
                py,
                format!("outcome {outcome:?}: stored, temporary or permanent"),
            ));
        }
        Ok(MailboxAnswer { rcpt, outcome: outcome.to_string(), status, text })
    }

    fn __repr__(&self) -> String {
        format!("<MailboxAnswer {} {}>", self.rcpt, self.outcome)
    }
}

impl MailboxAnswer {
    fn core(&self) -> (String, MailboxOutcome) {
        let text = self.text.clone().unwrap_or_default();
        let o = match self.outcome.as_str() {
            "temporary" => MailboxOutcome::Temporary {
                status: self.status.clone().unwrap_or_else(|| "4.0.0".into()),
                text: if text.is_empty() { "temporary failure".into() } else { text },
            },
            "permanent" => MailboxOutcome::Permanent {
                status: self.status.clone().unwrap_or_else(|| "5.0.0".into()),
                text: if text.is_empty() { "permanent failure".into() } else { text },
            },
            _ => MailboxOutcome::Stored,
        };
        (self.rcpt.trim_matches(['<', '>']).to_string(), o)
    }
}

/// The provider engine, opened from its configuration file.
///
/// One engine serves any number of threads. Several processes may share one store (a
/// pre-forked pool, `multiprocessing`): open the engine in each process after it starts, never
/// before a `fork`, since its store connections and threads do not survive one.
#[pyclass(module = "pec", frozen, name = "Engine")]
pub struct Engine {
    pub(crate) inner: pec_engine::Engine,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("provider", &self.inner.provider().name).finish()
    }
}

fn envelope(mail_from: Option<&str>, rcpt_to: Vec<String>) -> SmtpEnvelope {
    SmtpEnvelope {
        reverse_path: mail_from
            .map(|s| s.trim_matches(['<', '>']).to_string())
            .filter(|s| !s.is_empty()),
        forward_paths: rcpt_to
            .into_iter()
            .map(|s| s.trim_matches(['<', '>']).to_string())
            .collect(),
    }
}

/// Loads the configuration, `store` replacing its `[store] url`.
pub(crate) fn load_config(path: &Path, store: Option<String>) -> Result<EngineConfig, EngineError> {
    let mut cfg = EngineConfig::load(path)?;
    if let Some(url) = store {
        let url = match url.strip_prefix("sqlite:") {
            Some(p) if Path::new(p).is_relative() => {
                let cwd = std::env::current_dir()
                    .map_err(|e| EngineError::Config(format!("working directory: {e}")))?;
                format!("sqlite:{}", cwd.join(p).display())
            }
            _ => url,
        };
        cfg.store = Some(pec_engine::config::StoreSection { url });
    }
    Ok(cfg)
}

/// Opens an engine on `clock`.
pub(crate) fn open(
    py: Python<'_>,
    config_path: PathBuf,
    store: Option<String>,
    clock: Arc<dyn Clock>,
) -> PyResult<Engine> {
    let inner = run(py, move || {
        let cfg = load_config(&config_path, store)?;
        pec_engine::Engine::from_config(&cfg, clock)
    })?;
    Ok(Engine { inner })
}

#[pymethods]
impl Engine {
    /// Opens the engine configured by `config_path` (ENGINE.md §Config); `store` (a URL,
    /// `sqlite:PATH`) replaces the file's `[store] url`.
    #[new]
    #[pyo3(signature = (config_path, store=None))]
    fn new(py: Python<'_>, config_path: PathBuf, store: Option<String>) -> PyResult<Engine> {
        open(py, config_path, store, Arc::new(pec_engine::SystemClock))
    }

    /// A submission at the access point.
    #[pyo3(signature = (data, mail_from, rcpt_to, virus=None))]
    fn submission(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyBytes>,
        mail_from: Option<String>,
        rcpt_to: Vec<String>,
        virus: Option<String>,
    ) -> PyResult<Outcome> {
        let bytes = data.as_bytes();
        let smtp = envelope(mail_from.as_deref(), rcpt_to);
        let av = virus.map_or(Antivirus::Clean, Antivirus::Virus);
        let o = run(py, || self.inner.on_submission(&smtp, bytes, &av))?;
        Outcome::new(py, &o)
    }

    /// An arrival at the incoming point.
    #[pyo3(signature = (data, mail_from, rcpt_to, virus=None))]
    fn inbound(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyBytes>,
        mail_from: Option<String>,
        rcpt_to: Vec<String>,
        virus: Option<String>,
    ) -> PyResult<Outcome> {
        let bytes = data.as_bytes();
        let smtp = envelope(mail_from.as_deref(), rcpt_to);
        let av = virus.map_or(Antivirus::Clean, Antivirus::Virus);
        let o = run(py, || self.inner.on_inbound(&smtp, bytes, &av))?;
        Outcome::new(py, &o)
    }

    /// The mailbox store's answers at the delivery point for a message routed `deliver`.
    fn mailbox_result(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyBytes>,
        mail_from: Option<String>,
        results: Vec<MailboxAnswer>,
    ) -> PyResult<Outcome> {
        let bytes = data.as_bytes();
        let results: Vec<(String, MailboxOutcome)> =
            results.iter().map(MailboxAnswer::core).collect();
        let smtp = envelope(mail_from.as_deref(), results.iter().map(|(r, _)| r.clone()).collect());
        let o = run(py, || self.inner.on_mailbox_result(&smtp, bytes, &results))?;
        Outcome::new(py, &o)
    }

    /// The 12 h / 24 h notices due now (at most `limit`).
    #[pyo3(signature = (limit=100))]
    fn run_due(&self, py: Python<'_>, limit: usize) -> PyResult<Outcome> {
        let rows = run(py, || self.inner.run_due(limit))?;
        Outcome::rows(py, &rows)
    }

    /// The messages committed but not acknowledged yet, oldest first.
    #[pyo3(signature = (limit=100))]
    fn unsent(&self, py: Python<'_>, limit: usize) -> PyResult<Outcome> {
        let rows = run(py, || self.inner.unsent(limit))?;
        Outcome::rows(py, &rows)
    }

    /// Marks messages as sent: outbox ids, `OutgoingMessage`s or a whole `Outcome`. Returns
    /// how many were not acknowledged before.
    fn ack(&self, py: Python<'_>, what: &Bound<'_, PyAny>) -> PyResult<usize> {
        let mut ids = Vec::new();
        if let Ok(o) = what.cast::<Outcome>() {
            ids = o.get().messages.iter().map(|m| m.get().id).collect();
        } else {
            for item in what.try_iter()? {
                let item = item?;
                if let Ok(m) = item.cast::<OutgoingMessage>() {
                    ids.push(m.get().id);
                } else {
                    ids.push(item.extract::<i64>()?);
                }
            }
        }
        run(py, || self.inner.ack(&ids))
    }

    /// The state of `identifier` (a dict: `identifier`, `sent`, `received`), `None` when
    /// unknown; without an identifier, the list of messages still awaiting receipts.
    #[pyo3(signature = (identifier=None))]
    fn status(&self, py: Python<'_>, identifier: Option<String>) -> PyResult<Py<PyAny>> {
        let text = run(py, || {
            let v = match &identifier {
                Some(id) => serde_json::to_string(&self.inner.status(id)?),
                None => serde_json::to_string(&self.inner.pending()?),
            };
            v.map_err(|e| EngineError::Store(format!("status: {e}")))
        })?;
        let json = py.import("json")?;
        Ok(json.call_method1("loads", (text,))?.unbind())
    }

    /// The provider's name (`gestore-emittente`).
    #[getter]
    fn name(&self) -> String {
        self.inner.provider().name.clone()
    }

    fn __repr__(&self) -> String {
        format!("<Engine {}>", self.inner.provider().name)
    }
}
