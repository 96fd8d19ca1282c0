//! X.509 building blocks below both path validation ([`crate::chain`]) and revocation
//! ([`crate::revocation`]): certificates described and parsed once ([`cert`]), names
//! ([`name`]), CRL distribution points ([`dp`]), the one DER/BER TLV reader ([`der`], also
//! the CMS reader of [`crate::smime`]), the one PEM reader ([`pem`]), the object identifiers
//! ([`oid`], from `const_oid::db`) and the one cache of signature verdicts ([`cache`]).
//!
//! Nothing here judges a path or a revocation: this layer describes; `chain` and
//! `revocation` decide.

pub(crate) mod cache;
pub(crate) mod cert;
pub(crate) mod der;
pub(crate) mod dp;
pub(crate) mod name;
pub(crate) mod oid;
pub(crate) mod pem;
