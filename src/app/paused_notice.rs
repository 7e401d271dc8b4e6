//! "While Bleep was in the background, the browser paused it: messages and
//! alerts were not checked for 8 min (14:02 to 14:10)": shown when the screen
//! comes back after the browser paused the hidden tab (a phone freezes it, a
//! computer sleeps), so the clinician knows that no alert could have come in
//! that time. It stays until dismissed. See [`crate::core::unchecked`].

use leptos::prelude::*;

use super::clock::clock_time;
use super::context::{use_conversation, Conversation};
use crate::display::paused_notice;

#[component]
pub fn PausedNotice() -> impl IntoView {
    let Conversation { view, .. } = use_conversation();
    let paused = view.paused;
    move || {
        paused.get().map(|gap| {
            let words = paused_notice(gap.to - gap.from, &clock_time(gap.from), &clock_time(gap.to));
            view! {
                <div class="banner warning paused" data-testid="paused-notice" role="alert">
                    <p>{words}</p>
                    <button type="button" class="secondary" on:click=move |_| paused.set(None)>"Dismiss"</button>
                </div>
            }
        })
    }
}
