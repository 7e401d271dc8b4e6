//! The recipient's side of its own doorbell (PROTOCOL.md, "The inbox",
//! "Answering the bell"): which parts are new, which message to fetch for
//! each, which conversations to acknowledge (an acknowledgement counts once
//! read back), and which parts to clear.
//!
//! A part is an **appearance** from the read that first shows it until a
//! read that does not: a part that comes back (its writer found it lost)
//! is a new appearance and is acknowledged again. A part is cleared from
//! the doorbell only once this device acknowledged it (or refused what it
//! pointed at) and it has stood in the doorbell for [`PRUNE_AFTER_MS`], so
//! that the person's other open devices, which read the doorbell at least
//! every 30 s, see it too. Plain decisions; `poll` asks the server.

use super::super::participants::DeviceId;
use super::super::small_map::{SmallMap, SmallSet};
use super::super::types::Millis;
use super::bell::{Ack, Doorbell};
use super::keys::part_name;
use super::rows::Rows;

/// How long a part stands in the doorbell, from the read that first showed
/// it to this device, before this device clears it.
pub const PRUNE_AFTER_MS: Millis = 120_000;

/// How many times a message a part points at is looked for before this
/// device gives up on that appearance (the sender repairs a lost message;
/// a part that points at nothing is cleared, and comes back if real).
pub const FETCH_ATTEMPTS: u32 = 8;

/// While a part this device acknowledged is still in the doorbell, its
/// acknowledgement is read back again this often (ms).
pub const RECHECK_MS: Millis = 15_000;

/// Every number the rows know of the colleague's devices in `tag`: the
/// acknowledgement this device writes.
fn ack_of(rows: &Rows, tag: &str) -> Ack {
    let mut ack = Ack::new();
    if let Some(row) = rows.get(tag) {
        for (device, seq) in row.heads() {
            ack.raise(device, seq);
        }
    }
    ack
}

/// The longest wait between two looks for a missing message.
const FETCH_RETRY_MAX_MS: Millis = 60_000;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Appearance {
    tag: String,
    device: DeviceId,
    seq: u64,
    first_seen: Millis,
    /// When an acknowledgement covering it was last read back.
    checked_at: Millis,
    /// The highest number this device acknowledged during this appearance.
    acked: u64,
    /// What the part pointed at was missing too often, or not a message of
    /// that conversation: nothing to acknowledge.
    refused: bool,
}

/// A message to fetch because a part pointed at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetch {
    pub tag: String,
    pub device: DeviceId,
    pub seq: u64,
    attempts: u32,
    due_at: Millis,
}

/// What the fetch of a part's message found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// A message of that conversation, taken into the rows.
    Taken,
    /// Nothing (yet): look again later.
    Missing,
    /// Something else: junk, or a message of another conversation.
    Refused,
}

/// This device's view of its own doorbell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipient {
    /// By part name.
    seen: SmallMap<String, Appearance>,
    /// By part name.
    fetches: SmallMap<String, Fetch>,
    /// Conversations whose acknowledgement is to be written.
    acks_due: SmallSet<String>,
    /// Acknowledgements written, to be read back, by conversation.
    acks_written: SmallMap<String, Ack>,
    /// What a read-back found that was not ours, by conversation: merged
    /// into our next write, so that our person's devices never lower each
    /// other's numbers.
    acks_found: SmallMap<String, Ack>,
    /// The doorbell as last read (or as last written by this device).
    last: Doorbell,
    /// The stored doorbell held junk: rewrite it clean.
    junk: bool,
}

