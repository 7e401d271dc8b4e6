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
//! `Debug` never prints a secret. Signing, checking a signature and key
//! agreement go through the primitives' port ([`super::primitives`]); the
//! public halves are still computed here, by the crates.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use ed25519_dalek::{SigningKey, VerifyingKey};
use x25519_dalek::{PublicKey, StaticSecret};

use super::encoding;
use super::error::TrustError;
use super::primitives::Primitives;
use super::random::{self, Entropy};

pub use super::primitives::SIGNATURE_LEN;

/// A person's signing key in one browser. See the module documentation.
#[derive(Clone)]
pub struct IdentityKey(SigningKey);

impl IdentityKey {
    pub fn generate(rng: &mut dyn Entropy) -> Result<IdentityKey, TrustError> {
        let seed: [u8; 32] = random::bytes(rng)?;
        Ok(IdentityKey(SigningKey::from_bytes(&seed)))
    }

    pub fn public(&self) -> IdentityPublic {
        IdentityPublic(self.0.verifying_key())
    }

    /// The secret as saved in this browser.
    pub fn to_stored(&self) -> String {
        encoding::encode(self.0.as_bytes())
    }

    pub fn from_stored(text: &str) -> Result<IdentityKey, TrustError> {
        let seed: [u8; 32] = encoding::decode(text)
            .and_then(|b| b.try_into().ok())
            .ok_or(TrustError::DamagedSavedKey)?;
        Ok(IdentityKey(SigningKey::from_bytes(&seed)))
    }

    pub(crate) fn sign(
        &self,
        message: &[u8],
        crypto: &mut dyn Primitives,
    ) -> Result<[u8; SIGNATURE_LEN], TrustError> {
        crypto.sign(self.0.as_bytes(), message)
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey(public {})", self.public())
    }
}

/// A person's public identity key in one browser.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IdentityPublic(VerifyingKey);

impl IdentityPublic {
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Accepts a valid curve point that is not one of the weak keys every
    /// signature would check against.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<IdentityPublic> {
        VerifyingKey::from_bytes(bytes)
            .ok()
            .filter(|k| !k.is_weak())
            .map(IdentityPublic)
    }

    pub fn to_text(&self) -> String {
        encoding::encode(self.0.as_bytes())
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
        crypto.verify(self.0.as_bytes(), message, signature)
    }
}

impl Hash for IdentityPublic {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_bytes().hash(state);
    }
}

impl Ord for IdentityPublic {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.as_bytes().cmp(other.0.as_bytes())
    }
}

impl PartialOrd for IdentityPublic {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
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
pub struct DeviceKey(StaticSecret);

impl DeviceKey {
    pub fn generate(rng: &mut dyn Entropy) -> Result<DeviceKey, TrustError> {
        let secret: [u8; 32] = random::bytes(rng)?;
        Ok(DeviceKey(StaticSecret::from(secret)))
    }

    pub fn public(&self) -> DevicePublic {
        DevicePublic(PublicKey::from(&self.0))
    }

    pub fn to_stored(&self) -> String {
        encoding::encode(self.0.as_bytes())
    }

    pub fn from_stored(text: &str) -> Result<DeviceKey, TrustError> {
        let secret: [u8; 32] = encoding::decode(text)
            .and_then(|b| b.try_into().ok())
            .ok_or(TrustError::DamagedSavedKey)?;
        Ok(DeviceKey(StaticSecret::from(secret)))
    }

    /// X25519 with `theirs`; `None` when their key is one of the points that
    /// would give a secret anyone can compute.
    pub(crate) fn agree(
        &self,
        theirs: &DevicePublic,
        crypto: &mut dyn Primitives,
    ) -> Result<Option<[u8; 32]>, TrustError> {
        crypto.agree(self.0.as_bytes(), theirs.0.as_bytes())
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceKey(public {})", self.public())
    }
}

/// A device's public key agreement key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DevicePublic(PublicKey);

impl DevicePublic {
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn from_bytes(bytes: [u8; 32]) -> DevicePublic {
        DevicePublic(PublicKey::from(bytes))
    }

    pub fn to_text(&self) -> String {
        encoding::encode(self.0.as_bytes())
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
    use crate::core::trust::random::{OsEntropy, SeededEntropy};
    use crate::core::trust::RustCrypto;

    #[test]
    fn secrets_round_trip_through_their_saved_form() {
        let identity = IdentityKey::generate(&mut OsEntropy).unwrap();
        let text = identity.to_stored();
        assert_eq!(text.len(), 43);
        let back = IdentityKey::from_stored(&text).unwrap();
        assert_eq!(back.public(), identity.public());
        let signature = identity.sign(b"x", &mut RustCrypto).unwrap();
        assert!(back
            .public()
            .verifies(b"x", &signature, &mut RustCrypto)
            .unwrap());

        let device = DeviceKey::generate(&mut OsEntropy).unwrap();
        let back = DeviceKey::from_stored(&device.to_stored()).unwrap();
        assert_eq!(back.public(), device.public());

        for junk in ["", "abc", &text[..42], "<?php ?>", &format!("{text}A")] {
            assert_eq!(
                IdentityKey::from_stored(junk).err(),
                Some(TrustError::DamagedSavedKey)
            );
            assert_eq!(
                DeviceKey::from_stored(junk).err(),
                Some(TrustError::DamagedSavedKey)
            );
        }
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let identity = IdentityKey::generate(&mut OsEntropy).unwrap();
        let device = DeviceKey::generate(&mut OsEntropy).unwrap();
        assert!(!format!("{identity:?}").contains(&identity.to_stored()));
        assert!(!format!("{device:?}").contains(&device.to_stored()));
    }

    #[test]
    fn public_keys_round_trip_and_weak_ones_are_refused() {
        let identity = IdentityKey::generate(&mut SeededEntropy::new(3)).unwrap();
        let public = identity.public();
        assert_eq!(IdentityPublic::from_text(&public.to_text()), Some(public));
        assert_eq!(IdentityPublic::from_bytes(&public.to_bytes()), Some(public));
        // The identity point (a small-order key) and a non-point.
        let mut small = [0u8; 32];
        small[0] = 1;
        assert_eq!(IdentityPublic::from_bytes(&small), None);
        assert_eq!(IdentityPublic::from_text("AAAA"), None);
    }

    #[test]
    fn signatures_check_only_for_their_message_and_key() {
        let mut rng = SeededEntropy::new(4);
        let alice = IdentityKey::generate(&mut rng).unwrap();
        let mallory = IdentityKey::generate(&mut rng).unwrap();
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
        let a = DeviceKey::generate(&mut rng).unwrap();
        let b = DeviceKey::generate(&mut rng).unwrap();
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
