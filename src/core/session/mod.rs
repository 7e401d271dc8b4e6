//! The conversation state machine, without I/O.
//!
//! A [`Session`] is one window's side of a conversation. The caller feeds it
//! events (the user sends, a request answered or failed, the tab was hidden,
//! time passed) and asks it what to do next: [`Session::poll_request`] hands
//! out at most one request at a time and [`Session::poll_timeout`] says when to
//! ask again. Nothing here touches the network, a clock or the browser, so the
//! whole protocol runs the same in a simulator as in Chromium.
//!
//! Every value it stores is protocol version 2's (PROTOCOL.md, "Version 2:
//! trust"): sealed, signed, and read only once checked.
//!
//! What it does on the server, in order of priority:
//! 1. a new window with nothing saved first reads the whole store once
//!    (the page with no action) to rebuild the transcript;
//! 2. its announcement and the shares of its sender key, each read back;
//! 3. the outbox: write the oldest pending message under its own key, then
//!    read it back; only then is it *sent*;
//! 4. repair: rewrite any of its unread messages that went missing;
//! 5. read the announcements and shares it needs, then messages it knows
//!    exist (from a record or a probe) but lacks;
//! 6. publish its record (sequence heads and read receipts) and `__waiting__`;
//! 7. poll: read the colleague's record, then one check in rotation (its own
//!    record, `__waiting__`, one of its unread messages, the next message of
//!    one of the colleague's windows, one of its own keys). A poll is two small requests, whatever
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
//! - [`trust`]: protocol version 2's keys, pinned devices and trust notices;
//!   [`sealing`]: sealing and opening stored values with them;
//!   [`own_keys`]: our announcement and key shares on the server;
//!   [`learning`]: the announcements and shares we must read first;
//!   [`records`]: the two records' sealed receipts.
//!
//! - [`choose`]: choosing the next request, and the request itself.
//!
//! This file holds the [`Session`] that ties them together: what the screen
//! shows and the user's actions.

mod answers;
mod choose;
mod events;
mod follows;
mod gaps;
mod learning;
mod outbox;
mod own_keys;
mod receipts;
mod records;
mod restore;
mod saved;
mod schedule;
mod sealing;
#[cfg(test)]
mod tests;
mod trust;

use crate::core::small_map::SmallMap;

use super::envelope::{Envelope, ENVELOPE_VERSION};
use super::journal::Change;
use super::log::{Inserted, MessageLog};
use super::participants::{DeviceId, KeyLayout, Pair};
use super::settings::Settings;
use super::trust::keyring::{DeviceKeys, PersonKeys};
use super::trust::{Conversation, OsEntropy, Side};
use super::types::{
    Budget, Connection, Delivery, Event, MessageView, Millis, Outgoing, SendError, TrustNotice,
    Turn,
};
use crate::imserver::wire::{self, Request};

use events::{Events, Shown};
use follows::Follows;
use learning::Learning;
use outbox::Outbox;
use own_keys::{OwnKey, OwnKeys};
use receipts::Receipts;
use saved::Persistence;
use schedule::Schedule;
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
    /// Whether values are checked ([`Session::disable_checks`]); read
    /// through [`Session::checks`].
    checks: bool,
    /// Protocol version 2's keys: made with the session, replaced by
    /// [`Session::use_keys`]; `None` only without a secure random source.
    trust: Option<Trust>,
    /// Our announcement and shares on the server.
    own_keys: OwnKeys,
    /// Announcements and shares to read.
    learning: Learning,
    /// Our own messages as sealed, by number: written again as the same bytes.
    sealed: SmallMap<u64, String>,
    /// How far the notices were reported (their change count).
    notices_reported: u64,
    /// Missing messages on their way to becoming gaps.
    gaps: GapWatch,
}

/// What [`gaps`] keeps between sweeps.
#[derive(Debug, Default)]
struct GapWatch {
    /// Since when each missing message known to exist has been missing.
    missing: SmallMap<(DeviceId, u64), Millis>,
    /// The lost ranges each device's receipt lists.
    lost: SmallMap<DeviceId, Vec<(u64, u64)>>,
    next_sweep: Millis,
}

/// Whether the checks can be turned off at all: only where the test hook
/// [`Session::disable_checks`] is built (the crate's own tests, and those
/// built with the `test-hooks` feature). In the app that ships they are
/// always on, and the paths that read values unchecked are left out of it.
pub(super) const CHECKS_CAN_BE_OFF: bool = cfg!(any(test, feature = "test-hooks"));

impl Session {
    /// Whether values are checked.
    fn checks(&self) -> bool {
        !CHECKS_CAN_BE_OFF || self.checks
    }

