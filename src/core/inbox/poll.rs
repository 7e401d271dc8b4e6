//! The inbox as a state machine without I/O (PROTOCOL.md, "The inbox",
//! "Polling"), in the manner of `session`: the caller tells it what the
//! user did and what the server answered, and asks it for the next request
//! ([`Inbox::poll_request`]) and when to ask again
//! ([`Inbox::poll_timeout`]).
//!
//! A poll reads this person's doorbell, then makes at most one **check**:
//! write an acknowledgement that is due, read one back, clear the doorbell
//! of what is done, or take the next step of one of this device's rings.
//! With nothing due, a poll is the one read. Besides the polls go, at
//! once: one fetch per part that points at a message this device does not
//! know (a conversation that actually changed), and a new ring's read and
//! write of the recipient's doorbell (the cost of sending, like the
//! message's own write and read-back).

use super::super::envelope::Envelope;
use super::super::participants::{DeviceId, Name};
use super::super::types::{Millis, Outgoing};
use super::bell::{Ack, Doorbell};
use super::keys::{ack_key, doorbell_key, message_key, side_of, tag_between};
use super::recipient::{Found, Recipient};
use super::ringer::{RingRequest, Ringer};
use super::rows::Rows;
use crate::imserver::answer::{Answer, ImError};
use crate::imserver::wire::Request;

/// The poll interval when the caller sets none (ms).
pub const DEFAULT_INTERVAL_MS: Millis = 3_000;

/// The longest wait after failures (ms).
const BACKOFF_MAX_MS: Millis = 30_000;

/// Why a request was made, so its answer can be understood.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Purpose {
    ReadBell,
    Fetch {
        part: String,
        tag: String,
        device: DeviceId,
        seq: u64,
    },
    WriteAck {
        tag: String,
        key: String,
        ack: Ack,
    },
    VerifyAck {
        tag: String,
        key: String,
    },
    Prune(Doorbell),
    Ring(RingRequest),
}

/// One device's inbox. See the module documentation.
#[derive(Debug)]
pub struct Inbox {
    me: Name,
    my_bell: String,
    rows: Rows,
    ringer: Ringer,
    recipient: Recipient,
    in_flight: Option<(u64, Purpose)>,
    next_id: u64,
    /// A ring's write of a doorbell, to go at once after its read.
    ring_write: Option<RingRequest>,
    /// The last read of our doorbell still owes its check.
    check_owed: bool,
    /// The last check was a ring's: the next goes to our own doorbell's
    /// work first, so neither side starves the other.
    ring_checked_last: bool,
    interval: Millis,
    next_poll_at: Millis,
    failures: u32,
    retry_at: Millis,
    revision: u64,
}

impl Inbox {
    /// The inbox of `rows`' person, starting from `rows` (kept in local
    /// storage, or rebuilt from the page by a new device). Its rings are
    /// named for the device that sent each message ([`Inbox::sent`]).
    pub fn new(rows: Rows) -> Inbox {
        let me = rows.me().clone();
        Inbox {
            my_bell: doorbell_key(&me),
            ringer: Ringer::new(me.clone()),
            me,
            rows,
            recipient: Recipient::default(),
            in_flight: None,
            next_id: 1,
            ring_write: None,
            check_owed: false,
            ring_checked_last: false,
            interval: DEFAULT_INTERVAL_MS,
            next_poll_at: 0,
            failures: 0,
            retry_at: 0,
            revision: 1,
        }
    }

    // ----- what the screen shows -------------------------------------------

    pub fn rows(&self) -> &Rows {
        &self.rows
    }

    /// Grows whenever the rows changed (to redraw them and keep them).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// How many of this device's rings are not yet acknowledged.
    pub fn outstanding_rings(&self) -> usize {
        self.ringer.outstanding()
    }

    /// How many rings this device still keeps: not yet acknowledged, or
    /// acknowledged and lingering for the recipient's other devices.
    pub fn kept_rings(&self) -> usize {
        self.ringer.kept()
    }

    /// How many parts our doorbell held at its last read.
    pub fn doorbell_parts(&self) -> usize {
        self.recipient.parts()
    }

    // ----- what the user and the conversations did ------------------------

    /// This device stored `envelope` (read it back) in its conversation with
    /// `peer`: the row shows it, and the recipient's doorbell is rung.
    pub fn sent(&mut self, peer: &Name, envelope: &Envelope, now: Millis) {
        let Some(tag) = tag_between(&self.me, peer) else {
            return;
        };
        if self.rows.sent(peer, envelope, now) {
            self.revision += 1;
        }
        self.ringer.ring(&tag, peer, envelope);
    }

