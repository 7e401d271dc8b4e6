//! The transcript: every message both participants sent, once each, in the
//! one order both sides agree on.
//!
//! The order is by logical clock, then by the sender's normal name, device and
//! sequence number. Each side assigns a clock one higher than any it has seen,
//! so a reply always sorts after what it answers; two messages sent at the
//! same instant tie on the clock and are ordered by name, the same way on
//! both screens.

use std::collections::{BTreeMap, HashMap};

use super::envelope::Envelope;
use super::participants::{lowercase, DeviceId};

/// Where a message sits in the agreed order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    clock: u64,
    sender: String,
    device: DeviceId,
    seq: u64,
}

impl Position {
    fn of(envelope: &Envelope) -> Position {
        Position {
            clock: envelope.clock,
            sender: lowercase(
                &envelope
                    .from
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            device: envelope.device.clone(),
            seq: envelope.seq,
        }
    }
}

/// What [`MessageLog::insert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// A message not seen before.
    New,
    /// The same message again (a retry or a second read): nothing changed.
    Known,
    /// A different message under an id already taken: the first one is kept.
    Conflict,
}

/// The messages of one conversation, without duplicates, in agreed order.
#[derive(Clone, Debug, Default)]
pub struct MessageLog {
    ordered: BTreeMap<Position, Envelope>,
    by_id: HashMap<(DeviceId, u64), Position>,
}

impl MessageLog {
    pub fn new() -> MessageLog {
        MessageLog::default()
    }

    pub fn insert(&mut self, envelope: Envelope) -> Inserted {
        let id = (envelope.device.clone(), envelope.seq);
        if let Some(position) = self.by_id.get(&id) {
            return if self.ordered[position] == envelope {
                Inserted::Known
            } else {
                Inserted::Conflict
            };
        }
        let position = Position::of(&envelope);
        self.by_id.insert(id, position.clone());
        self.ordered.insert(position, envelope);
        Inserted::New
    }

    /// Takes a message out (used only when a window must renumber its own).
    pub fn remove(&mut self, device: &DeviceId, seq: u64) -> Option<Envelope> {
        let position = self.by_id.remove(&(device.clone(), seq))?;
        self.ordered.remove(&position)
    }

    pub fn get(&self, device: &DeviceId, seq: u64) -> Option<&Envelope> {
        self.by_id
            .get(&(device.clone(), seq))
            .map(|p| &self.ordered[p])
    }

    pub fn contains(&self, device: &DeviceId, seq: u64) -> bool {
        self.by_id.contains_key(&(device.clone(), seq))
    }

    /// The message everyone sees last.
    pub fn last(&self) -> Option<&Envelope> {
        self.ordered.values().next_back()
    }

    /// The highest logical clock seen: a new message takes one more.
    pub fn max_clock(&self) -> u64 {
        self.ordered.keys().next_back().map_or(0, |p| p.clock)
    }

    /// All messages in agreed order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Envelope> + '_ {
        self.ordered.values()
    }

    pub fn len(&self) -> usize {
        self.ordered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ordered.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::envelope::ENVELOPE_VERSION;

    fn msg(from: &str, device: &str, seq: u64, clock: u64) -> Envelope {
        Envelope {
            version: ENVELOPE_VERSION,
            from: from.into(),
            device: DeviceId::parse(device).unwrap(),
            seq,
            clock,
            sent_at: 0,
            text: format!("{from} {seq}"),
            urgent: false,
        }
    }

    #[test]
    fn orders_by_clock_then_name_whatever_the_arrival_order() {
        let a1 = msg("Alice", "aaaaaaaaaa", 1, 1);
        let b1 = msg("bob", "bbbbbbbbbb", 1, 1);
        let a2 = msg("Alice", "aaaaaaaaaa", 2, 2);
        let mut one = MessageLog::new();
        let mut two = MessageLog::new();
        for m in [&a1, &b1, &a2] {
            one.insert(m.clone());
        }
        for m in [&a2, &b1, &a1] {
            two.insert(m.clone());
        }
        let order: Vec<_> = one.iter().collect();
        assert_eq!(order, vec![&a1, &b1, &a2]);
        assert_eq!(order, two.iter().collect::<Vec<_>>());
        assert_eq!(one.last(), Some(&a2));
        assert_eq!(one.max_clock(), 2);
    }

    #[test]
    fn duplicates_are_dropped_and_conflicts_keep_the_first() {
        let mut log = MessageLog::new();
        let a1 = msg("Alice", "aaaaaaaaaa", 1, 1);
        assert_eq!(log.insert(a1.clone()), Inserted::New);
        assert_eq!(log.insert(a1.clone()), Inserted::Known);
        let mut other = a1.clone();
        other.text = "something else".into();
        assert_eq!(log.insert(other), Inserted::Conflict);
        assert_eq!(log.len(), 1);
        assert_eq!(log.get(&a1.device, 1), Some(&a1));
        assert_eq!(log.remove(&a1.device, 1), Some(a1));
        assert!(log.is_empty());
    }
}
