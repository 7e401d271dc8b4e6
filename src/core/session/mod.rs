//! The conversation state machine, without I/O.
//!
//! A [`Session`] is one window's side of a conversation. The caller feeds it
//! events (the user sends, a request answered or failed, the tab was hidden,
//! time passed) and asks it what to do next: [`Session::poll_request`] hands
//! out at most one request at a time and [`Session::poll_timeout`] says when to
//! ask again. Nothing here touches the network, a clock or the browser, so the
//! whole protocol runs the same in a simulator as in Chromium.
//!
//! What it does on the server, in order of priority:
//! 1. a new window with nothing saved first reads the whole store once
//!    (the page with no action) to rebuild the transcript;
//! 2. the outbox: write the oldest pending message under its own key, then
//!    read it back; only then is it *sent*;
//! 3. repair: rewrite any of its unread messages that went missing;
//! 4. fetch messages it knows exist (from a record or a probe) but lacks;
//! 5. publish its record (sequence heads and read receipts) and `__waiting__`;
//! 6. poll: read the colleague's record, then one check in rotation (its own
//!    record, `__waiting__`, one of its unread messages, the next message of
//!    one of the colleague's windows). A poll is two small requests, whatever
//!    the length of the history or the size of the store.
//!
//! Its state is split by concern, each part in its own file:
//! - [`outbox`]: our own messages on their way, their numbers and repairs;
//! - [`follows`]: the other windows we follow and the fetches of their messages;
//! - [`receipts`]: our record and the colleague's, and what has been shown;
//! - [`schedule`]: the request under way, the poll rotation and the backoff;
//! - [`saved`]: what is kept to resume ([`Saved`]) and how far the saved
//!   transcript goes; [`restore`]: saving and resuming a session;
//! - [`answers`]: what each answer teaches the session;
//! - [`events`]: what changed on screen, for [`Session::poll_event`];
//! - [`directory`]: the colleague's directory entry and our own, in the
//!   poll rotation;
//! - [`trust`]: protocol version 2's keys, pinned devices and trust notices
//!   (issue 15: kept and saved, not yet used on the wire).
//!
//! This file holds the [`Session`] that ties them together: what the screen
//! shows, the user's actions, and choosing the next request.

mod answers;
mod directory;
mod events;
mod follows;
mod outbox;
mod receipts;
mod restore;
mod saved;
mod schedule;
#[cfg(test)]
mod tests;
mod trust;
mod urgency;

use super::directory::entry_key;
use super::envelope::{Envelope, MessageView, ENVELOPE_VERSION};
use super::escalation::Escalated;
use super::journal::Change;
use super::log::{Inserted, MessageLog};
use super::participants::{DeviceId, KeyLayout, Pair};
use super::settings::Settings;
use super::types::{Budget, Connection, Delivery, Event, Millis, Outgoing, SendError, Turn};
use crate::imserver::wire::{self, Request};

use directory::Directory;
use events::{Events, Shown};
use follows::Follows;
use outbox::{Outbox, Stage};
use receipts::Receipts;
use saved::Persistence;
use schedule::{Check, Purpose, Schedule, ROTATION};
use trust::Trust;

pub use saved::Saved;

/// One window's side of a conversation. See the module documentation.
#[derive(Debug)]
pub struct Session {
    pair: Pair,
    keys: KeyLayout,
    device: DeviceId,
    settings: Settings,
    /// The server URL, only to size requests.
    server: String,
    log: MessageLog,
    outbox: Outbox,
    follows: Follows,
    receipts: Receipts,
    schedule: Schedule,
    persistence: Persistence,
    events: Events,
    history_pending: bool,
    visible: bool,
    revision: u64,
    repair: bool,
    /// Protocol version 2's keys, once [`Session::use_keys`] gave them.
    trust: Option<Trust>,
    directory: Directory,
}

impl Session {
    /// A window with nothing saved: it will first rebuild the transcript
    /// from the server.
    pub fn new(
        pair: Pair,
        device: DeviceId,
        server: &str,
        settings: Settings,
        seed: u64,
    ) -> Session {
        let keys = pair.keys();
        Session {
            directory: Directory::new(&pair),
            pair,
            keys,
            receipts: Receipts::new(&device),
            device,
            settings: settings.clamped(),
            server: server.to_owned(),
            log: MessageLog::new(),
            outbox: Outbox::new(),
            follows: Follows::default(),
            schedule: Schedule::new(seed),
            persistence: Persistence::default(),
            events: Events::default(),
            history_pending: true,
            visible: true,
            revision: 1,
            repair: true,
            trust: None,
        }
    }

