//! The conversation removed from this browser in another tab ("Remove from
//! this device" in that tab's settings). Every tab's saved state of the
//! conversation went with it, this one's too; a tab that went on would
//! write its state, and the messages in it, back into the browser. So this
//! one stops, forgets what it saved on the way out, and tells its screen
//! ([`super::ChatView::removed`]), which leaves.

use std::rc::Rc;

use gloo_events::EventListener;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::Chat;
use crate::app::storage;

impl Chat {
    /// Follows the other tabs' changes to local storage (`storage` events
    /// reach every tab but the one that made the change) for the removal
    /// of this tab's saved state. The listener goes when it is dropped.
    pub(super) fn follow_removal(self: &Rc<Self>) -> EventListener {
        let chat = Rc::downgrade(self);
        EventListener::new(&window(), "storage", move |event| {
            let (Some(chat), Some(event)) =
                (chat.upgrade(), event.dyn_ref::<web_sys::StorageEvent>())
            else {
                return;
            };
            // `localStorage.clear()` elsewhere has no key, and takes this
            // tab's state too.
            let removed = event.new_value().is_none()
                && event
                    .key()
                    .is_none_or(|key| storage::is_session_key(&key, &chat.storage_key));
            // Once: stopping takes this listener away.
            if removed {
                chat.remove_from_this_device();
                chat.view.removed.set(true);
            }
        })
    }
}
