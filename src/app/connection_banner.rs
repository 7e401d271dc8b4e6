//! The banner that says when the server cannot be reached, and that nothing
//! is lost meanwhile. It clears itself when the server answers again.

use leptos::either::Either;
use leptos::prelude::*;

use super::conversation::use_conversation;

#[component]
pub fn ConnectionBanner() -> impl IntoView {
    let c = use_conversation();
    let offline = c.view.offline;
    let storage_failed = c.view.storage_failed;
    let chat = c.chat;
    let retry = move |_| chat.get_value().retry_now();
    // One reactive closure draws the banner (the live region itself stays).
    move || {
        let reason = offline.get();
        let state = if reason.is_some() {
            "offline"
        } else {
            "online"
        };
        let message = match reason {
            Some(reason) => Either::Left(view! {
                <p class="banner warning">
                    <span aria-hidden="true">"⚠ "</span>
                    <strong>"Server not reachable"</strong>
                    " — your messages are kept and will be sent when it is back. "
                    <span class="reason">{reason}</span>
                    " "
                    <button type="button" class="link" on:click=retry>"Retry now"</button>
                </p>
            }),
            None => {
                Either::Right(view! { <span class="sr-only">"Connected to the server."</span> })
            }
        };
        let storage_warning = storage_failed.get().then(|| view! {
            <p class="banner warning">
                "This browser will not save messages (storage is full or turned off): keep this tab open until they are sent."
            </p>
        });
        view! {
            <div class="connection" data-testid="connection" data-state=state
                role="status" aria-live="polite">
                {message}
                {storage_warning}
            </div>
        }
    }
}
