//! What the page tells a running [`Chat`]: the tab hidden or shown, the
//! network back, the tab closing or reloading, and another tab removing
//! the conversation from the browser. Each listener holds the chat weakly
//! and goes when dropped ([`Chat::stop`]).

use std::rc::Rc;

use leptos::prelude::*;

use super::{is_hidden, Chat};
use crate::app::hooks::listen_weak;

impl Chat {
    /// Listens for the tab being hidden or shown, the network coming back,
    /// the tab closing or reloading (which saves the state and the
    /// transcript at once), and another tab removing the conversation.
    pub(super) fn listen(self: &Rc<Self>) {
        let listener =
            |target: &web_sys::EventTarget, event, act| listen_weak(target, event, self, act);
        *self.listeners.borrow_mut() = vec![
            listener(&document(), "visibilitychange", |chat| {
                chat.set_visible(!is_hidden())
            }),
            listener(&window(), "online", |chat| chat.retry_now()),
            listener(&window(), "pagehide", |chat| {
                chat.driver.save_transcript();
                chat.save_state();
            }),
            self.follow_removal(),
        ];
    }
}
