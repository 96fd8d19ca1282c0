//! The object identifiers the engine matches on, named once: from `const_oid::db` wherever
//! the database has them, local constants (below) only for the few it lacks.

use const_oid::ObjectIdentifier;

pub(crate) use const_oid::db::rfc2985::PKCS_9_AT_EMAIL_ADDRESS as EMAIL_ADDRESS;
pub(crate) use const_oid::db::rfc3280::PSEUDONYM;
pub(crate) use const_oid::db::rfc4519::{
    C, CN, DC, DN_QUALIFIER, GN, INITIALS, L, O, OU, POSTAL_CODE, SERIAL_NUMBER, SN, ST, STREET,
    TITLE, UID,
};
pub(crate) use const_oid::db::rfc5280::{
    ANY_EXTENDED_KEY_USAGE, ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS,
    ID_CE_CERTIFICATE_POLICIES, ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_CRL_NUMBER, ID_CE_CRL_REASONS,
    ID_CE_DELTA_CRL_INDICATOR, ID_CE_EXT_KEY_USAGE, ID_CE_FRESHEST_CRL,
    ID_CE_HOLD_INSTRUCTION_CODE, ID_CE_INHIBIT_ANY_POLICY, ID_CE_INVALIDITY_DATE,
    ID_CE_ISSUER_ALT_NAME, ID_CE_ISSUING_DISTRIBUTION_POINT, ID_CE_KEY_USAGE,
    ID_CE_NAME_CONSTRAINTS, ID_CE_POLICY_CONSTRAINTS, ID_CE_POLICY_MAPPINGS,
    ID_CE_PRIVATE_KEY_USAGE_PERIOD, ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_DIRECTORY_ATTRIBUTES,
    ID_CE_SUBJECT_KEY_IDENTIFIER, ID_KP_EMAIL_PROTECTION, ID_KP_TIME_STAMPING,
    ID_PE_AUTHORITY_INFO_ACCESS, ID_PE_SUBJECT_INFO_ACCESS,
};
pub(crate) use const_oid::db::rfc5911::{
    ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME,
};
pub(crate) use const_oid::db::rfc5912::{
    DSA_WITH_SHA_1, ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_EC_PUBLIC_KEY,
    ID_MD_5, ID_SHA_256, MD_5_WITH_RSA_ENCRYPTION, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1,
    SHA_1_WITH_RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION,
    SHA_512_WITH_RSA_ENCRYPTION,
};

// Not in `const_oid::db` 0.10:

/// `sha-1WithRSAEncryption` (OIW, 1.3.14.3.2.29), still seen in old certificates.
pub(crate) const SHA_1_WITH_RSA_OIW: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.14.3.2.29");
/// `ecdsa-with-SHA1` (RFC 3279 §2.2.3).
pub(crate) const ECDSA_WITH_SHA_1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
/// `organizationIdentifier` (X.520, 2.5.4.97): eIDAS certificates carry it.
pub(crate) const ORGANIZATION_IDENTIFIER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.4.97");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_the_expected_arcs() {
        // A renamed or renumbered database constant must not change what is matched.
        for (oid, dotted) in [
            (RSA_ENCRYPTION, "1.2.840.113549.1.1.1"),
            (SHA_1_WITH_RSA_ENCRYPTION, "1.2.840.113549.1.1.5"),
            (MD_5_WITH_RSA_ENCRYPTION, "1.2.840.113549.1.1.4"),
            (SHA_256_WITH_RSA_ENCRYPTION, "1.2.840.113549.1.1.11"),
            (ID_SIGNED_DATA, "1.2.840.113549.1.7.2"),
            (ID_DATA, "1.2.840.113549.1.7.1"),
            (ID_CONTENT_TYPE, "1.2.840.113549.1.9.3"),
            (ID_MESSAGE_DIGEST, "1.2.840.113549.1.9.4"),
            (ID_SIGNING_TIME, "1.2.840.113549.1.9.5"),
            (ID_SHA_256, "2.16.840.1.101.3.4.2.1"),
            (ID_MD_5, "1.2.840.113549.2.5"),
            (EMAIL_ADDRESS, "1.2.840.113549.1.9.1"),
            (ID_CE_BASIC_CONSTRAINTS, "2.5.29.19"),
            (ID_CE_CRL_REASONS, "2.5.29.21"),
            (ANY_EXTENDED_KEY_USAGE, "2.5.29.37.0"),
            (ST, "2.5.4.8"),
            (STREET, "2.5.4.9"),
            (PSEUDONYM, "2.5.4.65"),
            (SECP_384_R_1, "1.3.132.0.34"),
        ] {
            assert_eq!(oid.to_string(), dotted);
        }
    }
}
