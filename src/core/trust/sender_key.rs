//! Sender keys, and sharing one with one recipient device.
//!
//! Each sending device encrypts its messages and receipts under a random
//! 32-byte **sender key** of its own (Megolm's "outbound session", without
//! the ratchet), numbered by an **epoch** that starts at 1 and grows when
//! the device replaces it (see PROTOCOL.md for when). It shares each epoch
//! once with each device that may read it, the colleague's and its own
//! person's other devices, under `x.<sender>.<recipient>.<epoch>`:
//!
//! - the pairwise secret is X25519 of the sender's and recipient's device
//!   keys; with both public keys it is the base key of the share, from
//!   which [`super::sealed`] derives the share's own AES-256-GCM key;
//! - the share is bound to the conversation, both device ids and the
//!   epoch, and signed by the sender's identity key.
//!
//! Someone who holds neither device secret cannot open a share or make one
//! that opens; a share moved to another recipient or epoch fails its check.

use super::primitives::Primitives;
use std::fmt;

use super::announce::Announcement;
use super::conversation::Conversation;
use super::encoding::{self, Reader};
use super::error::{TrustError, ValueKind};
use super::identity::{DeviceKey, DevicePublic, IdentityKey};
use super::random::{self, Entropy};
use super::sealed::{self, Binding, Kind, Sealed};
use crate::core::participants::DeviceId;

/// A device's key for one epoch of its messages and receipts.
#[derive(Clone, PartialEq, Eq)]
pub struct SenderKey {
    epoch: u32,
    key: [u8; 32],
}

impl SenderKey {
    /// A new random sender key for `epoch` (the first is 1).
    pub fn generate(epoch: u32, rng: &mut dyn Entropy) -> Result<SenderKey, TrustError> {
        Ok(SenderKey {
            epoch,
            key: random::bytes(rng)?,
        })
    }

    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    pub(crate) fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// As saved with the device's state: base64url of the epoch and the key.
    pub fn to_stored(&self) -> String {
        let mut bytes = self.epoch.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.key);
        encoding::encode(&bytes)
    }

    pub fn from_stored(text: &str) -> Result<SenderKey, TrustError> {
        let bytes = encoding::decode(text).ok_or(TrustError::DamagedSavedKey)?;
        let mut r = Reader::new(&bytes);
        let (epoch, key) = (r.u32(), r.array::<32>());
        match (epoch, key, r.is_empty()) {
            (Some(epoch), Some(key), true) => Ok(SenderKey { epoch, key }),
            _ => Err(TrustError::DamagedSavedKey),
        }
    }

    /// The value of `x.<sender>.<recipient>.<epoch>`: this key, for
    /// `recipient` only, from `sender` (which holds `identity` and
    /// `device_key`).
    #[allow(clippy::too_many_arguments)]
    pub fn share(
        &self,
        conversation: &Conversation,
        sender: &DeviceId,
        identity: &IdentityKey,
        device_key: &DeviceKey,
        recipient: &DeviceId,
        recipient_key: &DevicePublic,
        rng: &mut dyn Entropy,
        crypto: &mut dyn Primitives,
    ) -> Result<String, TrustError> {
        let base = pairwise(device_key, &device_key.public(), recipient_key, crypto)?
            .ok_or(TrustError::Rejected(ValueKind::DeviceKey))?;
        let binding =
            Binding::new(conversation, Kind::Share, sender, self.epoch).recipient(recipient);
        sealed::seal(&binding, &base, &self.key, identity, rng, crypto)
    }

    /// Opens the value of `x.<sender>.<recipient>.<epoch>` as `recipient`
    /// (which holds `device_key`), given the sender's checked announcement.
    pub fn open_share(
        text: &str,
        conversation: &Conversation,
        sender: &DeviceId,
        sender_announcement: &Announcement,
        recipient: &DeviceId,
        device_key: &DeviceKey,
        crypto: &mut dyn Primitives,
    ) -> Result<SenderKey, TrustError> {
        let rejected = TrustError::Rejected(ValueKind::KeyShare);
        let sealed = Sealed::parse(text, Kind::Share)?;
        let base = pairwise(
            device_key,
            &sender_announcement.device_key,
            &device_key.public(),
            crypto,
        )?
        .ok_or(rejected)?;
        let binding =
            Binding::new(conversation, Kind::Share, sender, sealed.epoch()).recipient(recipient);
        let key = sealed.open(&binding, &base, &sender_announcement.identity, crypto)?;
        Ok(SenderKey {
            epoch: sealed.epoch(),
            key: key.try_into().map_err(|_| rejected)?,
        })
    }
}

/// Never prints the key.
impl fmt::Debug for SenderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SenderKey(epoch {})", self.epoch)
    }
}

