//! [`Primitives`] from the audited RustCrypto crates: `aes-gcm`,
//! `ed25519-dalek` (strict verification) and `x25519-dalek`. Always answers
//! at once. The native tests and the simulation use it; the browser is to
//! carry out the same primitives with WebCrypto (`deferred`), so nothing
//! outside this file uses the crates' keys or curve arithmetic.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use x25519_dalek::{PublicKey, StaticSecret};

use super::error::TrustError;
use super::primitives::{Primitives, NONCE_LEN, SIGNATURE_LEN};
use super::random::{self, Entropy};

/// The RustCrypto crates. See the module documentation.
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCrypto;

impl Primitives for RustCrypto {
    fn seal(
        &mut self,
        key: &[u8; 32],
        aad: &[u8],
        plaintext: &[u8],
        rng: &mut dyn Entropy,
    ) -> Result<([u8; NONCE_LEN], Vec<u8>), TrustError> {
        let nonce: [u8; NONCE_LEN] = random::bytes(rng)?;
        let sealed = Aes256Gcm::new(key.into())
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| TrustError::TooLong)?;
        Ok((nonce, sealed))
    }

    fn open(
        &mut self,
        key: &[u8; 32],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Option<Vec<u8>>, TrustError> {
        Ok(Aes256Gcm::new(key.into())
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
            .ok())
    }

    fn signing_public(&mut self, seed: &[u8; 32]) -> Result<[u8; 32], TrustError> {
        Ok(SigningKey::from_bytes(seed).verifying_key().to_bytes())
    }

    fn sign(&mut self, seed: &[u8; 32], message: &[u8]) -> Result<[u8; SIGNATURE_LEN], TrustError> {
        Ok(SigningKey::from_bytes(seed).sign(message).to_bytes())
    }

    fn verify(
        &mut self,
        public: &[u8; 32],
        message: &[u8],
        signature: &[u8; SIGNATURE_LEN],
    ) -> Result<bool, TrustError> {
        Ok(VerifyingKey::from_bytes(public).is_ok_and(|key| {
            key.verify_strict(message, &Signature::from_bytes(signature))
                .is_ok()
        }))
    }

    fn agreement_public(&mut self, secret: &[u8; 32]) -> Result<[u8; 32], TrustError> {
        Ok(PublicKey::from(&StaticSecret::from(*secret)).to_bytes())
    }

    fn agree(
        &mut self,
        secret: &[u8; 32],
        public: &[u8; 32],
    ) -> Result<Option<[u8; 32]>, TrustError> {
        let shared = StaticSecret::from(*secret).diffie_hellman(&PublicKey::from(*public));
        Ok(shared.was_contributory().then(|| shared.to_bytes()))
    }
}
