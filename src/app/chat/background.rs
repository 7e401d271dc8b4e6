//! A [`Chat`] with no screen: the forward of an escalation
//! (`super::super::escalation`) runs in one, for you and the backup
//! colleague, beside the conversation on screen. It never counts as shown,
//! so it acknowledges nothing; the escalation queues its message once it
//! may send and follows how far it got.

use std::rc::Rc;

use super::Chat;
use crate::core::escalation::Escalated;
use crate::core::{Delivery, Pair, SendError, Settings};

impl Chat {
    /// Starts the conversation `pair` as [`Chat::start`] does, but with no
    /// screen: it never counts as shown, so it acknowledges nothing.
    pub fn start_in_background(pair: Pair, server: &str, settings: Settings) -> Rc<Chat> {
        Chat::open(pair, server, settings, true)
    }

    /// Forwards an unanswered urgent message's `text` to this
    /// conversation's colleague, marked `escalated`. Unlike a message sent
    /// with [`Chat::send`], it is saved at once, before this returns (the
    /// original conversation notes the escalation only once it is kept);
    /// its request starts as that one's does.
    pub fn send_escalation(
        self: &Rc<Self>,
        text: &str,
        escalated: Escalated,
    ) -> Result<(), SendError> {
        self.driver.send_escalation(text, escalated)?;
        self.after_change();
        self.pump_after_frame();
        Ok(())
    }

    /// How far your last message got: pending until your colleague's
    /// devices can learn of it (stored, read back and announced).
    pub fn last_delivery(&self) -> Option<Delivery> {
        let session = self.driver.session();
        let last = session.messages().rev().find(|m| m.mine)?.delivery;
        if session.is_telling_peer() {
            Some(Delivery::Pending)
        } else {
            last
        }
    }

    /// Whether [`Chat::stop`] has run.
    pub fn is_stopped(&self) -> bool {
        self.driver.is_stopped()
    }
}
