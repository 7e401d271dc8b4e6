//! What the directory says of the colleague (PROTOCOL.md, "The
//! directory"): their status line in the conversation header, and above
//! the composer either the warning about a name nobody has used here or the
//! note that they are off duty. Neither stops a message: it still goes.

use leptos::prelude::*;

use super::context::{use_conversation, Conversation};
use crate::core::directory::{Colleague, Status};
use crate::presence::{never_used, off_duty_note, status_line, NOT_LISTED};

/// The colleague's status, text and last seen, in the header;
/// `data-state` = `on` | `busy` | `off` | `none` (listed, no status) |
/// `unlisted` (no entry) | `unknown` (not read yet).
#[component]
pub fn PeerStatus() -> impl IntoView {
    let Conversation { view, now, .. } = use_conversation();
    let colleague = view.colleague;
    let state = move || {
        colleague.with(|c| match c {
            Colleague::Listed(entry) => entry.status().map_or("none", Status::code),
            Colleague::NeverUsed => "unlisted",
            Colleague::Unknown => "unknown",
        })
    };
    let line = move || match &*colleague.read() {
        Colleague::Listed(entry) => status_line(entry, now.get()),
        Colleague::NeverUsed => NOT_LISTED.to_owned(),
        Colleague::Unknown => String::new(),
    };
    view! { <span class="peer-status" data-testid="peer-status" data-state=state>{line}</span> }
}

/// Above the composer: a name nobody has used here (while the
/// conversation is empty: before the first message goes; the header keeps
/// saying it after), or an off-duty colleague. (Both paragraphs stay on the
/// page, empty and hidden while there is nothing to say, so that screen
/// readers hear them change.)
#[component]
pub fn ColleagueNote() -> impl IntoView {
    let Conversation { view, peer, .. } = use_conversation();
    let colleague = view.colleague;
    let unknown = {
        let peer = peer.clone();
        let messages = view.messages;
        move || {
            (*colleague.read() == Colleague::NeverUsed && messages.with(Vec::is_empty))
                .then(|| never_used(&peer))
        }
    };
    let off_duty = move || match &*colleague.read() {
        Colleague::Listed(entry) => off_duty_note(&peer, entry),
        _ => None,
    };
    view! {
        <p class="colleague-note" role="status" data-testid="unknown-colleague">{unknown}</p>
        <p class="colleague-note" role="status" data-testid="off-duty">{off_duty}</p>
    }
}
