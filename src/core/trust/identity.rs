//! The long-lived keys: a person's identity key in one browser, and each
//! device's key agreement key.
//!
//! - [`IdentityKey`] (Ed25519) is made once per person per browser profile
//!   and shared by that browser's tabs for that name. It signs everything
//!   the person's devices in that browser write, and it is what the safety
//!   number and key-change notices are about. A shared ward PC keeps one per
//!   name, so two clinicians who use it never share an identity.
//! - [`DeviceKey`] (X25519) is made with each device (a tab's identity on
//!   the server) and receives the sender keys shared with that device.
//!
//! Secrets are stored as base64url text of their 32 bytes (in local storage
//! with the device's saved state); public keys are written the same way.
//! `Debug` never prints a secret, and a secret's bytes are wiped when its
//! key is dropped (`zeroize`). Everything computed from a secret goes
//! through the primitives' port ([`super::primitives`]): the public half,
//! once, when the key is made or read back ([`IdentityKey::from_seed`],
//! [`DeviceKey::from_secret`]), then signing and key agreement; so does
//! checking a signature. No curve arithmetic is done here: a public
//! identity key is refused only by the list of weak keys
//! ([`super::weak_keys`]), and bytes that are no curve point at all fail
//! every signature check.
//!
//! With a port that answers later (WebCrypto), making a key may answer
//! [`TrustError::Later`] and is asked again: draw its random bytes once
//! (`random::bytes`) and make the key from them in the composition, since
//! `generate` draws new bytes on every run.

use std::fmt;

use zeroize::Zeroizing;

use super::encoding;
use super::error::TrustError;
use super::primitives::Primitives;
use super::random::{self, Entropy};
use super::weak_keys;

pub use super::primitives::SIGNATURE_LEN;

/// A 32-byte secret, wiped when dropped.
type Secret = Zeroizing<[u8; 32]>;

/// A secret's saved text, back to its bytes.
fn stored_secret(text: &str) -> Result<[u8; 32], TrustError> {
    encoding::decode(text)
        .and_then(|b| b.try_into().ok())
        .ok_or(TrustError::DamagedSavedKey)
}

/// A person's signing key in one browser. See the module documentation.
#[derive(Clone)]
pub struct IdentityKey {
    seed: Secret,
    public: IdentityPublic,
}

impl IdentityKey {
    /// A new key from fresh random bytes (see the module documentation for
    /// a port that answers later).
    pub fn generate(
        rng: &mut dyn Entropy,
        crypto: &mut dyn Primitives,
    ) -> Result<IdentityKey, TrustError> {
        IdentityKey::from_seed(random::bytes(rng)?, crypto)
    }

    /// The key of a 32-byte secret seed, its public half from `crypto`.
    pub fn from_seed(
        seed: [u8; 32],
        crypto: &mut dyn Primitives,
    ) -> Result<IdentityKey, TrustError> {
        let seed = Zeroizing::new(seed);
        let public = crypto.signing_public(&seed)?;
        // A seed's public half is never weak (a multiple of the base point,
        // of prime order, by a clamped scalar, never a multiple of that
        // order); a port that says otherwise is not to be signed with.
        let public = IdentityPublic::from_bytes(&public).ok_or(TrustError::NoCrypto)?;
        Ok(IdentityKey { seed, public })
    }

    pub fn public(&self) -> IdentityPublic {
        self.public
    }

    /// The secret as saved in this browser.
    pub fn to_stored(&self) -> String {
        encoding::encode(&self.seed[..])
    }

    pub fn from_stored(text: &str, crypto: &mut dyn Primitives) -> Result<IdentityKey, TrustError> {
        IdentityKey::from_seed(stored_secret(text)?, crypto)
    }

    pub(crate) fn sign(
        &self,
        message: &[u8],
        crypto: &mut dyn Primitives,
    ) -> Result<[u8; SIGNATURE_LEN], TrustError> {
        crypto.sign(&self.seed, message)
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey(public {})", self.public)
    }
}

/// A person's public identity key in one browser: 32 bytes that are not a
/// weak key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityPublic([u8; 32]);

