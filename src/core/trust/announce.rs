//! A device's key announcement, `k.<device>`: which person's identity
//! speaks for the device, and where to send it sender keys.
//!
//! Written by that device only, once, and repaired like a message. The
//! value (base64url) holds the version, `k`, the side of the conversation
//! the device speaks for, the identity public key, the device's X25519
//! public key, and the identity key's signature over all of that bound to
//! the conversation and the device id: an announcement copied to another
//! device's key, another conversation or the other side fails its check.
//! Ed25519 signatures are deterministic, so writing it again stores the
//! same bytes.
//!
//! Whether the identity is *trusted* for that side is not decided here:
//! see [`super::known_keys`].

use super::conversation::{Conversation, Side, VERSION};
use super::encoding::{self, Reader};
use super::error::{TrustError, ValueKind};
use super::identity::{DeviceKey, DevicePublic, IdentityKey, IdentityPublic, SIGNATURE_LEN};
use super::primitives::Primitives;
use super::sealed::{Binding, Kind};
use crate::core::participants::DeviceId;

/// Bytes of an announcement before base64url.
const LEN: usize = 1 + 1 + 1 + 32 + 32 + SIGNATURE_LEN;

/// What a device announces about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announcement {
    /// Which participant the device speaks for.
    pub side: Side,
    /// The identity key that signs everything the device writes.
    pub identity: IdentityPublic,
    /// Where sender keys for the device are sent.
    pub device_key: DevicePublic,
}

impl Announcement {
    /// The value of `k.<device>` for this device.
    pub fn write(
        conversation: &Conversation,
        device: &DeviceId,
        side: Side,
        identity: &IdentityKey,
        device_key: &DeviceKey,
        crypto: &mut dyn Primitives,
    ) -> Result<String, TrustError> {
        let fields = fields(side, &identity.public(), &device_key.public());
        let binding = Binding::new(conversation, Kind::Announcement, device, 0);
        let signature = identity.sign(&binding.signed(&fields), crypto)?;
        let mut out = Vec::with_capacity(LEN);
        out.push(VERSION);
        out.push(b'k');
        out.extend_from_slice(&fields);
        out.extend_from_slice(&signature);
        Ok(encoding::encode(&out))
    }

    /// Reads and checks the value of `k.<device>`.
    pub fn read(
        text: &str,
        conversation: &Conversation,
        device: &DeviceId,
        crypto: &mut dyn Primitives,
    ) -> Result<Announcement, TrustError> {
        let rejected = TrustError::Rejected(ValueKind::DeviceKey);
        let bytes = encoding::decode(text).ok_or(rejected)?;
        if bytes.len() != LEN {
            return Err(rejected);
        }
        let mut r = Reader::new(&bytes);
        if r.u8() != Some(VERSION) || r.u8() != Some(b'k') {
            return Err(rejected);
        }
        let side = r.u8().and_then(Side::from_byte).ok_or(rejected)?;
        let identity = r
            .array::<32>()
            .and_then(|b| IdentityPublic::from_bytes(&b))
            .ok_or(rejected)?;
        let device_key = DevicePublic::from_bytes(r.array::<32>().ok_or(rejected)?);
        let signature: [u8; SIGNATURE_LEN] = r.array().ok_or(rejected)?;
        let binding = Binding::new(conversation, Kind::Announcement, device, 0);
        let signed = binding.signed(&fields(side, &identity, &device_key));
        if !identity.verifies(&signed, &signature, crypto)? {
            return Err(rejected);
        }
        Ok(Announcement {
            side,
            identity,
            device_key,
        })
    }
}

fn fields(side: Side, identity: &IdentityPublic, device_key: &DevicePublic) -> Vec<u8> {
    let mut out = Vec::with_capacity(65);
    out.push(side.byte());
    out.extend_from_slice(&identity.to_bytes());
    out.extend_from_slice(&device_key.to_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::participants::Name;
    use crate::core::trust::random::SeededEntropy;
    use crate::core::trust::RustCrypto;

    fn conversation(a: &str, b: &str) -> Conversation {
        Conversation::new(&Name::parse(a).unwrap(), &Name::parse(b).unwrap(), None)
    }

    #[test]
    fn an_announcement_reads_back_only_where_it_was_written() {
        let mut rng = SeededEntropy::new(21);
        let identity = IdentityKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let device_key = DeviceKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let conv = conversation("Alice", "Bob");
        let device = DeviceId::parse("aaaaaaaaaa").unwrap();
        let text = Announcement::write(
            &conv,
            &device,
            Side::First,
            &identity,
            &device_key,
            &mut RustCrypto,
        )
        .unwrap();
        assert_eq!(
            text,
            Announcement::write(
                &conv,
                &device,
                Side::First,
                &identity,
                &device_key,
                &mut RustCrypto
            )
            .unwrap()
        );
        let read = Announcement::read(&text, &conv, &device, &mut RustCrypto).unwrap();
        assert_eq!(read.side, Side::First);
        assert_eq!(read.identity, identity.public());
        assert_eq!(read.device_key, device_key.public());

        let refused = Err(TrustError::Rejected(ValueKind::DeviceKey));
        let other_device = DeviceId::parse("bbbbbbbbbb").unwrap();
        assert_eq!(
            Announcement::read(&text, &conv, &other_device, &mut RustCrypto),
            refused
        );
        assert_eq!(
            Announcement::read(
                &text,
                &conversation("Alice", "Carol"),
                &device,
                &mut RustCrypto
            ),
            refused
        );
        for cut in 0..text.len() {
            assert_eq!(
                Announcement::read(&text[..cut], &conv, &device, &mut RustCrypto),
                refused
            );
        }
        let mut bytes = encoding::decode(&text).unwrap();
        for i in 0..bytes.len() {
            for bit in [0x01, 0x80] {
                bytes[i] ^= bit;
                let flipped = encoding::encode(&bytes);
                assert_eq!(
                    Announcement::read(&flipped, &conv, &device, &mut RustCrypto),
                    refused,
                    "byte {i}"
                );
                bytes[i] ^= bit;
            }
        }
    }

    #[test]
    fn a_stranger_cannot_announce_a_device_for_someone_elses_identity() {
        let mut rng = SeededEntropy::new(22);
        let alice = IdentityKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let mallory = IdentityKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let device_key = DeviceKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let conv = conversation("Alice", "Bob");
        let device = DeviceId::parse("mmmmmmmmmm").unwrap();
        // Mallory signs an announcement that names Alice's identity.
        let text = Announcement::write(
            &conv,
            &device,
            Side::First,
            &mallory,
            &device_key,
            &mut RustCrypto,
        )
        .unwrap();
        let mut bytes = encoding::decode(&text).unwrap();
        bytes[3..35].copy_from_slice(&alice.public().to_bytes());
        let forged = encoding::encode(&bytes);
        assert_eq!(
            Announcement::read(&forged, &conv, &device, &mut RustCrypto),
            Err(TrustError::Rejected(ValueKind::DeviceKey))
        );
        // Moving Alice's announcement to the other side fails too.
        let genuine = Announcement::write(
            &conv,
            &device,
            Side::First,
            &alice,
            &device_key,
            &mut RustCrypto,
        )
        .unwrap();
        let mut bytes = encoding::decode(&genuine).unwrap();
        bytes[2] = Side::Second.byte();
        assert!(
            Announcement::read(&encoding::encode(&bytes), &conv, &device, &mut RustCrypto).is_err()
        );
    }
}
