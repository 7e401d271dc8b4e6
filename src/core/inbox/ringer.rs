//! A writer's side of the doorbell (PROTOCOL.md, "The inbox", "Ringing"):
//! after one of this device's messages is stored, its part of the
//! recipient's doorbell names the message, and the device keeps at it
//! until the recipient's acknowledgement shows the ring was taken in.
//!
//! Each ring goes through three steps: read the doorbell, write it back
//! with our part raised if it was missing or lower (the other parts as
//! read), then check the acknowledgement; not acknowledged, read the
//! doorbell again. A lost write, or a write of someone else's that erased
//! ours, is found at the next read and made again: lost updates delay a
//! ring, they never lose it. Once acknowledged (by any device of the
//! recipient), the part is still kept (read, and written again if lost)
//! for [`LINGER_MS`], so that the recipient's other open devices see it
//! too. Plain decisions; `poll` asks the server.

use super::super::envelope::Envelope;
use super::super::participants::{DeviceId, Name};
use super::super::small_map::SmallMap;
use super::super::types::Millis;
use super::bell::{Ack, Doorbell};
use super::keys::{ack_key, doorbell_key, message_key, side_of};

/// How long a part is kept in the doorbell after a device of the
/// recipient acknowledged it (ms): the recipient's other devices, hidden
/// tabs included, read the doorbell several times meanwhile. Shorter than
/// the recipient's `PRUNE_AFTER_MS`, so the recipient clears the part only
/// after its writer stopped keeping it.
pub const LINGER_MS: Millis = 60_000;

/// What a ring needs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Read the recipient's doorbell (at once for a new ring).
    Read,
    /// Check the recipient's acknowledgement (in the poll's check).
    CheckAck,
    /// Not acknowledged: check that the message rung is still stored (the
    /// conversation's own repair knows nothing of a recipient who never
    /// opened it).
    CheckMessage,
    /// Acknowledged: keep the part until then (read the doorbell, write
    /// the part again if it is missing), then forget the ring.
    Linger(Millis),
}

/// One outstanding ring: conversation `tag`, to `recipient`, up to `seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ring {
    pub recipient: Name,
    /// The device that sent the message rung: its part is named for it.
    /// (In the browser each conversation has a device of its own, not the
    /// inbox's.)
    pub device: DeviceId,
    pub seq: u64,
    /// The message rung, as stored: written again if it goes missing
    /// before the ring is taken in.
    message: Vec<u8>,
    pub step: Step,
    /// A new ring: its first read and write go at once, not in a poll.
    pub fresh: bool,
}

/// A request a ring makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RingRequest {
    ReadBell {
        tag: String,
        key: String,
    },
    ReadMessage {
        tag: String,
        key: String,
    },
    WriteMessage {
        tag: String,
        key: String,
        value: Vec<u8>,
    },
    WriteBell {
        tag: String,
        key: String,
        value: Vec<u8>,
    },
    ReadAck {
        tag: String,
        key: String,
    },
}

/// This device's outstanding rings, by conversation tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ringer {
    me: Name,
    rings: SmallMap<String, Ring>,
    /// The tag whose ring the last poll check served (round robin).
    cursor: Option<String>,
    /// Forget a ring once written ([`Ringer::disable_repair`]).
    no_repair: bool,
}

impl Ringer {
    pub fn new(me: Name) -> Ringer {
        Ringer {
            me,
            rings: SmallMap::new(),
            cursor: None,
            no_repair: false,
        }
    }

    /// From now on a ring is forgotten once its first write is answered:
    /// lost updates then lose rings (the simulation checks that it sees so).
    pub fn disable_repair(&mut self) {
        self.no_repair = true;
    }

