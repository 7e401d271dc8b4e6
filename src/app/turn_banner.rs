//! The banner that always says whose turn it is, in words, colour and icon.

use leptos::prelude::*;

use super::context::{use_conversation, Conversation};
use crate::display::{TurnState, NOT_SENT_OFFLINE};

#[component]
pub fn TurnBanner() -> impl IntoView {
    let Conversation {
        view, now, peer, ..
    } = use_conversation();
    let (turn, offline) = (view.turn, view.offline);
    // Not a calm "Sending…" while the server cannot be reached.
    let words = move || match turn.get() {
        TurnState::Sending if offline.with(Option::is_some) => NOT_SENT_OFFLINE.to_owned(),
        turn => turn.banner(&peer),
    };
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
