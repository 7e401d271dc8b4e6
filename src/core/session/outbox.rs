//! Our own messages on their way to the server: the numbers they get, the
//! queue of those being written and read back, and the repairs of those the
//! server lost.
//!
//! A message is *sent* once it has been written under its own key and read
//! back; until then it is in the queue, at the stage it has reached. After
//! that our record and `__waiting__` still have to say so
//! ([`Outbox::is_telling_peer`]). The outbox knows numbers only: the
//! messages themselves are in the transcript.

use std::collections::VecDeque;

use crate::core::small_map::SmallSet;

/// How far a queued message has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    /// To write under its key.
    Write,
    /// Written (or perhaps written): to read back.
    Verify,
}

/// Our own messages not yet safely on the server, and their numbering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Outbox {
    /// Messages being stored, oldest first.
    queue: VecDeque<(u64, Stage)>,
    /// Sent messages found missing on the server, to write again.
    rewrite: SmallSet<u64>,
    /// Own messages to read back because the saved transcript lacked them.
    refetch: SmallSet<u64>,
    /// The number the next message gets.
    next_seq: u64,
    /// Highest own message read back from the server (all before it were too).
    sent_head: u64,
    /// Whether `__waiting__` must still be written for the last message.
    waiting_dirty: bool,
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox {
            queue: VecDeque::new(),
            rewrite: SmallSet::new(),
            refetch: SmallSet::new(),
            next_seq: 1,
            sent_head: 0,
            waiting_dirty: false,
        }
    }

    /// The number the next message will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Never hand out a number below `seq`.
    pub fn reserve_until(&mut self, seq: u64) {
        self.next_seq = self.next_seq.max(seq);
    }

    pub fn sent_head(&self) -> u64 {
        self.sent_head
    }

    /// Numbers a new message, and queues it for writing.
    pub fn push(&mut self) -> u64 {
        let seq = self.take_number();
        self.queue.push_back((seq, Stage::Write));
        seq
    }

    fn take_number(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Whether no message is being stored.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The message to work on next, and its stage.
    pub fn front(&self) -> Option<(u64, Stage)> {
        self.queue.front().copied()
    }

    /// The numbers being stored, oldest first.
    pub fn queued(&self) -> impl Iterator<Item = u64> + '_ {
        self.queue.iter().map(|(seq, _)| *seq)
    }

    /// Puts saved messages back in the queue, to write again.
    pub fn requeue(&mut self, seqs: impl IntoIterator<Item = u64>) {
        self.queue = seqs.into_iter().map(|seq| (seq, Stage::Write)).collect();
    }

    pub fn set_stage(&mut self, seq: u64, stage: Stage) {
        if let Some(entry) = self.queue.iter_mut().find(|(s, _)| *s == seq) {
            entry.1 = stage;
        }
    }

    /// Whether message `seq` is not known to be stored.
    pub fn is_pending(&self, seq: u64) -> bool {
        seq > self.sent_head || self.queue.iter().any(|(s, _)| *s == seq)
    }

    /// Message `seq` was read back as written: it is sent, and the
    /// colleague is to be told.
    pub fn confirm(&mut self, seq: u64) {
        self.queue.retain(|(s, _)| *s != seq);
        self.sent_head = self.sent_head.max(seq);
        self.waiting_dirty = true;
    }

    /// Another window wrote a different message under `seq`: ours takes a
    /// new number and is written first. Returns that number.
    pub fn renumber(&mut self, seq: u64) -> u64 {
        let renumbered = self.take_number();
        self.queue.retain(|(s, _)| *s != seq);
        self.queue.push_front((renumbered, Stage::Write));
        renumbered
    }

    /// The server knows our messages up to `head` (a window whose state was
    /// lost learns it): those numbers are never reused. Says whether `head`
    /// is news.
    pub fn adopt_head(&mut self, head: u64) -> bool {
        if head <= self.sent_head {
            return false;
        }
        self.sent_head = head;
        self.reserve_until(head + 1);
        true
    }

    /// Restores the highest message known to be stored.
    pub fn restore_sent_head(&mut self, head: u64) {
        self.sent_head = head;
    }

    /// Whether a message of ours is still to reach the colleague: being
    /// written, or written but not yet announced by `__waiting__`.
    pub fn is_telling_peer(&self) -> bool {
        !self.queue.is_empty() || self.waiting_dirty
    }

    /// Whether `__waiting__` is still to be written.
    pub fn waiting_dirty(&self) -> bool {
        self.waiting_dirty
    }

    pub fn set_waiting_dirty(&mut self, dirty: bool) {
        self.waiting_dirty = dirty;
    }

    /// The next sent message to write again.
    pub fn next_rewrite(&self) -> Option<u64> {
        self.rewrite.first().copied()
    }

    pub fn rewrite(&mut self, seq: u64) {
        self.rewrite.insert(seq);
    }

    pub fn rewritten(&mut self, seq: u64) {
        self.rewrite.remove(&seq);
    }

    /// The next own message to read back from the server.
    pub fn next_refetch(&self) -> Option<u64> {
        self.refetch.first().copied()
    }

    pub fn refetch(&mut self, seqs: impl IntoIterator<Item = u64>) {
        self.refetch.extend(seqs);
    }

    pub fn refetched(&mut self, seq: u64) {
        self.refetch.remove(&seq);
    }

    /// Whether there is work to do at once: writes, rewrites, read-backs.
    pub fn is_urgent(&self) -> bool {
        !self.queue.is_empty()
            || !self.rewrite.is_empty()
            || !self.refetch.is_empty()
            || self.waiting_dirty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_pending_until_read_back() {
        let mut outbox = Outbox::new();
        let seq = outbox.push();
        assert_eq!(seq, 1);
        assert!(outbox.is_pending(1));
        assert_eq!(outbox.front(), Some((1, Stage::Write)));
        outbox.set_stage(1, Stage::Verify);
        assert_eq!(outbox.front(), Some((1, Stage::Verify)));
        assert!(outbox.is_telling_peer());
        outbox.confirm(1);
        assert!(!outbox.is_pending(1));
        assert!(outbox.is_empty());
        assert_eq!(outbox.sent_head(), 1);
        // Still to announce.
        assert!(outbox.is_telling_peer());
        outbox.set_waiting_dirty(false);
        assert!(!outbox.is_telling_peer());
    }

    #[test]
    fn a_renumbered_message_goes_first_with_a_fresh_number() {
        let mut outbox = Outbox::new();
        outbox.push();
        outbox.push();
        assert_eq!(outbox.renumber(1), 3);
        assert_eq!(outbox.queued().collect::<Vec<_>>(), [3, 2]);
        assert_eq!(outbox.next_seq(), 4);
    }

    #[test]
    fn a_known_head_is_never_numbered_again() {
        let mut outbox = Outbox::new();
        assert!(outbox.adopt_head(5));
        assert!(!outbox.adopt_head(4));
        assert_eq!(outbox.sent_head(), 5);
        assert_eq!(outbox.push(), 6);
    }

    #[test]
    fn repairs_come_in_number_order() {
        let mut outbox = Outbox::new();
        assert!(!outbox.is_urgent());
        outbox.rewrite(4);
        outbox.rewrite(2);
        assert_eq!(outbox.next_rewrite(), Some(2));
        outbox.rewritten(2);
        assert_eq!(outbox.next_rewrite(), Some(4));
        outbox.refetch([7, 3]);
        assert_eq!(outbox.next_refetch(), Some(3));
        outbox.refetched(3);
        assert_eq!(outbox.next_refetch(), Some(7));
        assert!(outbox.is_urgent());
    }
}
