//! One device's receipt: how far it has stored its own messages, how far
//! it has shown everyone's, and which of its own it can no longer repair.
//!
//! In version 2 each device writes its own receipt, sealed under its current
//! sender key (so the store sees no receipt content) and signed by its
//! identity key, as its entry of its person's record (PROTOCOL.md, "Version
//! 2"). A *read* mark is trusted only from a receipt that opens with the
//! sender key and identity of one of the reader's known devices: a stranger
//! cannot raise one, and a receipt copied to another device's entry or
//! conversation fails its check.
//!
//! Plaintext (big-endian): revision, head, the count of `seen` entries and
//! each as device id and number, the count of `lost` ranges and each as
//! first and last number. Entries are sorted and ranges merged, so one
//! receipt has one form; a form that is not canonical is refused.

use super::primitives::Primitives;
use std::collections::BTreeMap;

use super::conversation::Conversation;
use super::encoding::Reader;
use super::error::{TrustError, ValueKind};
use super::identity::{IdentityKey, IdentityPublic};
use super::random::Entropy;
use super::sealed::{self, Binding, Kind, Sealed};
use super::sender_key::SenderKey;
use crate::core::participants::DeviceId;

/// The most `seen` entries or `lost` ranges one receipt holds.
pub const MAX_ENTRIES: usize = 255;

/// What one device says about itself. See the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Grows with every receipt the device writes: of two receipts from
    /// one device, the higher revision is the newer.
    pub revision: u64,
    /// The highest own message read back from the server (all before it
    /// were too).
    pub head: u64,
    /// Per sending device (the colleague's or the person's other devices),
    /// the highest number shown on a visible screen, all before it too.
    pub seen: BTreeMap<DeviceId, u64>,
    /// Own message numbers, as inclusive ranges, that neither this device
    /// nor the server holds any more: the readers show them as gaps.
    pub lost: Vec<(u64, u64)>,
}

impl Receipt {
    /// How far this device has shown `sender`'s messages.
    pub fn seen_of(&self, sender: &DeviceId) -> u64 {
        self.seen.get(sender).copied().unwrap_or(0)
    }

    /// Whether own message `seq` is lost for good.
    pub fn is_lost(&self, seq: u64) -> bool {
        self.lost
            .iter()
            .any(|&(first, last)| (first..=last).contains(&seq))
    }

    /// The sealed value for `device`'s entry in its person's record.
    pub fn seal(
        &self,
        conversation: &Conversation,
        device: &DeviceId,
        sender_key: &SenderKey,
        identity: &IdentityKey,
        rng: &mut dyn Entropy,
        crypto: &mut dyn Primitives,
    ) -> Result<String, TrustError> {
        let plaintext = self.encode().ok_or(TrustError::TooLong)?;
        let binding = Binding::new(conversation, Kind::Receipt, device, sender_key.epoch());
        sealed::seal(
            &binding,
            sender_key.key(),
            &plaintext,
            identity,
            rng,
            crypto,
        )
    }

    /// Which epoch's sender key a stored receipt needs.
    pub fn epoch_of(text: &str) -> Result<u32, TrustError> {
        Ok(Sealed::parse(text, Kind::Receipt)?.epoch())
    }

    /// Checks and opens `device`'s entry, written by the device whose
    /// announcement gave `writer`.
    pub fn open(
        text: &str,
        conversation: &Conversation,
        device: &DeviceId,
        sender_key: &SenderKey,
        writer: &IdentityPublic,
        crypto: &mut dyn Primitives,
    ) -> Result<Receipt, TrustError> {
        let sealed = Sealed::parse(text, Kind::Receipt)?;
        let binding = Binding::new(conversation, Kind::Receipt, device, sealed.epoch());
        let plaintext = sealed.open(&binding, sender_key.key(), writer, crypto)?;
        Receipt::decode(&plaintext).ok_or(TrustError::Rejected(ValueKind::Receipt))
    }

