//! What Bleep stores on the server: message envelopes and participant
//! records; and a message as the screen shows it ([`MessageView`]).
//!
//! Both are JSON in which `<`, `>` and `&` are always written as `\u003c`,
//! `\u003e` and `\u0026`, so a stored value never contains `<?` (the course
//! server executes stored PHP) and reads the same through a page that escapes
//! HTML. Anything that does not decode, or decodes to something impossible, is
//! treated as if the key were missing: junk on the server is never ours.

use serde::{Deserialize, Serialize};

use super::codec;
use super::escalation::Escalated;
use super::participants::DeviceId;
use super::small_map::SmallMap;
use super::types::Delivery;

/// The envelope format written by this version.
pub const ENVELOPE_VERSION: u32 = 1;

/// One message, exactly as stored under its own key.
///
/// Writing the same envelope twice stores the same bytes, so a retry never
/// makes a second message. In JSON, fields are named by one letter, in this
/// order: `v`, `n`, `d`, `s`, `c`, `t`, `x`, all required, then `u`, `e`
/// and `o` when they apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Format version, so that an encrypted form can come later.
    #[serde(rename = "v")]
    pub version: u32,
    /// The sender's name as typed.
    #[serde(rename = "n")]
    pub from: String,
    /// The sending window.
    #[serde(rename = "d")]
    pub device: DeviceId,
    /// The sender's sequence number: 1, 2, 3… per device.
    #[serde(rename = "s")]
    pub seq: u64,
    /// Logical clock: one more than the highest clock the sender had seen.
    #[serde(rename = "c")]
    pub clock: u64,
    /// The sender's wall-clock time, in milliseconds since 1970, for display.
    #[serde(rename = "t")]
    pub sent_at: u64,
    /// The message text.
    #[serde(rename = "x")]
    pub text: String,
    /// Urgent priority (PROTOCOL.md, "Priority"); a follow-up sent while
    /// waiting for the colleague's reply is an urgent message sent out of
    /// turn. Written only when true, so a routine message is byte for byte
    /// what earlier releases wrote.
    #[serde(rename = "u", default, skip_serializing_if = "is_false")]
    pub urgent: bool,
    /// On an escalated message (the original's text, forwarded to a
    /// backup colleague: PROTOCOL.md, "Escalation"), the colleague who did
    /// not reply to the original, as typed. Written only when present, as
    /// is the next field; [`Envelope::escalated`] reads the two.
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub unanswered: Option<String>,
    /// On an escalated message, when the original was sent.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub original_at: Option<u64>,
}

impl Envelope {
    /// What marks this message as escalated, if it is: both fields. (Two
    /// plain fields rather than one object: serde's reader for a nested
    /// object was 0.3 KB more of the download.)
    pub fn escalated(&self) -> Option<Escalated> {
        Some(Escalated {
            unanswered: self.unanswered.clone()?,
            sent_at: self.original_at?,
        })
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Envelope {
    pub fn encode(&self) -> Vec<u8> {
        codec::to_html_safe(self)
    }

    /// Decodes an envelope read from `device`'s key number `seq`.
    pub fn decode(bytes: &[u8], device: &DeviceId, seq: u64) -> Option<Envelope> {
        let envelope: Envelope = codec::from_slice(bytes).ok()?;
        let valid = envelope.version == ENVELOPE_VERSION
            && &envelope.device == device
            && envelope.seq == seq
            && envelope.clock > 0
            && !envelope.from.trim().is_empty();
        valid.then_some(envelope)
    }
}

/// A participant's record: how far each of their windows has sent, and how
/// far each of their windows has shown every window's messages.
///
/// In JSON: `{"h":{device:head,…},"s":{reader:{sender:seen,…},…}}`; either
/// may be left out, for none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Highest message number stored, per device of this participant.
    #[serde(rename = "h", default)]
    pub heads: SmallMap<DeviceId, u64>,
    /// Per device of this participant: per sending device (either
    /// participant's), the highest number it has shown, all before it too.
    /// For the colleague's devices these are read receipts.
    #[serde(rename = "s", default)]
    pub seen: SmallMap<DeviceId, SmallMap<DeviceId, u64>>,
}

impl Record {
    pub fn encode(&self) -> Vec<u8> {
        codec::to_html_safe(self)
    }

    pub fn decode(bytes: &[u8]) -> Option<Record> {
        codec::from_slice(bytes).ok()
    }

    /// Takes the higher of each number from `other`; says whether anything grew.
    pub fn merge(&mut self, other: &Record) -> bool {
        let mut grew = merge_max(&mut self.heads, &other.heads);
        for (reader, seen) in &other.seen {
            let mine = self.seen.get_or_insert_with(reader.clone(), || {
                grew = true;
                SmallMap::new()
            });
            grew |= merge_max(mine, seen);
        }
        grew
    }

