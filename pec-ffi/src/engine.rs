//! The provider engine (`pec-engine`): `pec_engine` and the `pec_outcome` of each event.
//!
//! An engine is opened from its configuration file (the provider file with the sections of
//! ENGINE.md §Config). Each event (`pec_engine_submission`, `pec_engine_inbound`,
//! `pec_engine_mailbox_result`, `pec_engine_run_due`, `pec_engine_unsent`) is one store
//! transaction and hands back a new `pec_outcome` the caller owns: the reply owed to the MTA,
//! the per-recipient LMTP replies, and the messages to send (MAIL FROM, the recipients by
//! route, the bytes). The caller sends them, then `pec_engine_ack`s their ids; until then a
//! retry of the same event (or `pec_engine_unsent`) returns the same bytes.
//!
//! Without the cargo feature `engine` the functions are exported and fail with
//! `PEC_RESULT_ENGINE_CONFIG` ("built without the engine"). The manual clock
//! (`pec_engine_open_with_manual_clock`, `pec_engine_clock_advance`) exists only in builds
//! with the feature `test-clock` (`PEC_TEST_CLOCK` in `pec.h`).

use std::ffi::c_char;

#[cfg(feature = "engine")]
use std::sync::Arc;

#[cfg(feature = "engine")]
use ::pec_engine as eng;

use crate::error::pec_result;
use crate::ffi::{
    Failure, Text, arg_ref, boundary, boundary_value, count_accessor, free_handle, give_bytes,
    give_text, out,
};
#[cfg(feature = "engine")]
use crate::ffi::{arg_bytes, arg_opt_str, arg_str, arg_strings, into_handle, opt_text};
use crate::pec_bytes;

/// The provider engine: its configuration, signer, trust, index and state store. Made by
/// `pec_engine_open`, released by `pec_engine_free`. Thread-safe: any number of threads may
/// call the event functions on one engine at once (store transactions are serialised inside;
/// signing runs in parallel).
pub struct pec_engine {
    #[cfg(feature = "engine")]
    engine: eng::Engine,
    #[cfg(feature = "test-clock")]
    clock: Option<Arc<eng::ManualClock>>,
}

impl std::fmt::Debug for pec_engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("pec_engine").finish_non_exhaustive()
    }
}

/// A reply owed to the MTA (SMTP after DATA, or one LMTP recipient).
#[derive(Debug, Default)]
struct FfiReply {
    code: u16,
    status: Text,
    text: Text,
    line: Text,
}

/// One group of recipients of a message to send, sharing a route.
#[derive(Debug, Default)]
struct FfiGroup {
    route: Text,
    rcpt_to: Vec<Text>,
}

/// One message to send.
#[derive(Debug, Default)]
struct FfiMessage {
    id: i64,
    kind: Text,
    identifier: Option<Text>,
    message_id: Option<Text>,
    mail_from: Text,
    groups: Vec<FfiGroup>,
    bytes: Box<[u8]>,
    sent: bool,
}

/// What an event produced: the reply owed to the MTA, per-recipient replies (LMTP, delivery
/// point) and the messages to send. Made by the `pec_engine_*` event functions, owned by the
/// caller, released with `pec_outcome_free`; everything it hands out is a view valid until
/// then. Immutable: any number of threads may read one at once.
#[derive(Debug, Default)]
pub struct pec_outcome {
    reply: FfiReply,
    replies: Vec<(Text, FfiReply)>,
    messages: Vec<FfiMessage>,
    replayed: bool,
}

#[cfg(feature = "engine")]
mod imp {
    use super::*;
    use eng::{Engine, EngineConfig, EngineError, Outcome, Outgoing};
    use pec_core::checks::SmtpEnvelope;
    use pec_core::points::{Antivirus, MailboxOutcome, Reply};

    impl From<EngineError> for Failure {
        fn from(e: EngineError) -> Failure {
            match e {
                EngineError::Store(m) => {
                    Failure::new(pec_result::EngineStore, format!("store unavailable: {m}"))
                }
                EngineError::Build(e) => Failure::from(e),
                EngineError::Config(m) => {
                    Failure::new(pec_result::EngineConfig, format!("configuration: {m}"))
                }
                other => Failure::new(pec_result::EngineConfig, other.to_string()),
            }
        }
    }

    fn reply(r: &Reply) -> FfiReply {
        FfiReply {
            code: r.code,
            status: Text::new(&r.status),
            text: Text::new(&r.text),
            line: Text::new(&r.line()),
        }
    }

    fn message(o: &Outgoing) -> FfiMessage {
        FfiMessage {
            id: o.id,
            kind: Text::new(&o.kind),
            identifier: opt_text(o.identifier.as_ref()),
            message_id: opt_text(o.message_id.as_ref()),
            mail_from: Text::new(&o.mail_from),
            groups: o
                .groups
                .iter()
                .map(|g| FfiGroup {
                    route: Text::new(g.route.as_str()),
                    rcpt_to: g.rcpt_to.iter().map(Text::from).collect(),
                })
                .collect(),
            bytes: o.bytes.clone().into_boxed_slice(),
            sent: o.sent,
        }
    }