    /// The conversation with `peer` was shown: nothing in it is unread.
    pub fn read_all(&mut self, peer: &Name) {
        if let Some(tag) = tag_between(&self.me, peer) {
            self.rows.read_all(&tag);
            self.revision += 1;
        }
    }

    /// The user removed the conversation with `peer` from this device: its
    /// row goes (a later message of theirs brings it back).
    pub fn forget(&mut self, peer: &Name) {
        if let Some(tag) = tag_between(&self.me, peer) {
            if self.rows.forget(&tag) {
                self.revision += 1;
            }
        }
    }

    /// The user starts a conversation with `peer`: its row appears.
    pub fn start(&mut self, peer: &Name) {
        if self.rows.open_with(peer).is_some() {
            self.revision += 1;
        }
    }

    /// How often to poll (the caller's interval for the screen's state).
    pub fn set_interval(&mut self, interval: Millis, now: Millis) {
        self.interval = interval.max(100);
        self.next_poll_at = self.next_poll_at.min(now.saturating_add(self.interval));
    }

    /// Rings are written once and never checked or repaired: for the
    /// simulation's test that it catches an inbox without repair.
    pub fn disable_repair(&mut self) {
        self.ringer.disable_repair();
    }

    /// Poll, and retry after failures, at once.
    pub fn poll_now(&mut self, now: Millis) {
        self.next_poll_at = now;
        self.retry_at = now;
    }

    // ----- requests and answers --------------------------------------------

    /// The next request to make at `now`, if any; one at a time.
    pub fn poll_request(&mut self, now: Millis) -> Option<Outgoing> {
        if self.in_flight.is_some() || now < self.retry_at {
            return None;
        }
        let purpose = self.next_purpose(now)?;
        let request = request_for(&self.my_bell, &purpose);
        let id = self.next_id;
        self.next_id += 1;
        self.in_flight = Some((id, purpose));
        Some(Outgoing { id, request })
    }

    /// When to call [`Inbox::poll_request`] again if nothing else happens;
    /// `None` while a request is under way.
    pub fn poll_timeout(&self, now: Millis) -> Option<Millis> {
        if self.in_flight.is_some() {
            return None;
        }
        let urgent = self.ring_write.is_some() || self.ringer.urgent().is_some();
        let mut at = if urgent { now } else { self.next_poll_at };
        if self.check_owed && self.has_check(now) {
            at = now;
        }
        if let Some(fetch_at) = self.recipient.next_fetch_at() {
            at = at.min(fetch_at);
        }
        Some(at.max(self.retry_at).max(now))
    }

    fn has_check(&self, now: Millis) -> bool {
        self.recipient.ack_due(&self.rows).is_some()
            || self.recipient.ack_to_verify().is_some()
            || self.recipient.prune(now).is_some()
            || self.ringer.kept() > 0
    }

    fn next_purpose(&mut self, now: Millis) -> Option<Purpose> {
        if let Some(write) = self.ring_write.take() {
            return Some(Purpose::Ring(write));
        }
        if let Some(read) = self.ringer.urgent() {
            return Some(Purpose::Ring(read));
        }
        if let Some((part, fetch)) = self.recipient.next_fetch(now) {
            return Some(Purpose::Fetch {
                part: part.to_owned(),
                tag: fetch.tag.clone(),
                device: fetch.device.clone(),
                seq: fetch.seq,
            });
        }
        if self.check_owed {
            self.check_owed = false;
            if let Some(check) = self.check(now) {
                return Some(check);
            }
        }
        if now >= self.next_poll_at {
            self.next_poll_at = now.saturating_add(self.interval);
            return Some(Purpose::ReadBell);
        }
        None
    }

    /// The poll's one check: our own doorbell's work (an acknowledgement,
    /// reading one back, clearing the doorbell) and the next step of one
    /// of our rings take turns when both have something to do.
    fn check(&mut self, now: Millis) -> Option<Purpose> {
        if !self.ring_checked_last {
            if let Some(ring) = self.ringer.check(now) {
                self.ring_checked_last = true;
                return Some(Purpose::Ring(ring));
            }
        }
        self.ring_checked_last = false;
        if let Some(own) = self.own_check(now) {
            return Some(own);
        }
        self.ringer.check(now).map(|ring| {
            self.ring_checked_last = true;
            Purpose::Ring(ring)
        })
    }

    /// Our own doorbell's check, if it needs one.
    fn own_check(&mut self, now: Millis) -> Option<Purpose> {
        if let Some((tag, ack)) = self.recipient.ack_due(&self.rows) {
            if let Some(key) = self.ack_key(&tag) {
                return Some(Purpose::WriteAck { tag, key, ack });
            }
        }
        if let Some((tag, _)) = self.recipient.ack_to_verify() {
            let tag = tag.to_owned();
            if let Some(key) = self.ack_key(&tag) {
                return Some(Purpose::VerifyAck { tag, key });
            }
        }
        if let Some((bell, _)) = self.recipient.prune(now) {
            return Some(Purpose::Prune(bell));
        }
        None
    }

