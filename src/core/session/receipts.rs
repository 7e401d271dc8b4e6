//! Read receipts and the two records that carry them: ours (what we publish:
//! our heads and how far our screens have shown everyone's messages) and the
//! colleague's (merged from every read; its numbers only grow).
//!
//! A message is acknowledged to the others only once a visible screen has
//! shown it and a saved transcript holds it: they stop repairing what we
//! acknowledge.

use super::super::envelope::{merge_max, Record};
use super::super::participants::DeviceId;
use super::super::small_map::SmallMap;

/// What has been shown, and what the records say about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Receipts {
    /// The colleague's record, merged from every read (numbers only grow).
    peer: Record,
    /// What our record on the server should say.
    ours: Record,
    /// Whether `ours` is still to be published.
    dirty: bool,
    /// Per device, how far a visible screen has shown its messages (what
    /// is above it counts as unread).
    shown: SmallMap<DeviceId, u64>,
}

impl Receipts {
    /// A new window announces its device at once, so that senders keep
    /// repairing their messages until it has them too.
    pub fn new(own: &DeviceId) -> Receipts {
        let mut seen = SmallMap::new();
        seen.insert(own.clone(), SmallMap::new());
        Receipts {
            peer: Record::default(),
            ours: Record {
                heads: SmallMap::new(),
                seen,
            },
            dirty: true,
            shown: SmallMap::new(),
        }
    }

    /// Resumes with the records a window saved; ours is published again.
    pub fn restore(&mut self, peer: Record, ours: &Record) {
        self.peer = peer;
        self.ours.merge(ours);
        self.dirty = true;
    }

    pub fn peer(&self) -> &Record {
        &self.peer
    }

    pub fn ours(&self) -> &Record {
        &self.ours
    }

    pub fn shown(&self) -> &SmallMap<DeviceId, u64> {
        &self.shown
    }

    /// Whether our record is still to be published.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Our record was written as `value`: published, unless it has changed since.
    pub fn published(&mut self, value: &[u8]) {
        if value == self.ours.encode() {
            self.dirty = false;
        }
    }

    /// Our record says our messages are stored up to `head`.
    pub fn set_own_head(&mut self, own: &DeviceId, head: u64) {
        self.ours.heads.insert(own.clone(), head);
    }

    /// Takes in a read of the colleague's record; says whether it told us
    /// anything new.
    pub fn learn_peer(&mut self, record: &Record) -> bool {
        self.peer.merge(record)
    }

    /// Takes in our record as read from the server: what our other windows
    /// published. Our own entries only grow, and are published again if the
    /// server's copy lacks them.
    pub fn learn_own(&mut self, own: &DeviceId, record: &Record) {
        let mut siblings = record.clone();
        siblings.heads.remove(own);
        siblings.seen.remove(own);
        self.ours.merge(&siblings);
        if !self.ours.is_covered_by(record) {
            self.dirty = true;
        }
    }

    /// Whether a screen of the colleague's has shown `device`'s message `seq`.
    pub fn is_read(&self, device: &DeviceId, seq: u64) -> bool {
        self.peer
            .seen
            .keys()
            .any(|reader| self.peer.seen_by(reader, device) >= seq)
    }

    /// The highest of our own messages that every other known window (the
    /// colleague's and our own) has shown: those above it are still checked
    /// and repaired.
    pub fn shown_everywhere(&self, own: &DeviceId) -> u64 {
        self.peer
            .devices()
            .chain(self.ours.devices())
            .filter(|d| *d != own)
            .map(|reader| {
                self.peer
                    .seen_by(reader, own)
                    .max(self.ours.seen_by(reader, own))
            })
            .min()
            .unwrap_or(0)
    }

    /// A visible screen shows `on_screen` of every other window's messages,
    /// of which `durable` are in the saved transcript: records what is
    /// shown, and acknowledges what is both shown and saved. Says whether
    /// anything changed.
    pub fn show(
        &mut self,
        own: &DeviceId,
        on_screen: &SmallMap<DeviceId, u64>,
        durable: &SmallMap<DeviceId, u64>,
    ) -> bool {
        let mut changed = merge_max(&mut self.shown, on_screen);
        let acknowledged: SmallMap<_, _> = on_screen
            .iter()
            .map(|(d, &have)| (d.clone(), have.min(durable.get(d).copied().unwrap_or(0))))
            .filter(|(_, n)| *n > 0)
            .collect();
        if merge_max(
            self.ours
                .seen
                .get_or_insert_with(own.clone(), SmallMap::new),
            &acknowledged,
        ) {
            self.dirty = true;
            changed = true;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str) -> DeviceId {
        DeviceId::parse(id).unwrap()
    }

    fn map(entries: &[(&DeviceId, u64)]) -> SmallMap<DeviceId, u64> {
        entries.iter().map(|(d, n)| ((*d).clone(), *n)).collect()
    }

    #[test]
    fn a_new_window_announces_its_device() {
        let own = device("aaaaaaaaaa");
        let receipts = Receipts::new(&own);
        assert!(receipts.is_dirty());
        assert!(receipts.ours().seen.contains_key(&own));
    }

    #[test]
    fn only_what_is_shown_and_saved_is_acknowledged() {
        let (own, bob) = (device("aaaaaaaaaa"), device("bbbbbbbbbb"));
        let mut receipts = Receipts::new(&own);
        receipts.published(&receipts.ours().encode());
        assert!(!receipts.is_dirty());
        assert!(receipts.show(&own, &map(&[(&bob, 3)]), &map(&[(&bob, 2)])));
        assert_eq!(receipts.shown().get(&bob), Some(&3));
        assert_eq!(receipts.ours().seen_by(&own, &bob), 2);
        assert!(receipts.is_dirty());
        // Nothing new: nothing changes.
        assert!(!receipts.show(&own, &map(&[(&bob, 3)]), &map(&[(&bob, 2)])));
    }

    #[test]
    fn the_colleague_reading_marks_our_messages_read() {
        let (own, bob) = (device("aaaaaaaaaa"), device("bbbbbbbbbb"));
        let mut receipts = Receipts::new(&own);
        let mut record = Record::default();
        record.seen.insert(bob.clone(), map(&[(&own, 2)]));
        assert!(receipts.learn_peer(&record));
        assert!(!receipts.learn_peer(&record));
        assert!(receipts.is_read(&own, 2));
        assert!(!receipts.is_read(&own, 3));
        assert_eq!(receipts.shown_everywhere(&own), 2);
    }

    #[test]
    fn our_other_windows_entries_are_taken_in_and_ours_republished_if_lost() {
        let (own, sibling) = (device("aaaaaaaaaa"), device("cccccccccc"));
        let mut receipts = Receipts::new(&own);
        receipts.set_own_head(&own, 4);
        receipts.published(&receipts.ours().encode());
        let mut stale = Record::default();
        stale.heads.insert(sibling.clone(), 7);
        stale.heads.insert(own.clone(), 1);
        receipts.learn_own(&own, &stale);
        assert_eq!(receipts.ours().heads.get(&sibling), Some(&7));
        assert_eq!(receipts.ours().heads.get(&own), Some(&4));
        assert!(receipts.is_dirty(), "the server's copy lacks our head 4");
    }
}