    /// A window with nothing saved: it will first rebuild the transcript
    /// from the server.
    pub fn new(
        pair: Pair,
        device: DeviceId,
        server: &str,
        settings: Settings,
        seed: u64,
    ) -> Session {
        let conversation = Conversation::new(&pair.me, &pair.peer, None);
        let keys = KeyLayout::v2(&pair, conversation.prefix());
        let made = PersonKeys::generate(&mut OsEntropy)
            .and_then(|p| Ok((p, DeviceKeys::generate(&mut OsEntropy)?)))
            .ok();
        let trust =
            made.map(|(person, device_keys)| Trust::new(&pair, &device, person, device_keys));
        let mut own_keys = OwnKeys::default();
        own_keys.add(OwnKey::Announcement);
        Session {
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
            checks: true,
            trust,
            own_keys,
            learning: Learning::default(),
            sealed: SmallMap::new(),
            notices_reported: 0,
            gaps: GapWatch::default(),
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
        let notices = self.trust.as_ref().map_or(0, Trust::notice_changes);
        if notices != self.notices_reported {
            self.notices_reported = notices;
            self.events.push(Event::NoticesChanged);
        }
        let now = Shown {
            turn: self.turn(),
            loading: self.history_pending,
            connection: self.connection(),
            unread: self.unread(),
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
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            from: self.pair.me.typed().to_owned(),
            device: self.device.clone(),
            seq: u64::MAX,
            clock: u64::MAX,
            sent_at: u64::MAX,
            text: text.trim().to_owned(),
        };
        let request = Request::Set {
            key: self.keys.message(&self.device, u64::MAX).into_bytes(),
            value: Vec::new(),
        };
        // Base64url: a letter takes one byte of the request, a digit, `-`
        // or `_` three; 12 of 64 characters are not letters, and a margin
        // covers a sealed text with more of them than that.
        let chars = sealing::sealed_len(&envelope);
        Budget {
            used: wire::request_url(&self.server, &request).len() + chars + chars * 7 / 16,
            limit: wire::MAX_REQUEST_LINE,
        }
    }

    /// The request line of our message `seq`, sealed as `value`.
    fn message_line(&self, seq: u64, value: &str) -> usize {
        let request = Request::Set {
            key: self.keys.message(&self.device, seq).into_bytes(),
            value: value.as_bytes().to_vec(),
        };
        wire::request_url(&self.server, &request).len()
    }

    // ----- trust (protocol version 2) --------------------------------------

    /// Gives the session its person's keys (per browser and name) and its
    /// device's keys and pins, as loaded or made by the caller.
    pub fn use_keys(&mut self, person: PersonKeys, device: DeviceKeys) {
        let mut trust = Trust::new(&self.pair, &self.device, person, device);
        trust.checks = self.checks;
        trust.keep_notices(self.notices().to_vec());
        // Every device we trust gets our sender key.
        let pinned: Vec<DeviceId> = trust
            .device
            .pins
            .on_side(Side::First)
            .chain(trust.device.pins.on_side(Side::Second))
            .map(|(d, _)| d.clone())
            .filter(|d| *d != self.device)
            .collect();
        self.trust = Some(trust);
        for device in pinned {
            self.own_keys.add(OwnKey::Share(device));
        }
        // Sealed under other keys: sealed again when needed.
        self.sealed.clear();
        self.receipts.mark_dirty();
        self.changed();
    }

    /// Turns the trust checks off (signatures of announcements against
    /// pins, sides and names, receipts from the colleague's devices only,
    /// tamper notices): values that fail them are believed, and plain
    /// version 1 values are read. Only for tests that show what the checks
    /// stop.
    #[doc(hidden)]
    #[cfg(any(test, feature = "test-hooks"))]
    pub fn disable_checks(&mut self) {
        self.checks = false;
        if let Some(trust) = &mut self.trust {
            trust.checks = false;
        }
    }

    /// The person's keys to save (per browser and normal name).
    pub fn person_keys(&self) -> Option<&PersonKeys> {
        self.trust.as_ref().map(Trust::person)
    }

    /// The device's keys and pins to save.
    pub fn device_keys(&self) -> Option<&DeviceKeys> {
        self.trust.as_ref().map(Trust::device)
    }

    /// Grows whenever [`Session::person_keys`] or [`Session::device_keys`]
    /// changed and should be saved again.
    pub fn keys_revision(&self) -> u64 {
        self.trust.as_ref().map_or(0, Trust::revision)
    }

    /// The trust notices to show, in the order they were learnt.
    pub fn notices(&self) -> &[TrustNotice] {
        self.trust.as_ref().map_or(&[], Trust::notices)
    }

    /// The conversation's safety number (twelve groups of five digits),
    /// once the colleague's identity key is known.
    pub fn safety_number(&self) -> Option<String> {
        self.trust.as_ref()?.safety_number(&self.pair)
    }

    // ----- events ----------------------------------------------------------

    /// The user pressed send. The message shows at once as pending.
    pub fn send(&mut self, text: &str, now: Millis) -> Result<(), SendError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SendError::Empty);
        }
        if self.history_pending {
            return Err(SendError::Loading);
        }
        match self.turn() {
            Turn::Sending => return Err(SendError::StillSending),
            Turn::Waiting { .. } => return Err(SendError::NotYourTurn),
            Turn::Idle => {}
        }
        let budget = self.budget(text);
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
            seq: self.outbox.next_seq(),
            clock: self.log.max_clock() + 1,
            sent_at: now,
            text: text.to_owned(),
        };
        // Sealed once, here: retries and repairs write the same bytes.
        let trust = self.trust.as_ref().ok_or(SendError::CannotSeal)?;
        let mut sealed = None;
        for _ in 0..4 {
            let text = trust.seal_message(&envelope).ok_or(SendError::CannotSeal)?;
            let line = self.message_line(envelope.seq, &text);
            if line <= wire::MAX_REQUEST_LINE {
                sealed = Some(text);
                break;
            }
            sealed = None;
            if line > wire::MAX_REQUEST_LINE + 64 {
                return Err(SendError::TooLong {
                    over_by: (line - wire::MAX_REQUEST_LINE).div_ceil(3),
                });
            }
        }
        let sealed = sealed.ok_or(SendError::TooLong { over_by: 22 })?;
        let seq = self.outbox.push();
        self.sealed.insert(seq, sealed);
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
        self.learning.retry_all(now);
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
            || self.own_keys.is_urgent()
            || self.outbox.is_urgent()
            || self.receipts.is_dirty()
            || self.schedule.has_queued_check();
        let fetch_at = match (
            self.follows.next_retry(&self.log),
            self.learning.next_retry(),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Some(self.schedule.wake_at(now, urgent, fetch_at))
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