    fn encode(&self) -> Option<Vec<u8>> {
        let lost = merged(&self.lost);
        if self.seen.len() > MAX_ENTRIES || lost.len() > MAX_ENTRIES {
            return None;
        }
        let mut out = Vec::with_capacity(18 + 18 * self.seen.len() + 16 * lost.len());
        out.extend_from_slice(&self.revision.to_be_bytes());
        out.extend_from_slice(&self.head.to_be_bytes());
        out.push(self.seen.len() as u8);
        for (device, n) in &self.seen {
            out.extend_from_slice(device.as_str().as_bytes());
            out.extend_from_slice(&n.to_be_bytes());
        }
        out.push(lost.len() as u8);
        for (first, last) in lost {
            out.extend_from_slice(&first.to_be_bytes());
            out.extend_from_slice(&last.to_be_bytes());
        }
        Some(out)
    }

    fn decode(bytes: &[u8]) -> Option<Receipt> {
        let mut r = Reader::new(bytes);
        let revision = r.u64()?;
        let head = r.u64()?;
        let mut seen = BTreeMap::new();
        let mut previous: Option<DeviceId> = None;
        for _ in 0..r.u8()? {
            let device = DeviceId::parse(std::str::from_utf8(r.take(DeviceId::LEN)?).ok()?)?;
            if previous.as_ref().is_some_and(|p| *p >= device) {
                return None;
            }
            previous = Some(device.clone());
            seen.insert(device, r.u64()?);
        }
        let mut lost = Vec::new();
        for _ in 0..r.u8()? {
            lost.push((r.u64()?, r.u64()?));
        }
        let canonical =
            r.is_empty() && merged(&lost) == lost && lost.iter().all(|&(_, l)| l <= head);
        canonical.then_some(Receipt {
            revision,
            head,
            seen,
            lost,
        })
    }
}

