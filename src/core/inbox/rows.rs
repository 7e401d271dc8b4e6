//! What one device's inbox shows (PROTOCOL.md, "The inbox"): per
//! conversation, the colleague, how far each of the colleague's devices has
//! written and how far this person has read, the last message known (its
//! preview, time, sender side and so whose turn it is), and when this
//! device last saw activity there, for the newest-first order.
//!
//! Plain data kept in local storage (serde, through `codec`) and changed
//! only by [`Rows`]' methods, which the inbox calls with what the server
//! answered and the app with what the user did.

use serde::{Deserialize, Serialize};

use super::super::envelope::Envelope;
use super::super::participants::{DeviceId, Name};
use super::super::small_map::SmallMap;
use super::super::types::Millis;
use super::keys::tag_between;

/// How many characters of the last message a row keeps for its preview.
pub const PREVIEW_CHARS: usize = 80;

/// The most unread messages one conversation counts: a number from the
/// server is a claim, and a hostile one must not overflow anything.
pub const MAX_UNREAD: u64 = 9_999;

/// One conversation in the inbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The colleague, as their latest message (or our own typing) names them.
    pub peer: Name,
    /// Per device of the colleague: the highest message number known to
    /// exist.
    written: SmallMap<DeviceId, u64>,
    /// Per device of the colleague: how far this person has read.
    read: SmallMap<DeviceId, u64>,
    /// The last message known, in the agreed order.
    pub last: Option<Last>,
    /// When this device last learnt of activity here (its own clock), for
    /// the newest-first order.
    pub activity: Millis,
}

/// The last message of a conversation, as its row shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Last {
    /// Sent by this person (from any of their devices).
    pub mine: bool,
    /// The first [`PREVIEW_CHARS`] characters of its text.
    pub preview: String,
    /// The sender's time (ms), for display.
    pub sent_at: Millis,
    pub urgent: bool,
    /// Its place in the agreed order: clock, sender's normal name, device,
    /// number.
    order: (u64, String, DeviceId, u64),
}

/// Whose turn a row shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowTurn {
    /// Nothing known yet.
    Empty,
    /// The colleague wrote last.
    Yours,
    /// We wrote last: waiting for the colleague.
    Waiting,
}

impl Row {
    fn new(peer: Name) -> Row {
        Row {
            peer,
            written: SmallMap::new(),
            read: SmallMap::new(),
            last: None,
            activity: 0,
        }
    }

    /// The colleague's messages this person has not read yet.
    pub fn unread(&self) -> u64 {
        let total = self.written.iter().fold(0u64, |sum, (device, &head)| {
            let read = self.read.get(device).copied().unwrap_or(0);
            sum.saturating_add(head.saturating_sub(read))
        });
        total.min(MAX_UNREAD)
    }

    pub fn turn(&self) -> RowTurn {
        match &self.last {
            None => RowTurn::Empty,
            Some(last) if last.mine => RowTurn::Waiting,
            Some(_) => RowTurn::Yours,
        }
    }

    /// The highest number known for `device` of the colleague.
    pub fn written(&self, device: &DeviceId) -> u64 {
        self.written.get(device).copied().unwrap_or(0)
    }

    /// Every device of the colleague with its highest number known.
    pub fn heads(&self) -> impl Iterator<Item = (&DeviceId, u64)> + '_ {
        self.written.iter().map(|(d, &n)| (d, n))
    }

    fn take_last(&mut self, envelope: &Envelope, mine: bool) -> bool {
        let Ok(sender) = Name::parse(&envelope.from) else {
            return false;
        };
        let order = (
            envelope.clock,
            sender.normal().to_owned(),
            envelope.device.clone(),
            envelope.seq,
        );
        if self.last.as_ref().is_some_and(|last| last.order >= order) {
            return false;
        }
        self.last = Some(Last {
            mine,
            preview: envelope.text.chars().take(PREVIEW_CHARS).collect(),
            sent_at: envelope.sent_at,
            urgent: envelope.urgent,
            order,
        });
        true
    }
}

/// Every conversation this device knows, by tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rows {
    me: Name,
    rows: SmallMap<String, Row>,
}

impl Rows {
    pub fn new(me: Name) -> Rows {
        Rows {
            me,
            rows: SmallMap::new(),
        }
    }

    pub fn me(&self) -> &Name {
        &self.me
    }

