//! What the pieces of a conversation screen share: the [`Conversation`]
//! context. The screen provides it once ([`provide_conversation`]); each
//! piece reads it with [`use_conversation`], so nothing is threaded through
//! properties, and no piece imports the screen that shows it.

use std::rc::Rc;

use leptos::prelude::*;

use super::chat::{Chat, ChatView};
use super::escalation::Escalations;
use super::storage::{self, Preferences};
use crate::core::Millis;

/// The open conversation, as every piece of its screen sees it.
#[derive(Clone)]
pub struct Conversation {
    /// The running chat; a copyable handle, usable from any closure.
    pub chat: StoredValue<Rc<Chat>, LocalStorage>,
    /// What the chat shows, as signals.
    pub view: ChatView,
    /// The time, ticking once a second, for "waiting for 2 min" and "not
    /// sent yet".
    pub now: ReadSignal<Millis>,
    /// Your name and your colleague's, as typed.
    pub me: String,
    pub peer: String,
    /// The address of IMserver.php.
    pub server: String,
    /// Settings of this browser (intervals, sound, notifications).
    pub preferences: RwSignal<Preferences>,
    /// The escalations of unanswered urgent messages.
    pub escalations: Escalations,
}

/// Changes this browser's settings: on screen, in storage, and the chat's
/// timing. (Of a conversation's `chat` and `preferences`: both can be
/// copied into any closure.)
pub fn change_preferences(
    chat: StoredValue<Rc<Chat>, LocalStorage>,
    preferences: RwSignal<Preferences>,
    change: impl FnOnce(&mut Preferences),
) {
    // From what is stored, not this tab's copy: another tab may have changed
    // another preference since, and writing the copy back would undo it.
    let mut saved = storage::stored_preferences().unwrap_or_else(|| preferences.get_untracked());
    change(&mut saved);
    storage::save_preferences(&saved);
    chat.get_value().set_settings(saved.timing.clone());
    preferences.set(saved);
}

/// Makes `conversation` what [`use_conversation`] returns, for the
/// component that calls this and everything it shows.
pub fn provide_conversation(conversation: Conversation) {
    provide_context(conversation);
}

/// The conversation of the screen this component is part of.
///
/// Only the pieces of a conversation screen call this, and the screen
/// provides it before it builds them: its absence is a bug, not a state.
pub fn use_conversation() -> Conversation {
    expect_context::<Conversation>()
}