/// Ranges sorted, empty ones dropped, overlapping and touching ones merged.
fn merged(ranges: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut sorted: Vec<(u64, u64)> = ranges.iter().copied().filter(|(f, l)| f <= l).collect();
    sorted.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(sorted.len());
    for (first, last) in sorted {
        match out.last_mut() {
            Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
            _ => out.push((first, last)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::participants::Name;
    use crate::core::trust::encoding;
    use crate::core::trust::random::SeededEntropy;
    use crate::core::trust::RustCrypto;

    fn device(id: &str) -> DeviceId {
        DeviceId::parse(id).unwrap()
    }

    fn conv() -> Conversation {
        Conversation::new(
            &Name::parse("Alice").unwrap(),
            &Name::parse("Bob").unwrap(),
            None,
        )
    }

    fn receipt() -> Receipt {
        Receipt {
            revision: 12,
            head: 9,
            seen: [(device("aaaaaaaaaa"), 4), (device("cccccccccc"), 2)].into(),
            lost: vec![(6, 6), (2, 3), (4, 4)],
        }
    }

    #[test]
    fn a_receipt_round_trips_with_its_lost_ranges_merged() {
        let mut rng = SeededEntropy::new(51);
        let bob = IdentityKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let key = SenderKey::generate(1, &mut rng).unwrap();
        let bob_device = device("bbbbbbbbbb");
        let text = receipt()
            .seal(&conv(), &bob_device, &key, &bob, &mut rng, &mut RustCrypto)
            .unwrap();
        assert_eq!(Receipt::epoch_of(&text), Ok(1));
        let read = Receipt::open(
            &text,
            &conv(),
            &bob_device,
            &key,
            &bob.public(),
            &mut RustCrypto,
        )
        .unwrap();
        assert_eq!(read.lost, vec![(2, 4), (6, 6)]);
        assert_eq!(read.seen_of(&device("aaaaaaaaaa")), 4);
        assert_eq!(read.seen_of(&device("zzzzzzzzzz")), 0);
        assert!(read.is_lost(3) && read.is_lost(6) && !read.is_lost(5));
        assert_eq!(
            Receipt {
                lost: vec![(2, 4), (6, 6)],
                ..receipt()
            },
            read
        );
        // An empty receipt (a device that has shown nothing yet) too.
        let empty = Receipt::default()
            .seal(&conv(), &bob_device, &key, &bob, &mut rng, &mut RustCrypto)
            .unwrap();
        assert_eq!(
            Receipt::open(
                &empty,
                &conv(),
                &bob_device,
                &key,
                &bob.public(),
                &mut RustCrypto
            ),
            Ok(Receipt::default())
        );
    }

    #[test]
    fn a_receipt_from_the_wrong_device_or_altered_is_refused() {
        let mut rng = SeededEntropy::new(52);
        let bob = IdentityKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let mallory = IdentityKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let key = SenderKey::generate(1, &mut rng).unwrap();
        let (bob_device, bob_other) = (device("bbbbbbbbbb"), device("dddddddddd"));
        let refused = Err(TrustError::Rejected(ValueKind::Receipt));
        // Signed by someone who is not the reader (even with the key).
        let raised = Receipt {
            head: 0,
            seen: [(device("aaaaaaaaaa"), 99)].into(),
            ..Receipt::default()
        };
        let forged = raised
            .seal(
                &conv(),
                &bob_device,
                &key,
                &mallory,
                &mut rng,
                &mut RustCrypto,
            )
            .unwrap();
        assert_eq!(
            Receipt::open(
                &forged,
                &conv(),
                &bob_device,
                &key,
                &bob.public(),
                &mut RustCrypto
            ),
            refused
        );
        // Bob's genuine receipt moved to his other device's entry, to another
        // conversation, or opened as a message.
        let text = receipt()
            .seal(&conv(), &bob_device, &key, &bob, &mut rng, &mut RustCrypto)
            .unwrap();
        assert_eq!(
            Receipt::open(
                &text,
                &conv(),
                &bob_other,
                &key,
                &bob.public(),
                &mut RustCrypto
            ),
            refused
        );
        let elsewhere = Conversation::new(
            &Name::parse("Bob").unwrap(),
            &Name::parse("Carol").unwrap(),
            None,
        );
        assert_eq!(
            Receipt::open(
                &text,
                &elsewhere,
                &bob_device,
                &key,
                &bob.public(),
                &mut RustCrypto
            ),
            refused
        );
        assert!(crate::core::trust::message::open(
            &text,
            &conv(),
            &bob_device,
            1,
            &key,
            &bob.public(),
            &mut RustCrypto
        )
        .is_err());
        let mut bytes = encoding::decode(&text).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 4;
            assert_eq!(
                Receipt::open(
                    &encoding::encode(&bytes),
                    &conv(),
                    &bob_device,
                    &key,
                    &bob.public(),
                    &mut RustCrypto
                ),
                refused
            );
            bytes[i] ^= 4;
        }
    }

    #[test]
    fn only_the_canonical_plaintext_decodes() {
        let good = receipt();
        let bytes = good.encode().unwrap();
        assert_eq!(
            Receipt::decode(&bytes).map(|r| r.lost),
            Some(vec![(2, 4), (6, 6)])
        );
        assert_eq!(Receipt::decode(&bytes[..bytes.len() - 1]), None);
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(Receipt::decode(&trailing), None);
        // Unsorted seen entries, unmerged or inverted ranges, a lost number
        // above the head.
        let mut unsorted = bytes.clone();
        unsorted[17..27].copy_from_slice(b"dddddddddd");
        assert_eq!(Receipt::decode(&unsorted), None);
        for lost in [vec![(2u64, 3u64), (4, 4)], vec![(5, 4)], vec![(8, 10)]] {
            let mut raw = bytes[..bytes.len() - 1 - 32].to_vec();
            raw.push(lost.len() as u8);
            for (f, l) in lost {
                raw.extend(f.to_be_bytes());
                raw.extend(l.to_be_bytes());
            }
            assert_eq!(Receipt::decode(&raw), None);
        }
        let huge = Receipt {
            lost: (0..300).map(|i| (i * 3, i * 3)).collect(),
            head: 1000,
            ..Receipt::default()
        };
        assert_eq!(huge.encode(), None);
    }
}