    /// Whether every number in `self` is also in `other`, at least as high.
    pub fn is_covered_by(&self, other: &Record) -> bool {
        let covered = |mine: &SmallMap<DeviceId, u64>, theirs: Option<&SmallMap<DeviceId, u64>>| {
            mine.iter()
                .all(|(d, n)| theirs.and_then(|t| t.get(d)).is_some_and(|m| m >= n))
        };
        covered(&self.heads, Some(&other.heads))
            && self.seen.iter().all(|(reader, seen)| {
                other.seen.contains_key(reader) && covered(seen, other.seen.get(reader))
            })
    }

    /// How far `reader` has shown `sender`'s messages.
    pub fn seen_by(&self, reader: &DeviceId, sender: &DeviceId) -> u64 {
        self.seen
            .get(reader)
            .and_then(|s| s.get(sender))
            .copied()
            .unwrap_or(0)
    }

    /// Every device this record speaks for.
    pub fn devices(&self) -> impl Iterator<Item = &DeviceId> {
        self.heads.keys().chain(self.seen.keys())
    }
}

/// Raises each entry of `into` to the one in `from`; says whether any grew.
pub fn merge_max(into: &mut SmallMap<DeviceId, u64>, from: &SmallMap<DeviceId, u64>) -> bool {
    let mut grew = false;
    for (device, &n) in from {
        let slot = into.get_or_insert_with(device.clone(), || 0);
        if n > *slot {
            *slot = n;
            grew = true;
        }
    }
    grew
}

/// One message as the screen shows it.
#[derive(Clone, Copy, Debug)]
pub struct MessageView<'a> {
    pub envelope: &'a Envelope,
    /// Sent by you (from any of your windows).
    pub mine: bool,
    /// For your own messages: how far it got.
    pub delivery: Option<Delivery>,
}

impl MessageView<'_> {
    /// Sent as urgent (on its sender's turn, or as a follow-up while they
    /// waited for a reply).
    pub fn urgent(&self) -> bool {
        self.envelope.urgent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn device(s: &str) -> DeviceId {
        DeviceId::parse(s).unwrap()
    }

    fn envelope(text: &str) -> Envelope {
        Envelope {
            version: ENVELOPE_VERSION,
            from: "Nurse Jo".into(),
            device: device("abcdefghij"),
            seq: 3,
            clock: 7,
            sent_at: 1_764_000_000_000,
            text: text.into(),
            urgent: false,
            unanswered: None,
            original_at: None,
        }
    }

    #[test]
    fn envelope_round_trips_and_checks_its_key() {
        let e = envelope("bed 4 <?php echo 1; ?> & \"sats\" 88%\nplease come");
        let bytes = e.encode();
        assert!(!bytes
            .windows(1)
            .any(|w| w == b"<" || w == b">" || w == b"&"));
        assert_eq!(Envelope::decode(&bytes, &e.device, 3), Some(e.clone()));
        assert_eq!(Envelope::decode(&bytes, &e.device, 4), None);
        assert_eq!(Envelope::decode(&bytes, &device("jihgfedcba"), 3), None);
        assert_eq!(Envelope::decode(b"hello", &e.device, 3), None);
        assert_eq!(Envelope::decode(b"", &e.device, 3), None);
    }

    #[test]
    fn records_merge_by_maximum() {
        let (a_dev, b_dev, reader) = (
            device("aaaaaaaaaa"),
            device("bbbbbbbbbb"),
            device("cccccccccc"),
        );
        let mut a = Record::default();
        a.heads.insert(a_dev.clone(), 3);
        let mut b = Record::default();
        b.heads.insert(a_dev.clone(), 2);
        b.seen
            .get_or_insert_with(reader.clone(), SmallMap::new)
            .insert(b_dev.clone(), 5);
        assert!(!a.is_covered_by(&b));
        assert!(a.merge(&b));
        assert_eq!(a.heads.get(&a_dev), Some(&3));
        assert_eq!(a.seen_by(&reader, &b_dev), 5);
        assert_eq!(a.seen_by(&reader, &a_dev), 0);
        assert!(!a.merge(&b));
        assert!(b.is_covered_by(&a));
        assert_eq!(Record::decode(&a.encode()), Some(a.clone()));
        assert_eq!(Record::decode(b"{\"h\":7}"), None);
        // A device that has shown nothing yet still announces itself.
        let mut c = Record::default();
        c.seen.insert(device("dddddddddd"), SmallMap::new());
        assert!(!c.is_covered_by(&a));
        assert!(a.merge(&c));
        assert!(c.is_covered_by(&a));
    }

    proptest! {
        #[test]
        fn any_text_is_stored_without_markup(text in any::<String>()) {
            let e = envelope(&text);
            let bytes = e.encode();
            prop_assert!(!bytes.windows(2).any(|w| w == b"<?"));
            prop_assert!(!bytes.contains(&b'<') && !bytes.contains(&b'&'));
            prop_assert_eq!(Envelope::decode(&bytes, &e.device, 3), Some(e));
        }
    }
}