/// The base key of a share: the X25519 secret with both public keys,
/// sender's first. `None` for a recipient key that gives no secret.
fn pairwise(
    mine: &DeviceKey,
    sender: &DevicePublic,
    recipient: &DevicePublic,
    crypto: &mut dyn Primitives,
) -> Result<Option<Vec<u8>>, TrustError> {
    let theirs = if mine.public() == *sender {
        recipient
    } else {
        sender
    };
    let Some(secret) = mine.agree(theirs, crypto)? else {
        return Ok(None);
    };
    let mut base = secret.to_vec();
    base.extend_from_slice(&sender.to_bytes());
    base.extend_from_slice(&recipient.to_bytes());
    Ok(Some(base))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::participants::Name;
    use crate::core::trust::conversation::Side;
    use crate::core::trust::random::SeededEntropy;
    use crate::core::trust::RustCrypto;

    struct Device {
        id: DeviceId,
        identity: IdentityKey,
        key: DeviceKey,
        announcement: Announcement,
    }

    fn device(id: &str, side: Side, conv: &Conversation, rng: &mut SeededEntropy) -> Device {
        let id = DeviceId::parse(id).unwrap();
        let identity = IdentityKey::generate(rng, &mut RustCrypto).unwrap();
        let key = DeviceKey::generate(rng, &mut RustCrypto).unwrap();
        let text = Announcement::write(conv, &id, side, &identity, &key, &mut RustCrypto).unwrap();
        let announcement = Announcement::read(&text, conv, &id, &mut RustCrypto).unwrap();
        Device {
            id,
            identity,
            key,
            announcement,
        }
    }

    fn conv() -> Conversation {
        Conversation::new(
            &Name::parse("Alice").unwrap(),
            &Name::parse("Bob").unwrap(),
            None,
        )
    }

    fn share(
        key: &SenderKey,
        from: &Device,
        to: &Device,
        c: &Conversation,
        rng: &mut SeededEntropy,
    ) -> String {
        key.share(
            c,
            &from.id,
            &from.identity,
            &from.key,
            &to.id,
            &to.announcement.device_key,
            rng,
            &mut RustCrypto,
        )
        .unwrap()
    }

    fn open(
        text: &str,
        from: &Device,
        to: &Device,
        c: &Conversation,
    ) -> Result<SenderKey, TrustError> {
        SenderKey::open_share(
            text,
            c,
            &from.id,
            &from.announcement,
            &to.id,
            &to.key,
            &mut RustCrypto,
        )
    }

    #[test]
    fn a_share_opens_for_its_recipient_only() {
        let c = conv();
        let mut rng = SeededEntropy::new(31);
        let alice = device("aaaaaaaaaa", Side::First, &c, &mut rng);
        let bob = device("bbbbbbbbbb", Side::Second, &c, &mut rng);
        let bob2 = device("cccccccccc", Side::Second, &c, &mut rng);
        let key = SenderKey::generate(1, &mut rng).unwrap();
        let text = share(&key, &alice, &bob, &c, &mut rng);
        assert_eq!(open(&text, &alice, &bob, &c), Ok(key.clone()));

        let refused = Err(TrustError::Rejected(ValueKind::KeyShare));
        // Copied to another recipient's key, or opened with its secret.
        assert_eq!(
            SenderKey::open_share(
                &text,
                &c,
                &alice.id,
                &alice.announcement,
                &bob2.id,
                &bob.key,
                &mut RustCrypto
            ),
            refused
        );
        assert_eq!(open(&text, &alice, &bob2, &c), refused);
        // Said to be from another sender, or moved to another conversation.
        assert_eq!(open(&text, &bob2, &bob, &c), refused);
        let elsewhere = Conversation::new(
            &Name::parse("Alice").unwrap(),
            &Name::parse("Carol").unwrap(),
            None,
        );
        assert_eq!(open(&text, &alice, &bob, &elsewhere), refused);
        // Every single changed byte.
        let mut bytes = encoding::decode(&text).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 0x20;
            assert_eq!(
                open(&encoding::encode(&bytes), &alice, &bob, &c),
                refused,
                "byte {i}"
            );
            bytes[i] ^= 0x20;
        }
    }

    #[test]
    fn a_non_member_cannot_plant_a_sender_key() {
        let c = conv();
        let mut rng = SeededEntropy::new(32);
        let alice = device("aaaaaaaaaa", Side::First, &c, &mut rng);
        let bob = device("bbbbbbbbbb", Side::Second, &c, &mut rng);
        let mallory = device("mmmmmmmmmm", Side::First, &c, &mut rng);
        let planted = SenderKey::generate(1, &mut rng).unwrap();
        // Mallory's own share to Bob, stored as if from Alice: her signature
        // and her pairwise secret are not Alice's.
        let text = share(&planted, &mallory, &bob, &c, &mut rng);
        assert!(open(&text, &alice, &bob, &c).is_err());
        // Signed by Mallory but sealed with Alice's public device key: she
        // cannot compute the pairwise secret, so she uses her own.
        let forged = planted
            .share(
                &c,
                &alice.id,
                &mallory.identity,
                &mallory.key,
                &bob.id,
                &bob.announcement.device_key,
                &mut rng,
                &mut RustCrypto,
            )
            .unwrap();
        assert!(open(&forged, &alice, &bob, &c).is_err());
    }

    #[test]
    fn sender_keys_round_trip_through_their_saved_form() {
        let key = SenderKey::generate(7, &mut SeededEntropy::new(33)).unwrap();
        let text = key.to_stored();
        assert_eq!(SenderKey::from_stored(&text), Ok(key.clone()));
        assert_eq!(key.epoch(), 7);
        assert!(!format!("{key:?}").contains(&text));
        assert_eq!(
            SenderKey::from_stored(&text[..20]),
            Err(TrustError::DamagedSavedKey)
        );
        assert_eq!(
            SenderKey::from_stored(&format!("{text}AAAA")),
            Err(TrustError::DamagedSavedKey)
        );
    }
}