impl Recipient {
    /// Our doorbell as read at `now` (`None`: missing).
    pub fn read(&mut self, stored: Option<&[u8]>, rows: &Rows, now: Millis) {
        let bell = stored.map_or_else(Doorbell::new, Doorbell::decode);
        self.junk = stored.is_some_and(|bytes| bytes != bell.encode().as_slice());
        let mut present = SmallSet::new();
        for (tag, device, seq) in bell.parts() {
            let name = part_name(tag, &device);
            present.insert(name.clone());
            let appearance = self.seen.get_or_insert_with(name.clone(), || Appearance {
                tag: tag.to_owned(),
                device: device.clone(),
                seq,
                first_seen: now,
                checked_at: now,
                acked: 0,
                refused: false,
            });
            if seq > appearance.seq {
                // Rung higher: a new message, seen from now.
                *appearance = Appearance {
                    seq,
                    first_seen: now,
                    refused: false,
                    ..appearance.clone()
                };
            }
            if appearance.refused {
                continue;
            }
            let known = rows.get(tag).map_or(0, |row| row.written(&device));
            if known >= seq {
                let key = tag.to_owned();
                let busy = self.acks_written.contains_key(&key) || self.acks_due.contains(&key);
                if busy {
                    // Written and not yet read back, or about to be.
                } else if appearance.acked < seq {
                    self.acks_due.insert(key);
                } else if now >= appearance.checked_at.saturating_add(RECHECK_MS) {
                    // Still rung: read our acknowledgement back again, in
                    // case a stale write-back or another of our devices
                    // lowered it since.
                    self.acks_written.insert(key, ack_of(rows, tag));
                }
                self.fetches.remove(&name);
            } else if self.fetches.get(&name).is_none_or(|f| f.seq < seq) {
                self.fetches.insert(
                    name,
                    Fetch {
                        tag: tag.to_owned(),
                        device,
                        seq,
                        attempts: 0,
                        due_at: now,
                    },
                );
            }
        }
        let gone: Vec<String> = self
            .seen
            .keys()
            .filter(|name| !present.contains(*name))
            .cloned()
            .collect();
        for name in gone {
            self.seen.remove(&name);
            self.fetches.remove(&name);
        }
        self.last = bell;
    }

    /// The next message to fetch at `now`, with its part's name.
    pub fn next_fetch(&self, now: Millis) -> Option<(&str, &Fetch)> {
        self.fetches
            .iter()
            .find(|(_, f)| f.due_at <= now)
            .map(|(name, f)| (name.as_str(), f))
    }

    /// When the next fetch waiting for a retry is due.
    pub fn next_fetch_at(&self) -> Option<Millis> {
        self.fetches.values().map(|f| f.due_at).min()
    }

    /// What the fetch for part `name` (number `seq`) found at `now`.
    pub fn fetched(&mut self, name: &str, seq: u64, found: Found, now: Millis) {
        let key = name.to_owned();
        let Some(fetch) = self.fetches.get_mut(&key) else {
            return;
        };
        if fetch.seq != seq {
            return;
        }
        let refuse = match found {
            Found::Taken => {
                self.acks_due.insert(fetch.tag.clone());
                self.fetches.remove(&key);
                return;
            }
            Found::Refused => true,
            Found::Missing => {
                fetch.attempts += 1;
                let wait = 1_000u64
                    .saturating_mul(1 << fetch.attempts.min(16))
                    .min(FETCH_RETRY_MAX_MS);
                fetch.due_at = now.saturating_add(wait);
                fetch.attempts >= FETCH_ATTEMPTS
            }
        };
        if refuse {
            self.fetches.remove(&key);
            if let Some(appearance) = self.seen.get_mut(&key) {
                appearance.refused = true;
            }
        }
    }

    /// A conversation whose acknowledgement is due, with the value to
    /// write: every number of the colleague's devices the rows know.
    pub fn ack_due(&self, rows: &Rows) -> Option<(String, Ack)> {
        let tag = self.acks_due.first()?;
        let mut ack = ack_of(rows, tag);
        if let Some(found) = self.acks_found.get(tag) {
            ack.merge(found);
        }
        Some((tag.clone(), ack))
    }

    /// `ack` was written for conversation `tag` (the server answered): to
    /// be read back.
    pub fn ack_written(&mut self, tag: &str, ack: Ack) {
        self.acks_due.remove(&tag.to_owned());
        self.acks_found.remove(&tag.to_owned());
        self.acks_written.insert(tag.to_owned(), ack);
    }

    /// An acknowledgement written and still to be read back: (tag, what
    /// was written).
    pub fn ack_to_verify(&self) -> Option<(&str, &Ack)> {
        self.acks_written
            .iter()
            .next()
            .map(|(tag, ack)| (tag.as_str(), ack))
    }

    /// The acknowledgement of `tag` as read back (`None`: missing). Holding
    /// at least what was written, the parts it covers are acknowledged;
    /// otherwise (the server lost it) it is written again.
    pub fn ack_read_back(&mut self, tag: &str, stored: Option<&[u8]>, now: Millis) {
        let key = tag.to_owned();
        let Some(written) = self.acks_written.remove(&key) else {
            return;
        };
        let stored = stored.and_then(Ack::decode).unwrap_or_default();
        let mut covered = true;
        for appearance in self.seen.values_mut().filter(|a| a.tag == tag) {
            let wrote = written.seen(&appearance.device);
            if stored.seen(&appearance.device) >= wrote {
                appearance.acked = appearance.acked.max(wrote);
                appearance.checked_at = now;
            } else {
                covered = false;
            }
        }
        if !covered {
            self.acks_found.insert(key.clone(), stored);
            self.acks_due.insert(key);
        }
    }

