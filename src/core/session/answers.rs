//! What each answer from the server teaches the session: a write to read
//! back, a message fetched, an announcement or share learnt, the history
//! loaded, or a failure to back off from. (Records are read in
//! [`super::records`].)

use super::super::envelope::Envelope;
use super::super::journal::Change;
use super::super::participants::{DeviceId, KeyKind};
use super::super::types::{Event, Millis};
use super::learning::Wanted;
use super::outbox::Stage;
use super::own_keys::OwnKey;
use super::schedule::Purpose;
use super::sealing::Opened;
use super::Session;
use crate::imserver::answer::{Answer, ImError};

/// Page requests that may fail in a row (500s, timeouts) before a new window
/// gives up on the page and rebuilds the transcript from the records, one
/// message at a time: the page of a large store may never come in time.
pub(super) const PAGE_ATTEMPTS: u32 = 3;

impl Session {
    /// The answer to request `id`. Answers to requests from before a
    /// [`Session::restore`] are ignored.
    pub fn handle_answer(&mut self, id: u64, answer: Result<Answer, ImError>, now: Millis) {
        let Some(purpose) = self.schedule.finish(id) else {
            return;
        };
        let notices = self.notice_changes();
        match answer {
            Ok(answer) => {
                if self.schedule.succeeded(now) {
                    self.changed();
                }
                self.handle_success(purpose, answer, now);
            }
            Err(error) => self.handle_failure(purpose, error, now),
        }
        self.sweep_gaps(now);
        if self.notice_changes() != notices {
            // Kept with the state: a reload shows them again.
            self.changed();
        }
    }

    fn notice_changes(&self) -> u64 {
        self.trust.as_ref().map_or(0, |t| t.notice_changes())
    }

    fn handle_failure(&mut self, purpose: Purpose, error: ImError, now: Millis) {
        if self.schedule.failed(now, &error, &self.settings) {
            self.changed();
        }
        match purpose {
            // A page that cannot be read (junk from other programs), or that
            // failed again and again, is not worth retrying: the records and
            // probes rebuild the transcript.
            Purpose::LoadHistory
                if !error.is_transient() || self.schedule.failures_in_a_row() >= PAGE_ATTEMPTS =>
            {
                self.history_pending = false
            }
            // A write that timed out may or may not have landed: read it back.
            Purpose::WriteMessage(seq) => self.outbox.set_stage(seq, Stage::Verify),
            Purpose::WriteOwnKey(key) => self.own_keys.written(&key),
            Purpose::Learn(wanted) => {
                let at = now + self.poll_interval();
                self.learning.retry(&wanted, at);
            }
            _ => {}
        }
    }

    fn handle_success(&mut self, purpose: Purpose, answer: Answer, now: Millis) {
        let value = match answer {
            Answer::Value(value) => value,
            Answer::Store(entries) => {
                self.load_history(entries);
                return;
            }
            Answer::Done | Answer::Keys(_) => None,
        };
        match purpose {
            Purpose::LoadHistory => self.history_pending = false,
            Purpose::WriteMessage(seq) => self.outbox.set_stage(seq, Stage::Verify),
            Purpose::VerifyMessage(seq) => self.verified(seq, value.as_deref()),
            Purpose::RewriteMessage(seq) => self.outbox.rewritten(seq),
            Purpose::RefetchOwn(seq) => {
                // Gone from the server too: nothing more can be done for it,
                // and our receipt says so (the readers show a gap).
                self.outbox.refetched(seq);
                match self.open_own(seq, value) {
                    Some((envelope, text)) => {
                        self.sealed.insert(seq, text);
                        self.insert(envelope);
                    }
                    None => self.receipts.lose(seq),
                }
            }
            Purpose::CheckOwn(seq) => {
                if value.is_some()
                    && value.as_deref() == self.sealed.get(&seq).map(String::as_bytes)
                {
                    return;
                }
                // A window that lost its sealed text takes the stored one if
                // it is this very message.
                let same = self
                    .open_own(seq, value)
                    .filter(|(envelope, _)| self.log.get(&self.device, seq) == Some(envelope));
                match same {
                    Some((_, text)) => {
                        self.sealed.insert(seq, text);
                    }
                    None if self.repair => self.outbox.rewrite(seq),
                    None => {}
                }
            }
            Purpose::Fetch(device, seq) => self.fetched(device, seq, value.as_deref(), now),
            Purpose::PublishRecord(value) => self.receipts.published(&value),
            Purpose::WriteOwnKey(key) => self.own_keys.written(&key),
            Purpose::VerifyOwnKey(key) => {
                let ours = self.is_own_key(&key, value.as_deref());
                self.own_keys.read_back(&key, ours);
            }
            Purpose::CheckOwnKey(key) => {
                let ours = self.is_own_key(&key, value.as_deref());
                if !ours && self.repair {
                    self.own_keys.read_back(&key, false);
                }
            }
            Purpose::Learn(wanted) => self.learnt(wanted, value.as_deref(), now),
            Purpose::WriteWaiting(value) => {
                if self.expected_waiting().as_deref() == Some(&value[..]) {
                    self.outbox.set_waiting_dirty(false);
                }
            }
            Purpose::PollPeer => self.read_record(value.as_deref(), true, now),
            Purpose::ReadOwnRecord => self.read_record(value.as_deref(), false, now),
            Purpose::ReadWaiting => {
                let expected = self.expected_waiting();
                if expected.is_some() && value != expected {
                    self.outbox.set_waiting_dirty(true);
                }
            }
        }
    }

