//! What a [`super::Driver`] runs over, besides its [`crate::imserver::Transport`]:
//! a [`Storage`] for the conversation and the person's on-duty status,
//! and a [`Clock`].

use crate::core::directory::Entry;
use crate::core::journal::Change;
use crate::core::log::MessageLog;
use crate::core::{Millis, Name, Saved};

/// What time it is, in milliseconds since 1970.
pub trait Clock {
    fn now(&self) -> Millis;
}

/// Where one window keeps a conversation between visits.
pub trait Storage {
    /// The state and the transcript saved by this window, if any.
    fn load(&mut self) -> Option<(Saved, MessageLog)>;
    /// Forgets a saved transcript (one kept without a state is stale).
    fn forget_transcript(&mut self);
    /// Keeps the small state; says whether it was kept.
    fn save_state(&mut self, saved: &Saved) -> bool;
    /// Appends what happened to the transcript; says whether it was kept.
    fn append_transcript(&mut self, changes: &[Change]) -> bool;
    /// The status and text `person` last chose, or adopted from another
    /// device, in this browser (as a directory entry), if any.
    fn load_status(&mut self, person: &Name) -> Option<Entry>;
    /// Keeps `person`'s status and text; says whether they were kept.
    fn save_status(&mut self, person: &Name, status: &Entry) -> bool;
}
