//! The notice that says, once, what this browser cannot do of what Bleep
//! uses (see [`super::browser_support`]). Nothing when it lacks nothing.

use leptos::prelude::*;

use super::browser_support::missing;
use crate::display::Missing;

#[component]
pub fn BrowserNotice() -> impl IntoView {
    let missing = missing();
    (!missing.is_empty()).then(|| {
        view! {
            <div class="banner notice" data-testid="browser-notice" role="note">
                {missing.into_iter().map(|m| view! { <p>{Missing::notice(m)}</p> }).collect_view()}
            </div>
        }
    })
}