    pub fn get(&self, tag: &str) -> Option<&Row> {
        self.rows.get(&tag.to_owned())
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every conversation with its tag, newest activity first (ties by the
    /// colleague's name).
    pub fn newest_first(&self) -> Vec<(&str, &Row)> {
        // Each put in its place as it comes (no sort routine in the
        // WebAssembly, as in `directory::people`).
        let mut rows: Vec<(&str, &Row)> = Vec::with_capacity(self.rows.len());
        for (tag, row) in self.rows.iter() {
            let at = rows.partition_point(|(_, other)| {
                other.activity > row.activity
                    || (other.activity == row.activity && other.peer.normal() <= row.peer.normal())
            });
            rows.insert(at, (tag.as_str(), row));
        }
        rows
    }

    /// Unread messages over every conversation (the title and the badge).
    pub fn total_unread(&self) -> u64 {
        self.rows
            .values()
            .fold(0u64, |sum, row| sum.saturating_add(row.unread()))
    }

    /// The row of the conversation with `peer`, made empty if new (the
    /// user starts a conversation); `None` for oneself.
    pub fn open_with(&mut self, peer: &Name) -> Option<&Row> {
        let tag = tag_between(&self.me, peer)?;
        Some(self.rows.get_or_insert_with(tag, || Row::new(peer.clone())))
    }

    /// The colleague's message `envelope`, read from conversation `tag`
    /// (where a ring pointed), learnt at `now`. Refused (`false`) unless it
    /// really is from someone other than this person whose conversation
    /// with this person has that tag: a value copied from elsewhere, or
    /// junk, changes nothing.
    pub fn learn(&mut self, tag: &str, envelope: &Envelope, now: Millis) -> bool {
        let Ok(peer) = Name::parse(&envelope.from) else {
            return false;
        };
        if tag_between(&self.me, &peer).as_deref() != Some(tag) {
            return false;
        }
        let row = self
            .rows
            .get_or_insert_with(tag.to_owned(), || Row::new(peer.clone()));
        let head = row
            .written
            .get_or_insert_with(envelope.device.clone(), || 0);
        let mut changed = envelope.seq > *head;
        *head = (*head).max(envelope.seq);
        if row.take_last(envelope, false) {
            row.peer = peer;
            changed = true;
        }
        if changed {
            row.activity = row.activity.max(now);
        }
        changed
    }

    /// This person sent `envelope` to `peer` (from this device), at `now`.
    pub fn sent(&mut self, peer: &Name, envelope: &Envelope, now: Millis) -> bool {
        let Some(tag) = tag_between(&self.me, peer) else {
            return false;
        };
        let row = self.rows.get_or_insert_with(tag, || Row::new(peer.clone()));
        let changed = row.take_last(envelope, true);
        if changed {
            row.activity = row.activity.max(now);
        }
        changed
    }

    /// This person has read conversation `tag` up to what is known of it
    /// (its screen showed the conversation).
    pub fn read_all(&mut self, tag: &str) {
        if let Some(row) = self.rows.get_mut(&tag.to_owned()) {
            row.read = row.written.clone();
        }
    }

    /// Forgets conversation `tag` on this device (the user removed it from
    /// the device); says whether there was a row. A later message rings
    /// it back.
    pub fn forget(&mut self, tag: &str) -> bool {
        self.rows.remove(&tag.to_owned()).is_some()
    }

    /// This person has read `device`'s messages up to `seq` in conversation
    /// `tag` (a receipt from the conversation's record, say).
    pub fn read_up_to(&mut self, tag: &str, device: &DeviceId, seq: u64) {
        if let Some(row) = self.rows.get_mut(&tag.to_owned()) {
            let read = row.read.get_or_insert_with(device.clone(), || 0);
            *read = (*read).max(seq);
            let written = row.written.get_or_insert_with(device.clone(), || 0);
            *written = (*written).max(seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    fn envelope(from: &str, device: char, seq: u64, clock: u64, text: &str) -> Envelope {
        Envelope {
            version: 1,
            from: from.into(),
            device: DeviceId::parse(&device.to_string().repeat(10)).unwrap(),
            seq,
            clock,
            sent_at: 1_000 * clock,
            text: text.into(),
            urgent: false,
            unanswered: None,
            original_at: None,
        }
    }

    #[test]
    fn a_colleagues_messages_count_as_unread_until_read() {
        let mut rows = Rows::new(name("Nurse Jo"));
        let tag = tag_between(&name("Nurse Jo"), &name("Dr Patel")).unwrap();
        assert!(rows.learn(&tag, &envelope("Dr Patel", 'p', 3, 5, "Bed 4?"), 100));
        let row = rows.get(&tag).unwrap();
        assert_eq!((row.unread(), row.turn()), (3, RowTurn::Yours));
        assert_eq!(row.peer.typed(), "Dr Patel");
        assert_eq!(row.last.as_ref().unwrap().preview, "Bed 4?");
        // The same ring again changes nothing.
        assert!(!rows.learn(&tag, &envelope("Dr Patel", 'p', 3, 5, "Bed 4?"), 200));
        assert_eq!(rows.get(&tag).unwrap().activity, 100);
        rows.read_all(&tag);
        assert_eq!(rows.total_unread(), 0);
        // Our reply: waiting, and nothing unread.
        assert!(rows.sent(
            &name("Dr Patel"),
            &envelope("Nurse Jo", 'j', 1, 6, "On it"),
            300
        ));
        assert_eq!(rows.get(&tag).unwrap().turn(), RowTurn::Waiting);
        // An older message of theirs does not become the last.
        assert!(rows.learn(&tag, &envelope("Dr Patel", 'q', 1, 4, "old"), 400));
        let row = rows.get(&tag).unwrap();
        assert_eq!((row.unread(), row.turn()), (1, RowTurn::Waiting));
    }

    #[test]
    fn a_message_from_the_wrong_conversation_or_from_oneself_is_refused() {
        let mut rows = Rows::new(name("Nurse Jo"));
        let tag = tag_between(&name("Nurse Jo"), &name("Dr Patel")).unwrap();
        assert!(!rows.learn(&tag, &envelope("Dr Patal", 'p', 1, 1, "x"), 1));
        assert!(!rows.learn(&tag, &envelope("Nurse Jo", 'p', 1, 1, "x"), 1));
        assert!(!rows.learn(&tag, &envelope("  ", 'p', 1, 1, "x"), 1));
        assert!(rows.is_empty());
        assert!(rows.open_with(&name("nurse jo")).is_none());
    }

    #[test]
    fn newest_activity_first_and_counts_are_bounded() {
        let mut rows = Rows::new(name("Nurse Jo"));
        for (i, peer) in ["Dr A", "Dr B", "Dr C"].into_iter().enumerate() {
            let tag = tag_between(&name("Nurse Jo"), &name(peer)).unwrap();
            let at = [30, 10, 20][i];
            rows.learn(&tag, &envelope(peer, 'p', 1, 1, "hi"), at);
        }
        let order: Vec<_> = rows
            .newest_first()
            .into_iter()
            .map(|(_, r)| r.peer.typed().to_owned())
            .collect();
        assert_eq!(order, ["Dr A", "Dr C", "Dr B"]);
        let tag = tag_between(&name("Nurse Jo"), &name("Dr A")).unwrap();
        rows.learn(&tag, &envelope("Dr A", 'p', u64::MAX, 2, "flood"), 40);
        rows.learn(&tag, &envelope("Dr A", 'q', u64::MAX, 3, "flood"), 40);
        assert_eq!(rows.get(&tag).unwrap().unread(), MAX_UNREAD);
        assert!(rows.total_unread() <= 3 * MAX_UNREAD);
    }

    #[test]
    fn a_forgotten_conversation_leaves_the_rows_until_it_changes_again() {
        let mut rows = Rows::new(name("Nurse Jo"));
        let tag = tag_between(&name("Nurse Jo"), &name("Dr Patel")).unwrap();
        rows.learn(&tag, &envelope("Dr Patel", 'p', 1, 5, "Bed 4?"), 100);
        assert!(rows.forget(&tag));
        assert!(!rows.forget(&tag));
        assert!(rows.is_empty() && rows.total_unread() == 0);
        assert!(rows.learn(&tag, &envelope("Dr Patel", 'p', 2, 6, "Now?"), 200));
        assert_eq!(rows.get(&tag).unwrap().unread(), 2);
    }

    #[test]
    fn rows_are_kept_through_codec() {
        let mut rows = Rows::new(name("Nurse Jo"));
        let tag = tag_between(&name("Nurse Jo"), &name("Dr Patel")).unwrap();
        rows.learn(&tag, &envelope("Dr Patel", 'p', 2, 5, "<b>é"), 100);
        let text = crate::core::codec::to_string(&rows);
        assert_eq!(crate::core::codec::from_str::<Rows>(&text).unwrap(), rows);
    }
}