    /// What `__waiting__` should hold: the side of the last sender.
    fn expected_waiting(&self) -> Option<Vec<u8>> {
        let last = self.log.last()?;
        Some(self.keys.waiting_value(self.is_mine(&last.from)))
    }

    /// Whether `value` is what one of our own keys holds.
    fn is_own_key(&self, key: &OwnKey, value: Option<&[u8]>) -> bool {
        let Some(trust) = &self.trust else {
            return true;
        };
        let ours = match key {
            OwnKey::Announcement => Some(&trust.own_announcement),
            OwnKey::Share(recipient) => trust.shares.get(recipient),
        };
        value.is_some() && value == ours.map(String::as_bytes)
    }

    /// Our own message `seq` as stored in `value`, with its sealed text, if
    /// it opens as ours.
    fn open_own(&mut self, seq: u64, value: Option<Vec<u8>>) -> Option<(Envelope, String)> {
        let value = value?;
        let key = self.keys.message(&self.device, seq);
        let trust = self.trust.as_mut()?;
        match trust.open_message(&self.pair, &key, &value, &self.device, seq) {
            Opened::Value(envelope) => Some((envelope, String::from_utf8(value).ok()?)),
            _ => None,
        }
    }

    /// An announcement or a share read for `wanted`.
    fn learnt(&mut self, wanted: Wanted, value: Option<&[u8]>, now: Millis) {
        let retry_at = now + self.poll_interval().max(self.settings.idle_poll_ms);
        let (Some(value), Some(trust)) = (value, self.trust.as_mut()) else {
            self.learning.retry(&wanted, retry_at);
            return;
        };
        let learnt = match &wanted {
            Wanted::Announcement(device) => {
                let key = self.keys.announcement(device);
                let (side, _) = trust.check_announcement(&self.pair, device, &key, value);
                if let Some(side) = side {
                    self.pinned(device, side, now);
                }
                side.is_some()
            }
            Wanted::Share(sender, epoch) => {
                let key = self.keys.share(sender, &self.device, *epoch);
                let opened = trust.open_share(&key, value, sender, *epoch);
                if opened {
                    // Whatever waited for this key can be read now.
                    if let Some(follow) = self.follows.get_mut(sender) {
                        follow.retry_at = now;
                    }
                    self.schedule.hurry(now);
                }
                opened
            }
        };
        if learnt {
            self.learning.done(&wanted);
        } else {
            self.learning.retry(&wanted, retry_at);
        }
        self.changed();
    }

    fn is_pinned(&self, device: &DeviceId) -> bool {
        self.trust
            .as_ref()
            .is_some_and(|t| t.device.pins.get(device).is_some())
    }

    /// `device`'s announcement checked, for `side`: its messages are
    /// followed, and it gets our sender key.
    fn pinned(&mut self, device: &DeviceId, side: super::super::trust::Side, now: Millis) {
        if *device == self.device {
            return;
        }
        let owner = self.owner_of(side);
        if let Some(follow) = self.follows.follow(&self.device, device, owner) {
            follow.retry_at = now;
        }
        self.own_keys.add(OwnKey::Share(device.clone()));
    }

