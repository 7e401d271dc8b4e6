//! Saving a session and resuming it: [`Session::saved`] gives what to keep
//! ([`Saved`]), [`Session::restore`] resumes from it and the saved
//! transcript, and the transcript's changes are handed out for saving and
//! acknowledged once saved.

use super::super::envelope::Envelope;
use super::super::journal::Change;
use super::super::log::MessageLog;
use super::super::settings::Settings;
use super::follows::Follows;
use super::saved::{Saved, SAVED_VERSION};
use super::Session;

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
