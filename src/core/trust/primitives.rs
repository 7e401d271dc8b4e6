//! The cryptographic primitives version 2 is sealed, signed and shared
//! with, as a port: [`Primitives`], which is also where a key's public half
//! comes from. The core composes them (what is
//! encrypted, bound, signed and checked, in `sealed`, `announce` and
//! `sender_key`); an implementation only computes.
//!
//! Two implementations give the same bytes for the same inputs:
//! [`super::rust_crypto::RustCrypto`] (the audited RustCrypto crates,
//! native and in the browser today) and the browser's WebCrypto
//! (`app::webcrypto`, carrying out the jobs of [`super::deferred`]), which
//! the vectors in `vectors.rs` and `primitive_vectors.rs` check against each
//! other in Chromium and Firefox (`tests/browser_webcrypto.rs`).
//!
//! WebCrypto is asynchronous and the core is not: an implementation may
//! answer [`TrustError::Later`] instead of computing at once, having noted
//! what was asked. Its caller then lets it compute what it noted and runs
//! the same composition again, which then finds its answers (so a
//! composition asks for nothing it does not need again). Every composition
//! in the core asks for the same primitives in the same order on every
//! run, so a run that got `Later` has no other effect: random bytes are
//! drawn only by [`Primitives::seal`], and by an implementation that
//! answers `Later` only the first time it is asked for a plaintext.
//!
//! So a caller that takes an error for a refusal (`.ok()`, a match on
//! `Err(_)`) must first let [`TrustError::Later`] and
//! [`TrustError::NoCrypto`] through: a value not yet checked is not a value
//! that failed its check.
//!
//! HKDF-SHA256 and SHA-512 are not here: they stay in the core (the `hkdf`
//! and `sha2` crates, small and synchronous).

use super::error::TrustError;
use super::random::Entropy;

/// Bytes of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Bytes of an AES-GCM nonce.
pub const NONCE_LEN: usize = 12;

/// The primitives, each answering at once or [`TrustError::Later`]. See the
/// module documentation.
pub trait Primitives {
    /// AES-256-GCM under `key`, bound to `aad`, with a nonce of fresh
    /// random bytes from `rng`: the nonce, and the ciphertext followed by
    /// its 16-byte tag.
    fn seal(
        &mut self,
        key: &[u8; 32],
        aad: &[u8],
        plaintext: &[u8],
        rng: &mut dyn Entropy,
    ) -> Result<([u8; NONCE_LEN], Vec<u8>), TrustError>;

    /// AES-256-GCM: the plaintext, or `None` when the tag does not check
    /// under `key`, `nonce` and `aad`.
    fn open(
        &mut self,
        key: &[u8; 32],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Option<Vec<u8>>, TrustError>;

    /// The Ed25519 public key of the 32-byte secret `seed`.
    fn signing_public(&mut self, seed: &[u8; 32]) -> Result<[u8; 32], TrustError>;

    /// The Ed25519 signature of `message` by the key of the 32-byte `seed`.
    fn sign(&mut self, seed: &[u8; 32], message: &[u8]) -> Result<[u8; SIGNATURE_LEN], TrustError>;

    /// Whether `signature` is `public`'s Ed25519 signature of `message`.
    /// `public` was already checked not to be a weak key
    /// (`IdentityPublic::from_bytes`): WebCrypto's check does not refuse
    /// one, the crates' strict one does.
    fn verify(
        &mut self,
        public: &[u8; 32],
        message: &[u8],
        signature: &[u8; SIGNATURE_LEN],
    ) -> Result<bool, TrustError>;

    /// The X25519 public key of the 32-byte `secret`.
    fn agreement_public(&mut self, secret: &[u8; 32]) -> Result<[u8; 32], TrustError>;

    /// The X25519 shared secret of `secret` and `public`, or `None` when it
    /// is all zeros (a low-order public key).
    fn agree(
        &mut self,
        secret: &[u8; 32],
        public: &[u8; 32],
    ) -> Result<Option<[u8; 32]>, TrustError>;
}
