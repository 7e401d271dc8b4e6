//! The conversation's safety number, for the two clinicians to compare in
//! person: the same twelve groups of five digits on both screens means that
//! no one else holds the keys of either.

use leptos::prelude::*;

use super::context::{use_conversation, Conversation};
use crate::display::{no_safety_number_yet, safety_number_note};

#[component]
pub fn SafetyNumber() -> impl IntoView {
    let Conversation { view, peer, .. } = use_conversation();
    let number = view.safety_number;
    let note = safety_number_note(&peer);
    let waiting = no_safety_number_yet(&peer);
    let known = move || number.with(Option::is_some);
    view! {
        <section class="safety" aria-labelledby="safety-heading">
            <h3 id="safety-heading">"Safety number"</h3>
            <p class="safety-number" data-testid="safety-number" hidden=move || !known()>
                {move || number.get().unwrap_or_default()}
            </p>
            <p class="safety-note">
                {move || if known() { note.clone() } else { waiting.clone() }}
            </p>
        </section>
    }
}
