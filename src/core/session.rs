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

use std::collections::VecDeque;
use std::fmt;

use super::envelope::{merge_max, Envelope, Record, ENVELOPE_VERSION};
use super::journal::Change;
use super::json::{self, json_object, FromJson, ToJson, Value, Writer};
use super::log::{Inserted, MessageLog};
use super::participants::{DeviceId, KeyKind, KeyLayout, Name, Pair};
use super::settings::Settings;
use super::small_map::{SmallMap, SmallSet};
use crate::imserver::client::{Answer, ImError};
use crate::imserver::wire::{self, Request};

/// Milliseconds since 1970 (the caller's clock).
pub type Millis = u64;

/// The version of [`Saved`] written by this code.
const SAVED_VERSION: u32 = 1;

/// Whose turn it is, as the clinician sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// You may send.
    Idle,
    /// Your message is being stored.
    Sending,
    /// You sent last (at `since`); your colleague's reply is awaited.
    Waiting { since: Millis },
}

/// How far one of your own messages has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Queued, not yet known to be stored.
    Pending,
    /// Stored: read back from the server.
    Sent,
    /// Your colleague's screen has shown it.
    Read,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Sent => "sent",
            Delivery::Read => "read",
        }
    }
}

/// Whether the server is answering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    Online,
    /// Requests have been failing; `reason` says why, in plain words.
    Offline {
        reason: String,
        since: Millis,
    },
}

/// Why a message was not accepted for sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    Empty,
    /// A new window is still reading the conversation from the server.
    Loading,
    /// The previous message is still being stored.
    StillSending,
    /// You sent last: wait for your colleague's reply.
    NotYourTurn,
    /// The message does not fit in one request to the server.
    TooLong {
        over_by: usize,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Empty => f.write_str("Type a message first."),
            SendError::Loading => f.write_str("Still loading the conversation from the server: try again in a moment."),
            SendError::StillSending => f.write_str("Your previous message is still being sent."),
            SendError::NotYourTurn => f.write_str("It is your colleague's turn: wait for their reply."),
            SendError::TooLong { over_by } => write!(
                f,
                "This message is too long for the server. Shorten it (by about {over_by} characters) or split it into two."
            ),
        }
    }
}

impl std::error::Error for SendError {}

/// How much of the server's request limit a draft would use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of request line the message would need.
    pub used: usize,
    /// The most a request line may hold.
    pub limit: usize,
}

impl Budget {
    pub fn fits(self) -> bool {
        self.used <= self.limit
    }
}

/// One message as the screen shows it.
#[derive(Clone, Copy, Debug)]
pub struct MessageView<'a> {
    pub envelope: &'a Envelope,
    /// Sent by you (from any of your windows).
    pub mine: bool,
    /// For your own messages: how far it got.
    pub delivery: Option<Delivery>,
}

/// A request for the caller to run, and the tag to answer it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub id: u64,
    pub request: Request,
}

/// Who a followed device belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    /// Another window of yours.
    Me,
    Peer,
}

/// What is known of another window's messages.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Follow {
    owner: Owner,
    /// The highest number known to exist.
    head: u64,
    /// Messages 1..=have are in the log (or known lost for good).
    /// Not saved: recounted on restore.
    have: u64,
    /// Do not ask again for a missing message before this time. Not saved.
    retry_at: Millis,
}

/// In JSON: `"Me"` or `"Peer"`.
impl ToJson for Owner {
    fn write_json(&self, out: &mut Writer) {
        out.string(match self {
            Owner::Me => "Me",
            Owner::Peer => "Peer",
        });
    }
}

impl FromJson for Owner {
    fn from_json(value: &Value) -> Result<Owner, json::Error> {
        match String::from_json(value)?.as_str() {
            "Me" => Ok(Owner::Me),
            "Peer" => Ok(Owner::Peer),
            _ => Err(json::Error::new("Expected Me or Peer.")),
        }
    }
}

// In JSON: `{"owner":…,"head":…}`.
json_object!(Follow { owner: "owner", head: "head" } unsaved { have: 0, retry_at: 0 });

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Write,
    Verify,
}

