//! Choosing the session's next request: what is most urgent (the history,
//! our own keys, the outbox, repairs, what must be read), else the poll
//! and its check in rotation; and the request each purpose makes.

use super::super::participants::Name;
use super::super::trust::Side;
use super::super::types::{Millis, Turn};
use super::follows::Owner;
use super::learning::Wanted;
use super::outbox::Stage;
use super::own_keys::OwnKey;
use super::schedule::{Check, Purpose, ROTATION};
use super::Session;
use crate::imserver::wire::Request;

impl Session {
    pub(super) fn next_purpose(&mut self, now: Millis) -> Option<Purpose> {
        if self.history_pending {
            return Some(Purpose::LoadHistory);
        }
        while let Some((key, stage)) = self.own_keys.front().cloned() {
            if self.own_key_value(&key).is_none() {
                // Nothing to write (no keys, or the recipient is unknown).
                self.own_keys.read_back(&key, true);
                continue;
            }
            return Some(match stage {
                Stage::Write => Purpose::WriteOwnKey(key),
                Stage::Verify => Purpose::VerifyOwnKey(key),
            });
        }
        if let Some((seq, stage)) = self.outbox.front() {
            self.ensure_sealed(seq);
            return Some(match stage {
                Stage::Write => Purpose::WriteMessage(seq),
                Stage::Verify => Purpose::VerifyMessage(seq),
            });
        }
        if let Some(seq) = self.outbox.next_rewrite() {
            self.ensure_sealed(seq);
            return Some(Purpose::RewriteMessage(seq));
        }
        if let Some(seq) = self.outbox.next_refetch() {
            return Some(Purpose::RefetchOwn(seq));
        }
        if let Some(wanted) = self.learning.next(now) {
            return Some(Purpose::Learn(wanted));
        }
        if let Some((device, seq)) = self.follows.next_fetch(now, &self.log) {
            return Some(Purpose::Fetch(device, seq));
        }
        if self.receipts.is_dirty() {
            if let Some(value) = self.record_value() {
                self.receipts.building(value.clone());
                return Some(Purpose::PublishRecord(value));
            }
        }
        if self.outbox.waiting_dirty() {
            match self.log.last() {
                Some(last) => {
                    let mine = self.is_mine(&last.from);
                    return Some(Purpose::WriteWaiting(self.keys.waiting_value(mine)));
                }
                None => self.outbox.set_waiting_dirty(false),
            }
        }
        if let Some(purpose) = self.schedule.take_queued_check() {
            return Some(purpose);
        }
        let interval = self.poll_interval();
        if self.schedule.poll_due(now, interval) {
            // One check per poll; skip those with nothing to look at.
            for _ in 0..ROTATION.len() {
                let check = self.schedule.next_check();
                if let Some(purpose) = self.check_purpose(check) {
                    self.schedule.queue_check(purpose);
                    break;
                }
            }
            return Some(Purpose::PollPeer);
        }
        None
    }

    pub(super) fn check_purpose(&mut self, check: Check) -> Option<Purpose> {
        match check {
            Check::OwnRecord => Some(Purpose::ReadOwnRecord),
            Check::Waiting => {
                (self.outbox.is_empty() && !self.log.is_empty()).then_some(Purpose::ReadWaiting)
            }
            Check::OwnUnread => {
                let floor = self.receipts.shown_everywhere(&self.device);
                let unread: Vec<u64> = (floor + 1..=self.outbox.sent_head())
                    .filter(|s| self.log.contains(&self.device, *s))
                    .collect();
                let seq = unread
                    .iter()
                    .copied()
                    .find(|s| *s > self.schedule.unread_cursor)
                    .or(unread.first().copied())?;
                self.schedule.unread_cursor = seq;
                Some(Purpose::CheckOwn(seq))
            }
            Check::Probe => {
                let (next, seq) = self
                    .follows
                    .probe_after(self.schedule.probe_cursor.as_ref())?;
                self.schedule.probe_cursor = Some(next.clone());
                Some(Purpose::Fetch(next, seq))
            }
            Check::OwnKeys => {
                let key = self.own_keys.next_check()?;
                self.own_key_value(&key)?;
                Some(Purpose::CheckOwnKey(key))
            }
        }
    }