    pub(super) fn outcome(o: &Outcome) -> pec_outcome {
        pec_outcome {
            reply: reply(&o.reply),
            replies: o.replies.iter().map(|(r, x)| (Text::new(r), reply(x))).collect(),
            messages: o.emissions.iter().map(message).collect(),
            replayed: o.replayed,
        }
    }

    pub(super) fn rows(rows: &[Outgoing]) -> pec_outcome {
        pec_outcome {
            reply: reply(&Reply::ok("ok")),
            replies: Vec::new(),
            messages: rows.iter().map(message).collect(),
            replayed: false,
        }
    }

    /// Loads the configuration; `store` (a URL) replaces its `[store] url`.
    pub(super) fn config(path: &str, store: Option<&str>) -> Result<EngineConfig, Failure> {
        let mut cfg = EngineConfig::load(std::path::Path::new(path))?;
        if let Some(url) = store {
            // a relative SQLite path given here is the caller's (its working directory), not
            // the configuration file's
            let url = match url.strip_prefix("sqlite:") {
                Some(p) if std::path::Path::new(p).is_relative() => {
                    let cwd = std::env::current_dir().map_err(|e| {
                        Failure::new(pec_result::Io, format!("working directory: {e}"))
                    })?;
                    format!("sqlite:{}", cwd.join(p).display())
                }
                _ => url.to_string(),
            };
            cfg.store = Some(eng::config::StoreSection { url });
        }
        Ok(cfg)
    }

    pub(super) fn open(cfg: &EngineConfig, clock: Arc<dyn eng::Clock>) -> Result<Engine, Failure> {
        Ok(Engine::from_config(cfg, clock)?)
    }

    pub(super) fn envelope(mail_from: Option<&str>, rcpt_to: Vec<String>) -> SmtpEnvelope {
        SmtpEnvelope {
            reverse_path: mail_from.map(|s| s.trim_matches(['<', '>']).to_string()),
            forward_paths: rcpt_to
                .into_iter()
                .map(|s| s.trim_matches(['<', '>']).to_string())
                .collect(),
        }
    }

    pub(super) fn antivirus(virus: Option<&str>) -> Antivirus {
        match virus {
            Some(v) => Antivirus::Virus(v.to_string()),
            None => Antivirus::Clean,
        }
    }

    pub(super) fn mailbox_outcome(
        outcome: u32,
        status: Option<&str>,
        text: Option<&str>,
    ) -> Result<MailboxOutcome, Failure> {
        let text = text.unwrap_or_default().to_string();
        Ok(match outcome {
            PEC_MAILBOX_STORED => MailboxOutcome::Stored,
            PEC_MAILBOX_TEMPORARY => MailboxOutcome::Temporary {
                status: status.unwrap_or("4.0.0").to_string(),
                text: if text.is_empty() { "temporary failure".into() } else { text },
            },
            PEC_MAILBOX_PERMANENT => MailboxOutcome::Permanent {
                status: status.unwrap_or("5.0.0").to_string(),
                text: if text.is_empty() { "permanent failure".into() } else { text },
            },
            n => {
                return Err(Failure::invalid(format!(
                    "mailbox outcome {n}: PEC_MAILBOX_STORED, _TEMPORARY or _PERMANENT"
                )));
            }
        })
    }
}

/// The mailbox stored the message (`pec_mailbox_answer.outcome`).
pub const PEC_MAILBOX_STORED: u32 = 0;
/// The mailbox refused the message for now (a 4.x.y status).
pub const PEC_MAILBOX_TEMPORARY: u32 = 1;
/// The mailbox refused the message for good (a 5.x.y status).
pub const PEC_MAILBOX_PERMANENT: u32 = 2;

/// The answer of the mailbox store for one recipient, given to `pec_engine_mailbox_result`.
/// Strings are UTF-8 pointer + length (no NUL needed), read during the call only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pec_mailbox_answer {
    /// The recipient (`RCPT TO`, without angle brackets).
    pub rcpt: *const c_char,
    /// Its length in bytes.
    pub rcpt_len: usize,
    /// `PEC_MAILBOX_STORED`, `PEC_MAILBOX_TEMPORARY` or `PEC_MAILBOX_PERMANENT`.
    pub outcome: u32,
    /// The enhanced status code (`4.2.2`, `5.1.1`; NULL: `4.0.0` / `5.0.0`).
    pub status: *const c_char,
    /// Its length in bytes.
    pub status_len: usize,
    /// The mailbox's text (NULL: a generic text).
    pub text: *const c_char,
    /// Its length in bytes.
    pub text_len: usize,
}

#[cfg(not(feature = "engine"))]
fn no_engine() -> Failure {
    Failure::new(
        pec_result::EngineConfig,
        "libpec was built without the provider engine (the `engine` feature of pec-ffi)",
    )
}

/// Opens the provider engine configured by the file at `config_path` (`path_len` bytes of
/// UTF-8; its relative paths resolve against its directory): the providers index, the
/// signer, the trust anchors and CRLs, the state store of its `[store] url`. Time is the
/// system clock. On success `*out_engine` receives a new engine the caller owns
/// (`pec_engine_free`).
///
/// Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`, `PEC_RESULT_ENGINE_CONFIG`
/// (unreadable or invalid file, key, index, trust; or a libpec built without the engine),
/// `PEC_RESULT_ENGINE_STORE` (the store cannot be opened), `PEC_RESULT_PKCS11_*`.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_engine_open(
    config_path: *const c_char,
    path_len: usize,
    out_engine: *mut *mut pec_engine,
) -> pec_result {
    pec_engine_open_with_store(config_path, path_len, std::ptr::null(), 0, out_engine)
}

