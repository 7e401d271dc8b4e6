//! Which of the colleague's urgent messages no device of ours has shown on
//! a visible screen yet: their alert repeats until one has
//! ([`crate::core::repeat_alert`]; PROTOCOL.md, "Repeat alerts").
//!
//! Our record carries, per device of ours, how far it has shown each
//! sending device's messages (our other windows' entries are learnt when
//! the rotation reads our record); this window adds what its own visible
//! screen showed.

use super::Session;

/// How far back, per sending device, an unseen urgent message is looked
/// for: one older than this many messages is no longer alerted for (and
/// a window that has shown nothing of a long history does not look
/// through all of it at every change).
const LOOK_BACK: u64 = 500;

impl Session {
    /// How many of the colleague's urgent messages none of our devices has
    /// shown on a visible screen.
    pub fn urgent_unseen(&self) -> usize {
        let ours = self.receipts.ours();
        let shown_here = self.receipts.shown();
        self.follows
            .peer_haves()
            .map(|(device, have)| {
                let shown = ours
                    .seen
                    .keys()
                    .map(|reader| ours.seen_by(reader, device))
                    .chain(shown_here.get(device).copied())
                    .max()
                    .unwrap_or(0)
                    .max(have.saturating_sub(LOOK_BACK));
                (shown + 1..=have)
                    .filter(|&seq| self.log.get(device, seq).is_some_and(|e| e.urgent))
                    .count()
            })
            .sum()
    }
}
