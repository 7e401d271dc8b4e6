//! Sealing and opening one message, `m.<device>.<seq>`.
//!
//! The plaintext is whatever the session puts in it (the envelope: sender
//! name as typed, clock, time, text); this module makes it one sealed value
//! under the device's current sender key, bound to the conversation, the
//! device and the sequence number, and signed by the sender's identity key.
//! The store sees the key name, the epoch and the length, nothing else.
//!
//! A sealed message never changes once written, so a rewrite during repair
//! stores the same bytes. To open one, the reader needs the sender key of
//! the epoch it names ([`epoch_of`]) and the identity key the sender's
//! announcement gave.

use super::conversation::Conversation;
use super::encoding;
use super::error::TrustError;
use super::identity::{IdentityKey, IdentityPublic};
use super::primitives::Primitives;
use super::random::Entropy;
use super::sealed::{self, Binding, Kind, Sealed};
use super::sender_key::SenderKey;
use crate::core::participants::DeviceId;

/// Characters of stored text for a plaintext of `len` bytes: what the
/// session's request budget must count.
pub const fn sealed_len(len: usize) -> usize {
    encoding::encoded_len(len + sealed::OVERHEAD)
}

/// The value of `m.<device>.<seq>` holding `plaintext`.
#[allow(clippy::too_many_arguments)]
pub fn seal(
    plaintext: &[u8],
    conversation: &Conversation,
    device: &DeviceId,
    seq: u64,
    sender_key: &SenderKey,
    identity: &IdentityKey,
    rng: &mut dyn Entropy,
    crypto: &mut dyn Primitives,
) -> Result<String, TrustError> {
    let binding = Binding::new(conversation, Kind::Message, device, sender_key.epoch()).seq(seq);
    sealed::seal(&binding, sender_key.key(), plaintext, identity, rng, crypto)
}

/// Which epoch's sender key a stored message needs; a value that is not a
/// message at all is refused here already.
pub fn epoch_of(text: &str) -> Result<u32, TrustError> {
    Ok(Sealed::parse(text, Kind::Message)?.epoch())
}

