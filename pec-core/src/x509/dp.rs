//! CRL distribution points (RFC 5280 §4.2.1.13, §5.2.5) in comparable form: those a
//! certificate names, and those a CRL's issuingDistributionPoint names.

use der::Encode;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::name::Name;

use super::name::{name_key, rdn_key};

/// Distribution points (and names in each) of one certificate or CRL looked at.
pub(crate) const MAX_DPS: usize = 16;
/// Every reason of ReasonFlags (RFC 5280 §4.2.1.13, bits 1 keyCompromise .. 8 aACompromise).
pub(crate) const ALL_REASONS: u16 = 0x1fe;

/// A distribution point name in comparable form (RFC 5280 §6.3.3 (b)(2)(i)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DpName {
    /// uniformResourceIdentifier, as written.
    Uri(String),
    /// directoryName, as a name comparison key.
    Directory(String),
    /// Any other GeneralName, as DER.
    Other(Vec<u8>),
}

impl DpName {
    fn of(gn: &GeneralName) -> DpName {
        match gn {
            GeneralName::UniformResourceIdentifier(u) => DpName::Uri(u.to_string()),
            GeneralName::DirectoryName(n) => DpName::Directory(name_key(n)),
            other => DpName::Other(other.to_der().unwrap_or_default()),
        }
    }

    /// The full names of a DistributionPointName; a name relative to the CRL issuer is
    /// appended to `base` (that issuer's name key), and names nothing without one.
    pub(crate) fn full(dpn: &DistributionPointName, base: Option<&str>) -> Vec<DpName> {
        match dpn {
            DistributionPointName::FullName(names) => {
                names.iter().take(MAX_DPS).map(DpName::of).collect()
            }
            DistributionPointName::NameRelativeToCRLIssuer(rdn) => base
                .map(|b| vec![DpName::Directory(format!("{b}{}", rdn_key(rdn)))])
                .unwrap_or_default(),
        }
    }
}

/// One CRL distribution point of a certificate, prepared for CRL scope checks.
#[derive(Clone, Debug)]
pub(crate) struct CertDp {
    /// The distributionPoint names (`None` when the field is absent).
    pub(crate) names: Option<Vec<DpName>>,
    /// The reasons field (every reason when absent).
    pub(crate) reasons: u16,
    /// The cRLIssuer names (`None` when absent: the certificate's issuer).
    pub(crate) crl_issuer: Option<Vec<DpName>>,
}

/// The distribution points of a CRLDistributionPoints extension of a certificate issued by
/// `issuer`.
pub(crate) fn cert_dps(dps: &[DistributionPoint], issuer: &Name) -> Vec<CertDp> {
    let issuer_key = name_key(issuer);
    dps.iter()
        .take(MAX_DPS)
        .map(|dp| {
            let crl_issuer: Option<Vec<DpName>> =
                dp.crl_issuer.as_ref().map(|g| g.iter().take(MAX_DPS).map(DpName::of).collect());
            // RFC 5280 §4.2.1.13: a relative name is relative to the cRLIssuer when present.
            let base = match &crl_issuer {
                Some(names) => names.iter().find_map(|n| match n {
                    DpName::Directory(k) => Some(k.clone()),
                    _ => None,
                }),
                None => Some(issuer_key.clone()),
            };
            CertDp {
                names: dp.distribution_point.as_ref().map(|d| DpName::full(d, base.as_deref())),
                reasons: dp.reasons.map_or(ALL_REASONS, |r| r.bits() & ALL_REASONS),
                crl_issuer,
            }
        })
        .collect()
}
