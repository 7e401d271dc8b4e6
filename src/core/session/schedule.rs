//! When to ask the server what: the request under way and what it was for,
//! the poll rotation (one check after each read of the colleague's record,
//! the directory's among them; our own record every other poll while an
//! urgent message is unseen),
//! and the backoff after failures, which also decides when the window counts
//! as offline.

use std::fmt;

use super::super::directory::Entry;
use super::super::participants::DeviceId;
use super::super::settings::Settings;
use super::super::types::{Connection, Millis};

/// Why a request was made, so its answer can be understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Purpose {
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
    ReadPeerEntry,
    ReadOwnEntry,
    WriteEntry(Entry),
}

/// The checks one poll may make after reading the colleague's record.
pub(super) const ROTATION: [Check; 5] = [
    Check::Directory,
    Check::OwnRecord,
    Check::Waiting,
    Check::OwnUnread,
    Check::Probe,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Check {
    Directory,
    OwnRecord,
    Waiting,
    OwnUnread,
    Probe,
}

/// The poll schedule and the request under way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Schedule {
    in_flight: Option<(u64, Purpose)>,
    next_id: u64,
    /// The check chosen by the last poll, to run after the colleague's record.
    queued_check: Option<Purpose>,
    rotation: usize,
    /// Whether the last poll's check was our record for an unseen urgent
    /// message ([`Schedule::own_record_turn`]).
    own_record_last: bool,
    /// The own message the last unread check read back.
    pub unread_cursor: u64,
    /// The device the last probe looked at.
    pub probe_cursor: Option<DeviceId>,
    next_poll_at: Millis,
    backoff: Backoff,
}

impl Schedule {
    pub fn new(seed: u64) -> Schedule {
        Schedule {
            in_flight: None,
            next_id: 1,
            queued_check: None,
            rotation: 0,
            own_record_last: false,
            unread_cursor: 0,
            probe_cursor: None,
            next_poll_at: 0,
            backoff: Backoff::new(seed),
        }
    }

    /// Whether a request may start now: none is under way, and the backoff
    /// after a failure is over.
    pub fn is_ready(&self, now: Millis) -> bool {
        self.in_flight.is_none() && now >= self.backoff.retry_at
    }

    pub fn is_busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Records a request started for `purpose`; returns its id.
    pub fn start(&mut self, purpose: Purpose) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.in_flight = Some((id, purpose));
        id
    }

    /// The purpose of request `id`, if it is the one under way (an answer
    /// to a forgotten request is ignored).
    pub fn finish(&mut self, id: u64) -> Option<Purpose> {
        match &self.in_flight {
            Some((expected, _)) if *expected == id => self.in_flight.take().map(|(_, p)| p),
            _ => None,
        }
    }

    pub fn has_queued_check(&self) -> bool {
        self.queued_check.is_some()
    }

    pub fn take_queued_check(&mut self) -> Option<Purpose> {
        self.queued_check.take()
    }

    pub fn queue_check(&mut self, purpose: Purpose) {
        self.queued_check = Some(purpose);
    }

    /// Whether a poll is due at `now`; if so the next one is `interval` later.
    pub fn poll_due(&mut self, now: Millis, interval: Millis) -> bool {
        if now < self.next_poll_at {
            return false;
        }
        self.next_poll_at = now + interval;
        true
    }

    /// The next check in rotation.
    pub fn next_check(&mut self) -> Check {
        let check = ROTATION[self.rotation % ROTATION.len()];
        self.rotation += 1;
        check
    }

    /// Whether this poll's check is our own record rather than the next in
    /// rotation: every other poll while an urgent message is `unseen`.
    pub fn own_record_turn(&mut self, unseen: bool) -> bool {
        self.own_record_last = unseen && !self.own_record_last;
        self.own_record_last
    }

    /// Poll no later than `at`.
    pub fn hurry(&mut self, at: Millis) {
        self.next_poll_at = self.next_poll_at.min(at);
    }

    /// Poll, and retry after failures, at once.
    pub fn poll_now(&mut self, now: Millis) {
        self.backoff.retry_at = now;
        self.next_poll_at = now;
    }

    /// When to ask for a request again: now if there is `urgent` work, else
    /// at the next poll or when a missing message may be fetched
    /// (`fetch_at`), but never during a backoff.
    pub fn wake_at(&self, now: Millis, urgent: bool, fetch_at: Option<Millis>) -> Millis {
        let mut at = if urgent { now } else { self.next_poll_at };
        if let Some(fetch_at) = fetch_at {
            at = at.min(fetch_at);
        }
        at.max(self.backoff.retry_at).max(now)
    }

    /// A request was answered: says whether the window came back online.
    pub fn succeeded(&mut self, now: Millis) -> bool {
        self.backoff.succeeded(now)
    }

    /// How many requests in a row have failed (0 after an answer).
    pub fn failures_in_a_row(&self) -> u32 {
        self.backoff.failures
    }

    /// A request failed for `reason`: says whether the window just went offline.
    pub fn failed(&mut self, now: Millis, reason: &dyn fmt::Display, settings: &Settings) -> bool {
        self.backoff.failed(now, reason, settings)
    }

    pub fn connection(&self) -> Connection {
        match &self.backoff.offline {
            Some((reason, since)) => Connection::Offline {
                reason: reason.clone(),
                since: *since,
            },
            None => Connection::Online,
        }
    }
}