    /// This device stored its message `envelope` in conversation `tag`
    /// with `recipient`: ring (or ring higher). A message of another device
    /// id of ours there (the conversation was opened again under a new one)
    /// takes the ring over.
    pub fn ring(&mut self, tag: &str, recipient: &Name, envelope: &Envelope) {
        let ring = self.rings.get_or_insert_with(tag.to_owned(), || Ring {
            recipient: recipient.clone(),
            device: envelope.device.clone(),
            seq: 0,
            message: Vec::new(),
            step: Step::Read,
            fresh: true,
        });
        if ring.device != envelope.device {
            ring.device = envelope.device.clone();
            ring.seq = 0;
        }
        if envelope.seq > ring.seq {
            ring.seq = envelope.seq;
            ring.message = envelope.encode();
            ring.step = Step::Read;
            ring.fresh = true;
        }
    }

    /// Rings not yet acknowledged.
    pub fn outstanding(&self) -> usize {
        self.rings
            .values()
            .filter(|r| !matches!(r.step, Step::Linger(_)))
            .count()
    }

    /// Rings still kept: not yet acknowledged, or lingering.
    pub fn kept(&self) -> usize {
        self.rings.len()
    }

    pub fn get(&self, tag: &str) -> Option<&Ring> {
        self.rings.get(&tag.to_owned())
    }

    /// A fresh ring's read, to go at once.
    pub fn urgent(&self) -> Option<RingRequest> {
        let (tag, ring) = self.rings.iter().find(|(_, r)| r.fresh)?;
        Some(self.request(tag, ring))
    }

    /// The next ring's step for a poll's check at `now`, in turn; rings
    /// whose lingering is over are forgotten.
    pub fn check(&mut self, now: Millis) -> Option<RingRequest> {
        let over: Vec<String> = self
            .rings
            .iter()
            .filter(|(_, r)| matches!(r.step, Step::Linger(until) if now >= until))
            .map(|(tag, _)| tag.clone())
            .collect();
        for tag in over {
            self.rings.remove(&tag);
        }
        let after = self.cursor.clone();
        let next = self
            .rings
            .iter()
            .find(|(tag, _)| after.as_ref().is_none_or(|a| *tag > a))
            .or_else(|| self.rings.iter().next())
            .map(|(tag, _)| tag.clone())?;
        self.cursor = Some(next.clone());
        let ring = self.rings.get(&next)?;
        Some(self.request(&next, ring))
    }

    fn request(&self, tag: &str, ring: &Ring) -> RingRequest {
        match ring.step {
            Step::Read | Step::Linger(_) => RingRequest::ReadBell {
                tag: tag.to_owned(),
                key: doorbell_key(&ring.recipient),
            },
            Step::CheckAck => RingRequest::ReadAck {
                tag: tag.to_owned(),
                key: ack_key(tag, side_of(&ring.recipient, &self.me)),
            },
            Step::CheckMessage => RingRequest::ReadMessage {
                tag: tag.to_owned(),
                key: message_key(tag, &ring.device, ring.seq),
            },
        }
    }

    /// The message rung as read back (`None`: missing): the write to make
    /// at once if it went missing. The doorbell is read next.
    pub fn read_message(&mut self, tag: &str, stored: Option<&[u8]>) -> Option<RingRequest> {
        let ring = self.rings.get_mut(&tag.to_owned())?;
        if ring.step != Step::CheckMessage {
            return None;
        }
        ring.step = Step::Read;
        stored.is_none().then(|| RingRequest::WriteMessage {
            tag: tag.to_owned(),
            key: message_key(tag, &ring.device, ring.seq),
            value: ring.message.clone(),
        })
    }

    /// The recipient's doorbell as read (`None`: missing). Gives the write
    /// to make at once if our part is missing or lower: the doorbell as
    /// read, with our part raised.
    pub fn read_bell(&mut self, tag: &str, stored: Option<&[u8]>) -> Option<RingRequest> {
        let ring = self.rings.get_mut(&tag.to_owned())?;
        ring.fresh = false;
        let mut bell = stored.map_or_else(Doorbell::new, Doorbell::decode);
        if bell
            .part(tag, &ring.device)
            .is_some_and(|seq| seq >= ring.seq)
        {
            if ring.step == Step::Read {
                ring.step = Step::CheckAck;
            }
            return None;
        }
        bell.ring(tag, &ring.device, ring.seq);
        Some(RingRequest::WriteBell {
            tag: tag.to_owned(),
            key: doorbell_key(&ring.recipient),
            value: bell.encode(),
        })
    }