    // ----- what the screen shows -------------------------------------------

    pub fn pair(&self) -> &Pair {
        &self.pair
    }

    pub fn device(&self) -> &DeviceId {
        &self.device
    }

    pub fn keys(&self) -> &KeyLayout {
        &self.keys
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Grows whenever anything the screen shows may have changed.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// What changed on screen since the last call, one [`Event`] at a time;
    /// `None` once all are reported. The first call reports only changes to
    /// the transcript: a screen shows the whole state once, then follows
    /// the events.
    pub fn poll_event(&mut self) -> Option<Event> {
        let now = Shown {
            turn: self.turn(),
            loading: self.history_pending,
            connection: self.connection(),
            unread: self.unread(),
            urgent_unseen: self.urgent_unseen(),
        };
        self.events.pop(now)
    }

    /// Whether a message of ours is still to reach the colleague: being
    /// written, or written but not yet announced (our record and
    /// `__waiting__`).
    pub fn is_telling_peer(&self) -> bool {
        self.outbox.is_telling_peer()
    }

    /// Whether the first load of the transcript from the server is still to come.
    pub fn is_loading_history(&self) -> bool {
        self.history_pending
    }

    pub fn turn(&self) -> Turn {
        if !self.outbox.is_empty() {
            return Turn::Sending;
        }
        match self.log.last() {
            Some(last) if self.is_mine(&last.from) => Turn::Waiting {
                since: last.sent_at,
            },
            _ => Turn::Idle,
        }
    }

    pub fn connection(&self) -> Connection {
        self.schedule.connection()
    }

    /// The transcript in agreed order.
    pub fn messages(&self) -> impl DoubleEndedIterator<Item = MessageView<'_>> + '_ {
        self.log.iter().map(|envelope| self.view(envelope))
    }

    pub fn message_count(&self) -> usize {
        self.log.len()
    }

    /// Whether a message signed `from` is ours. The names as typed are
    /// compared first: the full comparison folds case, and this runs for
    /// every row on screen and for the turn, at every change.
    fn is_mine(&self, from: &str) -> bool {
        from != self.pair.peer.typed() && self.pair.me.is(from)
    }

    fn view<'a>(&'a self, envelope: &'a Envelope) -> MessageView<'a> {
        let mine = self.is_mine(&envelope.from);
        let delivery = mine.then(|| self.delivery(&envelope.device, envelope.seq));
        MessageView {
            envelope,
            mine,
            delivery,
        }
    }

    fn delivery(&self, device: &DeviceId, seq: u64) -> Delivery {
        if self.receipts.is_read(device, seq) {
            Delivery::Read
        } else if device == &self.device && self.outbox.is_pending(seq) {
            Delivery::Pending
        } else {
            Delivery::Sent
        }
    }

    /// Your colleague's messages that have not been shown on a visible screen.
    pub fn unread(&self) -> usize {
        self.follows.unread(self.receipts.shown())
    }

    /// How much of a request a draft would take.
    pub fn budget(&self, text: &str) -> Budget {
        self.budget_of(text, false, None)
    }

    /// How much of a request a draft sent as urgent would take.
    pub fn urgent_budget(&self, text: &str) -> Budget {
        self.budget_of(text, true, None)
    }

    fn budget_of(&self, text: &str, urgent: bool, escalated: Option<Escalated>) -> Budget {
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            from: self.pair.me.typed().to_owned(),
            device: self.device.clone(),
            seq: u64::MAX,
            clock: u64::MAX,
            sent_at: u64::MAX,
            text: text.trim().to_owned(),
            urgent,
            original_at: escalated.as_ref().map(|e| e.sent_at),
            unanswered: escalated.map(|e| e.unanswered),
        };
        let request = Request::Set {
            key: self.keys.message(&self.device, u64::MAX).into_bytes(),
            value: envelope.encode(),
        };
        Budget {
            used: wire::request_url(&self.server, &request).len(),
            limit: wire::MAX_REQUEST_LINE,
        }
    }