    /// The value of one of our own keys (sealed now if it is a share not
    /// sealed yet).
    pub(super) fn own_key_value(&mut self, key: &OwnKey) -> Option<&str> {
        let trust = self.trust.as_mut()?;
        match key {
            OwnKey::Announcement => Some(&trust.own_announcement),
            OwnKey::Share(recipient) => trust.share_for(recipient),
        }
    }

    /// The key name of one of our own keys.
    pub(super) fn own_key_name(&self, key: &OwnKey) -> String {
        match key {
            OwnKey::Announcement => self.keys.announcement(&self.device),
            OwnKey::Share(recipient) => self.keys.share(&self.device, recipient, self.epoch()),
        }
    }

    /// The epoch of our current sender key.
    pub(super) fn epoch(&self) -> u32 {
        self.trust
            .as_ref()
            .and_then(|t| t.device.current())
            .map_or(1, |k| k.epoch())
    }

    /// Our own message `seq` sealed, kept from when it was sent, or sealed
    /// again (a window that lost it, or took its message back from the server).
    pub(super) fn ensure_sealed(&mut self, seq: u64) {
        if self.sealed.contains_key(&seq) {
            return;
        }
        let sealed = self.log.get(&self.device, seq).and_then(|envelope| {
            self.trust
                .as_ref()
                .and_then(|trust| trust.seal_message(envelope))
        });
        if let Some(sealed) = sealed {
            self.sealed.insert(seq, sealed);
        }
    }

    /// The person a followed device speaks for.
    pub(super) fn owner_name(&self, owner: Owner) -> &Name {
        match owner {
            Owner::Me => &self.pair.me,
            Owner::Peer => &self.pair.peer,
        }
    }

    /// The owner of a device pinned for `side`.
    pub(super) fn owner_of(&self, side: Side) -> Owner {
        match &self.trust {
            Some(trust) if trust.side == side => Owner::Me,
            _ => Owner::Peer,
        }
    }

    pub(super) fn request_for(&self, purpose: &Purpose) -> Request {
        let get = |key: String| Request::Get {
            key: key.into_bytes(),
        };
        let set = |key: String, value: Vec<u8>| Request::Set {
            key: key.into_bytes(),
            value,
        };
        let own = |seq: u64| {
            self.sealed
                .get(&seq)
                .map(|text| text.clone().into_bytes())
                .unwrap_or_default()
        };
        let own_key = |key: &OwnKey| {
            let trust = self.trust.as_ref();
            let value = match key {
                OwnKey::Announcement => trust.map(|t| t.own_announcement.clone()),
                OwnKey::Share(r) => trust.and_then(|t| t.shares.get(r).cloned()),
            };
            value.unwrap_or_default().into_bytes()
        };
        match purpose {
            Purpose::LoadHistory => Request::Page,
            Purpose::WriteMessage(seq) | Purpose::RewriteMessage(seq) => {
                set(self.keys.message(&self.device, *seq), own(*seq))
            }
            Purpose::VerifyMessage(seq) | Purpose::CheckOwn(seq) | Purpose::RefetchOwn(seq) => {
                get(self.keys.message(&self.device, *seq))
            }
            Purpose::Fetch(device, seq) => get(self.keys.message(device, *seq)),
            Purpose::PublishRecord(value) => set(self.keys.my_record(), value.clone()),
            Purpose::WriteWaiting(value) => set(self.keys.waiting(), value.clone()),
            Purpose::PollPeer => get(self.keys.peer_record()),
            Purpose::ReadOwnRecord => get(self.keys.my_record()),
            Purpose::ReadWaiting => get(self.keys.waiting()),
            Purpose::WriteOwnKey(key) => set(self.own_key_name(key), own_key(key)),
            Purpose::VerifyOwnKey(key) | Purpose::CheckOwnKey(key) => get(self.own_key_name(key)),
            Purpose::Learn(Wanted::Announcement(device)) => get(self.keys.announcement(device)),
            Purpose::Learn(Wanted::Share(sender, epoch)) => {
                get(self.keys.share(sender, &self.device, *epoch))
            }
        }
    }

    pub(super) fn poll_interval(&self) -> u64 {
        let base = match self.turn() {
            Turn::Waiting { .. } => self.settings.waiting_poll_ms,
            Turn::Idle | Turn::Sending => self.settings.idle_poll_ms,
        };
        if self.visible {
            base
        } else {
            base.max(self.settings.hidden_poll_ms)
        }
    }
}
