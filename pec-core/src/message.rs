//! Parsing and classification of any message as raw bytes (spec digest §11).
//!
//! (API fixed; implementation in progress.)

use std::borrow::Cow;

use crate::daticert::Daticert;
use crate::error::Result;
use crate::limits::Limits;
use crate::model::{MessageKind, ReceiptType};

/// A parsed message: a PEC envelope or notification, or ordinary mail (`kind` is `None`).
/// Borrows the bytes it was parsed from; nothing signed is copied or re-serialised.
#[derive(Clone, Debug)]
pub struct PecMessage<'a> {
    /// The bytes as they arrived.
    pub raw: &'a [u8],
    /// The kind, from `X-Trasporto` / `X-Ricevuta` of the outermost PEC message; `None` for
    /// ordinary mail.
    pub kind: Option<MessageKind>,
    /// `X-TipoRicevuta` (or daticert `<ricevuta tipo>` when the header is absent).
    pub receipt_type: Option<ReceiptType>,
    /// `X-VerificaSicurezza: errore` present.
    pub security_error: bool,
    /// This message's own `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// The PEC identifier it refers to: daticert `<identificativo>`, else (envelopes) its
    /// own `Message-ID`, without angle brackets.
    pub identificativo: Option<String>,
    /// The client msgid: `X-Riferimento-Message-ID` (else daticert `<msgid>`), with angle
    /// brackets as on the wire.
    pub msgid: Option<String>,
    /// The original subject: the `Subject:` decoded with the first PEC prefix removed (else
    /// daticert `<oggetto>`).
    pub subject: Option<String>,
    /// The decoded `From:` header.
    pub from: Option<String>,
    /// The certification data.
    pub daticert: Option<Daticert>,
    /// The exact bytes of `postacert.eml` (borrowed unless transfer-encoded).
    pub original: Option<Cow<'a, [u8]>>,
    /// `.hash` parts of a brief delivery receipt.
    pub hash_parts: Vec<HashPart>,
    /// The signed content and the signature, when the message is `multipart/signed`.
    pub signed: Option<SignedParts<'a>>,
    /// Inconsistencies found while cross-checking headers with daticert (not errors).
    pub warnings: Vec<String>,
}

/// A `<name>.hash` part of a brief delivery receipt (RFC 6109 §3.3.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashPart {
    /// The file name, `.hash` suffix included.
    pub filename: String,
    /// The 40-hex SHA-1 it holds (lowercased).
    pub sha1: String,
}

/// The two halves of `multipart/signed`.
#[derive(Clone, Debug)]
pub struct SignedParts<'a> {
    /// The exact signed bytes: the first part, from after the CRLF ending the boundary line
    /// up to (not including) the CRLF before the next boundary line.
    pub content: &'a [u8],
    /// The DER of the detached CMS signature (base64-decoded `smime.p7s`).
    pub signature: Vec<u8>,
    /// The `protocol` parameter (`application/pkcs7-signature` or the x- form).
    pub protocol: String,
    /// The `micalg` parameter.
    pub micalg: Option<String>,
}

impl<'a> PecMessage<'a> {
    /// Parses `raw` with the default [`Limits`].
    ///
    /// # Errors
    /// Malformed input (typed); ordinary mail is not an error.
    pub fn parse(raw: &'a [u8]) -> Result<PecMessage<'a>> {
        Self::parse_with_limits(raw, &Limits::default())
    }

    /// Parses `raw` with explicit limits.
    ///
    /// # Errors
    /// Malformed input or an exceeded limit.
    pub fn parse_with_limits(raw: &'a [u8], limits: &Limits) -> Result<PecMessage<'a>> {
        let _ = limits;
        Ok(PecMessage {
            raw,
            kind: None,
            receipt_type: None,
            security_error: false,
            message_id: None,
            identificativo: None,
            msgid: None,
            subject: None,
            from: None,
            daticert: None,
            original: None,
            hash_parts: Vec::new(),
            signed: None,
            warnings: Vec::new(),
        })
    }

    /// The first header field `name` of the outer message, unfolded and RFC 2047-decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }
}
