//! The banner that always says whose turn it is, in words, colour and icon.

use leptos::prelude::*;

use super::context::{use_conversation, Conversation};

#[component]
pub fn TurnBanner() -> impl IntoView {
    let Conversation {
        view, now, peer, ..
    } = use_conversation();
    let turn = view.turn;
    let words = move || turn.get().banner(&peer);
    let waited = move || turn.get().waited(now.get());
    // The words are a polite live region of their own: a screen reader says
    // each change of turn once, and is not interrupted by the counter beside
    // them, which ticks every second. The live region stays, as it must; the
    // banner's state and words change together. The stylesheet draws the
    // icon of each state.
    view! {
        <div class="turn" data-testid="turn" data-state=move || turn.get().as_str()>
            <span class="turn-icon" aria-hidden="true"></span>
            <span class="turn-text"><span role="status">{words}</span>{waited}</span>
        </div>
    }
}
