//! The banner that always says whose turn it is, in words, colour and icon.

use leptos::prelude::*;

use super::context::{use_conversation, Conversation};

#[component]
pub fn TurnBanner() -> impl IntoView {
    let Conversation {
        view, now, peer, ..
    } = use_conversation();
    let turn = view.turn;
    let text = move || turn.get().banner(&peer, now.get());
    // The banner stays, as the live region must; its state and words change
    // together. The stylesheet draws the icon of each state.
    view! {
        <div class="turn" data-testid="turn" data-state=move || turn.get().as_str()
            role="status" aria-live="assertive" aria-atomic="true">
            <span class="turn-icon" aria-hidden="true"></span>
            <span class="turn-text">{text}</span>
        </div>
    }
}