/// Like `pec_engine_open`, with `store_url` (`store_len` bytes; NULL: the file's) replacing
/// the file's `[store] url`: `sqlite:PATH`, a relative PATH resolving against the working
/// directory (`pec-filter -S`). `postgresql://` only in builds whose engine has it.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_engine_open_with_store(
    config_path: *const c_char,
    path_len: usize,
    store_url: *const c_char,
    store_len: usize,
    out_engine: *mut *mut pec_engine,
) -> pec_result {
    boundary(|| {
        #[cfg(feature = "engine")]
        {
            // SAFETY: the caller passes `path_len` readable bytes.
            let path = unsafe { arg_str(config_path, path_len, "config_path") }?;
            // SAFETY: NULL or `store_len` readable bytes.
            let store = unsafe { arg_opt_str(store_url, store_len, "store_url") }?;
            // SAFETY: NULL or a valid `pec_engine **`.
            let o = unsafe { out(out_engine, "out_engine") }?;
            let cfg = imp::config(path, store)?;
            let engine = imp::open(&cfg, Arc::new(eng::SystemClock))?;
            o.set(into_handle(pec_engine {
                engine,
                #[cfg(feature = "test-clock")]
                clock: None,
            }));
            Ok(())
        }
        #[cfg(not(feature = "engine"))]
        {
            let _ = (config_path, path_len, store_url, store_len, out_engine);
            Err(no_engine())
        }
    })
}

/// Like `pec_engine_open_with_store`, but time is a manual clock standing at `start_unix`
/// (seconds since the Unix epoch, UTC) that moves only with `pec_engine_clock_advance`: the
/// 12 h and 24 h timers replayed in tests. Only in libpec built with the cargo feature
/// `test-clock` (declared when `PEC_TEST_CLOCK` is defined); never in a production build.
#[cfg(feature = "test-clock")]
#[unsafe(no_mangle)]
pub extern "C" fn pec_engine_open_with_manual_clock(
    config_path: *const c_char,
    path_len: usize,
    store_url: *const c_char,
    store_len: usize,
    start_unix: i64,
    out_engine: *mut *mut pec_engine,
) -> pec_result {
    boundary(|| {
        // SAFETY: the caller passes `path_len` readable bytes.
        let path = unsafe { arg_str(config_path, path_len, "config_path") }?;
        // SAFETY: NULL or `store_len` readable bytes.
        let store = unsafe { arg_opt_str(store_url, store_len, "store_url") }?;
        // SAFETY: NULL or a valid `pec_engine **`.
        let o = unsafe { out(out_engine, "out_engine") }?;
        let start = chrono::DateTime::from_timestamp(start_unix, 0)
            .ok_or_else(|| Failure::invalid("start_unix out of range"))?;
        let clock = Arc::new(eng::ManualClock::new(start));
        let cfg = imp::config(path, store)?;
        let engine = imp::open(&cfg, clock.clone())?;
        o.set(into_handle(pec_engine { engine, clock: Some(clock) }));
        Ok(())
    })
}

/// Moves the manual clock of `engine` forward by `seconds` (>= 0). `PEC_RESULT_INVALID_PARAMETER`
/// for an engine on the system clock or a negative step. Only with `test-clock`
/// (`PEC_TEST_CLOCK`). Thread-safe.
#[cfg(feature = "test-clock")]
#[unsafe(no_mangle)]
pub extern "C" fn pec_engine_clock_advance(engine: *const pec_engine, seconds: i64) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live engine.
        let e = unsafe { arg_ref(engine, "engine") }?;
        let Some(clock) = &e.clock else {
            return Err(Failure::invalid("this engine runs on the system clock"));
        };
        if seconds < 0 {
            return Err(Failure::invalid("the clock only moves forward"));
        }
        clock.advance(chrono::Duration::seconds(seconds));
        Ok(())
    })
}

/// The manual clock's time (seconds since the Unix epoch) into `*out_unix`. Only with
/// `test-clock` (`PEC_TEST_CLOCK`). Thread-safe.
#[cfg(feature = "test-clock")]
#[unsafe(no_mangle)]
pub extern "C" fn pec_engine_clock_now(
    engine: *const pec_engine,
    out_unix: *mut i64,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live engine.
        let e = unsafe { arg_ref(engine, "engine") }?;
        // SAFETY: NULL or a valid `int64_t *`.
        let o = unsafe { out(out_unix, "out_unix") }?;
        let Some(clock) = &e.clock else {
            return Err(Failure::invalid("this engine runs on the system clock"));
        };
        o.set(eng::Clock::now(clock.as_ref()).timestamp());
        Ok(())
    })
}

/// Releases an engine (NULL is a no-op). Outcomes it made stay valid (they own their data).
/// No other thread may be using the engine.
#[unsafe(no_mangle)]
pub extern "C" fn pec_engine_free(engine: *mut pec_engine) {
    boundary_value((), || {
        // SAFETY: NULL or an engine made by this library, not yet freed.
        unsafe { free_handle(engine) }
    })
}

