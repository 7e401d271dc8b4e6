//! "While Bleep was in the background, the browser paused it: messages and
//! alerts were not checked for 8 min (14:02 to 14:10)": shown when the screen
//! comes back after the browser paused the hidden tab (a phone freezes it, a
//! computer sleeps), so the clinician knows that no alert could have come in
//! that time. It stays until dismissed. See [`crate::core::unchecked`].
//!
//! Always in the page and hidden while there is nothing to say (as the
//! unsent line is): cheaper to ship than a view that comes and goes.

use leptos::prelude::*;

use super::context::{use_conversation, Conversation};

#[component]
pub fn PausedNotice() -> impl IntoView {
    let Conversation { view, .. } = use_conversation();
    let paused = view.paused;
    view! {
        <p class="banner warning" data-testid="paused-notice" role="alert"
            hidden=move || paused.with(String::is_empty)>
            {move || paused.get()}
            " "
            <button type="button" class="link" on:click=move |_| paused.set(String::new())>"Dismiss"</button>
        </p>
    }
}