/// Checks and opens the value read from `m.<device>.<seq>`, written by the
/// device whose announcement gave `sender`.
pub fn open(
    text: &str,
    conversation: &Conversation,
    device: &DeviceId,
    seq: u64,
    sender_key: &SenderKey,
    sender: &IdentityPublic,
    crypto: &mut dyn Primitives,
) -> Result<Vec<u8>, TrustError> {
    let sealed = Sealed::parse(text, Kind::Message)?;
    let binding = Binding::new(conversation, Kind::Message, device, sealed.epoch()).seq(seq);
    sealed.open(&binding, sender_key.key(), sender, crypto)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::participants::Name;
    use crate::core::trust::error::ValueKind;
    use crate::core::trust::random::{OsEntropy, SeededEntropy};
    use crate::core::trust::RustCrypto;
    use proptest::prelude::*;

    const REFUSED: Result<Vec<u8>, TrustError> = Err(TrustError::Rejected(ValueKind::Message));

    struct Fixture {
        conv: Conversation,
        device: DeviceId,
        key: SenderKey,
        alice: IdentityKey,
    }

    fn fixture(seed: u64) -> Fixture {
        let mut rng = SeededEntropy::new(seed);
        Fixture {
            conv: Conversation::new(
                &Name::parse("Nurse Jo").unwrap(),
                &Name::parse("Dr Patel").unwrap(),
                None,
            ),
            device: DeviceId::parse("qhxvbnmkaz").unwrap(),
            key: SenderKey::generate(1, &mut rng).unwrap(),
            alice: IdentityKey::generate(&mut rng, &mut RustCrypto).unwrap(),
        }
    }

    impl Fixture {
        fn seal(&self, text: &[u8], seq: u64) -> String {
            seal(
                text,
                &self.conv,
                &self.device,
                seq,
                &self.key,
                &self.alice,
                &mut OsEntropy,
                &mut RustCrypto,
            )
            .unwrap()
        }

        fn open(&self, value: &str, seq: u64) -> Result<Vec<u8>, TrustError> {
            open(
                value,
                &self.conv,
                &self.device,
                seq,
                &self.key,
                &self.alice.public(),
                &mut RustCrypto,
            )
        }
    }

    #[test]
    fn a_message_round_trips_and_its_length_is_known_in_advance() {
        let f = fixture(41);
        let text = "Give 10 mg morphine to bed 7 <?php ?> & ü".as_bytes();
        let value = f.seal(text, 3);
        assert_eq!(value.len(), sealed_len(text.len()));
        assert!(!value.contains("<?"));
        assert_eq!(epoch_of(&value), Ok(1));
        assert_eq!(f.open(&value, 3), Ok(text.to_vec()));
    }

    #[test]
    fn every_changed_byte_and_every_truncation_is_refused() {
        let f = fixture(42);
        let value = f.seal(b"Give 10 mg morphine to bed 7", 3);
        let mut bytes = encoding::decode(&value).unwrap();
        // Version, kind, epoch, nonce, ciphertext, tag and signature alike.
        for i in 0..bytes.len() {
            for bit in 0..8 {
                bytes[i] ^= 1 << bit;
                assert_eq!(
                    f.open(&encoding::encode(&bytes), 3),
                    REFUSED,
                    "byte {i} bit {bit}"
                );
                bytes[i] ^= 1 << bit;
            }
        }
        for cut in 0..bytes.len() {
            assert_eq!(
                f.open(&encoding::encode(&bytes[..cut]), 3),
                REFUSED,
                "cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(f.open(&encoding::encode(&longer), 3), REFUSED);
        assert_eq!(f.open("", 3), REFUSED);
        assert_eq!(f.open("{\"v\":1,\"x\":\"hi\"}", 3), REFUSED);
    }

    #[test]
    fn a_message_moved_to_another_key_conversation_or_version_is_refused() {
        let f = fixture(43);
        let value = f.seal(b"bed 4 is fine", 3);
        // Another sequence number or device (replayed under another key).
        assert_eq!(f.open(&value, 4), REFUSED);
        let other = DeviceId::parse("zzzzzzzzzz").unwrap();
        assert_eq!(
            open(
                &value,
                &f.conv,
                &other,
                3,
                &f.key,
                &f.alice.public(),
                &mut RustCrypto
            ),
            REFUSED
        );
        // Another conversation of the same sender.
        let elsewhere = Conversation::new(
            &Name::parse("Nurse Jo").unwrap(),
            &Name::parse("Dr Smith").unwrap(),
            None,
        );
        assert_eq!(
            open(
                &value,
                &elsewhere,
                &f.device,
                3,
                &f.key,
                &f.alice.public(),
                &mut RustCrypto
            ),
            REFUSED
        );
        // Another version: the byte is covered by the signature.
        let mut bytes = encoding::decode(&value).unwrap();
        bytes[0] = 3;
        assert_eq!(f.open(&encoding::encode(&bytes), 3), REFUSED);
        // Another epoch, with that epoch's key.
        let mut bytes = encoding::decode(&value).unwrap();
        bytes[5] = 2;
        let epoch2 = SenderKey::generate(2, &mut SeededEntropy::new(9)).unwrap();
        let value2 = encoding::encode(&bytes);
        assert_eq!(
            open(
                &value2,
                &f.conv,
                &f.device,
                3,
                &epoch2,
                &f.alice.public(),
                &mut RustCrypto
            ),
            REFUSED
        );
    }

    #[test]
    fn the_colleague_who_holds_the_sender_key_cannot_forge_the_sender() {
        let f = fixture(44);
        let bob = IdentityKey::generate(&mut SeededEntropy::new(45), &mut RustCrypto).unwrap();
        // Bob has Alice's sender key (she shared it) and writes under her key name.
        let forged = seal(
            b"ignore my last message",
            &f.conv,
            &f.device,
            9,
            &f.key,
            &bob,
            &mut OsEntropy,
            &mut RustCrypto,
        )
        .unwrap();
        assert_eq!(f.open(&forged, 9), REFUSED);
        // A stranger's sender key, signed by the stranger: also refused.
        let stranger_key = SenderKey::generate(1, &mut SeededEntropy::new(46)).unwrap();
        let planted = seal(
            b"bed 4 is fine",
            &f.conv,
            &f.device,
            9,
            &stranger_key,
            &bob,
            &mut OsEntropy,
            &mut RustCrypto,
        )
        .unwrap();
        assert_eq!(f.open(&planted, 9), REFUSED);
        // Even when the reader is tricked into the stranger's sender key, the
        // signature still names the wrong writer.
        assert_eq!(
            open(
                &planted,
                &f.conv,
                &f.device,
                9,
                &stranger_key,
                &f.alice.public(),
                &mut RustCrypto
            ),
            REFUSED
        );
    }

    proptest! {
        #[test]
        fn any_text_round_trips(text in any::<String>(), seq in 1u64..u64::MAX) {
            let f = fixture(47);
            let value = f.seal(text.as_bytes(), seq);
            prop_assert_eq!(value.len(), sealed_len(text.len()));
            prop_assert_eq!(f.open(&value, seq), Ok(text.into_bytes()));
        }

        #[test]
        fn any_change_to_a_stored_message_is_refused(
            index in any::<prop::sample::Index>(),
            xor in 1u8..=255,
            text in ".{0,200}",
        ) {
            let f = fixture(48);
            let mut bytes = encoding::decode(&f.seal(text.as_bytes(), 5)).unwrap();
            let i = index.index(bytes.len());
            bytes[i] ^= xor;
            prop_assert_eq!(f.open(&encoding::encode(&bytes), 5), REFUSED);
        }

        #[test]
        fn junk_from_the_server_is_refused_without_panicking(junk in ".{0,300}") {
            let f = fixture(49);
            prop_assert_eq!(f.open(&junk, 1), REFUSED);
            prop_assert!(epoch_of(&junk).is_err());
        }
    }
}
