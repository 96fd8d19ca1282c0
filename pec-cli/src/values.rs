//! Value parsers for the closed value sets of the options: `--help` lists the values and a
//! typo is a usage error (exit 64) caught before anything runs.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use pec_core::build::Timeout;
use pec_core::model::{CertError, MessageKind, ReceiptKind, ReceiptType, TransportKind};
use pec_core::timeref::TimeReference;

/// The kinds `pec build` makes: `X-Trasporto` and `X-Ricevuta` wire values.
pub fn kind() -> impl TypedValueParser<Value = MessageKind> {
    let names = TransportKind::KNOWN
        .iter()
        .map(TransportKind::as_str)
        .chain(ReceiptKind::KNOWN.iter().map(ReceiptKind::as_str));
    PossibleValuesParser::new(names.map(PossibleValue::new))
        .try_map(|s| MessageKind::from_known(&s).ok_or("unknown kind"))
}

/// `X-TipoRicevuta`: completa, breve, sintetica.
pub fn receipt_type() -> impl TypedValueParser<Value = ReceiptType> {
    PossibleValuesParser::new(ReceiptType::KNOWN.iter().map(|v| PossibleValue::new(v.as_str())))
        .try_map(|s| ReceiptType::from_known(&s).ok_or("unknown receipt type"))
}

/// `postacert@errore`: nessuno, no-dest, no-dominio, virus, altro.
pub fn cert_error() -> impl TypedValueParser<Value = CertError> {
    PossibleValuesParser::new(CertError::KNOWN.iter().map(|v| PossibleValue::new(v.as_str())))
        .try_map(|s| CertError::from_known(&s).ok_or("unknown error"))
}

/// The timeout notice: 12h or 24h (also 12, 24).
pub fn timeout() -> impl TypedValueParser<Value = Timeout> {
    PossibleValuesParser::new([
        PossibleValue::new("12h").alias("12").help("the 12-hour warning"),
        PossibleValue::new("24h").alias("24").help("the 24-hour notice"),
    ])
    .try_map(|s| Timeout::from_wire(&s).ok_or("unknown timeout"))
}

/// An instant in RFC 3339 (`2024-12-05T00:02:10+01:00`), keeping its offset.
pub fn time(s: &str) -> Result<TimeReference, String> {
    TimeReference::from_rfc3339(s).map_err(|_| "not an RFC 3339 date-time".to_string())
}