    /// The doorbell to write at `now` to clear what is done, and how many
    /// parts it clears; `None` when nothing is to be cleared.
    pub fn prune(&self, now: Millis) -> Option<(Doorbell, usize)> {
        let mut bell = self.last.clone();
        let mut cleared = 0;
        for appearance in self.seen.values() {
            let done = appearance.refused || appearance.acked >= appearance.seq;
            if done
                && now >= appearance.first_seen.saturating_add(PRUNE_AFTER_MS)
                && bell.remove(&appearance.tag, &appearance.device, appearance.seq)
            {
                cleared += 1;
            }
        }
        (cleared > 0 || self.junk).then_some((bell, cleared))
    }

    /// The doorbell this device wrote (the server answered).
    pub fn pruned(&mut self, written: Doorbell) {
        // A part given up on and cleared is looked for afresh if its
        // writer puts it back (the message may be back too).
        let cleared: Vec<String> = self
            .seen
            .iter()
            .filter(|(_, a)| a.refused && written.part(&a.tag, &a.device).is_none())
            .map(|(name, _)| name.clone())
            .collect();
        for name in cleared {
            self.seen.remove(&name);
        }
        self.last = written;
        self.junk = false;
    }

    /// How many parts the doorbell showed at the last read.
    pub fn parts(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::envelope::Envelope;
    use super::super::super::participants::Name;
    use super::super::keys::tag_between;
    use super::*;

    fn jo() -> Name {
        Name::parse("Nurse Jo").unwrap()
    }

    fn patel_device() -> DeviceId {
        DeviceId::parse("pppppppppp").unwrap()
    }

    fn bell(tag: &str, seq: u64) -> Vec<u8> {
        let mut bell = Doorbell::new();
        bell.ring(tag, &patel_device(), seq);
        bell.encode()
    }

    fn message(seq: u64) -> Envelope {
        Envelope {
            version: 1,
            from: "Dr Patel".into(),
            device: patel_device(),
            seq,
            clock: seq,
            sent_at: 0,
            text: "hello".into(),
            urgent: false,
            unanswered: None,
            original_at: None,
        }
    }

    #[test]
    fn a_new_part_is_fetched_acknowledged_and_cleared_after_the_delay() {
        let tag = tag_between(&jo(), &Name::parse("Dr Patel").unwrap()).unwrap();
        let mut rows = Rows::new(jo());
        let mut me = Recipient::default();
        me.read(Some(&bell(&tag, 2)), &rows, 1_000);
        let (name, fetch) = me.next_fetch(1_000).unwrap();
        assert_eq!((fetch.tag.as_str(), fetch.seq), (tag.as_str(), 2));
        let name = name.to_owned();
        assert!(rows.learn(&tag, &message(2), 1_000));
        me.fetched(&name, 2, Found::Taken, 1_000);
        assert_eq!(me.next_fetch(1_000), None);
        let (ack_tag, ack) = me.ack_due(&rows).unwrap();
        assert_eq!(
            (ack_tag.as_str(), ack.seen(&patel_device())),
            (tag.as_str(), 2)
        );
        assert_eq!(
            me.prune(1_000 + PRUNE_AFTER_MS),
            None,
            "not acknowledged yet"
        );
        me.ack_written(&tag, ack.clone());
        assert_eq!(me.ack_due(&rows), None);
        // Read back: lost, so written again; then found.
        assert_eq!(me.ack_to_verify(), Some((tag.as_str(), &ack)));
        me.ack_read_back(&tag, None, 1_000);
        assert_eq!(me.ack_to_verify(), None);
        assert!(me.ack_due(&rows).is_some());
        assert_eq!(
            me.prune(1_000 + PRUNE_AFTER_MS),
            None,
            "not acknowledged yet"
        );
        me.ack_written(&tag, ack.clone());
        me.ack_read_back(&tag, Some(&ack.encode()), 1_000);
        assert_eq!((me.ack_due(&rows), me.ack_to_verify()), (None, None));
        // Read again: known and acknowledged, nothing to do but wait.
        me.read(Some(&bell(&tag, 2)), &rows, 2_000);
        assert_eq!((me.next_fetch(2_000), me.ack_due(&rows)), (None, None));
        assert_eq!(me.prune(1_000 + PRUNE_AFTER_MS - 1), None);
        let (cleared, n) = me.prune(1_000 + PRUNE_AFTER_MS).unwrap();
        assert_eq!((cleared.is_empty(), n), (true, 1));
        me.pruned(cleared);
        // The part comes back (its writer found it lost): acknowledged again.
        me.read(None, &rows, 200_000);
        me.read(Some(&bell(&tag, 2)), &rows, 201_000);
        assert!(me.ack_due(&rows).is_some());
        assert_eq!(me.next_fetch(201_000), None, "no second fetch");
    }

    #[test]
    fn an_acknowledgement_lowered_later_is_found_while_the_part_stands_and_merged() {
        let tag = tag_between(&jo(), &Name::parse("Dr Patel").unwrap()).unwrap();
        let mut rows = Rows::new(jo());
        rows.learn(&tag, &message(2), 0);
        let mut me = Recipient::default();
        me.read(Some(&bell(&tag, 2)), &rows, 0);
        let (_, ack) = me.ack_due(&rows).unwrap();
        me.ack_written(&tag, ack.clone());
        me.ack_read_back(&tag, Some(&ack.encode()), 0);
        // The part stands (its writer lingers): read back again, not before.
        me.read(Some(&bell(&tag, 2)), &rows, RECHECK_MS - 1);
        assert_eq!(me.ack_to_verify(), None);
        me.read(Some(&bell(&tag, 2)), &rows, RECHECK_MS);
        assert!(me.ack_to_verify().is_some());
        // Another of our devices wrote a lower number for Dr Patel's device
        // and a higher one for another: ours is written again, merged.
        let other = DeviceId::parse("qqqqqqqqqq").unwrap();
        let lowered = format!(r#"{{"v":1,"s":{{"pppppppppp":1,"{other}":5}}}}"#);
        me.ack_read_back(&tag, Some(lowered.as_bytes()), RECHECK_MS);
        let (_, again) = me.ack_due(&rows).unwrap();
        assert_eq!((again.seen(&patel_device()), again.seen(&other)), (2, 5));
    }

    #[test]
    fn a_missing_message_is_looked_for_again_then_given_up_and_cleared() {
        let tag = tag_between(&jo(), &Name::parse("Dr Patel").unwrap()).unwrap();
        let rows = Rows::new(jo());
        let mut me = Recipient::default();
        me.read(Some(&bell(&tag, 1)), &rows, 0);
        let mut now = 0;
        let mut looks = 0;
        while let Some(at) = me.next_fetch_at() {
            now = now.max(at);
            let name = me.next_fetch(now).unwrap().0.to_owned();
            me.fetched(&name, 1, Found::Missing, now);
            looks += 1;
        }
        assert_eq!(looks, FETCH_ATTEMPTS);
        assert!(now < 10 * 60_000, "{now}");
        assert_eq!(me.ack_due(&rows), None);
        let (cleared, _) = me.prune(now.max(PRUNE_AFTER_MS)).unwrap();
        me.pruned(cleared);
        // Its writer puts it back: looked for afresh.
        me.read(Some(&bell(&tag, 1)), &rows, now + 1);
        assert_eq!(me.next_fetch_at(), Some(now + 1));
        // A part pointing at junk is refused at once.
        let mut me = Recipient::default();
        me.read(Some(&bell(&tag, 1)), &rows, 0);
        let name = me.next_fetch(0).unwrap().0.to_owned();
        me.fetched(&name, 1, Found::Refused, 0);
        assert_eq!(me.next_fetch_at(), None);
        me.read(Some(&bell(&tag, 1)), &rows, 10);
        assert_eq!(
            me.next_fetch_at(),
            None,
            "the same appearance stays refused"
        );
    }

    #[test]
    fn junk_in_the_doorbell_is_rewritten_clean() {
        let rows = Rows::new(jo());
        let mut me = Recipient::default();
        me.read(Some(b"<?php system('x'); ?>"), &rows, 0);
        let (clean, n) = me.prune(0).unwrap();
        assert_eq!((clean.encode(), n), (br#"{"v":1,"r":{}}"#.to_vec(), 0));
        me.read(Some(br#"{"v":1,"r":{}}"#), &rows, 1);
        assert_eq!(me.prune(1), None);
        me.read(None, &rows, 2);
        assert_eq!(me.prune(2), None, "a missing doorbell needs no write");
    }
}
