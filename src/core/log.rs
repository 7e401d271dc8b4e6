//! The transcript: every message both participants sent, once each, in the
//! one order both sides agree on.
//!
//! The order is by logical clock, then by the sender's normal name, device and
//! sequence number. Each side assigns a clock one higher than any it has seen,
//! so a reply always sorts after what it answers; two messages sent at the
//! same instant tie on the clock and are ordered by name, the same way on
//! both screens.
//!
//! The messages are kept in a vector sorted in that order ([`SmallMap`]),
//! found by id through a hash map. Each message is boxed: the vector holds
//! only positions and pointers, so that when it grows, the copy it makes
//! (with the old one still held) is small. Messages arrive in order, so a new one
//! almost always goes at the end; a batch (a page of the whole store, the
//! saved transcript) is first put in order ([`MessageLog::take_in_order`]),
//! so that it goes in the same way and loading many messages never shifts
//! the ones already in. Only a message fetched on its own, after a request,
//! can land further back and move the ones after it. A `BTreeMap` here cost
//! 4.3 KB of the gzipped download (its balancing code for this one type).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::envelope::Envelope;
use super::participants::{lowercase, DeviceId};
use super::small_map::SmallMap;

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
    ordered: SmallMap<Position, Box<Envelope>>,
    by_id: HashMap<(DeviceId, u64), Position>,
}

impl MessageLog {
    pub fn new() -> MessageLog {
        MessageLog::default()
    }

    /// Puts a batch of messages in the agreed order, so that inserting them
    /// one after the other adds each at the end of what came before, and
    /// makes room for them at once. In place: a heap of positions gives each
    /// message its place, then the messages are swapped into them (no
    /// second copy of the batch).
    pub fn take_in_order(&mut self, batch: &mut [Envelope]) {
        self.ordered.reserve(batch.len());
        MessageLog::agreed_order(batch);
    }

    /// Puts a batch of messages in the agreed order.
    fn agreed_order(batch: &mut [Envelope]) {
        let mut heap: BinaryHeap<Reverse<(Position, usize)>> = batch
            .iter()
            .enumerate()
            .map(|(i, e)| Reverse((Position::of(e), i)))
            .collect();
        // place[i]: where the message now at i belongs.
        let mut place = vec![0; batch.len()];
        let mut next = 0;
        while let Some(Reverse((_, i))) = heap.pop() {
            place[i] = next;
            next += 1;
        }
        for i in 0..batch.len() {
            while place[i] != i {
                let j = place[i];
                batch.swap(i, j);
                place.swap(i, j);
            }
        }
    }

    pub fn insert(&mut self, envelope: Envelope) -> Inserted {
        let id = (envelope.device.clone(), envelope.seq);
        if let Some(position) = self.by_id.get(&id) {
            return if self.ordered.get(position).map(|e| &**e) == Some(&envelope) {
                Inserted::Known
            } else {
                Inserted::Conflict
            };
        }
        let position = Position::of(&envelope);
        self.by_id.insert(id, position.clone());
        self.ordered.insert(position, Box::new(envelope));
        Inserted::New
    }

    /// Takes a message out (used only when a window must renumber its own).
    pub fn remove(&mut self, device: &DeviceId, seq: u64) -> Option<Envelope> {
        let position = self.by_id.remove(&(device.clone(), seq))?;
        self.ordered.remove(&position).map(|e| *e)
    }

    pub fn get(&self, device: &DeviceId, seq: u64) -> Option<&Envelope> {
        self.by_id
            .get(&(device.clone(), seq))
            .and_then(|p| self.ordered.get(p))
            .map(|e| &**e)
    }

    pub fn contains(&self, device: &DeviceId, seq: u64) -> bool {
        self.by_id.contains_key(&(device.clone(), seq))
    }

    /// The message everyone sees last.
    pub fn last(&self) -> Option<&Envelope> {
        self.ordered.values().next_back().map(|e| &**e)
    }

    /// The highest logical clock seen: a new message takes one more.
    pub fn max_clock(&self) -> u64 {
        self.ordered.keys().next_back().map_or(0, |p| p.clock)
    }

    /// All messages in agreed order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Envelope> + '_ {
        self.ordered.values().map(|e| &**e)
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
            unanswered: None,
            original_at: None,
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
    fn a_batch_in_agreed_order_is_the_order_of_the_log() {
        let mut batch: Vec<Envelope> = (1..=40)
            .map(|i| {
                msg(
                    ["Alice", "bob", "Carol"][i as usize % 3],
                    "aaaaaaaaaa",
                    i,
                    40 - i / 3,
                )
            })
            .collect();
        let mut log = MessageLog::new();
        for m in batch.iter().rev() {
            log.insert(m.clone());
        }
        MessageLog::agreed_order(&mut batch);
        assert_eq!(
            log.iter().collect::<Vec<_>>(),
            batch.iter().collect::<Vec<_>>()
        );
        assert_eq!(log.last(), batch.last());
    }

    proptest::proptest! {
        #[test]
        fn any_batch_put_in_agreed_order_is_the_order_of_the_log(
            picks in proptest::collection::vec((0usize..3, 0u64..6), 0..60)
        ) {
            let mut batch: Vec<Envelope> = picks
                .iter()
                .enumerate()
                .map(|(seq, &(who, clock))| {
                    let (name, device) = [("Alice", "aaaaaaaaaa"), ("bob", "bbbbbbbbbb"), ("Bob", "cccccccccc")][who];
                    msg(name, device, seq as u64 + 1, clock)
                })
                .collect();
            let mut log = MessageLog::new();
            for m in &batch {
                log.insert(m.clone());
            }
            MessageLog::agreed_order(&mut batch);
            proptest::prop_assert_eq!(log.iter().collect::<Vec<_>>(), batch.iter().collect::<Vec<_>>());
        }
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