    /// Our message `seq` read back as `stored`.
    fn verified(&mut self, seq: u64, stored: Option<&[u8]>) {
        let Some(ours) = self.log.get(&self.device, seq).cloned() else {
            return;
        };
        let sealed = self.sealed.get(&seq).map(|s| s.as_bytes().to_vec());
        let mut same = stored.is_some() && stored == sealed.as_deref();
        let mut other_tab = false;
        if let (Some(bytes), false) = (stored, same) {
            match self.open_own(seq, Some(bytes.to_vec())) {
                // This very message, sealed before a reload: it stays.
                Some((envelope, text)) if envelope == ours => {
                    self.sealed.insert(seq, text);
                    same = true;
                }
                Some(_) => other_tab = true,
                None => {}
            }
        }
        match stored {
            Some(_) if same => {
                self.outbox.confirm(seq);
                self.receipts
                    .set_own_head(&self.device, self.outbox.sent_head());
                self.receipts.mark_dirty();
                self.events.push(Event::MessagesChanged);
                self.changed();
            }
            Some(_) if other_tab => {
                // Another window wrote a different message under our number:
                // it shares our device id. Renumber ours, seal it again under
                // its new number and write it.
                self.log.remove(&self.device, seq);
                self.sealed.remove(&seq);
                self.persistence
                    .record(Change::Removed(self.device.clone(), seq));
                self.events.push(Event::MessagesChanged);
                let mut renumbered = ours;
                renumbered.seq = self.outbox.renumber(seq);
                self.insert(renumbered);
                self.changed();
            }
            // Missing, or anything else: ours is written over it.
            _ => self.outbox.set_stage(seq, Stage::Write),
        }
    }

    fn fetched(&mut self, device: DeviceId, seq: u64, value: Option<&[u8]>, now: Millis) {
        let interval = self.poll_interval();
        if self.follows.get(&device).is_none() {
            return;
        }
        let key = self.keys.message(&device, seq);
        let opened = match (value, self.trust.as_mut()) {
            (Some(value), Some(trust)) => trust.open_message(&self.pair, &key, value, &device, seq),
            _ => Opened::Refused,
        };
        let envelope = match opened {
            Opened::Value(envelope) => Some(envelope),
            Opened::NeedsKey(sender, epoch) => {
                self.learning.want(Wanted::Share(sender, epoch), now);
                None
            }
            Opened::UnknownDevice => {
                self.learning
                    .want(Wanted::Announcement(device.clone()), now);
                None
            }
            // Missing, or failed its check (noticed): as if missing.
            Opened::Refused => None,
        };
        match envelope {
            Some(envelope) => {
                self.insert(envelope);
                self.gap_filled(&device, seq);
                let follow = self.follows.get_mut(&device).expect("checked above");
                follow.head = follow.head.max(seq);
                self.follows.advance(&device, &self.log);
                self.update_receipts();
            }
            None => {
                let follow = self.follows.get_mut(&device).expect("checked above");
                if seq <= follow.head {
                    follow.retry_at = now + interval;
                }
            }
        }
    }

    /// The whole store, read once by a window with nothing saved:
    /// announcements first, then the shares with us, the records and the
    /// messages, each checked as if read alone.
    fn load_history(&mut self, entries: Vec<(Vec<u8>, Vec<u8>)>) {
        self.history_pending = false;
        // Grouped by rank, each group in the order read (what a stable sort
        // by rank gives, without a sort's code).
        let mut ranked: [Vec<(KeyKind, Vec<u8>)>; 5] = Default::default();
        for (key, value) in entries {
            let Some(kind) = self.keys.classify(&key) else {
                continue;
            };
            let rank = match kind {
                KeyKind::Announcement(_) => 0,
                KeyKind::Share { .. } => 1,
                KeyKind::MyRecord | KeyKind::PeerRecord => 2,
                KeyKind::Message(..) => 3,
                KeyKind::Waiting => 4,
            };
            ranked[rank].push((kind, value));
        }
        for (kind, value) in ranked.into_iter().flatten() {
            match kind {
                KeyKind::Announcement(device) if device != self.device => {
                    self.learnt(Wanted::Announcement(device), Some(&value), 0);
                }
                KeyKind::Share {
                    sender,
                    recipient,
                    epoch,
                } if recipient == self.device && self.is_pinned(&sender) => {
                    self.learnt(Wanted::Share(sender, epoch), Some(&value), 0);
                }
                KeyKind::PeerRecord => self.read_record(Some(&value), true, 0),
                KeyKind::MyRecord => self.read_record(Some(&value), false, 0),
                KeyKind::Message(device, seq) if device == self.device => {
                    // Our own device, from a time whose local state is gone:
                    // take its messages back, and never reuse their numbers.
                    if let Some((envelope, text)) = self.open_own(seq, Some(value)) {
                        self.adopt_own_head(seq);
                        self.sealed.insert(seq, text);
                        self.insert(envelope);
                    }
                }
                KeyKind::Message(device, seq) if self.follows.get(&device).is_some() => {
                    self.fetched(device, seq, Some(&value), 0);
                }
                _ => {}
            }
        }
        self.follows.advance_all(&self.log);
        self.update_receipts();
        self.changed();
    }
}
