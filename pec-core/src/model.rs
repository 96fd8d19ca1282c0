//! The PEC data model: message kinds and the header and `daticert.xml` vocabularies
//! (RFC 6109 §2.1, §3, §4.4; docs/SPEC.md §2.1, §3.1, §6).
//!
//! Every vocabulary is an enum with English Rust names, the exact wire string through
//! `as_str()`, and an `Other` variant that keeps an unknown value when parsing (real traffic
//! is not always what the RFC says; nothing is dropped).

use std::fmt;

/// Defines an open vocabulary: known variants with their exact wire strings, plus `Other`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this library does not know, kept verbatim (trimmed).
            Other(String),
        }

        impl $name {
            /// Every known variant.
            pub const KNOWN: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The exact wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Other(s) => s.as_str(),
                }
            }

            /// Parses a wire value: exact match after trimming, then ASCII case-insensitive;
            /// anything else is kept as `Other`.
            pub fn from_wire(s: &str) -> Self {
                let t = s.trim();
                $( if t == $wire { return $name::$variant; } )+
                $( if t.eq_ignore_ascii_case($wire) { return $name::$variant; } )+
                $name::Other(t.to_string())
            }

            /// Parses a wire value, refusing unknown ones (for builders and CLI options).
            pub fn from_known(s: &str) -> Option<Self> {
                match Self::from_wire(s) {
                    $name::Other(_) => None,
                    v => Some(v),
                }
            }

            /// Whether this is a known value.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// `X-Ricevuta`: the kind of a notification or receipt (RFC 6109 §2.1, Appendix A).
    ///
    /// Note there is no `mancata-consegna`: non-delivery is `errore-consegna`.
    ReceiptKind {
        /// «avviso di non accettazione» (formal or virus), `non-accettazione`.
        NonAcceptance = "non-accettazione",
        /// «ricevuta di accettazione», `accettazione`.
        Acceptance = "accettazione",
        /// «avviso di mancata consegna per superamento tempi massimi» (12 h and 24 h),
        /// `preavviso-errore-consegna`.
        DeliveryTimeout = "preavviso-errore-consegna",
        /// «ricevuta di presa in carico», `presa-in-carico`.
        TakeCharge = "presa-in-carico",
        /// «avviso di rilevazione virus informatico», `rilevazione-virus`.
        VirusDetection = "rilevazione-virus",
        /// «avviso di mancata consegna» (also for virus), `errore-consegna`.
        NonDelivery = "errore-consegna",
        /// «ricevuta di avvenuta consegna», `avvenuta-consegna`.
        Delivery = "avvenuta-consegna",
    }
}

wire_enum! {
    /// `X-Trasporto`: the kind of an envelope (RFC 6109 §3.1.5, §3.2.2).
    TransportKind {
        /// «busta di trasporto», `posta-certificata`.
        Certified = "posta-certificata",
        /// «busta di anomalia», `errore`.
        Anomaly = "errore",
    }
}

wire_enum! {
    /// `X-TipoRicevuta` and `<ricevuta tipo>`: the delivery receipt the sender asked for
    /// (RFC 6109 §3.3.2). Absent means [`ReceiptType::Complete`].
    ReceiptType {
        /// «completa»: the receipt carries the whole original.
        Complete = "completa",
        /// «breve»: attachments replaced by their SHA-1 (`.hash` parts).
        Brief = "breve",
        /// «sintetica»: no original, only text and daticert.
        Concise = "sintetica",
    }
}

wire_enum! {
    /// `X-VerificaSicurezza` (virus notices only).
    SecurityCheck {
        /// `errore`: a virus was found.
        Error = "errore",
    }
}

