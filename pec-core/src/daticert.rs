//! `daticert.xml`, the certification data of every PEC message except the anomaly envelope
//! (RFC 6109 §4.4; spec digest §6).
//!
//! [`Daticert::to_xml`] writes a document valid against the RFC's DTD; [`Daticert::parse`]
//! reads real-world files with a non-validating reader that never expands entities nor
//! fetches a DTD.

use crate::model::{CertError, CertType, ReceiptType, RecipientType};

/// The certification data (`<postacert>`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Daticert {
    /// `postacert@tipo`.
    pub kind: Option<CertType>,
    /// `postacert@errore` (default `nessuno`).
    pub error: CertError,
    /// `intestazione/mittente`: the original sender.
    pub sender: String,
    /// `intestazione/destinatari`, in order (To then Cc of the original).
    pub recipients: Vec<Recipient>,
    /// `intestazione/risposte`: the original's Reply-To (or its sender).
    pub reply_to: String,
    /// `intestazione/oggetto`: the original subject (decoded).
    pub subject: Option<String>,
    /// `dati/gestore-emittente`: the provider that certifies the data.
    pub issuer: String,
    /// `dati/data`.
    pub date: CertDate,
    /// `dati/identificativo`: the PEC identifier of the transport envelope.
    pub identifier: String,
    /// `dati/msgid`: the client's Message-ID, with angle brackets as real files carry it.
    pub msgid: Option<String>,
    /// `dati/ricevuta@tipo`.
    pub receipt_type: Option<ReceiptType>,
    /// `dati/consegna`: the single recipient a delivery-related notice is about.
    pub delivery: Option<String>,
    /// `dati/ricezione`: the recipients covered by a take-charge receipt.
    pub received: Vec<String>,
    /// `dati/errore-esteso`.
    pub extended_error: Option<String>,
}

/// One `<destinatari>` element.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipient {
    /// The address.
    pub address: String,
    /// `tipo` (default `certificato`).
    pub kind: RecipientType,
}

/// `<data zona="+hhmm"><giorno>dd/mm/yyyy</giorno><ora>hh:mm:ss</ora></data>`, kept raw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertDate {
    /// `giorno`, `dd/mm/yyyy`.
    pub day: String,
    /// `ora`, `hh:mm:ss`.
    pub time: String,
    /// `zona`, `[+|-]hhmm`.
    pub zone: String,
}

impl Daticert {
    /// Parses a daticert.xml (placeholder until the reader lands).
    ///
    /// # Errors
    /// Always, for now.
    pub fn parse(bytes: &[u8]) -> crate::Result<Daticert> {
        let _ = bytes;
        Err(crate::error::DaticertError::Missing("reader").into())
    }
}