/// The arguments shared by the SMTP events, read from C.
#[cfg(feature = "engine")]
struct SmtpArgs<'a> {
    engine: &'a pec_engine,
    smtp: pec_core::checks::SmtpEnvelope,
    bytes: &'a [u8],
    virus: Option<&'a str>,
}

/// Reads the arguments of an SMTP event.
///
/// # Safety
/// As the C contract of `pec_engine_submission`.
#[cfg(feature = "engine")]
#[allow(clippy::too_many_arguments)]
unsafe fn smtp_args<'a>(
    engine: *const pec_engine,
    mail_from: *const c_char,
    mail_from_len: usize,
    rcpt_to: *const *const c_char,
    rcpt_lens: *const usize,
    rcpt_count: usize,
    bytes: *const u8,
    len: usize,
    virus: *const c_char,
    virus_len: usize,
) -> Result<SmtpArgs<'a>, Failure> {
    // SAFETY: forwarded contract (a live engine or NULL).
    let engine = unsafe { arg_ref(engine, "engine") }?;
    // SAFETY: NULL (the null reverse path `<>`) or `mail_from_len` readable bytes.
    let from = unsafe { arg_opt_str(mail_from, mail_from_len, "mail_from") }?;
    // SAFETY: arrays of `rcpt_count` entries per the contract.
    let rcpts = unsafe { arg_strings(rcpt_to, rcpt_lens, rcpt_count, "rcpt_to", "rcpt_lens") }?;
    // SAFETY: `len` readable bytes.
    let bytes = unsafe { arg_bytes(bytes, len, "bytes") }?;
    // SAFETY: NULL or `virus_len` readable bytes.
    let virus = unsafe { arg_opt_str(virus, virus_len, "virus") }?;
    let from = from.filter(|f| !f.is_empty() && *f != "<>");
    Ok(SmtpArgs { engine, smtp: imp::envelope(from, rcpts), bytes, virus })
}

/// A submission at the access point: the message `bytes` (`len` bytes, as received after
/// DATA) from the authenticated user, with the SMTP envelope (`mail_from`,
/// `mail_from_len`: the reverse path without angle brackets, NULL for `<>`; `rcpt_to`,
/// `rcpt_lens`, `rcpt_count`: the forward paths) and the antivirus verdict (`virus`,
/// `virus_len`: the virus name, NULL when clean). Everything is read during the call only.
///
/// On success `*out_outcome` receives a new `pec_outcome` the caller owns
/// (`pec_outcome_free`): the reply to give the client (`pec_outcome_reply_code`: 250 with
/// an acceptance or non-acceptance to send, 552 over the hard size limit, ...) and the
/// messages to send (the acceptance and the transport envelope). Send them, then
/// `pec_engine_ack` their ids. Calling again with the same envelope and bytes (the MTA's
/// retry after a crash) returns the stored outcome with the same bytes.
///
/// Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`,
/// `PEC_RESULT_ENGINE_STORE` (temporary: answer 451 / exit `EX_TEMPFAIL`, the message
/// stays queued), a build or signing code (`PEC_RESULT_SIGNING_FAILED`,
/// `PEC_RESULT_PKCS11_*`: temporary too). Thread-safe.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn pec_engine_submission(
    engine: *const pec_engine,
    mail_from: *const c_char,
    mail_from_len: usize,
    rcpt_to: *const *const c_char,
    rcpt_lens: *const usize,
    rcpt_count: usize,
    bytes: *const u8,
    len: usize,
    virus: *const c_char,
    virus_len: usize,
    out_outcome: *mut *mut pec_outcome,
) -> pec_result {
    smtp_event(
        SmtpPoint::Access,
        engine,
        mail_from,
        mail_from_len,
        rcpt_to,
        rcpt_lens,
        rcpt_count,
        bytes,
        len,
        virus,
        virus_len,
        out_outcome,
    )
}

/// An arrival at the incoming point (a message from another provider or from the
/// Internet): arguments, ownership and errors as `pec_engine_submission`. The message is
/// verified against the engine's trust anchors, CRLs and index at the engine's clock. The
/// outcome's messages are the take-charge receipt, the message passed on for delivery
/// (route `deliver`), anomaly and virus notices, receipts for this provider's own mail
/// (route `service-mailbox` or `deliver`).
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn pec_engine_inbound(
    engine: *const pec_engine,
    mail_from: *const c_char,
    mail_from_len: usize,
    rcpt_to: *const *const c_char,
    rcpt_lens: *const usize,
    rcpt_count: usize,
    bytes: *const u8,
    len: usize,
    virus: *const c_char,
    virus_len: usize,
    out_outcome: *mut *mut pec_outcome,
) -> pec_result {
    smtp_event(
        SmtpPoint::Incoming,
        engine,
        mail_from,
        mail_from_len,
        rcpt_to,
        rcpt_lens,
        rcpt_count,
        bytes,
        len,
        virus,
        virus_len,
        out_outcome,
    )
}