/// Why a request was made, so its answer can be understood.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Purpose {
    LoadHistory,
    WriteMessage(u64),
    VerifyMessage(u64),
    RewriteMessage(u64),
    Fetch(DeviceId, u64),
    PublishRecord(Vec<u8>),
    WriteWaiting(Vec<u8>),
    PollPeer,
    ReadOwnRecord,
    ReadWaiting,
    CheckOwn(u64),
    RefetchOwn(u64),
}

/// The checks one poll may make after reading the colleague's record.
const ROTATION: [Check; 4] = [
    Check::OwnRecord,
    Check::Waiting,
    Check::OwnUnread,
    Check::Probe,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    OwnRecord,
    Waiting,
    OwnUnread,
    Probe,
}

/// What a window must keep to resume after a reload or a crash, apart from
/// the transcript: small, so it can be saved after every change and before
/// every request. The transcript ([`Session::unsaved_transcript`], appended
/// to a [`super::journal`]) may be saved less often: whatever it lacks on
/// restore is fetched again.
#[derive(Clone, Debug, PartialEq)]
pub struct Saved {
    version: u32,
    pair: Pair,
    device: DeviceId,
    next_seq: u64,
    sent_head: u64,
    /// Own messages the saved transcript may not hold yet, in full.
    recent_own: Vec<Envelope>,
    /// Those of them still in the outbox.
    outbox: Vec<u64>,
    /// Whether the first load of the history had not happened yet (may be
    /// left out of the JSON: `false`).
    history_pending: bool,
    follows: SmallMap<DeviceId, Follow>,
    peer_record: Record,
    record: Record,
}

// In JSON, an object with the field names above, in that order.
json_object!(Saved {
    version: "version",
    pair: "pair",
    device: "device",
    next_seq: "next_seq",
    sent_head: "sent_head",
    recent_own: "recent_own",
    outbox: "outbox",
    history_pending: "history_pending" = false,
    follows: "follows",
    peer_record: "peer_record",
    record: "record",
});

impl Saved {
    pub fn pair(&self) -> &Pair {
        &self.pair
    }