wire_enum! {
    /// `postacert@tipo` in `daticert.xml` (RFC 6109 §4.4). There is no value for the anomaly
    /// envelope, which carries no daticert.
    CertType {
        /// `accettazione`.
        Acceptance = "accettazione",
        /// `non-accettazione`.
        NonAcceptance = "non-accettazione",
        /// `presa-in-carico`.
        TakeCharge = "presa-in-carico",
        /// `avvenuta-consegna`.
        Delivery = "avvenuta-consegna",
        /// `posta-certificata` (the transport envelope).
        Certified = "posta-certificata",
        /// `errore-consegna`.
        NonDelivery = "errore-consegna",
        /// `preavviso-errore-consegna`.
        DeliveryTimeout = "preavviso-errore-consegna",
        /// `rilevazione-virus`.
        VirusDetection = "rilevazione-virus",
    }
}

wire_enum! {
    /// `postacert@errore` (RFC 6109 §4.4; default `nessuno`).
    CertError {
        /// `nessuno`: no error.
        None = "nessuno",
        /// `no-dest`: unknown or wrong recipient.
        NoRecipient = "no-dest",
        /// `no-dominio`: wrong recipient domain.
        NoDomain = "no-dominio",
        /// `virus`.
        Virus = "virus",
        /// `altro`: any other error.
        Another = "altro",
    }
}

wire_enum! {
    /// `destinatari@tipo` (RFC 6109 §4.4; default `certificato`).
    RecipientType {
        /// `certificato`: the address is in a PEC domain.
        Certified = "certificato",
        /// `esterno`: ordinary mail.
        External = "esterno",
    }
}

#[allow(clippy::derivable_impls)] // the enum is generated by `wire_enum!`
impl Default for ReceiptType {
    fn default() -> Self {
        ReceiptType::Complete
    }
}

#[allow(clippy::derivable_impls)] // the enum is generated by `wire_enum!`
impl Default for CertError {
    fn default() -> Self {
        CertError::None
    }
}

#[allow(clippy::derivable_impls)] // the enum is generated by `wire_enum!`
impl Default for RecipientType {
    fn default() -> Self {
        RecipientType::Certified
    }
}

/// The kind of a PEC system message: an envelope (`X-Trasporto`) or a notification
/// (`X-Ricevuta`). Its wire value is the header's value (`posta-certificata`, `errore`,
/// `accettazione`, ...), which is what `pec inspect` prints as `kind` and `pec build` takes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// An envelope, from `X-Trasporto`.
    Transport(TransportKind),
    /// A notification or receipt, from `X-Ricevuta`.
    Receipt(ReceiptKind),
}

impl MessageKind {
    /// The transport envelope.
    pub const TRANSPORT_ENVELOPE: MessageKind = MessageKind::Transport(TransportKind::Certified);
    /// The anomaly envelope.
    pub const ANOMALY_ENVELOPE: MessageKind = MessageKind::Transport(TransportKind::Anomaly);

