//! RSA decryption with the token's private key (`C_Decrypt`), for encryption at rest
//! ([`crate::atrest`]): the key transport of a CMS EnvelopedData is unwrapped in the HSM, the
//! content is decrypted in memory with the content-encryption key it returns.
//!
//! The same pool, login and recovery rules as signing apply (see the module documentation).
//! The key object needs `CKA_DECRYPT` (SoftHSM2 sets it on imported keys).

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};

use super::{Diagnosis, Failure, MAX_ATTEMPTS, Pkcs11Signer, ck_name, diagnose, pkcs11_err};
use crate::error::{HsmError, Result};

/// The RSA padding of the key transport to undo on the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsaDecryptMechanism {
    /// `CKM_RSA_PKCS` (RSAES-PKCS1-v1_5).
    Pkcs1,
    /// `CKM_RSA_PKCS_OAEP` with SHA-1 and MGF1-SHA-1 (the only OAEP SoftHSM2 2.6 accepts).
    OaepSha1,
    /// `CKM_RSA_PKCS_OAEP` with SHA-256 and MGF1-SHA-256.
    OaepSha256,
}

impl Pkcs11Signer {
    /// Decrypts `ciphertext` (one RSA block) with the token's private key, through the
    /// session pool: the content-encryption key of a CMS EnvelopedData.
    ///
    /// # Errors
    /// [`HsmError::Pkcs11`] (`C_Decrypt`, with the CKR name: `CKR_ENCRYPTED_DATA_INVALID`
    /// for a block this key does not open, `CKR_MECHANISM_INVALID` or
    /// `CKR_MECHANISM_PARAM_INVALID` when the token lacks the padding,
    /// `CKR_KEY_FUNCTION_NOT_PERMITTED` without `CKA_DECRYPT`); [`HsmError::RetriesExhausted`]
    /// when sessions kept dying.
    pub fn decrypt_rsa(
        &self,
        mechanism: RsaDecryptMechanism,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>> {
        let mechanism = match mechanism {
            RsaDecryptMechanism::Pkcs1 => Mechanism::RsaPkcs,
            RsaDecryptMechanism::OaepSha1 => Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
                MechanismType::SHA1,
                PkcsMgfType::MGF1_SHA1,
                PkcsOaepSource::empty(),
            )),
            RsaDecryptMechanism::OaepSha256 => Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
                MechanismType::SHA256,
                PkcsMgfType::MGF1_SHA256,
                PkcsOaepSource::empty(),
            )),
        };
        let mut last = String::new();
        let mut refind = false;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(super::BACKOFF * (1 << (attempt - 1)));
            }
            let mut lease = match self.checkout(refind) {
                Ok(lease) => lease,
                Err(Failure::Recoverable(ckr)) => {
                    last = ckr;
                    refind = true;
                    continue;
                }
                Err(Failure::Fatal(e)) => return Err(e),
            };
            let Some(pooled) = lease.session.as_ref() else {
                refind = true;
                continue;
            };
            let error = match pooled.session.decrypt(&mechanism, pooled.key, ciphertext) {
                Ok(plain) => return Ok(plain),
                Err(e) => e,
            };
            match diagnose(&pooled.session, &error) {
                Diagnosis::Lost { dead } => {
                    last = ck_name(&error);
                    lease.discard(dead);
                    self.recoveries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    refind = true;
                }
                Diagnosis::Healthy => return Err(pkcs11_err("C_Decrypt", &error)),
            }
        }
        Err(HsmError::RetriesExhausted { attempts: MAX_ATTEMPTS, ckr: last }.into())
    }
}
