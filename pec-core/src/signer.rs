//! The [`Signer`] interface: what every builder needs to sign a PEC message.

use crate::error::Result;

/// Something that signs with the provider's key: RSA PKCS#1 v1.5 over SHA-256.
///
/// Implementations: [`SoftwareSigner`] (a key in memory), the PKCS#11 signer
/// (feature `pkcs11`), and caller-supplied signers (the C ABI's callback).
pub trait Signer: Send + Sync {
    /// DER of the signer certificate, embedded in every signature.
    fn certificate(&self) -> &[u8];
    /// DER of the intermediate certificates to embed (may be empty).
    fn chain(&self) -> &[Vec<u8>];
    /// Signs `message` (the DER of the CMS signed attributes) with RSA PKCS#1 v1.5 over
    /// SHA-256, returning the raw signature.
    ///
    /// # Errors
    /// Any failure of the key store; the caller's data is never partially written.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}
