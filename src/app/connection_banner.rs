//! The banner that says when the server cannot be reached, and that nothing
//! is lost meanwhile. It clears itself when the server answers again.

use leptos::prelude::*;

use super::conversation::use_conversation;

#[component]
pub fn ConnectionBanner() -> impl IntoView {
    let c = use_conversation();
    let offline = c.view.offline;
    let storage_failed = c.view.storage_failed;
    let chat = c.chat;
    let retry = move |_| chat.with_value(|chat| chat.retry_now());
    view! {
        <div class="connection" data-testid="connection"
            data-state=move || if offline.get().is_some() { "offline" } else { "online" }
            role="status" aria-live="polite">
            <Show when=move || offline.get().is_some() fallback=|| view! { <span class="sr-only">"Connected to the server."</span> }>
                <p class="banner warning">
                    <span aria-hidden="true">"⚠ "</span>
                    <strong>"Server not reachable"</strong>
                    " — your messages are kept and will be sent when it is back. "
                    <span class="reason">{move || offline.get().unwrap_or_default()}</span>
                    " "
                    <button type="button" class="link" on:click=retry>"Retry now"</button>
                </p>
            </Show>
            <Show when=move || storage_failed.get()>
                <p class="banner warning">
                    "This browser will not save messages (storage is full or turned off): keep this tab open until they are sent."
                </p>
            </Show>
        </div>
    }
}