impl IdentityPublic {
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// Refuses the weak keys every made-up signature could check against
    /// ([`weak_keys`]). Bytes that are no curve point are kept: no
    /// signature checks under them, so nothing they would speak for is
    /// ever accepted.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<IdentityPublic> {
        (!weak_keys::is_weak(bytes)).then_some(IdentityPublic(*bytes))
    }

    pub fn to_text(&self) -> String {
        encoding::encode(&self.0)
    }

    pub fn from_text(text: &str) -> Option<IdentityPublic> {
        let bytes: [u8; 32] = encoding::decode(text)?.try_into().ok()?;
        IdentityPublic::from_bytes(&bytes)
    }

    /// Checks a signature (the key itself is not weak: [`Self::from_bytes`]
    /// refused those).
    pub(crate) fn verifies(
        &self,
        message: &[u8],
        signature: &[u8; SIGNATURE_LEN],
        crypto: &mut dyn Primitives,
    ) -> Result<bool, TrustError> {
        crypto.verify(&self.0, message, signature)
    }
}

impl fmt::Display for IdentityPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for IdentityPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityPublic({self})")
    }
}

/// A device's key agreement secret. See the module documentation.
#[derive(Clone)]
pub struct DeviceKey {
    secret: Secret,
    public: DevicePublic,
}

impl DeviceKey {
    /// A new key from fresh random bytes (see the module documentation for
    /// a port that answers later).
    pub fn generate(
        rng: &mut dyn Entropy,
        crypto: &mut dyn Primitives,
    ) -> Result<DeviceKey, TrustError> {
        DeviceKey::from_secret(random::bytes(rng)?, crypto)
    }

    /// The key of a 32-byte secret, its public half from `crypto`.
    pub fn from_secret(
        secret: [u8; 32],
        crypto: &mut dyn Primitives,
    ) -> Result<DeviceKey, TrustError> {
        let secret = Zeroizing::new(secret);
        let public = DevicePublic(crypto.agreement_public(&secret)?);
        Ok(DeviceKey { secret, public })
    }

    pub fn public(&self) -> DevicePublic {
        self.public
    }

    pub fn to_stored(&self) -> String {
        encoding::encode(&self.secret[..])
    }

    pub fn from_stored(text: &str, crypto: &mut dyn Primitives) -> Result<DeviceKey, TrustError> {
        DeviceKey::from_secret(stored_secret(text)?, crypto)
    }

    /// X25519 with `theirs`; `None` when their key is one of the points that
    /// would give a secret anyone can compute.
    pub(crate) fn agree(
        &self,
        theirs: &DevicePublic,
        crypto: &mut dyn Primitives,
    ) -> Result<Option<[u8; 32]>, TrustError> {
        crypto.agree(&self.secret, &theirs.0)
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceKey(public {})", self.public)
    }
}

/// A device's public key agreement key: any 32 bytes (an agreement with a
/// low-order one is refused).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DevicePublic([u8; 32]);

impl DevicePublic {
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    pub fn from_bytes(bytes: [u8; 32]) -> DevicePublic {
        DevicePublic(bytes)
    }

    pub fn to_text(&self) -> String {
        encoding::encode(&self.0)
    }
}