    pub fn device(&self) -> &DeviceId {
        &self.device
    }
}

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
    next_seq: u64,
    /// Highest own message read back from the server (all before it were too).
    sent_head: u64,
    outbox: VecDeque<(u64, Stage)>,
    rewrite: SmallSet<u64>,
    /// Own messages to read back because the saved transcript lacked them.
    refetch_own: SmallSet<u64>,
    /// What happened to the transcript since it was last saved, in order.
    unsaved: Vec<Change>,
    /// Per device, how far the last saved transcript holds its messages.
    durable: SmallMap<DeviceId, u64>,
    /// Per device, how far a visible screen has shown its messages (what
    /// is above it counts as unread).
    shown: SmallMap<DeviceId, u64>,
    follows: SmallMap<DeviceId, Follow>,
    /// The colleague's record, merged from every read (numbers only grow).
    peer_record: Record,
    /// What our record on the server should say.
    record: Record,
    record_dirty: bool,
    waiting_dirty: bool,
    history_pending: bool,
    visible: bool,
    in_flight: Option<(u64, Purpose)>,
    next_id: u64,
    /// The check chosen by the last poll, to run after the colleague's record.
    queued_check: Option<Purpose>,
    rotation: usize,
    unread_cursor: u64,
    probe_cursor: Option<DeviceId>,
    next_poll_at: Millis,
    failures: u32,
    retry_at: Millis,
    offline: Option<(String, Millis)>,
    rng: u64,
    revision: u64,
    repair: bool,
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
            pair,
            keys,
            device: device.clone(),
            settings: settings.clamped(),
            server: server.to_owned(),
            log: MessageLog::new(),
            next_seq: 1,
            sent_head: 0,
            outbox: VecDeque::new(),
            rewrite: SmallSet::new(),
            refetch_own: SmallSet::new(),
            unsaved: Vec::new(),
            durable: SmallMap::new(),
            shown: SmallMap::new(),
            follows: SmallMap::new(),
            peer_record: Record::default(),
            // Announce this device at once, so that senders keep repairing
            // their messages until it has them too.
            record: Record {
                heads: SmallMap::new(),
                seen: {
                    let mut seen = SmallMap::new();
                    seen.insert(device.clone(), SmallMap::new());
                    seen
                },
            },
            record_dirty: true,
            waiting_dirty: false,
            history_pending: true,
            visible: true,
            in_flight: None,
            next_id: 1,
            queued_check: None,
            rotation: 0,
            unread_cursor: 0,
            probe_cursor: None,
            next_poll_at: 0,
            failures: 0,
            retry_at: 0,
            offline: None,
            rng: seed | 1,
            revision: 1,
            repair: true,
        }
    }

    /// A window resuming from what it saved. Requests that were under way
    /// are forgotten; anything they might not have done is done again.
    pub fn restore(
        saved: Saved,
        transcript: MessageLog,
        server: &str,
        settings: Settings,
        seed: u64,
    ) -> Session {
        let mut session = Session::new(saved.pair, saved.device, server, settings, seed);
        session.history_pending = saved.history_pending;
        session.sent_head = saved.sent_head;
        session.peer_record = saved.peer_record;
        session.record.merge(&saved.record);
        session.follows = saved.follows;
        for follow in session.follows.values_mut() {
            // Recounted from the transcript about to be loaded.
            follow.have = 0;
            follow.retry_at = 0;
        }
        session.log = transcript;
        let devices: Vec<DeviceId> = session.follows.keys().cloned().collect();
        for device in devices {
            session.advance(&device);
        }
        // What the saved transcript holds is durable (own messages up to the
        // highest number in it); the rest is not yet.
        let device = session.device.clone();
        let mut highest = session
            .log
            .iter()
            .filter(|e| e.device == device)
            .map(|e| e.seq)
            .max()
            .unwrap_or(0);
        session.next_seq = highest + 1;
        session.transcript_saved();
        for envelope in saved.recent_own.into_iter().filter(|e| e.device == device) {
            highest = highest.max(envelope.seq);
            session.insert(envelope);
        }
        session.outbox = saved
            .outbox
            .into_iter()
            .filter(|seq| session.log.contains(&session.device, *seq))
            .map(|seq| (seq, Stage::Write))
            .collect();
        // Never reuse a number that may already be on the server.
        session.next_seq = saved.next_seq.max(highest + 1);
        // Own messages the saved transcript is too old to hold: read them back.
        for seq in 1..=session.sent_head {
            if !session.log.contains(&session.device, seq) {
                session.refetch_own.insert(seq);
            }
        }
        session.record_dirty = true;
        session
    }

    /// What to keep so that [`Session::restore`] can resume.
    pub fn saved(&self) -> Saved {
        Saved {
            version: SAVED_VERSION,
            pair: self.pair.clone(),
            device: self.device.clone(),
            next_seq: self.next_seq,
            sent_head: self.sent_head,
            recent_own: self.unsaved_own().cloned().collect(),
            outbox: self.outbox.iter().map(|(seq, _)| *seq).collect(),
            history_pending: self.history_pending,
            follows: self.follows.clone(),
            peer_record: self.peer_record.clone(),
            record: self.record.clone(),
        }
    }

    /// Own messages the saved transcript may not hold yet, by number. Every
    /// own message is numbered below `next_seq`, so this looks up only the
    /// numbers after the saved ones, never the whole transcript: it runs at
    /// every change.
    fn unsaved_own(&self) -> impl Iterator<Item = &Envelope> + '_ {
        let saved = self.durable.get(&self.device).copied().unwrap_or(0);
        (saved + 1..self.next_seq).filter_map(|seq| self.log.get(&self.device, seq))
    }

    /// What happened to the transcript since it was last saved, to append
    /// to the saved journal (see [`super::journal`]).
    pub fn unsaved_transcript(&self) -> &[Change] {
        &self.unsaved
    }

    /// Tells the session that [`Session::unsaved_transcript`] was just
    /// saved: only what a saved transcript holds is ever acknowledged to the
    /// others (they stop repairing what we acknowledge), and own messages are
    /// kept in [`Saved`] until then.
    pub fn transcript_saved(&mut self) {
        self.unsaved.clear();
        let mut durable: SmallMap<_, _> = self
            .follows
            .iter()
            .map(|(d, f)| (d.clone(), f.have))
            .collect();
        // Every own message in the transcript was just saved, and each is
        // numbered below `next_seq`.
        durable.insert(self.device.clone(), self.next_seq.saturating_sub(1));
        self.durable = durable;
        self.update_receipts();
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

    /// Whether a message of ours is still to reach the colleague: being
    /// written, or written but not yet announced (our record and
    /// `__waiting__`).
    pub fn is_telling_peer(&self) -> bool {
        !self.outbox.is_empty() || self.waiting_dirty
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
        match &self.offline {
            Some((reason, since)) => Connection::Offline {
                reason: reason.clone(),
                since: *since,
            },
            None => Connection::Online,
        }
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
        if self
            .peer_record
            .seen
            .keys()
            .any(|reader| self.peer_record.seen_by(reader, device) >= seq)
        {
            Delivery::Read
        } else if device == &self.device
            && (seq > self.sent_head || self.outbox.iter().any(|(s, _)| *s == seq))
        {
            Delivery::Pending
        } else {
            Delivery::Sent
        }
    }

    /// Your colleague's messages that have not been shown on a visible screen.
    pub fn unread(&self) -> usize {
        self.follows
            .iter()
            .filter(|(_, f)| f.owner == Owner::Peer)
            .map(|(device, f)| {
                f.have
                    .saturating_sub(self.shown.get(device).copied().unwrap_or(0))
                    as usize
            })
            .sum()
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
            seq: self.next_seq,
            clock: self.log.max_clock() + 1,
            sent_at: now,
            text: text.to_owned(),
        };
        self.outbox.push_back((envelope.seq, Stage::Write));
        self.next_seq += 1;
        self.insert(envelope);
        // From now on a reply is awaited: poll at the waiting pace, not at
        // the idle one scheduled before.
        self.next_poll_at = self.next_poll_at.min(now + self.settings.waiting_poll_ms);
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
        self.retry_at = now;
        self.next_poll_at = now;
        for follow in self.follows.values_mut() {
            follow.retry_at = now;
        }
    }

    pub fn set_settings(&mut self, settings: Settings, now: Millis) {
        self.settings = settings.clamped();
        self.next_poll_at = self.next_poll_at.min(now + self.poll_interval());
    }

    /// Turns repair off, so tests can show that without it messages get lost.
    #[doc(hidden)]
    pub fn disable_repair(&mut self) {
        self.repair = false;
    }

    /// The next request to run, if one is due and none is under way.
    pub fn poll_request(&mut self, now: Millis) -> Option<Outgoing> {
        if self.in_flight.is_some() || now < self.retry_at {
            return None;
        }
        let purpose = self.next_purpose(now)?;
        let request = self.request_for(&purpose);
        let id = self.next_id;
        self.next_id += 1;
        self.in_flight = Some((id, purpose));
        Some(Outgoing { id, request })
    }

    /// When to call [`Session::poll_request`] again, if nothing else happens.
    /// `None` while a request is under way: its answer comes first.
    pub fn poll_timeout(&self, now: Millis) -> Option<Millis> {
        if self.in_flight.is_some() {
            return None;
        }
        let urgent = self.history_pending
            || !self.outbox.is_empty()
            || !self.rewrite.is_empty()
            || !self.refetch_own.is_empty()
            || self.record_dirty
            || (self.waiting_dirty && self.outbox.is_empty())
            || self.queued_check.is_some();
        let mut at = if urgent { now } else { self.next_poll_at };
        for follow in self.follows.values().filter(|f| f.have < f.head) {
            at = at.min(follow.retry_at);
        }
        Some(at.max(self.retry_at).max(now))
    }

    /// The answer to request `id`. Answers to requests from before a
    /// [`Session::restore`] are ignored.
    pub fn handle_answer(&mut self, id: u64, answer: Result<Answer, ImError>, now: Millis) {
        let Some((expected, purpose)) = self.in_flight.take() else {
            return;
        };
        if expected != id {
            self.in_flight = Some((expected, purpose));
            return;
        }
        match answer {
            Ok(answer) => {
                self.failures = 0;
                self.retry_at = now;
                if self.offline.take().is_some() {
                    self.changed();
                }
                self.handle_success(purpose, answer, now);
            }
            Err(error) => self.handle_failure(purpose, error, now),
        }
    }

    // ----- choosing what to do ---------------------------------------------

    fn next_purpose(&mut self, now: Millis) -> Option<Purpose> {
        if self.history_pending {
            return Some(Purpose::LoadHistory);
        }
        if let Some(&(seq, stage)) = self.outbox.front() {
            return Some(match stage {
                Stage::Write => Purpose::WriteMessage(seq),
                Stage::Verify => Purpose::VerifyMessage(seq),
            });
        }
        if let Some(&seq) = self.rewrite.first() {
            return Some(Purpose::RewriteMessage(seq));
        }
        if let Some(&seq) = self.refetch_own.first() {
            return Some(Purpose::RefetchOwn(seq));
        }
        if let Some((device, follow)) = self
            .follows
            .iter()
            .find(|(_, f)| f.have < f.head && f.retry_at <= now)
        {
            return Some(Purpose::Fetch(device.clone(), follow.have + 1));
        }
        if self.record_dirty {
            return Some(Purpose::PublishRecord(self.record.encode()));
        }
        if self.waiting_dirty {
            match self.log.last() {
                Some(last) => return Some(Purpose::WriteWaiting(last.from.clone().into_bytes())),
                None => self.waiting_dirty = false,
            }
        }
        if let Some(purpose) = self.queued_check.take() {
            return Some(purpose);
        }
        if now >= self.next_poll_at {
            self.next_poll_at = now + self.poll_interval();
            // One check per poll; skip those with nothing to look at.
            for _ in 0..ROTATION.len() {
                let check = ROTATION[self.rotation % ROTATION.len()];
                self.rotation += 1;
                if let Some(purpose) = self.check_purpose(check) {
                    self.queued_check = Some(purpose);
                    break;
                }
            }
            return Some(Purpose::PollPeer);
        }
        None
    }

    fn check_purpose(&mut self, check: Check) -> Option<Purpose> {
        match check {
            Check::OwnRecord => Some(Purpose::ReadOwnRecord),
            Check::Waiting => {
                (self.outbox.is_empty() && !self.log.is_empty()).then_some(Purpose::ReadWaiting)
            }
            Check::OwnUnread => {
                let floor = self.shown_everywhere();
                let unread: Vec<u64> = (floor + 1..=self.sent_head)
                    .filter(|s| self.log.contains(&self.device, *s))
                    .collect();
                let seq = unread
                    .iter()
                    .copied()
                    .find(|s| *s > self.unread_cursor)
                    .or(unread.first().copied())?;
                self.unread_cursor = seq;
                Some(Purpose::CheckOwn(seq))
            }
            Check::Probe => {
                let after = self.probe_cursor.clone();
                let (next, follow) = self
                    .follows
                    .iter()
                    .find(|(d, _)| after.as_ref().is_none_or(|a| *d > a))
                    .or_else(|| self.follows.iter().next())?;
                let (next, seq) = (next.clone(), follow.have + 1);
                self.probe_cursor = Some(next.clone());
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

    // ----- understanding answers -------------------------------------------

    fn handle_failure(&mut self, purpose: Purpose, error: ImError, now: Millis) {
        self.failures = self.failures.saturating_add(1);
        let exponent = (self.failures - 1).min(20);
        let full = self
            .settings
            .backoff_first_ms
            .saturating_mul(1 << exponent)
            .min(self.settings.backoff_max_ms);
        // Full jitter on the upper half, so a ward of clients does not retry in step.
        let jitter = self.next_random() % (full / 2 + 1);
        self.retry_at = now + full / 2 + jitter;
        if self.failures >= 2 && self.offline.is_none() {
            self.offline = Some((error.to_string(), now));
            self.changed();
        } else if let Some((reason, _)) = &mut self.offline {
            *reason = error.to_string();
        }
        match purpose {
            // A page that cannot be read (junk from other programs) is not
            // worth retrying: the records and probes rebuild the transcript.
            Purpose::LoadHistory if matches!(error, ImError::Malformed(_)) => {
                self.history_pending = false
            }
            // A write that timed out may or may not have landed: read it back.
            Purpose::WriteMessage(seq) => self.set_stage(seq, Stage::Verify),
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
            Purpose::WriteMessage(seq) => self.set_stage(seq, Stage::Verify),
            Purpose::VerifyMessage(seq) => self.verified(seq, value.as_deref()),
            Purpose::RewriteMessage(seq) => {
                self.rewrite.remove(&seq);
            }
            Purpose::RefetchOwn(seq) => {
                // Gone from the server too: nothing more can be done for it.
                self.refetch_own.remove(&seq);
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
                    self.rewrite.insert(seq);
                }
            }
            Purpose::Fetch(device, seq) => self.fetched(device, seq, value.as_deref(), now),
            Purpose::PublishRecord(value) => {
                if value == self.record.encode() {
                    self.record_dirty = false;
                }
            }
            Purpose::WriteWaiting(value) => {
                if self.log.last().map(|l| l.from.as_bytes()) == Some(&value[..]) {
                    self.waiting_dirty = false;
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
                let expected = self.log.last().map(|l| l.from.as_bytes().to_vec());
                if expected.is_some() && value != expected {
                    self.waiting_dirty = true;
                }
            }
        }
    }

    fn set_stage(&mut self, seq: u64, stage: Stage) {
        if let Some(entry) = self.outbox.iter_mut().find(|(s, _)| *s == seq) {
            entry.1 = stage;
        }
    }

    fn verified(&mut self, seq: u64, stored: Option<&[u8]>) {
        let Some(ours) = self.log.get(&self.device, seq).cloned() else {
            return;
        };
        match stored {
            Some(bytes) if bytes == ours.encode() => {
                self.outbox.retain(|(s, _)| *s != seq);
                self.sent_head = self.sent_head.max(seq);
                self.record
                    .heads
                    .insert(self.device.clone(), self.sent_head);
                self.record_dirty = true;
                self.waiting_dirty = true;
                self.changed();
            }
            Some(bytes) if Envelope::decode(bytes, &self.device, seq).is_some() => {
                // Another window wrote a different message under our number:
                // it shares our device id. Renumber ours and write it again.
                self.log.remove(&self.device, seq);
                self.unsaved.push(Change::Removed(self.device.clone(), seq));
                let mut renumbered = ours;
                renumbered.seq = self.next_seq;
                self.next_seq += 1;
                self.outbox.retain(|(s, _)| *s != seq);
                self.outbox.push_front((renumbered.seq, Stage::Write));
                self.insert(renumbered);
                self.changed();
            }
            _ => self.set_stage(seq, Stage::Write),
        }
    }

    fn fetched(&mut self, device: DeviceId, seq: u64, value: Option<&[u8]>, now: Millis) {
        let interval = self.poll_interval();
        let Some(follow) = self.follows.get(&device) else {
            return;
        };
        let owner = follow.owner;
        let owner_name = self.owner_name(owner).clone();
        let envelope = value
            .and_then(|v| Envelope::decode(v, &device, seq))
            .filter(|e| owner_name.is(&e.from));
        match envelope {
            Some(envelope) => {
                self.insert(envelope);
                let follow = self.follows.get_mut(&device).expect("checked above");
                follow.head = follow.head.max(seq);
                self.advance(&device);
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

    /// Moves `have` past every message of `device` already in the log.
    fn advance(&mut self, device: &DeviceId) {
        if let Some(follow) = self.follows.get_mut(device) {
            while self.log.contains(device, follow.have + 1) {
                follow.have += 1;
            }
            follow.head = follow.head.max(follow.have);
        }
    }

    fn follow(&mut self, device: &DeviceId, owner: Owner) -> Option<&mut Follow> {
        if device == &self.device {
            return None;
        }
        let follow = self.follows.get_or_insert_with(device.clone(), || Follow {
            owner,
            head: 0,
            have: 0,
            retry_at: 0,
        });
        // A device is followed for whoever first claimed it.
        (follow.owner == owner).then_some(follow)
    }

    /// Follows the devices a record lists, up to the heads it gives.
    fn learn_heads(&mut self, record: &Record, owner: Owner, now: Millis) {
        for (device, &head) in &record.heads {
            if let Some(follow) = self.follow(device, owner) {
                if head > follow.head {
                    follow.head = head;
                    follow.retry_at = now;
                }
            }
        }
    }

    fn learn_peer_record(&mut self, record: &Record, now: Millis) {
        self.learn_heads(record, Owner::Peer, now);
        if self.peer_record.merge(record) {
            self.changed();
        }
    }

    fn learn_own_record(&mut self, record: &Record, now: Millis) {
        self.learn_heads(record, Owner::Me, now);
        if let Some(&head) = record.heads.get(&self.device) {
            self.adopt_own_head(head);
        }
        // Take in what our other windows published; our own entries only grow.
        let mut siblings = record.clone();
        siblings.heads.remove(&self.device);
        siblings.seen.remove(&self.device);
        self.record.merge(&siblings);
        if !self.record.is_covered_by(record) {
            self.record_dirty = true;
        }
    }

    /// The highest of our own messages that every other known window (the
    /// colleague's and our own) has shown: those above it are still checked
    /// and repaired.
    fn shown_everywhere(&self) -> u64 {
        let me = &self.device;
        self.peer_record
            .devices()
            .chain(self.record.devices())
            .filter(|d| *d != me)
            .map(|reader| {
                self.peer_record
                    .seen_by(reader, me)
                    .max(self.record.seen_by(reader, me))
            })
            .min()
            .unwrap_or(0)
    }

    /// Records what a visible screen shows of every other window's messages:
    /// for the colleague's, these are read receipts.
    fn update_receipts(&mut self) {
        if !self.visible {
            return;
        }
        let on_screen: SmallMap<_, _> = self
            .follows
            .iter()
            .map(|(d, f)| (d.clone(), f.have))
            .collect();
        if merge_max(&mut self.shown, &on_screen) {
            self.changed();
        }
        let shown: SmallMap<_, _> = self
            .follows
            .iter()
            .map(|(d, f)| {
                (
                    d.clone(),
                    f.have.min(self.durable.get(d).copied().unwrap_or(0)),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        if merge_max(
            self.record
                .seen
                .get_or_insert_with(self.device.clone(), SmallMap::new),
            &shown,
        ) {
            self.record_dirty = true;
            self.changed();
        }
    }

    fn load_history(&mut self, entries: Vec<(Vec<u8>, Vec<u8>)>) {
        self.history_pending = false;
        let mut records = Vec::new();
        let mut messages = Vec::new();
        for (key, value) in entries {
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
                Some(KeyKind::Waiting) | None => {}
            }
        }
        for (kind, record) in &records {
            match kind {
                KeyKind::PeerRecord => self.learn_peer_record(record, 0),
                _ => self.learn_own_record(record, 0),
            }
        }
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
            let device = envelope.device.clone();
            let seq = envelope.seq;
            let Some(follow) = self.follow(&device, owner) else {
                continue;
            };
            follow.head = follow.head.max(seq);
            self.insert(envelope);
        }
        let devices: Vec<DeviceId> = self.follows.keys().cloned().collect();
        for device in devices {
            self.advance(&device);
        }
        self.update_receipts();
        self.changed();
    }

    /// The server knows our messages up to `head`: a window whose local
    /// state was lost must not reuse those numbers, and reads them back.
    fn adopt_own_head(&mut self, head: u64) {
        if head <= self.sent_head {
            return;
        }
        self.sent_head = head;
        self.next_seq = self.next_seq.max(head + 1);
        self.record.heads.insert(self.device.clone(), head);
        let missing: Vec<u64> = (1..=head)
            .filter(|s| !self.log.contains(&self.device, *s))
            .collect();
        self.refetch_own.extend(missing);
    }

    /// Adds a message to the transcript.
    fn insert(&mut self, envelope: Envelope) {
        let (device, seq) = (envelope.device.clone(), envelope.seq);
        if self.log.insert(envelope) == Inserted::New {
            // Copied for the journal only when new: messages are read again
            // and again while repairing.
            if let Some(added) = self.log.get(&device, seq) {
                self.unsaved.push(Change::Added(added.clone()));
            }
            self.changed();
        }
    }

    fn changed(&mut self) {
        self.revision += 1;
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: plenty for jitter, and reproducible from the seed.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(me: &str, peer: &str, device: &str) -> Session {
        let pair = Pair::parse(me, peer).unwrap();
        Session::new(
            pair,
            DeviceId::parse(device).unwrap(),
            "IMserver.php",
            Settings::default(),
            7,
        )
    }

    fn through_json<T: ToJson + FromJson>(value: &T) -> T {
        json::from_str(&json::to_string(value)).unwrap()
    }

    #[test]
    fn a_pending_message_survives_a_reload_without_a_saved_transcript() {
        let mut alice = session("Alice", "Bob", "aaaaaaaaaa");
        alice.history_pending = false;
        alice.send("bed 4 desaturating", 1_000).unwrap();
        assert_eq!(alice.turn(), Turn::Sending);
        // Reloaded twice, the transcript never saved in between.
        for seed in [8, 9] {
            alice = Session::restore(
                through_json(&alice.saved()),
                MessageLog::new(),
                "IMserver.php",
                Settings::default(),
                seed,
            );
        }
        let texts: Vec<_> = alice
            .messages()
            .map(|m| (m.envelope.text.clone(), m.delivery))
            .collect();
        assert_eq!(
            texts,
            vec![("bed 4 desaturating".to_owned(), Some(Delivery::Pending))]
        );
        assert_eq!(alice.turn(), Turn::Sending);
    }

    #[test]
    fn a_window_that_lost_its_state_never_reuses_a_message_number() {
        let device = "aaaaaaaaaa";
        let mut before = session("Alice", "Bob", device);
        before.history_pending = false;
        before.send("first", 1).unwrap();
        let stored = before.log.get(&before.device, 1).unwrap().encode();
        let key = before.keys.message(&before.device, 1).into_bytes();

        // Same device id, nothing saved: the history load finds message 1.
        let mut after = session("Alice", "Bob", device);
        assert_eq!(after.send("too early", 2), Err(SendError::Loading));
        let out = after.poll_request(2).unwrap();
        assert_eq!(out.request, Request::Page);
        after.handle_answer(out.id, Ok(Answer::Store(vec![(key, stored)])), 3);
        assert_eq!(after.message_count(), 1);
        after.send("second", 4).unwrap_err(); // it is Bob's turn now
        assert_eq!(after.turn(), Turn::Waiting { since: 1 });
        assert_eq!(after.next_seq, 2);
    }

    #[test]
    fn a_send_tells_the_colleague_until_its_record_and_turn_are_written() {
        let mut alice = session("Alice", "Bob", "aaaaaaaaaa");
        alice.history_pending = false;
        assert!(!alice.is_telling_peer());
        alice.send("bed 4 desaturating", 1).unwrap();
        let mut store = std::collections::HashMap::new();
        let waiting = alice.keys.waiting().into_bytes();
        let record = alice.keys.my_record().into_bytes();
        for now in 2..20 {
            assert_eq!(
                alice.is_telling_peer(),
                !store.contains_key(&waiting),
                "told the colleague exactly once __waiting__ is written"
            );
            let Some(out) = alice.poll_request(now) else {
                break;
            };
            let answer = match out.request {
                Request::Set { key, value } => {
                    if key == waiting {
                        assert!(store.contains_key(&record), "the record goes first");
                    }
                    store.insert(key, value);
                    Answer::Done
                }
                Request::Get { key } => Answer::Value(store.get(&key).cloned()),
                _ => Answer::Done,
            };
            alice.handle_answer(out.id, Ok(answer), now);
        }
        assert!(!alice.is_telling_peer());
        assert_eq!(store.get(&waiting).map(Vec::as_slice), Some(&b"Alice"[..]));
    }

    #[test]
    fn a_renumbered_message_is_kept_in_the_saved_state_until_its_transcript_is_saved() {
        let mut alice = session("Alice", "Bob", "aaaaaaaaaa");
        alice.history_pending = false;
        alice.send("bed 4 desaturating", 1).unwrap();
        alice.transcript_saved();
        assert_eq!(alice.saved().recent_own, vec![]);

        // Another tab with the same device id wrote its own message 1.
        let mut theirs = alice.log.get(&alice.device, 1).unwrap().clone();
        theirs.text = "written by another tab".into();
        let key = alice.keys.message(&alice.device, 1).into_bytes();
        for now in 2..40 {
            let Some(out) = alice.poll_request(now) else {
                continue;
            };
            let answer = match &out.request {
                Request::Get { key: k } if *k == key => Answer::Value(Some(theirs.encode())),
                Request::Get { .. } => Answer::Value(None),
                _ => Answer::Done,
            };
            alice.handle_answer(out.id, Ok(answer), now);
            if alice.log.contains(&alice.device, 2) {
                break;
            }
        }
        let renumbered = alice
            .log
            .get(&alice.device, 2)
            .expect("renumbered as 2")
            .clone();
        assert_eq!(renumbered.text, "bed 4 desaturating");
        assert!(!alice.log.contains(&alice.device, 1));
        // The saved state carries the renumbered message until the
        // transcript with it is saved.
        assert_eq!(alice.saved().recent_own, vec![renumbered]);
        alice.transcript_saved();
        assert_eq!(alice.saved().recent_own, vec![]);
    }
}
