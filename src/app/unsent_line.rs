//! The line just above the composer that says your last message is not
//! sent yet, with "Retry now": always in view while the server cannot be
//! reached (the same words beside the message itself can be scrolled away,
//! or hidden behind the composer on a phone).

use leptos::prelude::*;

use super::context::{use_conversation, Conversation};
use crate::core::Delivery;
use crate::display::SLOW_PENDING_MS;

#[component]
pub fn UnsentLine() -> impl IntoView {
    let Conversation {
        chat, view, now, ..
    } = use_conversation();
    let messages = view.messages;
    // Your messages not sent yet are always your newest.
    let slow = move || {
        let now = now.get();
        messages.with(|rows| {
            rows.iter().rev().find(|row| row.mine).is_some_and(|row| {
                row.delivery == Some(Delivery::Pending)
                    && now.saturating_sub(row.sent_at) > SLOW_PENDING_MS
            })
        })
    };
    view! {
        <p class="slow unsent" data-testid="unsent" role="status" hidden=move || !slow()>
            "Your last message is not sent yet — retrying. "
            <button type="button" class="link" on:click=move |_| chat.get_value().retry_now()>"Retry now"</button>
        </p>
    }
}