impl fmt::Display for DevicePublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for DevicePublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DevicePublic({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::trust::deferred::{complete, Deferred, Job, Outcome};
    use crate::core::trust::random::{OsEntropy, SeededEntropy};
    use crate::core::trust::RustCrypto;

    #[test]
    fn secrets_round_trip_through_their_saved_form() {
        let identity = IdentityKey::generate(&mut OsEntropy, &mut RustCrypto).unwrap();
        let text = identity.to_stored();
        assert_eq!(text.len(), 43);
        let back = IdentityKey::from_stored(&text, &mut RustCrypto).unwrap();
        assert_eq!(back.public(), identity.public());
        let signature = identity.sign(b"x", &mut RustCrypto).unwrap();
        assert!(back
            .public()
            .verifies(b"x", &signature, &mut RustCrypto)
            .unwrap());

        let device = DeviceKey::generate(&mut OsEntropy, &mut RustCrypto).unwrap();
        let back = DeviceKey::from_stored(&device.to_stored(), &mut RustCrypto).unwrap();
        assert_eq!(back.public(), device.public());

        for junk in ["", "abc", &text[..42], "<?php ?>", &format!("{text}A")] {
            assert_eq!(
                IdentityKey::from_stored(junk, &mut RustCrypto).err(),
                Some(TrustError::DamagedSavedKey)
            );
            assert_eq!(
                DeviceKey::from_stored(junk, &mut RustCrypto).err(),
                Some(TrustError::DamagedSavedKey)
            );
        }
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let identity = IdentityKey::generate(&mut OsEntropy, &mut RustCrypto).unwrap();
        let device = DeviceKey::generate(&mut OsEntropy, &mut RustCrypto).unwrap();
        assert!(!format!("{identity:?}").contains(&identity.to_stored()));
        assert!(!format!("{device:?}").contains(&device.to_stored()));
    }

    #[test]
    fn public_keys_round_trip_and_weak_ones_are_refused() {
        let identity = IdentityKey::generate(&mut SeededEntropy::new(3), &mut RustCrypto).unwrap();
        let public = identity.public();
        assert_eq!(IdentityPublic::from_text(&public.to_text()), Some(public));
        assert_eq!(IdentityPublic::from_bytes(&public.to_bytes()), Some(public));
        // The neutral point (a small-order key), and text too short.
        let mut small = [0u8; 32];
        small[0] = 1;
        assert_eq!(IdentityPublic::from_bytes(&small), None);
        assert_eq!(IdentityPublic::from_text("AAAA"), None);
    }

    #[test]
    fn bytes_that_are_no_point_are_kept_but_no_signature_checks_under_them() {
        // The first y whose x would be a square root of a non-square.
        let no_point = (2u8..)
            .map(|y| {
                let mut bytes = [0u8; 32];
                bytes[0] = y;
                bytes
            })
            .find(|bytes| ed25519_dalek::VerifyingKey::from_bytes(bytes).is_err())
            .unwrap();
        let public = IdentityPublic::from_bytes(&no_point).unwrap();
        let signer = IdentityKey::generate(&mut SeededEntropy::new(8), &mut RustCrypto).unwrap();
        let signature = signer.sign(b"bed 4 is fine", &mut RustCrypto).unwrap();
        for signature in [signature, [0; SIGNATURE_LEN]] {
            assert!(!public
                .verifies(b"bed 4 is fine", &signature, &mut RustCrypto)
                .unwrap());
        }
    }

    #[test]
    fn a_key_made_through_a_port_that_answers_later_is_the_same_key() {
        let seed: [u8; 32] = random::bytes(&mut SeededEntropy::new(9)).unwrap();
        let mut port = Deferred::new();
        let identity = complete(&mut port, &mut RustCrypto, |port| {
            IdentityKey::from_seed(seed, port)
        })
        .unwrap();
        let device = complete(&mut port, &mut RustCrypto, |port| {
            DeviceKey::from_secret(seed, port)
        })
        .unwrap();
        assert_eq!(
            identity.public(),
            IdentityKey::from_seed(seed, &mut RustCrypto)
                .unwrap()
                .public()
        );
        assert_eq!(
            device.public(),
            DeviceKey::from_secret(seed, &mut RustCrypto)
                .unwrap()
                .public()
        );
        // Asked once, and nothing is made until the answer is back.
        assert_eq!(
            IdentityKey::from_seed(seed, &mut port).err(),
            Some(TrustError::Later)
        );
        assert_eq!(
            port.take_jobs(),
            vec![Job::SigningPublic { seed }],
            "one job, for the public half"
        );
        // A platform that cannot: no key, and the words say so.
        port.answer(
            Job::SigningPublic { seed },
            Outcome::Unavailable("no WebCrypto".to_owned()),
        );
        assert_eq!(
            IdentityKey::from_seed(seed, &mut port).err(),
            Some(TrustError::NoCrypto)
        );
    }

    #[test]
    fn signatures_check_only_for_their_message_and_key() {
        let mut rng = SeededEntropy::new(4);
        let alice = IdentityKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let mallory = IdentityKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let sig = alice.sign(b"give 10 mg", &mut RustCrypto).unwrap();
        assert!(alice
            .public()
            .verifies(b"give 10 mg", &sig, &mut RustCrypto)
            .unwrap());
        assert!(!alice
            .public()
            .verifies(b"give 100 mg", &sig, &mut RustCrypto)
            .unwrap());
        assert!(!mallory
            .public()
            .verifies(b"give 10 mg", &sig, &mut RustCrypto)
            .unwrap());
        let mut flipped = sig;
        flipped[10] ^= 1;
        assert!(!alice
            .public()
            .verifies(b"give 10 mg", &flipped, &mut RustCrypto)
            .unwrap());
    }

    #[test]
    fn both_devices_agree_on_one_secret_and_low_order_keys_are_refused() {
        let mut rng = SeededEntropy::new(5);
        let a = DeviceKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let b = DeviceKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let ab = a.agree(&b.public(), &mut RustCrypto).unwrap().unwrap();
        assert_eq!(Some(ab), b.agree(&a.public(), &mut RustCrypto).unwrap());
        assert_eq!(
            a.agree(&DevicePublic::from_bytes([0; 32]), &mut RustCrypto)
                .unwrap(),
            None
        );
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(
            a.agree(&DevicePublic::from_bytes(one), &mut RustCrypto)
                .unwrap(),
            None
        );
    }
}