    /// Our write of the doorbell was answered: check the acknowledgement
    /// next (the write may still be lost: the next read finds out).
    pub fn wrote_bell(&mut self, tag: &str) {
        if self.no_repair {
            self.rings.remove(&tag.to_owned());
            return;
        }
        if let Some(ring) = self.rings.get_mut(&tag.to_owned()) {
            if ring.step == Step::Read {
                ring.step = Step::CheckAck;
            }
        }
    }

    /// A read or write of the doorbell failed: start the ring's cycle again
    /// (a lingering ring goes on lingering).
    pub fn failed(&mut self, tag: &str) {
        if let Some(ring) = self.rings.get_mut(&tag.to_owned()) {
            if ring.step == Step::CheckAck {
                ring.step = Step::Read;
            }
        }
    }

    /// The recipient's acknowledgement as read at `now`. Says whether the
    /// ring was taken in (it then lingers); otherwise the doorbell is read
    /// again.
    pub fn read_ack(&mut self, tag: &str, stored: Option<&[u8]>, now: Millis) -> bool {
        let key = tag.to_owned();
        let Some(ring) = self.rings.get_mut(&key) else {
            return false;
        };
        let seen = stored
            .and_then(Ack::decode)
            .map_or(0, |ack| ack.seen(&ring.device));
        if seen >= ring.seq {
            ring.step = Step::Linger(now.saturating_add(LINGER_MS));
            return true;
        }
        ring.step = Step::CheckMessage;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "0123456789abcdef";

    fn message(seq: u64) -> Envelope {
        Envelope {
            version: 1,
            from: "Nurse Jo".into(),
            device: DeviceId::parse("jjjjjjjjjj").unwrap(),
            seq,
            clock: seq,
            sent_at: 0,
            text: format!("message {seq}"),
            urgent: false,
            unanswered: None,
            original_at: None,
        }
    }

    fn setup() -> (Ringer, Name) {
        let me = Name::parse("Nurse Jo").unwrap();
        let patel = Name::parse("Dr Patel").unwrap();
        (Ringer::new(me), patel)
    }

    #[test]
    fn a_ring_writes_our_part_keeping_the_others_then_waits_for_the_ack() {
        let (mut ringer, patel) = setup();
        ringer.ring(TAG, &patel, &message(2));
        let Some(RingRequest::ReadBell { key, .. }) = ringer.urgent() else {
            panic!("a new ring reads the doorbell at once");
        };
        assert_eq!(key, doorbell_key(&patel));
        let other = br#"{"v":1,"r":{"fedcba9876543210.kkkkkkkkkk":5}}"#;
        let Some(RingRequest::WriteBell { value, .. }) = ringer.read_bell(TAG, Some(other)) else {
            panic!("our part is missing: written");
        };
        assert_eq!(
            value,
            br#"{"v":1,"r":{"0123456789abcdef.jjjjjjjjjj":2,"fedcba9876543210.kkkkkkkkkk":5}}"#
        );
        ringer.wrote_bell(TAG);
        assert_eq!(ringer.urgent(), None);
        let Some(RingRequest::ReadAck { key, .. }) = ringer.check(0) else {
            panic!("then the acknowledgement is checked");
        };
        // Nurse Jo sorts after Dr Patel: Dr Patel is side 0.
        assert_eq!(key, format!("bleep1.{TAG}.i0"));
        // Not yet: the message is read back (missing: written again), then
        // the doorbell is read again, and our part is still there.
        assert!(!ringer.read_ack(TAG, Some(br#"{"v":1,"s":{"jjjjjjjjjj":1}}"#), 0));
        let Some(RingRequest::ReadMessage { key, .. }) = ringer.check(0) else {
            panic!("the message rung is checked");
        };
        assert_eq!(key, format!("bleep1.{TAG}.m.jjjjjjjjjj.2"));
        let Some(RingRequest::WriteMessage { value: stored, .. }) = ringer.read_message(TAG, None)
        else {
            panic!("a lost message is written again");
        };
        assert_eq!(stored, message(2).encode());
        assert!(matches!(
            ringer.check(0),
            Some(RingRequest::ReadBell { .. })
        ));
        assert_eq!(ringer.read_bell(TAG, Some(&value)), None);
        assert!(matches!(ringer.check(0), Some(RingRequest::ReadAck { .. })));
        assert!(ringer.read_ack(TAG, Some(br#"{"v":1,"s":{"jjjjjjjjjj":2}}"#), 1_000));
        // Acknowledged: the part is kept a while for the recipient's other
        // devices, written again if lost, then the ring is forgotten.
        assert!(matches!(
            ringer.check(2_000),
            Some(RingRequest::ReadBell { .. })
        ));
        assert!(ringer.read_bell(TAG, Some(br#"{"v":1,"r":{}}"#)).is_some());
        ringer.wrote_bell(TAG);
        assert!(matches!(
            ringer.check(1_000 + LINGER_MS - 1),
            Some(RingRequest::ReadBell { .. })
        ));
        assert_eq!(ringer.read_bell(TAG, Some(&value)), None);
        assert_eq!((ringer.outstanding(), ringer.kept()), (0, 1));
        assert_eq!(ringer.check(1_000 + LINGER_MS), None);
        assert_eq!(ringer.kept(), 0);
    }

    #[test]
    fn a_lost_part_is_written_again_and_junk_acks_count_for_nothing() {
        let (mut ringer, patel) = setup();
        ringer.ring(TAG, &patel, &message(1));
        ringer.read_bell(TAG, None).unwrap();
        ringer.wrote_bell(TAG);
        assert!(!ringer.read_ack(TAG, Some(b"<?php junk"), 0));
        // The server lost our write (or another writer's erased it).
        assert!(ringer.read_bell(TAG, Some(br#"{"v":1,"r":{}}"#)).is_some());
        // A newer message raises the ring and it goes at once again.
        ringer.ring(TAG, &patel, &message(4));
        assert_eq!(ringer.get(TAG).unwrap().seq, 4);
        assert!(ringer.urgent().is_some());
        ringer.ring(TAG, &patel, &message(3));
        assert_eq!(ringer.get(TAG).unwrap().seq, 4);
    }

    #[test]
    fn a_ring_is_named_for_the_device_that_sent_the_message() {
        // In the browser each conversation speaks as a device of its own.
        let (mut ringer, patel) = setup();
        ringer.ring(TAG, &patel, &message(3));
        let mut other = message(1);
        other.device = DeviceId::parse("kkkkkkkkkk").unwrap();
        // The conversation opened again under another device id: its first
        // message takes the ring over, though its number is lower.
        ringer.ring(TAG, &patel, &other);
        let Some(RingRequest::WriteBell { value, .. }) = ringer.read_bell(TAG, None) else {
            panic!("our part is missing: written");
        };
        assert_eq!(value, br#"{"v":1,"r":{"0123456789abcdef.kkkkkkkkkk":1}}"#);
        ringer.wrote_bell(TAG);
        assert!(!ringer.read_ack(TAG, Some(br#"{"v":1,"s":{"jjjjjjjjjj":3}}"#), 0));
        let Some(RingRequest::ReadMessage { key, .. }) = ringer.check(0) else {
            panic!("the message rung is checked");
        };
        assert_eq!(key, format!("bleep1.{TAG}.m.kkkkkkkkkk.1"));
    }

    #[test]
    fn poll_checks_take_the_rings_in_turn() {
        let (mut ringer, patel) = setup();
        let carol = Name::parse("Carol").unwrap();
        ringer.ring("1111111111111111", &patel, &message(1));
        ringer.ring("2222222222222222", &carol, &message(1));
        let tags: Vec<_> = (0..4)
            .map(|_| match ringer.check(0) {
                Some(RingRequest::ReadBell { tag, .. }) => tag,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            tags,
            [
                "1111111111111111",
                "2222222222222222",
                "1111111111111111",
                "2222222222222222"
            ]
        );
    }
}