    /// Every kind this library builds, in catalogue order.
    pub fn all() -> Vec<MessageKind> {
        let mut v = vec![MessageKind::TRANSPORT_ENVELOPE, MessageKind::ANOMALY_ENVELOPE];
        v.extend(ReceiptKind::KNOWN.iter().cloned().map(MessageKind::Receipt));
        v
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            MessageKind::Transport(t) => t.as_str(),
            MessageKind::Receipt(r) => r.as_str(),
        }
    }

    /// Parses a wire value as used by `pec build KIND` (known values only).
    pub fn from_known(s: &str) -> Option<MessageKind> {
        if let Some(t) = TransportKind::from_known(s) {
            return Some(MessageKind::Transport(t));
        }
        ReceiptKind::from_known(s).map(MessageKind::Receipt)
    }

    /// The `daticert.xml` `tipo` that goes with this kind (`None` for the anomaly envelope
    /// and unknown kinds).
    pub fn cert_type(&self) -> Option<CertType> {
        Some(match self {
            MessageKind::Transport(TransportKind::Certified) => CertType::Certified,
            MessageKind::Transport(_) => return None,
            MessageKind::Receipt(r) => match r {
                ReceiptKind::NonAcceptance => CertType::NonAcceptance,
                ReceiptKind::Acceptance => CertType::Acceptance,
                ReceiptKind::DeliveryTimeout => CertType::DeliveryTimeout,
                ReceiptKind::TakeCharge => CertType::TakeCharge,
                ReceiptKind::VirusDetection => CertType::VirusDetection,
                ReceiptKind::NonDelivery => CertType::NonDelivery,
                ReceiptKind::Delivery => CertType::Delivery,
                ReceiptKind::Other(_) => return None,
            },
        })
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Header names of the PEC vocabulary (RFC 6109 §8.1), spelled as emitted.
pub mod header {
    /// `X-Ricevuta`.
    pub const RICEVUTA: &str = "X-Ricevuta";
    /// `X-Trasporto`.
    pub const TRASPORTO: &str = "X-Trasporto";
    /// `X-TipoRicevuta`.
    pub const TIPO_RICEVUTA: &str = "X-TipoRicevuta";
    /// `X-VerificaSicurezza`.
    pub const VERIFICA_SICUREZZA: &str = "X-VerificaSicurezza";
    /// `X-Riferimento-Message-ID`.
    pub const RIFERIMENTO_MESSAGE_ID: &str = "X-Riferimento-Message-ID";
    /// `X-Mittente`.
    pub const MITTENTE: &str = "X-Mittente";
}

/// Subject prefixes (RFC 6109 §3, exact, upper case, followed by `": "`).
pub mod subject_prefix {
    /// Transport envelope.
    pub const TRANSPORT: &str = "POSTA CERTIFICATA: ";
    /// Anomaly envelope.
    pub const ANOMALY: &str = "ANOMALIA MESSAGGIO: ";
    /// Acceptance.
    pub const ACCEPTANCE: &str = "ACCETTAZIONE: ";
    /// Non-acceptance (formal).
    pub const NON_ACCEPTANCE: &str = "AVVISO DI NON ACCETTAZIONE: ";
    /// Non-acceptance for virus.
    pub const NON_ACCEPTANCE_VIRUS: &str = "AVVISO DI NON ACCETTAZIONE PER VIRUS: ";
    /// Take-charge.
    pub const TAKE_CHARGE: &str = "PRESA IN CARICO: ";
    /// Delivery (every variant).
    pub const DELIVERY: &str = "CONSEGNA: ";
    /// Non-delivery.
    pub const NON_DELIVERY: &str = "AVVISO DI MANCATA CONSEGNA: ";
    /// Timeout notices (12 h and 24 h).
    pub const TIMEOUT: &str = "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: ";
    /// Virus detection.
    pub const VIRUS_DETECTION: &str = "PROBLEMA DI SICUREZZA: ";
    /// Non-delivery for virus.
    pub const NON_DELIVERY_VIRUS: &str = "AVVISO DI MANCATA CONSEGNA PER VIRUS: ";

    /// Every prefix, longest first (so `... PER VIRUS: ` is tried before its stem).
    pub const ALL: &[&str] = &[
        TIMEOUT,
        NON_ACCEPTANCE_VIRUS,
        NON_DELIVERY_VIRUS,
        NON_ACCEPTANCE,
        NON_DELIVERY,
        VIRUS_DETECTION,
        TRANSPORT,
        ANOMALY,
        TAKE_CHARGE,
        ACCEPTANCE,
        DELIVERY,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip() {
        for k in MessageKind::all() {
            assert_eq!(MessageKind::from_known(k.as_str()), Some(k.clone()));
        }
        assert_eq!(ReceiptKind::from_wire(" avvenuta-consegna "), ReceiptKind::Delivery);
        assert_eq!(ReceiptKind::from_wire("Accettazione"), ReceiptKind::Acceptance);
        assert_eq!(
            ReceiptKind::from_wire("mancata-consegna"),
            ReceiptKind::Other("mancata-consegna".into())
        );
        assert_eq!(MessageKind::from_known("mancata-consegna"), None);
        assert_eq!(CertError::default().as_str(), "nessuno");
        assert_eq!(RecipientType::default().as_str(), "certificato");
        assert_eq!(ReceiptType::default().as_str(), "completa");
    }
}
