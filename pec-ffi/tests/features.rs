//! The optional features of libpec (`ldap`, `pkcs11`, `engine`): with or without them the functions are
//! exported; without them they fail with the documented code and say why. Run both ways:
//! `cargo test -p pec-ffi --test features` and
//! `cargo test -p pec-ffi --test features --no-default-features` (scripts/test-all.sh does).

use pec::error::{pec_last_error_message, pec_result};
use pec::index::pec_index_from_ldap;
use pec::signer::pec_signer_new_pkcs11;

fn last_error() -> String {
    let mut buf = vec![0u8; 1024];
    let mut n = 0usize;
    let r = pec_last_error_message(buf.as_mut_ptr().cast(), buf.len(), &mut n);
    assert_eq!(r, pec_result::Ok);
    buf.truncate(n.min(buf.len()));
    String::from_utf8_lossy(&buf).trim_end_matches('\0').to_string()
}

#[test]
fn ldap_is_optional() {
    // nothing listens on port 1: with LDAP the connection is refused, without it the call
    // fails before trying
    let url = "ldap://127.0.0.1:1";
    let mut out = std::ptr::null_mut();
    let r = pec_index_from_ldap(url.as_ptr().cast(), url.len(), std::ptr::null(), 0, 500, &mut out);
    assert_eq!(r, pec_result::LdapConnect);
    assert!(out.is_null());
    let msg = last_error();
    assert_eq!(msg.contains("built without LDAP"), cfg!(not(feature = "ldap")), "{msg}");
}

#[test]
fn pkcs11_is_optional() {
    let uri = "pkcs11:token=none;object=none;type=private?pin-value=1";
    let module = "/nonexistent/libpkcs11.so";
    let mut out = std::ptr::null_mut();
    let r = pec_signer_new_pkcs11(
        uri.as_ptr().cast(),
        uri.len(),
        module.as_ptr().cast(),
        module.len(),
        std::ptr::null(),
        0,
        std::ptr::null(),
        0,
        &mut out,
    );
    assert_eq!(r, pec_result::Pkcs11Module);
    assert!(out.is_null());
    let msg = last_error();
    assert_eq!(msg.contains("built without PKCS#11"), cfg!(not(feature = "pkcs11")), "{msg}");
}

#[test]
fn engine_is_optional() {
    // a configuration that does not exist: with the engine it is a configuration error, without
    // it the call fails before reading anything
    let path = "/nonexistent/engine.toml";
    let mut out = std::ptr::null_mut();
    let r = pec::engine::pec_engine_open(path.as_ptr().cast(), path.len(), &mut out);
    assert_eq!(r, pec_result::EngineConfig);
    assert!(out.is_null());
    let msg = last_error();
    assert_eq!(
        msg.contains("built without the provider engine"),
        cfg!(not(feature = "engine")),
        "{msg}"
    );
}
