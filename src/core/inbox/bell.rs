//! The two stored values of the inbox (PROTOCOL.md, "The inbox"), written
//! and read through `codec` like every stored value:
//!
//! - a **doorbell** (`bleep1.b.<hash>`): `{"v":1,"r":{"<tag>.<device>":seq,…}}`,
//!   each part written by the one device it names: "my newest message in
//!   conversation `tag` is number `seq`";
//! - an **acknowledgement** (`bleep1.<tag>.i0`/`i1`): `{"v":1,"s":{device:seq,…}}`,
//!   written by the devices of the side it belongs to: per device of the
//!   colleague, the highest ring that side's inbox took in.
//!
//! Neither holds a name, a text or a time. Both are read as untrusted:
//! a value that does not read is treated as missing, a part whose name or
//! number is impossible is dropped, and no more than [`MAX_PARTS`] parts
//! are kept, so a flooded doorbell costs a bounded amount to rewrite.

use serde::{Deserialize, Serialize};

use super::super::codec;
use super::super::participants::DeviceId;
use super::super::small_map::SmallMap;
use super::keys::{parse_part, part_name};

/// The format version of both values.
const VERSION: u32 = 1;

/// The most parts a doorbell keeps; beyond it (a flood), the parts that
/// sort last are dropped when it is rewritten. Their writers put them back.
pub const MAX_PARTS: usize = 32;

/// The highest message number taken from a doorbell or acknowledgement
/// (2^53 - 1: exact in any JSON reader).
pub const MAX_SEQ: u64 = (1 << 53) - 1;

/// A person's doorbell as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doorbell {
    #[serde(rename = "v")]
    version: u32,
    /// Part name (`<tag>.<device>`) to the writer's newest message number.
    #[serde(rename = "r", default)]
    parts: SmallMap<String, u64>,
}

impl Doorbell {
    /// A doorbell with no part.
    pub fn new() -> Doorbell {
        Doorbell {
            version: VERSION,
            parts: SmallMap::new(),
        }
    }

    /// Reads a stored doorbell; junk (or a later version) reads as an empty
    /// one, and impossible parts are dropped.
    pub fn decode(bytes: &[u8]) -> Doorbell {
        let Ok(stored) = codec::from_slice::<Doorbell>(bytes) else {
            return Doorbell::new();
        };
        if stored.version != VERSION {
            return Doorbell::new();
        }
        let mut bell = Doorbell::new();
        for (name, &seq) in stored.parts.iter() {
            if bell.parts.len() < MAX_PARTS && parse_part(name).is_some() && valid_seq(seq) {
                bell.parts.insert(name.clone(), seq);
            }
        }
        bell
    }

    pub fn encode(&self) -> Vec<u8> {
        codec::to_html_safe(self)
    }

    /// Every part: (tag, device, seq), in name order.
    pub fn parts(&self) -> impl Iterator<Item = (&str, DeviceId, u64)> + '_ {
        self.parts
            .iter()
            .filter_map(|(name, &seq)| parse_part(name).map(|(tag, device)| (tag, device, seq)))
    }

    /// The number in `device`'s part for `tag`, if it has one.
    pub fn part(&self, tag: &str, device: &DeviceId) -> Option<u64> {
        self.parts.get(&part_name(tag, device)).copied()
    }

    /// Sets `device`'s part for `tag` to `seq` (never lower than it was);
    /// makes room by dropping the part that sorts last if the doorbell is
    /// full.
    pub fn ring(&mut self, tag: &str, device: &DeviceId, seq: u64) {
        let name = part_name(tag, device);
        let seq = seq
            .min(MAX_SEQ)
            .max(self.parts.get(&name).copied().unwrap_or(0));
        if !self.parts.contains_key(&name) && self.parts.len() >= MAX_PARTS {
            let last = self.parts.keys().next_back().cloned();
            if let Some(last) = last {
                self.parts.remove(&last);
            }
        }
        self.parts.insert(name, seq);
    }

    /// Removes `device`'s part for `tag` if it is no higher than `upto`;
    /// says whether it did.
    pub fn remove(&mut self, tag: &str, device: &DeviceId, upto: u64) -> bool {
        let name = part_name(tag, device);
        if self.parts.get(&name).is_some_and(|&seq| seq <= upto) {
            self.parts.remove(&name);
            return true;
        }
        false
    }

    pub fn len(&self) -> usize {
        self.parts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

/// One side's acknowledgement of the rings its inbox took in, in one
/// conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    #[serde(rename = "v")]
    version: u32,
    /// Per device of the colleague: the highest ring taken in.
    #[serde(rename = "s", default)]
    seen: SmallMap<DeviceId, u64>,
}

impl Ack {
    pub fn new() -> Ack {
        Ack {
            version: VERSION,
            seen: SmallMap::new(),
        }
    }

    /// Reads a stored acknowledgement; `None` for junk.
    pub fn decode(bytes: &[u8]) -> Option<Ack> {
        let ack: Ack = codec::from_slice(bytes).ok()?;
        let valid = ack.version == VERSION && ack.seen.values().all(|&seq| valid_seq(seq));
        valid.then_some(ack)
    }

    pub fn encode(&self) -> Vec<u8> {
        codec::to_html_safe(self)
    }

    /// The highest ring of `device` acknowledged (0 for none).
    pub fn seen(&self, device: &DeviceId) -> u64 {
        self.seen.get(device).copied().unwrap_or(0)
    }

