//! # pec-core
//!
//! The engine of Italian certified email (PEC, *Posta Elettronica Certificata*,
//! RFC 6109): the data model and `daticert.xml`, every envelope and receipt built, every PEC
//! message parsed and classified, S/MIME signing and verification against the providers
//! index, and the index itself.
//!
//! Everything here works on bytes the caller hands in; nothing re-serialises signed bytes.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// library code states its invariants instead of unwrapping (tests may unwrap)
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

#[macro_use]
mod table;

pub mod atrest;
pub mod build;
pub mod chain;
pub mod checks;
pub mod codec;
pub mod crypto;
pub mod daticert;
pub mod error;
pub mod headers;
pub mod identifier;
pub mod limits;
pub mod mailsec;
pub mod message;
pub mod mime;
pub mod model;
pub mod open;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
pub mod points;
pub mod provider;
pub mod report;
pub mod revocation;
pub mod signer;
pub mod smime;
pub mod timeref;
pub mod tsp;
pub mod verify;
#[cfg(feature = "view")]
pub mod view;
mod x509;

pub mod index {
    //! The providers index («indice dei gestori di posta certificata», RFC 6109 §4.5;
    //! docs/SPEC.md §8): which domains and certificates belong to PEC.
    //!
    //! The index layer itself (`src/index/`) sits below S/MIME and never imports it; loading a
    //! signed (`.p7m`) index checks a CMS signature, so it lives in the verification layer,
    //! [`crate::verify::index`], and is re-exported here at its old paths.

    #[path = "mod.rs"]
    mod store;

    pub use store::*;

    pub use crate::verify::index::{
        load_signed_index, open_index, open_index_file, signed_index_verifier,
    };
}

pub use error::{Code, Error, Result};
pub use message::PecMessage;
pub use verify::verify_message;
