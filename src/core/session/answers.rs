//! What each answer from the server teaches the session: a write to read
//! back, a message fetched, a record or a directory entry learnt, the
//! history loaded, or a failure to back off from.

use super::super::envelope::{Envelope, Record};
use super::super::journal::Change;
use super::super::participants::{DeviceId, KeyKind, Name};
use super::super::types::{Event, Millis};
use super::follows::Owner;
use super::outbox::Stage;
use super::schedule::Purpose;
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
        match answer {
            Ok(answer) => {
                if self.schedule.succeeded(now) {
                    self.changed();
                }
                self.handle_success(purpose, answer, now);
            }
            Err(error) => self.handle_failure(purpose, error, now),
        }
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
                // Gone from the server too: nothing more can be done for it.
                self.outbox.refetched(seq);
                if let Some(envelope) = value
                    .as_deref()
                    .and_then(|v| Envelope::decode(v, &self.device, seq))
                {
                    self.insert(envelope);
                }
            }
            Purpose::CheckOwn(seq) => {
                let stored = self.log.get(&self.device, seq).map(Envelope::encode);
                if value != stored && self.repair {
                    self.outbox.rewrite(seq);
                }
            }
            Purpose::Fetch(device, seq) => self.fetched(device, seq, value.as_deref(), now),
            Purpose::PublishRecord(value) => self.receipts.published(&value),
            Purpose::WriteWaiting(value) => {
                if self.expected_waiting().as_deref() == Some(&value[..]) {
                    self.outbox.set_waiting_dirty(false);
                }
            }
            Purpose::PollPeer => {
                if let Some(record) = value.as_deref().and_then(Record::decode) {
                    self.learn_peer_record(&record, now);
                }
            }
            Purpose::ReadOwnRecord => {
                let record = value
                    .as_deref()
                    .and_then(Record::decode)
                    .unwrap_or_default();
                self.learn_own_record(&record, now);
            }
            Purpose::ReadWaiting => {
                let expected = self.expected_waiting();
                if expected.is_some() && value != expected {
                    self.outbox.set_waiting_dirty(true);
                }
            }
            directory @ (Purpose::ReadPeerEntry
            | Purpose::ReadOwnEntry
            | Purpose::WriteEntry(_)) => self.directory_answer(directory, value.as_deref()),
        }
    }

    /// What `__waiting__` should hold: the side of the last sender.
    fn expected_waiting(&self) -> Option<Vec<u8>> {
        let last = self.log.last()?;
        Some(self.keys.waiting_value(self.is_mine(&last.from)))
    }

    /// Our message `seq` read back as `stored`.
    fn verified(&mut self, seq: u64, stored: Option<&[u8]>) {
        let Some(ours) = self.log.get(&self.device, seq).cloned() else {
            return;
        };
        match stored {
            Some(bytes) if bytes == ours.encode() => {
                self.outbox.confirm(seq);
                self.receipts
                    .set_own_head(&self.device, self.outbox.sent_head());
                self.receipts.mark_dirty();
                self.events.push(Event::MessagesChanged);
                self.changed();
            }
            Some(bytes) if Envelope::decode(bytes, &self.device, seq).is_some() => {
                // Another window wrote a different message under our number:
                // it shares our device id. Renumber ours and write it again.
                self.log.remove(&self.device, seq);
                self.persistence
                    .record(Change::Removed(self.device.clone(), seq));
                self.events.push(Event::MessagesChanged);
                let mut renumbered = ours;
                renumbered.seq = self.outbox.renumber(seq);
                self.insert(renumbered);
                self.changed();
            }
            _ => self.outbox.set_stage(seq, Stage::Write),
        }
    }

    fn fetched(&mut self, device: DeviceId, seq: u64, value: Option<&[u8]>, now: Millis) {
        let interval = self.poll_interval();
        let Some(follow) = self.follows.get(&device) else {
            return;
        };
        let owner_name = self.owner_name(follow.owner).clone();
        let envelope = value
            .and_then(|v| Envelope::decode(v, &device, seq))
            .filter(|e| owner_name.is(&e.from));
        match envelope {
            Some(envelope) => {
                self.insert(envelope);
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

    fn owner_name(&self, owner: Owner) -> &Name {
        match owner {
            Owner::Me => &self.pair.me,
            Owner::Peer => &self.pair.peer,
        }
    }

    fn learn_peer_record(&mut self, record: &Record, now: Millis) {
        self.follows
            .learn_heads(&self.device, record, Owner::Peer, now);
        if self.receipts.learn_peer(record) {
            // Read marks may have changed.
            self.events.push(Event::MessagesChanged);
            self.changed();
        }
    }

    fn learn_own_record(&mut self, record: &Record, now: Millis) {
        self.follows
            .learn_heads(&self.device, record, Owner::Me, now);
        if let Some(&head) = record.heads.get(&self.device) {
            self.adopt_own_head(head);
        }
        // Take in what our other windows published; our own entries only grow.
        self.receipts.learn_own(&self.device, record);
    }

    fn load_history(&mut self, entries: Vec<(Vec<u8>, Vec<u8>)>) {
        self.history_pending = false;
        let mut records = Vec::new();
        let mut messages = Vec::new();
        let (peer_key, own_key) = self.entry_keys();
        let (mut peer_entry, mut own_entry) = (None, None);
        for (key, value) in entries {
            if key == peer_key.as_bytes() {
                peer_entry = Some(value);
                continue;
            }
            if key == own_key.as_bytes() {
                own_entry = Some(value);
                continue;
            }
            match self.keys.classify(&key) {
                Some(KeyKind::Message(device, seq)) => {
                    if let Some(envelope) = Envelope::decode(&value, &device, seq) {
                        messages.push(envelope);
                    }
                }
                Some(kind @ (KeyKind::MyRecord | KeyKind::PeerRecord)) => {
                    if let Some(record) = Record::decode(&value) {
                        records.push((kind, record));
                    }
                }
                // Version 2's announcements and shares: not read yet.
                Some(KeyKind::Waiting | KeyKind::Announcement(_) | KeyKind::Share { .. })
                | None => {}
            }
        }
        for (kind, record) in &records {
            match kind {
                KeyKind::PeerRecord => self.learn_peer_record(record, 0),
                _ => self.learn_own_record(record, 0),
            }
        }
        self.log.take_in_order(&mut messages);
        for envelope in messages {
            if envelope.device == self.device {
                // Our own device, from a time whose local state is gone:
                // take its messages back, and never reuse their numbers.
                if self.pair.me.is(&envelope.from) {
                    self.adopt_own_head(envelope.seq);
                    self.insert(envelope);
                }
                continue;
            }
            let owner = if self.pair.me.is(&envelope.from) {
                Owner::Me
            } else if self.pair.peer.is(&envelope.from) {
                Owner::Peer
            } else {
                continue;
            };
            let Some(follow) = self.follows.follow(&self.device, &envelope.device, owner) else {
                continue;
            };
            follow.head = follow.head.max(envelope.seq);
            self.insert(envelope);
        }
        self.follows.advance_all(&self.log);
        self.update_receipts();
        self.directory_from_page(peer_entry.as_deref(), own_entry.as_deref());
        self.changed();
    }
}
