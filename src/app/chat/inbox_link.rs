//! What a [`Chat`] tells the page's inbox (`super::super::inbox_runner`):
//! each of its messages once read back (the inbox rings the colleague's
//! doorbell and the row shows it), and whether the conversation is on
//! screen (its own screen counts and alerts for it; once the tab is
//! visible, nothing in it counts as unread in the inbox).

use super::Chat;
use crate::app::inbox_runner;
use crate::core::{Delivery, Envelope};

/// How many of the newest messages are looked through for this device's
/// newest read back: older ones were told before (or at the opening).
const LOOK_BACK: usize = 64;

impl Chat {
    /// The newest of this device's messages that is read back (sent or
    /// read), if one is among the newest.
    pub(super) fn newest_stored(&self) -> Option<Envelope> {
        let session = self.driver.session();
        let device = session.device();
        let newest = session
            .messages()
            .rev()
            .take(LOOK_BACK)
            .find(|m| {
                m.mine
                    && &m.envelope.device == device
                    && matches!(m.delivery, Some(Delivery::Sent | Delivery::Read))
            })
            .map(|m| m.envelope.clone());
        newest
    }

    /// Once open: messages read back before count as told (rung when
    /// sent, or lost with a reload: PROTOCOL.md says so), and the inbox
    /// learns that this conversation is on screen.
    pub(super) fn join_inbox(&self) {
        self.rung.set(self.newest_stored().map_or(0, |e| e.seq));
        self.tell_shown(true);
    }

    /// Tells the inbox of a message of ours newly read back.
    pub(super) fn tell_inbox(&self) {
        let Some(envelope) = self.newest_stored() else {
            return;
        };
        if envelope.seq <= self.rung.get() {
            return;
        }
        self.rung.set(envelope.seq);
        let pair = self.driver.session().pair().clone();
        inbox_runner::stored(&pair.me, &pair.peer, &envelope);
    }

    /// Tells the inbox that this conversation was removed from the device:
    /// its row goes too.
    pub(super) fn tell_removed(&self) {
        let pair = self.driver.session().pair().clone();
        inbox_runner::forget(&pair.me, &pair.peer);
    }

    /// Tells the inbox whether this conversation is on screen (in a
    /// hidden tab too: its own screen alerts for it).
    pub(super) fn tell_shown(&self, on_screen: bool) {
        if self.background {
            return;
        }
        let pair = self.driver.session().pair().clone();
        inbox_runner::shown(&pair.me, &pair.peer, on_screen);
    }
}
