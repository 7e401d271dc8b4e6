//! What a window keeps to resume after a reload or a crash: [`Saved`], the
//! small state written before every request, and the [`Persistence`] of the
//! transcript, which is saved less often (as a [`super::super::journal`]).
//! Whatever the saved transcript lacks on restore is fetched again.

use super::super::envelope::{Envelope, Record};
use super::super::journal::Change;
use super::super::json::json_object;
use super::super::log::MessageLog;
use super::super::participants::{DeviceId, Pair};
use super::super::settings::Settings;
use super::super::small_map::SmallMap;
use super::follows::{Follow, Follows};
use super::Session;

/// The version of [`Saved`] written by this code.
const SAVED_VERSION: u32 = 1;

/// What a window must keep to resume after a reload or a crash, apart from
/// the transcript: small, so it can be saved after every change and before
/// every request. The transcript ([`Session::unsaved_transcript`], appended
/// to a [`super::super::journal`]) may be saved less often: whatever it lacks
/// on restore is fetched again.
#[derive(Clone, Debug, PartialEq)]
pub struct Saved {
    pub(super) version: u32,
    pub(super) pair: Pair,
    pub(super) device: DeviceId,
    pub(super) next_seq: u64,
    pub(super) sent_head: u64,
    /// Own messages the saved transcript may not hold yet, in full.
    pub(super) recent_own: Vec<Envelope>,
    /// Those of them still in the outbox.
    pub(super) outbox: Vec<u64>,
    /// Whether the first load of the history had not happened yet (may be
    /// left out of the JSON: `false`).
    pub(super) history_pending: bool,
    pub(super) follows: SmallMap<DeviceId, Follow>,
    pub(super) peer_record: Record,
    pub(super) record: Record,
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

/// How far the saved transcript goes: what changed since it was saved, and
/// per device how far it holds its messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Persistence {
    /// What happened to the transcript since it was last saved, in order.
    unsaved: Vec<Change>,
    /// Per device, how far the last saved transcript holds its messages.
    durable: SmallMap<DeviceId, u64>,
}

impl Persistence {
    /// Something happened to the transcript.
    pub fn record(&mut self, change: Change) {
        self.unsaved.push(change);
    }

    pub fn unsaved(&self) -> &[Change] {
        &self.unsaved
    }

    /// The transcript was saved, holding `durable` of each device's messages.
    pub fn saved(&mut self, durable: SmallMap<DeviceId, u64>) {
        self.unsaved.clear();
        self.durable = durable;
    }

    pub fn durable(&self) -> &SmallMap<DeviceId, u64> {
        &self.durable
    }

    /// How far the saved transcript holds `device`'s messages.
    pub fn durable_of(&self, device: &DeviceId) -> u64 {
        self.durable.get(device).copied().unwrap_or(0)
    }
}

impl Session {
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
        session.outbox.restore_sent_head(saved.sent_head);
        session.receipts.restore(saved.peer_record, &saved.record);
        // What the transcript holds is recounted from it.
        session.follows = Follows::restore(saved.follows);
        session.log = transcript;
        session.follows.advance_all(&session.log);
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
        session.outbox.reserve_until(highest + 1);
        session.transcript_saved();
        for envelope in saved.recent_own.into_iter().filter(|e| e.device == device) {
            highest = highest.max(envelope.seq);
            session.insert(envelope);
        }
        let log = &session.log;
        session.outbox.requeue(
            saved
                .outbox
                .into_iter()
                .filter(|seq| log.contains(&device, *seq)),
        );
        // Never reuse a number that may already be on the server.
        session
            .outbox
            .reserve_until(saved.next_seq.max(highest + 1));
        // Own messages the saved transcript is too old to hold: read them back.
        let missing: Vec<u64> = (1..=session.outbox.sent_head())
            .filter(|seq| !session.log.contains(&device, *seq))
            .collect();
        session.outbox.refetch(missing);
        session.receipts.mark_dirty();
        session
    }

    /// What to keep so that [`Session::restore`] can resume.
    pub fn saved(&self) -> Saved {
        Saved {
            version: SAVED_VERSION,
            pair: self.pair.clone(),
            device: self.device.clone(),
            next_seq: self.outbox.next_seq(),
            sent_head: self.outbox.sent_head(),
            recent_own: self.unsaved_own().cloned().collect(),
            outbox: self.outbox.queued().collect(),
            history_pending: self.history_pending,
            follows: self.follows.saved(),
            peer_record: self.receipts.peer().clone(),
            record: self.receipts.ours().clone(),
        }
    }

    /// Own messages the saved transcript may not hold yet, by number. Every
    /// own message is numbered below `next_seq`, so this looks up only the
    /// numbers after the saved ones, never the whole transcript: it runs at
    /// every change.
    fn unsaved_own(&self) -> impl Iterator<Item = &Envelope> + '_ {
        let saved = self.persistence.durable_of(&self.device);
        (saved + 1..self.outbox.next_seq()).filter_map(|seq| self.log.get(&self.device, seq))
    }

    /// What happened to the transcript since it was last saved, to append
    /// to the saved journal (see [`super::super::journal`]).
    pub fn unsaved_transcript(&self) -> &[Change] {
        self.persistence.unsaved()
    }

    /// Tells the session that [`Session::unsaved_transcript`] was just
    /// saved: only what a saved transcript holds is ever acknowledged to the
    /// others (they stop repairing what we acknowledge), and own messages are
    /// kept in [`Saved`] until then.
    pub fn transcript_saved(&mut self) {
        let mut durable = self.follows.haves();
        // Every own message in the transcript was just saved, and each is
        // numbered below `next_seq`.
        durable.insert(
            self.device.clone(),
            self.outbox.next_seq().saturating_sub(1),
        );
        self.persistence.saved(durable);
        self.update_receipts();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::journal::Change;
    use crate::core::json;

    fn device(id: &str) -> DeviceId {
        DeviceId::parse(id).unwrap()
    }

    #[test]
    fn persistence_keeps_changes_until_saved() {
        let bob = device("bbbbbbbbbb");
        let mut persistence = Persistence::default();
        persistence.record(Change::Removed(bob.clone(), 3));
        assert_eq!(persistence.unsaved().len(), 1);
        assert_eq!(persistence.durable_of(&bob), 0);
        persistence.saved([(bob.clone(), 2)].into_iter().collect());
        assert!(persistence.unsaved().is_empty());
        assert_eq!(persistence.durable_of(&bob), 2);
    }

    #[test]
    fn a_saved_state_reads_back_as_written_and_may_leave_out_history_pending() {
        let pair = Pair::parse("Alice", "Bob").unwrap();
        let session = Session::new(
            pair,
            device("aaaaaaaaaa"),
            "IMserver.php",
            Settings::default(),
            1,
        );
        let saved = session.saved();
        let text = json::to_string(&saved);
        assert!(text.starts_with("{\"version\":1,\"pair\":"), "{text}");
        assert_eq!(json::from_str::<Saved>(&text), Ok(saved.clone()));
        let without = text.replace("\"history_pending\":true,", "");
        let read: Saved = json::from_str(&without).unwrap();
        assert!(!read.history_pending);
    }
}