/// The mailbox store's answers at the delivery point for a message the incoming point passed
/// on (route `deliver`): `bytes` (`len`) as it was passed on, `mail_from` (NULL for `<>`) and
/// one `pec_mailbox_answer` per recipient (`answers`, `count`; their `rcpt` are the forward
/// paths). Read during the call only.
///
/// On success `*out_outcome` receives a new outcome: one LMTP reply per recipient
/// (`pec_outcome_rcpt_reply_*`) and the delivery or non-delivery receipts to send. Errors as
/// `pec_engine_submission`, and `PEC_RESULT_INVALID_PARAMETER` for an unknown outcome value.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_engine_mailbox_result(
    engine: *const pec_engine,
    mail_from: *const c_char,
    mail_from_len: usize,
    answers: *const pec_mailbox_answer,
    count: usize,
    bytes: *const u8,
    len: usize,
    out_outcome: *mut *mut pec_outcome,
) -> pec_result {
    boundary(|| {
        #[cfg(feature = "engine")]
        {
            // SAFETY: NULL or a live engine.
            let e = unsafe { arg_ref(engine, "engine") }?;
            // SAFETY: NULL (`<>`) or `mail_from_len` readable bytes.
            let from = unsafe { arg_opt_str(mail_from, mail_from_len, "mail_from") }?;
            // SAFETY: `len` readable bytes.
            let bytes = unsafe { arg_bytes(bytes, len, "bytes") }?;
            let answers: &[pec_mailbox_answer] = if count == 0 {
                &[]
            } else if answers.is_null() {
                return Err(Failure::null("answers"));
            } else if count > isize::MAX as usize / std::mem::size_of::<pec_mailbox_answer>() {
                return Err(Failure::invalid("argument answers: count too large"));
            } else {
                // SAFETY: a non-NULL array of `count` answers per the contract.
                unsafe { std::slice::from_raw_parts(answers, count) }
            };
            let mut results = Vec::with_capacity(answers.len());
            for a in answers {
                // SAFETY: each answer's strings are readable for their lengths.
                let (rcpt, status, text) = unsafe {
                    (
                        arg_str(a.rcpt, a.rcpt_len, "answers.rcpt")?,
                        arg_opt_str(a.status, a.status_len, "answers.status")?,
                        arg_opt_str(a.text, a.text_len, "answers.text")?,
                    )
                };
                let rcpt = rcpt.trim_matches(['<', '>']).to_string();
                results.push((rcpt, imp::mailbox_outcome(a.outcome, status, text)?));
            }
            // SAFETY: NULL or a valid `pec_outcome **`.
            let o = unsafe { out(out_outcome, "out_outcome") }?;
            let from = from.filter(|f| !f.is_empty() && *f != "<>");
            let smtp = imp::envelope(from, results.iter().map(|(r, _)| r.clone()).collect());
            let r = e.engine.on_mailbox_result(&smtp, bytes, &results)?;
            o.set(into_handle(imp::outcome(&r)));
            Ok(())
        }
        #[cfg(not(feature = "engine"))]
        {
            let _ = (engine, mail_from, mail_from_len, answers, count, bytes, len, out_outcome);
            Err(no_engine())
        }
    })
}

/// Runs the 12 h / 24 h timers due at the engine's clock, at most `limit` (0: 100), each in
/// its own transaction (a timer fires once whatever the number of processes running this).
/// On success `*out_outcome` receives a new outcome (reply 250) whose messages are the
/// notices to send; ack them once sent. Errors: `PEC_RESULT_ENGINE_STORE`, a build code
/// (what was done before the failure stays done: call again). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_engine_run_due(
    engine: *const pec_engine,
    limit: usize,
    out_outcome: *mut *mut pec_outcome,
) -> pec_result {
    rows_query(RowsQuery::Due, engine, limit, out_outcome)
}

/// The messages committed but not acknowledged yet, oldest first, at most `limit` (0: 100),
/// as a new outcome (reply 250): after a crash, send these again (the same bytes) and ack
/// them. Errors: `PEC_RESULT_ENGINE_STORE`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_engine_unsent(
    engine: *const pec_engine,
    limit: usize,
    out_outcome: *mut *mut pec_outcome,
) -> pec_result {
    rows_query(RowsQuery::Unsent, engine, limit, out_outcome)
}

/// Marks the messages `ids` (`count` outbox ids from `pec_outcome_message_id`) as sent;
/// `*out_acked` (NULL allowed) receives how many were not acknowledged before. Ack only what
/// was sent: an unacknowledged message is returned again by a retry and by
/// `pec_engine_unsent`. Errors: `PEC_RESULT_ENGINE_STORE`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_engine_ack(
    engine: *const pec_engine,
    ids: *const i64,
    count: usize,
    out_acked: *mut usize,
) -> pec_result {
    boundary(|| {
        #[cfg(feature = "engine")]
        {
            // SAFETY: NULL or a live engine.
            let e = unsafe { arg_ref(engine, "engine") }?;
            let ids: &[i64] = if count == 0 {
                &[]
            } else if ids.is_null() {
                return Err(Failure::null("ids"));
            } else if count > isize::MAX as usize / 8 {
                return Err(Failure::invalid("argument ids: count too large"));
            } else {
                // SAFETY: a non-NULL array of `count` ids per the contract.
                unsafe { std::slice::from_raw_parts(ids, count) }
            };
            let n = e.engine.ack(ids)?;
            if !out_acked.is_null() {
                // SAFETY: non-NULL and valid for a write per the contract.
                unsafe { out(out_acked, "out_acked") }?.set(n);
            }
            Ok(())
        }
        #[cfg(not(feature = "engine"))]
        {
            let _ = (engine, ids, count, out_acked);
            Err(no_engine())
        }
    })
}