    // ----- events ----------------------------------------------------------

    /// The user pressed send. The message shows at once as pending.
    pub fn send(&mut self, text: &str, now: Millis) -> Result<(), SendError> {
        self.send_message(text, false, None, now)
    }

    /// The user sent an urgent message (PROTOCOL.md, "Priority"): on your
    /// turn as any message, and also while you wait for the colleague's
    /// reply (an urgent follow-up), when the turn stays the colleague's.
    pub fn send_urgent(&mut self, text: &str, now: Millis) -> Result<(), SendError> {
        self.send_message(text, true, None, now)
    }

    /// Forwards `text`, the original of an unanswered urgent message, to
    /// this conversation's colleague as an urgent message marked
    /// `escalated` (PROTOCOL.md, "Escalation"); it goes as an urgent
    /// message does, also out of turn.
    pub fn send_escalation(
        &mut self,
        text: &str,
        escalated: Escalated,
        now: Millis,
    ) -> Result<(), SendError> {
        self.send_message(text, true, Some(escalated), now)
    }

    fn send_message(
        &mut self,
        text: &str,
        urgent: bool,
        escalated: Option<Escalated>,
        now: Millis,
    ) -> Result<(), SendError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SendError::Empty);
        }
        if self.history_pending {
            return Err(SendError::Loading);
        }
        match (self.turn(), urgent) {
            (Turn::Sending, _) => return Err(SendError::StillSending),
            (Turn::Waiting { .. }, false) => return Err(SendError::NotYourTurn),
            (Turn::Waiting { .. }, true) | (Turn::Idle, _) => {}
        }
        let budget = self.budget_of(text, urgent, escalated.clone());
        if !budget.fits() {
            // Most characters cost three bytes once percent-encoded.
            return Err(SendError::TooLong {
                over_by: (budget.used - budget.limit).div_ceil(3),
            });
        }
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            from: self.pair.me.typed().to_owned(),
            device: self.device.clone(),
            seq: self.outbox.push(),
            clock: self.log.max_clock() + 1,
            sent_at: now,
            text: text.to_owned(),
            urgent,
            original_at: escalated.as_ref().map(|e| e.sent_at),
            unanswered: escalated.map(|e| e.unanswered),
        };
        self.insert(envelope);
        // From now on a reply is awaited: poll at the waiting pace, not at
        // the idle one scheduled before.
        self.schedule.hurry(now + self.settings.waiting_poll_ms);
        self.changed();
        Ok(())
    }

    /// Whether the screen is visible: only a visible screen marks messages read,
    /// and a hidden one polls more slowly.
    pub fn set_visible(&mut self, visible: bool, now: Millis) {
        if self.visible == visible {
            return;
        }
        self.visible = visible;
        if visible {
            self.update_receipts();
            self.poll_now(now);
        }
        self.changed();
    }

    /// Try the server again now: the tab came back, the network returned, or
    /// the user asked to retry.
    pub fn poll_now(&mut self, now: Millis) {
        self.schedule.poll_now(now);
        self.follows.retry_all(now);
    }

    pub fn set_settings(&mut self, settings: Settings, now: Millis) {
        self.settings = settings.clamped();
        self.schedule.hurry(now + self.poll_interval());
    }

    /// Turns repair off, so tests can show that without it messages get lost.
    #[doc(hidden)]
    pub fn disable_repair(&mut self) {
        self.repair = false;
    }

    /// The next request to run, if one is due and none is under way.
    pub fn poll_request(&mut self, now: Millis) -> Option<Outgoing> {
        if !self.schedule.is_ready(now) {
            return None;
        }
        let purpose = self.next_purpose(now)?;
        let request = self.request_for(&purpose);
        let id = self.schedule.start(purpose);
        Some(Outgoing { id, request })
    }

    /// When to call [`Session::poll_request`] again, if nothing else happens.
    /// `None` while a request is under way: its answer comes first.
    pub fn poll_timeout(&self, now: Millis) -> Option<Millis> {
        if self.schedule.is_busy() {
            return None;
        }
        let urgent = self.history_pending
            || self.outbox.is_urgent()
            || self.receipts.is_dirty()
            || self.schedule.has_queued_check()
            || self.directory_now(now).is_some();
        Some(
            self.schedule
                .wake_at(now, urgent, self.follows.next_retry()),
        )
    }

    // ----- choosing what to do ---------------------------------------------

    fn next_purpose(&mut self, now: Millis) -> Option<Purpose> {
        if self.history_pending {
            return Some(Purpose::LoadHistory);
        }
        if let Some((seq, stage)) = self.outbox.front() {
            return Some(match stage {
                Stage::Write => Purpose::WriteMessage(seq),
                Stage::Verify => Purpose::VerifyMessage(seq),
            });
        }
        if let Some(seq) = self.outbox.next_rewrite() {
            return Some(Purpose::RewriteMessage(seq));
        }
        if let Some(seq) = self.outbox.next_refetch() {
            return Some(Purpose::RefetchOwn(seq));
        }
        if let Some((device, seq)) = self.follows.next_fetch(now) {
            return Some(Purpose::Fetch(device, seq));
        }
        if self.receipts.is_dirty() {
            return Some(Purpose::PublishRecord(self.receipts.ours().encode()));
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
        if let Some(purpose) = self.directory_now(now) {
            return Some(purpose);
        }
        let interval = self.poll_interval();
        if self.schedule.poll_due(now, interval) {
            // While an urgent message of the colleague is unseen, every
            // other check reads our record, so that its repeat alerts stop
            // here within two polls of another device of ours showing it.
            if self.schedule.own_record_turn(self.urgent_unseen() > 0) {
                self.schedule.queue_check(Purpose::ReadOwnRecord);
                return Some(Purpose::PollPeer);
            }
            // One check per poll; skip those with nothing to look at.
            for _ in 0..ROTATION.len() {
                let check = self.schedule.next_check();
                if let Some(purpose) = self.check_purpose(check, now) {
                    self.schedule.queue_check(purpose);
                    break;
                }
            }
            return Some(Purpose::PollPeer);
        }
        None
    }

    fn check_purpose(&mut self, check: Check, now: Millis) -> Option<Purpose> {
        match check {
            Check::Directory => Some(self.directory_check(now)),
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
        }
    }

    fn request_for(&self, purpose: &Purpose) -> Request {
        let get = |key: String| Request::Get {
            key: key.into_bytes(),
        };
        let set = |key: String, value: Vec<u8>| Request::Set {
            key: key.into_bytes(),
            value,
        };
        let own = |seq: u64| {
            self.log
                .get(&self.device, seq)
                .expect("own messages stay in the log")
                .encode()
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
            Purpose::ReadPeerEntry => get(entry_key(&self.pair.peer)),
            Purpose::ReadOwnEntry => get(entry_key(&self.pair.me)),
            Purpose::WriteEntry(entry) => set(entry_key(&self.pair.me), entry.encode()),
        }
    }

    fn poll_interval(&self) -> u64 {
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

    // ----- keeping the parts in step --------------------------------------

    /// Records what a visible screen shows of every other window's messages:
    /// for the colleague's, these are read receipts.
    fn update_receipts(&mut self) {
        if !self.visible {
            return;
        }
        let on_screen = self.follows.haves();
        if self
            .receipts
            .show(&self.device, &on_screen, self.persistence.durable())
        {
            self.changed();
        }
    }

    /// The server knows our messages up to `head`: a window whose local
    /// state was lost must not reuse those numbers, and reads them back.
    fn adopt_own_head(&mut self, head: u64) {
        if !self.outbox.adopt_head(head) {
            return;
        }
        self.receipts.set_own_head(&self.device, head);
        let missing: Vec<u64> = (1..=head)
            .filter(|s| !self.log.contains(&self.device, *s))
            .collect();
        self.outbox.refetch(missing);
        // Our messages up to `head` are no longer pending.
        self.events.push(Event::MessagesChanged);
    }

    /// Adds a message to the transcript.
    fn insert(&mut self, envelope: Envelope) {
        let (device, seq) = (envelope.device.clone(), envelope.seq);
        if self.log.insert(envelope) == Inserted::New {
            // Copied for the journal only when new: messages are read again
            // and again while repairing.
            if let Some(added) = self.log.get(&device, seq) {
                self.persistence.record(Change::Added(added.clone()));
            }
            self.events.push(Event::MessagesChanged);
            self.changed();
        }
    }

    fn changed(&mut self) {
        self.revision += 1;
    }
}
