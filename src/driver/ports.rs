//! What a [`super::Driver`] runs over, besides its [`crate::imserver::Transport`]:
//! a [`Storage`] for the conversation and a [`Clock`].

use crate::core::journal::Change;
use crate::core::log::MessageLog;
use crate::core::{Millis, Saved};

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
}