/// The state of one PEC identifier (`identifier`, `len`; angle brackets accepted) as JSON,
/// the object of `pec engine status --json IDENTIFIER` (`identifier`, `sent` with its
/// recipients, receipts and timers, `received`), or `null` for an identifier the engine does
/// not know. With `identifier` NULL: the array of every message sent with a recipient still
/// awaiting receipts. On success `*out_json` receives a new `pec_bytes` the caller owns
/// (UTF-8, no NUL). Errors: `PEC_RESULT_ENGINE_STORE`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_engine_status(
    engine: *const pec_engine,
    identifier: *const c_char,
    len: usize,
    out_json: *mut *mut pec_bytes,
) -> pec_result {
    boundary(|| {
        #[cfg(feature = "engine")]
        {
            // SAFETY: NULL or a live engine.
            let e = unsafe { arg_ref(engine, "engine") }?;
            // SAFETY: NULL or `len` readable bytes.
            let id = unsafe { arg_opt_str(identifier, len, "identifier") }?;
            // SAFETY: NULL or a valid `pec_bytes **`.
            let o = unsafe { out(out_json, "out_json") }?;
            let v = match id {
                Some(id) => serde_json::to_value(e.engine.status(id)?),
                None => serde_json::to_value(e.engine.pending()?),
            }
            .map_err(|x| Failure::invalid(format!("status: {x}")))?;
            o.set(into_handle(pec_bytes::new(v.to_string().into_bytes())));
            Ok(())
        }
        #[cfg(not(feature = "engine"))]
        {
            let _ = (engine, identifier, len, out_json);
            Err(no_engine())
        }
    })
}

/// Releases an outcome (NULL is a no-op); its views become invalid.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_free(outcome: *mut pec_outcome) {
    boundary_value((), || {
        // SAFETY: NULL or an outcome made by this library, not yet freed.
        unsafe { free_handle(outcome) }
    })
}

/// The reply owed to the MTA after DATA (`250`, `451`, `550`, `552`, `554`; 0 for NULL).
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_reply_code(outcome: *const pec_outcome) -> u16 {
    // SAFETY: NULL or a live outcome.
    unsafe { count_accessor(outcome, |o| usize::from(o.reply.code)) as u16 }
}

/// The reply's enhanced status code (`2.0.0`, `4.3.0`, ...) as a view owned by the outcome.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_reply_status(
    outcome: *const pec_outcome,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { crate::ffi::text_accessor(outcome, out, out_len, |o| Some(&o.reply.status)) }
}

/// The reply's free text, as a view owned by the outcome. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_reply_text(
    outcome: *const pec_outcome,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { crate::ffi::text_accessor(outcome, out, out_len, |o| Some(&o.reply.text)) }
}

/// The whole reply line (`250 2.0.0 text`), as a view owned by the outcome. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_reply_line(
    outcome: *const pec_outcome,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { crate::ffi::text_accessor(outcome, out, out_len, |o| Some(&o.reply.line)) }
}

/// Whether this is the stored outcome of an event seen before (a retry): its messages are
/// the same bytes as the first time; those already acknowledged say so
/// (`pec_outcome_message_sent`). False for NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_replayed(outcome: *const pec_outcome) -> bool {
    // SAFETY: NULL or a live outcome.
    unsafe { count_accessor(outcome, |o| usize::from(o.replayed)) != 0 }
}

/// The number of per-recipient replies (LMTP, `pec_engine_mailbox_result`; 0 otherwise).
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_rcpt_reply_count(outcome: *const pec_outcome) -> usize {
    // SAFETY: NULL or a live outcome.
    unsafe { count_accessor(outcome, |o| o.replies.len()) }
}

/// Reads the `i`-th per-recipient reply.
///
/// # Safety
/// `p` NULL or a live outcome.
unsafe fn rcpt_reply<'a>(p: *const pec_outcome, i: usize) -> Result<&'a (Text, FfiReply), Failure> {
    // SAFETY: forwarded contract.
    let o = unsafe { arg_ref(p, "outcome") }?;
    o.replies.get(i).ok_or_else(|| {
        Failure::invalid(format!("index {i} out of range (count {})", o.replies.len()))
    })
}

/// The recipient of the `i`-th per-recipient reply, a view owned by the outcome.
/// `PEC_RESULT_INVALID_PARAMETER` when `i` is out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_rcpt_reply_recipient(
    outcome: *const pec_outcome,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: pointers as documented.
        let r = unsafe { rcpt_reply(outcome, i) }?;
        // SAFETY: pointers as documented.
        unsafe { give_text(Some(&r.0), out, out_len) }
    })
}

/// The code of the `i`-th per-recipient reply into `*out_code` (250, 451, 550).
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_rcpt_reply_code(
    outcome: *const pec_outcome,
    i: usize,
    out_code: *mut u16,
) -> pec_result {
    boundary(|| {
        // SAFETY: pointers as documented.
        let r = unsafe { rcpt_reply(outcome, i) }?;
        // SAFETY: NULL or a valid `uint16_t *`.
        unsafe { out(out_code, "out_code") }?.set(r.1.code);
        Ok(())
    })
}

