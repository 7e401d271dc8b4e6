//! The banner that says when the server cannot be reached, and that nothing
//! is lost meanwhile. It clears itself when the server answers again.

use leptos::either::Either;
use leptos::prelude::*;

use super::context::{use_conversation, Conversation};
use super::storage;

#[component]
pub fn ConnectionBanner() -> impl IntoView {
    let Conversation { chat, view, .. } = use_conversation();
    let (offline, storage_failed) = (view.offline, view.storage_failed);
    let retry = move |_| chat.get_value().retry_now();
    let is_offline = Memo::new(move |_| offline.with(Option::is_some));
    // The banner itself stays, as the live region must; what it says comes
    // and goes.
    view! {
        <div class="connection" data-testid="connection"
            data-state=move || if is_offline.get() { "offline" } else { "online" }
            role="status" aria-live="polite">
            {move || if is_offline.get() {
                Either::Left(view! {
                <p class="banner warning">
                    <span aria-hidden="true">"⚠ "</span>
                    <strong>"Server not reachable"</strong>
                    // On a phone, only the first words and "Retry now".
                    " — your messages are kept"
                    <span class="long">" and will be sent when it is back"</span>
                    ". "
                    <span class="reason long">{move || offline.get().unwrap_or_default()}</span>
                    " "
                    <button type="button" class="link" on:click=retry>"Retry now"</button>
                </p>
                })
            } else {
                Either::Right(view! { <span class="sr-only">"Connected to the server."</span> })
            }}
            // A browser that keeps nothing at all says so once, in the
            // browser notice.
            {move || (storage_failed.get() && storage::available()).then(|| view! {
                <p class="banner warning">
                    "This browser will not save messages (storage is full or turned off): keep this tab open until they are sent."
                </p>
            })}
        </div>
    }
}