    /// Raises `device`'s number to `seq`; says whether it grew.
    pub fn raise(&mut self, device: &DeviceId, seq: u64) -> bool {
        let seq = seq.min(MAX_SEQ);
        let slot = self.seen.get_or_insert_with(device.clone(), || 0);
        let grew = seq > *slot;
        *slot = (*slot).max(seq);
        grew
    }

    /// Takes the higher of each number from `other`.
    pub fn merge(&mut self, other: &Ack) {
        for (device, &seq) in other.seen.iter() {
            self.raise(device, seq);
        }
    }
}

fn valid_seq(seq: u64) -> bool {
    (1..=MAX_SEQ).contains(&seq)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const TAG: &str = "0123456789abcdef";

    fn device(letter: char) -> DeviceId {
        DeviceId::parse(&letter.to_string().repeat(10)).unwrap()
    }

    #[test]
    fn a_doorbell_is_written_compactly_and_read_back() {
        let mut bell = Doorbell::new();
        assert_eq!(bell.encode(), br#"{"v":1,"r":{}}"#);
        bell.ring(TAG, &device('b'), 3);
        bell.ring(TAG, &device('a'), 7);
        let bytes = bell.encode();
        assert_eq!(
            bytes,
            br#"{"v":1,"r":{"0123456789abcdef.aaaaaaaaaa":7,"0123456789abcdef.bbbbbbbbbb":3}}"#
        );
        assert_eq!(Doorbell::decode(&bytes), bell);
        assert_eq!(bell.part(TAG, &device('a')), Some(7));
        // A part never goes down, and is removed only up to what was seen.
        bell.ring(TAG, &device('a'), 5);
        assert_eq!(bell.part(TAG, &device('a')), Some(7));
        assert!(!bell.remove(TAG, &device('a'), 6));
        assert!(bell.remove(TAG, &device('a'), 7));
        assert_eq!(bell.len(), 1);
    }

    #[test]
    fn junk_and_impossible_parts_are_dropped() {
        for junk in [
            &b""[..],
            b"<?php",
            br#"{"v":2,"r":{"0123456789abcdef.aaaaaaaaaa":1}}"#,
            br#"{"r":{}}"#,
            br#"{"v":1,"r":{"0123456789abcdef.aaaaaaaaaa":"1"}}"#,
            br#"{"v":1,"r":{"x":1,"x":2}}"#,
        ] {
            assert!(Doorbell::decode(junk).is_empty(), "{junk:?}");
        }
        let mixed = br#"{"v":1,"r":{"0123456789abcdef.aaaaaaaaaa":0,"0123456789abcdef.bbbbbbbbbb":2,"nope":4,"0123456789abcdef.cccccccccc":9007199254740992},"z":1}"#;
        let bell = Doorbell::decode(mixed);
        let parts: Vec<_> = bell.parts().collect();
        assert_eq!(parts, [(TAG, device('b'), 2)]);
    }

    #[test]
    fn a_flooded_doorbell_keeps_a_bounded_number_of_parts() {
        let mut bell = Doorbell::new();
        for i in 0..100u64 {
            let tag = format!("{i:016x}");
            bell.ring(&tag, &device('a'), i + 1);
        }
        assert_eq!(bell.len(), MAX_PARTS);
        // A new part always gets in.
        bell.ring("ffffffffffffffff", &device('z'), 1);
        assert_eq!(bell.part("ffffffffffffffff", &device('z')), Some(1));
        assert_eq!(bell.len(), MAX_PARTS);
    }

    #[test]
    fn an_acknowledgement_only_grows() {
        let mut ack = Ack::new();
        assert!(ack.raise(&device('a'), 4));
        assert!(!ack.raise(&device('a'), 2));
        assert_eq!(ack.seen(&device('a')), 4);
        assert_eq!(ack.seen(&device('b')), 0);
        let bytes = ack.encode();
        assert_eq!(bytes, br#"{"v":1,"s":{"aaaaaaaaaa":4}}"#);
        let mut other = Ack::decode(br#"{"v":1,"s":{"aaaaaaaaaa":3,"bbbbbbbbbb":8}}"#).unwrap();
        other.merge(&ack);
        assert_eq!((other.seen(&device('a')), other.seen(&device('b'))), (4, 8));
        for junk in [
            &b"{}"[..],
            br#"{"v":1,"s":{"AAAAAAAAAA":1}}"#,
            br#"{"v":1,"s":{"aaaaaaaaaa":0}}"#,
            br#"{"v":1,"s":{"aaaaaaaaaa":-1}}"#,
        ] {
            assert_eq!(Ack::decode(junk), None, "{junk:?}");
        }
    }

    proptest! {
        #[test]
        fn reading_any_bytes_never_panics_and_stays_bounded(
            bytes in proptest::collection::vec(any::<u8>(), 0..300)
        ) {
            let bell = Doorbell::decode(&bytes);
            prop_assert!(bell.len() <= MAX_PARTS);
            let _ = Ack::decode(&bytes);
        }

        #[test]
        fn whatever_is_rung_reads_back_the_same(
            rings in proptest::collection::vec((0u64..40, 0u8..3, 1u64..1_000), 0..60)
        ) {
            let mut bell = Doorbell::new();
            for (tag, d, seq) in &rings {
                bell.ring(&format!("{tag:016x}"), &device(char::from(b'a' + d)), *seq);
            }
            prop_assert!(bell.len() <= MAX_PARTS);
            prop_assert_eq!(Doorbell::decode(&bell.encode()), bell.clone());
            prop_assert!(!bell.encode().windows(2).any(|w| w == b"<?"));
        }
    }
}