/// The whole line of the `i`-th per-recipient reply (`250 2.0.0 stored`), a view owned by
/// the outcome. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_rcpt_reply_line(
    outcome: *const pec_outcome,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: pointers as documented.
        let r = unsafe { rcpt_reply(outcome, i) }?;
        // SAFETY: pointers as documented.
        unsafe { give_text(Some(&r.1.line), out, out_len) }
    })
}

/// The number of messages to send (0 for NULL). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_message_count(outcome: *const pec_outcome) -> usize {
    // SAFETY: NULL or a live outcome.
    unsafe { count_accessor(outcome, |o| o.messages.len()) }
}

/// Reads the `i`-th message.
///
/// # Safety
/// `p` NULL or a live outcome.
unsafe fn message<'a>(p: *const pec_outcome, i: usize) -> Result<&'a FfiMessage, Failure> {
    // SAFETY: forwarded contract.
    let o = unsafe { arg_ref(p, "outcome") }?;
    o.messages.get(i).ok_or_else(|| {
        Failure::invalid(format!("index {i} out of range (count {})", o.messages.len()))
    })
}

/// Reads the `i`-th message and hands the text `f` picks to C.
///
/// # Safety
/// `p` NULL or a live outcome; `o`, `l` NULL or valid for writes.
unsafe fn message_text(
    p: *const pec_outcome,
    i: usize,
    o: *mut *const c_char,
    l: *mut usize,
    f: impl FnOnce(&FfiMessage) -> Option<&Text>,
) -> pec_result {
    boundary(|| {
        // SAFETY: forwarded contract.
        let m = unsafe { message(p, i) }?;
        // SAFETY: forwarded contract.
        unsafe { give_text(f(m), o, l) }
    })
}

/// The outbox id of the `i`-th message into `*out_id` (what `pec_engine_ack` takes).
/// `PEC_RESULT_INVALID_PARAMETER` when `i` is out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_message_id(
    outcome: *const pec_outcome,
    i: usize,
    out_id: *mut i64,
) -> pec_result {
    boundary(|| {
        // SAFETY: pointers as documented.
        let m = unsafe { message(outcome, i) }?;
        // SAFETY: NULL or a valid `int64_t *`.
        unsafe { out(out_id, "out_id") }?.set(m.id);
        Ok(())
    })
}

/// Whether the `i`-th message was already acknowledged (a replayed outcome): do not send it
/// again. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_message_sent(
    outcome: *const pec_outcome,
    i: usize,
    out_sent: *mut bool,
) -> pec_result {
    boundary(|| {
        // SAFETY: pointers as documented.
        let m = unsafe { message(outcome, i) }?;
        // SAFETY: NULL or a valid `bool *`.
        unsafe { out(out_sent, "out_sent") }?.set(m.sent);
        Ok(())
    })
}

/// The kind of the `i`-th message (`posta-certificata`, `accettazione`,
/// `avvenuta-consegna`, ... or `forward` for received bytes passed on unchanged), a view
/// owned by the outcome. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_message_kind(
    outcome: *const pec_outcome,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { message_text(outcome, i, out, out_len, |m| Some(&m.kind)) }
}

/// The PEC identifier the `i`-th message concerns (NULL and 0 when none), a view owned by the
/// outcome. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_message_identifier(
    outcome: *const pec_outcome,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { message_text(outcome, i, out, out_len, |m| m.identifier.as_ref()) }
}

/// The `Message-ID` of the `i`-th message without angle brackets (NULL when none), a view
/// owned by the outcome. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_message_message_id(
    outcome: *const pec_outcome,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { message_text(outcome, i, out, out_len, |m| m.message_id.as_ref()) }
}

/// The `MAIL FROM` of the `i`-th message (empty for the null reverse path), a view owned by
/// the outcome. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_message_mail_from(
    outcome: *const pec_outcome,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { message_text(outcome, i, out, out_len, |m| Some(&m.mail_from)) }
}

/// The bytes of the `i`-th message (signed, for built messages), a view owned by the
/// outcome: send exactly these. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_message_bytes(
    outcome: *const pec_outcome,
    i: usize,
    out: *mut *const u8,
    out_len: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: pointers as documented.
        let m = unsafe { message(outcome, i) }?;
        // SAFETY: pointers as documented.
        unsafe { give_bytes(Some(&m.bytes), out, out_len) }
    })
}

/// The number of recipient groups of the `i`-th message (recipients sharing a route; 0 for
/// NULL or an index out of range). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_message_group_count(outcome: *const pec_outcome, i: usize) -> usize {
    // SAFETY: NULL or a live outcome.
    unsafe { count_accessor(outcome, |o| o.messages.get(i).map_or(0, |m| m.groups.len())) }
}

/// Reads group `g` of message `i`.
///
/// # Safety
/// `p` NULL or a live outcome.
unsafe fn group<'a>(p: *const pec_outcome, i: usize, g: usize) -> Result<&'a FfiGroup, Failure> {
    // SAFETY: forwarded contract.
    let m = unsafe { message(p, i) }?;
    m.groups.get(g).ok_or_else(|| {
        Failure::invalid(format!("group {g} out of range (count {})", m.groups.len()))
    })
}

