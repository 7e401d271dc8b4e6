//! Read receipts and the two records that carry them: ours (what we publish:
//! our heads and how far our screens have shown everyone's messages) and the
//! colleague's (merged from every read; its numbers only grow).
//!
//! A message is acknowledged to the others only once a visible screen has
//! shown it and a saved transcript holds it: they stop repairing what we
//! acknowledge.
//!
//! On the server (protocol version 2) a record is one sealed receipt per
//! device; here the checked receipts are merged into one [`Record`] per
//! person, as version 1 stored it. Our own entry is our [`Receipt`]; the
//! entries of our other devices that we could check are written back with
//! it.

use super::super::envelope::{merge_max, Record};
use super::super::participants::DeviceId;
use super::super::small_map::SmallMap;
use super::super::trust::Receipt;

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
    /// The revision of our receipt (grows with each new one).
    revision: u64,
    /// Our receipt as last sealed, and its sealed text.
    sealed: Option<(Receipt, String)>,
    /// Our other devices' entries we checked: the newest of each, by
    /// revision, with its sealed text.
    siblings: SmallMap<DeviceId, (u64, String)>,
    /// The record value being published, if nothing changed since.
    built: Option<Vec<u8>>,
    /// Our own messages that neither we nor the server hold any more.
    lost: Vec<u64>,
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
            revision: 0,
            sealed: None,
            siblings: SmallMap::new(),
            built: None,
            lost: Vec::new(),
        }
    }

    /// Resumes with the records a window saved; ours is published again.
    pub fn restore(&mut self, peer: Record, ours: &Record, revision: u64, lost: Vec<u64>) {
        self.peer = peer;
        self.ours.merge(ours);
        self.revision = revision;
        self.lost = lost;
        self.mark_dirty();
    }

    /// Our message `seq` is lost for good: our receipt lists it.
    pub fn lose(&mut self, seq: u64) {
        // Kept in order, each once.
        if let Err(at) = self.lost.binary_search(&seq) {
            self.lost.insert(at, seq);
            self.mark_dirty();
        }
    }

    /// Our lost messages.
    pub fn lost(&self) -> &[u64] {
        &self.lost
    }

    /// The revision of our last receipt.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Our receipt as it stands (its revision is given when sealed).
    pub fn receipt(&self, own: &DeviceId) -> Receipt {
        Receipt {
            revision: 0,
            head: self.ours.heads.get(own).copied().unwrap_or(0),
            seen: self
                .ours
                .seen
                .get(own)
                .map(|s| s.iter().map(|(d, n)| (d.clone(), *n)).collect())
                .unwrap_or_default(),
            lost: self.lost.iter().map(|&k| (k, k)).collect(),
        }
    }

    /// Our last sealed receipt's text, if it still says `receipt`.
    pub fn sealed_text(&self, receipt: &Receipt) -> Option<&str> {
        match &self.sealed {
            Some((sealed, text))
                if Receipt {
                    revision: 0,
                    ..sealed.clone()
                } == *receipt =>
            {
                Some(text)
            }
            _ => None,
        }
    }

    /// Our receipt's last sealed text.
    pub fn our_text(&self) -> Option<&str> {
        self.sealed.as_ref().map(|(_, text)| text.as_str())
    }

    /// The revision a new receipt of ours takes.
    pub fn next_revision(&mut self) -> u64 {
        self.revision += 1;
        self.revision
    }

    /// Our receipt was sealed as `text`.
    pub fn sealed_as(&mut self, receipt: Receipt, text: String) {
        self.sealed = Some((receipt, text));
    }

    /// A receipt of ours from before (another incarnation of this device)
    /// has `revision`: ours must be newer.
    pub fn outgrow(&mut self, revision: u64) {
        if revision >= self.revision {
            self.revision = revision;
            self.sealed = None;
        }
    }

    /// Another device of ours wrote `text`, revision `revision`: kept if it
    /// is the newest we know. Says whether the record we read lacked the
    /// newest (its writer puts it back too).
    pub fn sibling(&mut self, device: &DeviceId, revision: u64, text: &str) {
        let newer = self
            .siblings
            .get(device)
            .is_none_or(|(known, _)| revision > *known);
        if newer {
            self.siblings
                .insert(device.clone(), (revision, text.to_owned()));
        }
    }

    /// The revision of the newest entry we hold for `device`.
    pub fn sibling_revision(&self, device: &DeviceId) -> Option<u64> {
        self.siblings.get(device).map(|(r, _)| *r)
    }

    /// Our other devices' newest entries, to write with ours.
    pub fn siblings(&self) -> impl Iterator<Item = (&DeviceId, &str)> + '_ {
        self.siblings
            .iter()
            .map(|(d, (_, text))| (d, text.as_str()))
    }

    /// The record value about to be published.
    pub fn building(&mut self, value: Vec<u8>) {
        self.built = Some(value);
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
        self.built = None;
    }

    /// Our record was written as `value`: published, unless it has changed since.
    pub fn published(&mut self, value: &[u8]) {
        if self.built.as_deref() == Some(value) {
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

    /// Takes in what our other windows published (their checked receipts).
    pub fn learn_own(&mut self, own: &DeviceId, record: &Record) {
        let mut siblings = record.clone();
        siblings.heads.remove(own);
        siblings.seen.remove(own);
        if self.ours.merge(&siblings) {
            self.built = None;
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
            self.mark_dirty();
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
        receipts.building(b"{}".to_vec());
        receipts.published(b"{}");
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
    fn our_other_windows_entries_are_taken_in_but_never_ours() {
        let (own, sibling) = (device("aaaaaaaaaa"), device("cccccccccc"));
        let mut receipts = Receipts::new(&own);
        receipts.set_own_head(&own, 4);
        let mut stale = Record::default();
        stale.heads.insert(sibling.clone(), 7);
        stale.heads.insert(own.clone(), 1);
        receipts.learn_own(&own, &stale);
        assert_eq!(receipts.ours().heads.get(&sibling), Some(&7));
        assert_eq!(receipts.ours().heads.get(&own), Some(&4));
        assert_eq!(receipts.receipt(&own).head, 4);
    }

    #[test]
    fn a_changed_receipt_is_sealed_again_and_an_older_sibling_entry_never_wins() {
        let (own, sibling) = (device("aaaaaaaaaa"), device("cccccccccc"));
        let mut receipts = Receipts::new(&own);
        let receipt = receipts.receipt(&own);
        assert_eq!(receipts.sealed_text(&receipt), None);
        let revision = receipts.next_revision();
        receipts.sealed_as(
            Receipt {
                revision,
                ..receipt.clone()
            },
            "sealed".into(),
        );
        assert_eq!(receipts.sealed_text(&receipt), Some("sealed"));
        receipts.set_own_head(&own, 2);
        assert_eq!(receipts.sealed_text(&receipts.receipt(&own)), None);
        receipts.outgrow(9);
        assert_eq!(receipts.next_revision(), 10);
        receipts.sibling(&sibling, 3, "three");
        receipts.sibling(&sibling, 2, "two");
        assert_eq!(receipts.sibling_revision(&sibling), Some(3));
        assert_eq!(receipts.siblings().next(), Some((&sibling, "three")));
    }
}