/// Exponential backoff with jitter after failures.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Backoff {
    failures: u32,
    retry_at: Millis,
    /// Why, and since when, requests have been failing.
    offline: Option<(String, Millis)>,
    rng: u64,
}

impl Backoff {
    fn new(seed: u64) -> Backoff {
        Backoff {
            failures: 0,
            retry_at: 0,
            offline: None,
            rng: seed | 1,
        }
    }

    fn succeeded(&mut self, now: Millis) -> bool {
        self.failures = 0;
        self.retry_at = now;
        self.offline.take().is_some()
    }

    fn failed(&mut self, now: Millis, reason: &dyn fmt::Display, settings: &Settings) -> bool {
        self.failures = self.failures.saturating_add(1);
        let exponent = (self.failures - 1).min(20);
        let full = settings
            .backoff_first_ms
            .saturating_mul(1 << exponent)
            .min(settings.backoff_max_ms);
        // Full jitter on the upper half, so a ward of clients does not retry in step.
        let jitter = self.next_random() % (full / 2 + 1);
        self.retry_at = now + full / 2 + jitter;
        if self.failures >= 2 && self.offline.is_none() {
            self.offline = Some((reason.to_string(), now));
            return true;
        }
        if let Some((old, _)) = &mut self.offline {
            *old = reason.to_string();
        }
        false
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

    fn settings() -> Settings {
        Settings {
            backoff_first_ms: 1_000,
            backoff_max_ms: 8_000,
            ..Settings::default()
        }
    }

    #[test]
    fn one_request_at_a_time_and_stale_answers_are_ignored() {
        let mut schedule = Schedule::new(1);
        assert!(schedule.is_ready(0));
        let id = schedule.start(Purpose::PollPeer);
        assert!(!schedule.is_ready(0));
        assert_eq!(schedule.finish(id + 1), None);
        assert!(schedule.is_busy());
        assert_eq!(schedule.finish(id), Some(Purpose::PollPeer));
        assert!(!schedule.is_busy());
    }

    #[test]
    fn the_rotation_goes_through_every_check() {
        let mut schedule = Schedule::new(1);
        let checks: Vec<_> = (0..6).map(|_| schedule.next_check()).collect();
        assert_eq!(
            checks,
            [
                Check::Directory,
                Check::OwnRecord,
                Check::Waiting,
                Check::OwnUnread,
                Check::Probe,
                Check::Directory
            ]
        );
    }

    #[test]
    fn an_unseen_urgent_message_reads_our_record_every_other_poll() {
        let mut schedule = Schedule::new(1);
        let turns: Vec<_> = [true, true, true, true, false, true]
            .into_iter()
            .map(|unseen| schedule.own_record_turn(unseen))
            .collect();
        assert_eq!(turns, [true, false, true, false, false, true]);
    }

    #[test]
    fn polls_come_at_the_interval_or_sooner_when_hurried() {
        let mut schedule = Schedule::new(1);
        assert!(schedule.poll_due(0, 1_000));
        assert!(!schedule.poll_due(999, 1_000));
        assert_eq!(schedule.wake_at(10, false, None), 1_000);
        assert_eq!(schedule.wake_at(10, false, Some(400)), 400);
        assert_eq!(schedule.wake_at(10, true, None), 10);
        schedule.hurry(500);
        assert!(schedule.poll_due(500, 1_000));
    }

    #[test]
    fn failures_back_off_with_jitter_and_the_second_one_goes_offline() {
        let mut schedule = Schedule::new(3);
        assert!(!schedule.failed(0, &"refused", &settings()));
        assert_eq!(schedule.connection(), Connection::Online);
        let first = schedule.wake_at(0, true, None);
        assert!((500..=1_000).contains(&first), "{first}");
        assert!(!schedule.is_ready(first - 1));
        assert!(schedule.failed(first, &"refused", &settings()));
        let second = schedule.wake_at(first, true, None) - first;
        assert!((1_000..=2_000).contains(&second), "{second}");
        assert_eq!(
            schedule.connection(),
            Connection::Offline {
                reason: "refused".into(),
                since: first
            }
        );
        // Never more than the maximum.
        for _ in 0..30 {
            schedule.failed(0, &"timed out", &settings());
        }
        assert!(schedule.wake_at(0, true, None) <= 8_000);
        assert!(schedule.succeeded(9_000));
        assert!(schedule.is_ready(9_000));
        assert_eq!(schedule.connection(), Connection::Online);
    }
}