/// The route of group `g` of the `i`-th message, a view owned by the outcome: `relay`
/// (re-inject into the MTA for another provider or the Internet), `loopback` (to this
/// provider's own incoming point), `deliver` (store in the local mailboxes, then report with
/// `pec_engine_mailbox_result`), `service-mailbox` (store in this provider's service
/// mailbox). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_message_group_route(
    outcome: *const pec_outcome,
    i: usize,
    g: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: pointers as documented.
        let gr = unsafe { group(outcome, i, g) }?;
        // SAFETY: pointers as documented.
        unsafe { give_text(Some(&gr.route), out, out_len) }
    })
}

/// The number of recipients (`RCPT TO`) of group `g` of the `i`-th message (0 when out of
/// range). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_message_rcpt_count(
    outcome: *const pec_outcome,
    i: usize,
    g: usize,
) -> usize {
    // SAFETY: NULL or a live outcome.
    unsafe {
        count_accessor(outcome, |o| {
            o.messages.get(i).and_then(|m| m.groups.get(g)).map_or(0, |g| g.rcpt_to.len())
        })
    }
}

/// Recipient `j` of group `g` of the `i`-th message, a view owned by the outcome.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_outcome_message_rcpt(
    outcome: *const pec_outcome,
    i: usize,
    g: usize,
    j: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: pointers as documented.
        let gr = unsafe { group(outcome, i, g) }?;
        let Some(r) = gr.rcpt_to.get(j) else {
            return Err(Failure::invalid(format!(
                "recipient {j} out of range (count {})",
                gr.rcpt_to.len()
            )));
        };
        // SAFETY: pointers as documented.
        unsafe { give_text(Some(r), out, out_len) }
    })
}

/// The SMTP point a message arrives at ([`pec_engine_submission`], [`pec_engine_inbound`]).
#[derive(Clone, Copy, Debug)]
enum SmtpPoint {
    /// The access point (a user's submission).
    Access,
    /// The incoming point (a message from another provider or the Internet).
    Incoming,
}

/// The body of [`pec_engine_submission`] and [`pec_engine_inbound`].
#[allow(clippy::too_many_arguments)]
fn smtp_event(
    point: SmtpPoint,
    engine: *const pec_engine,
    mail_from: *const c_char,
    mail_from_len: usize,
    rcpt_to: *const *const c_char,
    rcpt_lens: *const usize,
    rcpt_count: usize,
    bytes: *const u8,
    len: usize,
    virus: *const c_char,
    virus_len: usize,
    out_outcome: *mut *mut pec_outcome,
) -> pec_result {
    boundary(|| {
        #[cfg(feature = "engine")]
        {
            // SAFETY: the C contract documented above.
            let a = unsafe {
                smtp_args(
                    engine,
                    mail_from,
                    mail_from_len,
                    rcpt_to,
                    rcpt_lens,
                    rcpt_count,
                    bytes,
                    len,
                    virus,
                    virus_len,
                )
            }?;
            // SAFETY: NULL or a valid `pec_outcome **`.
            let o = unsafe { out(out_outcome, "out_outcome") }?;
            let av = imp::antivirus(a.virus);
            let e = &a.engine.engine;
            let r = match point {
                SmtpPoint::Access => e.on_submission(&a.smtp, a.bytes, &av)?,
                SmtpPoint::Incoming => e.on_inbound(&a.smtp, a.bytes, &av)?,
            };
            o.set(into_handle(imp::outcome(&r)));
            Ok(())
        }
        #[cfg(not(feature = "engine"))]
        {
            let _ = (
                point,
                engine,
                mail_from,
                mail_from_len,
                rcpt_to,
                rcpt_lens,
                rcpt_count,
                bytes,
                len,
                virus,
                virus_len,
                out_outcome,
            );
            Err(no_engine())
        }
    })
}

/// What [`pec_engine_run_due`] and [`pec_engine_unsent`] ask the engine for.
#[derive(Clone, Copy, Debug)]
enum RowsQuery {
    /// The due timers, fired.
    Due,
    /// The committed messages not acknowledged yet.
    Unsent,
}

/// The body of [`pec_engine_run_due`] and [`pec_engine_unsent`] (`limit` 0: 100).
fn rows_query(
    query: RowsQuery,
    engine: *const pec_engine,
    limit: usize,
    out_outcome: *mut *mut pec_outcome,
) -> pec_result {
    boundary(|| {
        #[cfg(feature = "engine")]
        {
            // SAFETY: NULL or a live engine.
            let e = unsafe { arg_ref(engine, "engine") }?;
            // SAFETY: NULL or a valid `pec_outcome **`.
            let o = unsafe { out(out_outcome, "out_outcome") }?;
            let limit = if limit == 0 { 100 } else { limit };
            let rows = match query {
                RowsQuery::Due => e.engine.run_due(limit)?,
                RowsQuery::Unsent => e.engine.unsent(limit)?,
            };
            o.set(into_handle(imp::rows(&rows)));
            Ok(())
        }
        #[cfg(not(feature = "engine"))]
        {
            let _ = (query, engine, limit, out_outcome);
            Err(no_engine())
        }
    })
}