    /// Where this person's side acknowledges conversation `tag` (one its
    /// rows know: acknowledgements are due only for those).
    fn ack_key(&self, tag: &str) -> Option<String> {
        let row = self.rows.get(tag)?;
        Some(ack_key(tag, side_of(&self.me, &row.peer)))
    }

    /// The answer to request `id` (an answer to any other is ignored).
    pub fn handle_answer(&mut self, id: u64, answer: Result<Answer, ImError>, now: Millis) {
        let purpose = match self.in_flight.take() {
            Some((expected, purpose)) if expected == id => purpose,
            other => {
                self.in_flight = other;
                return;
            }
        };
        match answer {
            Ok(answer) => {
                self.failures = 0;
                self.retry_at = now;
                self.handle_success(purpose, answer, now);
            }
            Err(_) => {
                self.failures = self.failures.saturating_add(1);
                let wait = 500u64
                    .saturating_mul(1 << self.failures.min(16))
                    .min(BACKOFF_MAX_MS);
                self.retry_at = now.saturating_add(wait);
                if let Purpose::Ring(
                    RingRequest::ReadBell { tag, .. } | RingRequest::WriteBell { tag, .. },
                ) = &purpose
                {
                    self.ringer.failed(tag);
                }
            }
        }
    }

    fn handle_success(&mut self, purpose: Purpose, answer: Answer, now: Millis) {
        let value = match &answer {
            Answer::Value(value) => value.as_deref(),
            _ => None,
        };
        match purpose {
            Purpose::ReadBell => {
                self.recipient.read(value, &self.rows, now);
                self.check_owed = true;
            }
            Purpose::Fetch {
                part,
                tag,
                device,
                seq,
            } => {
                let found = match value {
                    None => Found::Missing,
                    Some(bytes) => match Envelope::decode(bytes, &device, seq) {
                        Some(envelope) if self.rows.learn(&tag, &envelope, now) => {
                            self.revision += 1;
                            Found::Taken
                        }
                        // Already known (another part pointed at it).
                        Some(_)
                            if self
                                .rows
                                .get(&tag)
                                .is_some_and(|r| r.written(&device) >= seq) =>
                        {
                            Found::Taken
                        }
                        _ => Found::Refused,
                    },
                };
                self.recipient.fetched(&part, seq, found, now);
            }
            Purpose::WriteAck { tag, ack, .. } => self.recipient.ack_written(&tag, ack),
            Purpose::VerifyAck { tag, .. } => self.recipient.ack_read_back(&tag, value, now),
            Purpose::Prune(bell) => self.recipient.pruned(bell),
            Purpose::Ring(RingRequest::ReadBell { tag, .. }) => {
                self.ring_write = self.ringer.read_bell(&tag, value);
            }
            Purpose::Ring(RingRequest::WriteBell { tag, .. }) => self.ringer.wrote_bell(&tag),
            Purpose::Ring(RingRequest::ReadMessage { tag, .. }) => {
                self.ring_write = self.ringer.read_message(&tag, value);
            }
            Purpose::Ring(RingRequest::WriteMessage { .. }) => {}
            Purpose::Ring(RingRequest::ReadAck { tag, .. }) => {
                self.ringer.read_ack(&tag, value, now);
            }
        }
    }
}

/// The request for `purpose`; `my_bell` is our doorbell's key.
fn request_for(my_bell: &str, purpose: &Purpose) -> Request {
    let get = |key: &str| Request::Get {
        key: key.as_bytes().to_vec(),
    };
    let set = |key: &str, value: Vec<u8>| Request::Set {
        key: key.as_bytes().to_vec(),
        value,
    };
    match purpose {
        Purpose::ReadBell => get(my_bell),
        Purpose::Fetch {
            tag, device, seq, ..
        } => get(&message_key(tag, device, *seq)),
        Purpose::WriteAck { key, ack, .. } => set(key, ack.encode()),
        Purpose::VerifyAck { key, .. } => get(key),
        Purpose::Prune(bell) => set(my_bell, bell.encode()),
        Purpose::Ring(
            RingRequest::ReadBell { key, .. }
            | RingRequest::ReadAck { key, .. }
            | RingRequest::ReadMessage { key, .. },
        ) => get(key),
        Purpose::Ring(
            RingRequest::WriteBell { key, value, .. }
            | RingRequest::WriteMessage { key, value, .. },
        ) => set(key, value.clone()),
    }
}
