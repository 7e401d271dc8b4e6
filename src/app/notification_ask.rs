//! The one question, in the first conversation this browser opens, whether
//! to show a desktop notification when a reply arrives while Bleep is in the
//! background. It is asked once: remembered as asked as soon as it shows,
//! never on a later load. The browser's own permission prompt comes only
//! after the clinician says yes (browsers ignore a request no click made).

use leptos::prelude::*;

use super::browser_support::{notifications_allowed, request_notifications};
use super::context::{change_preferences, use_conversation, Conversation};
use super::focus;
use crate::display::{notification_question, NOTIFICATIONS_BLOCKED};

/// After an answer the question goes: the focus goes to the composer, where
/// the clinician goes on (it would else fall to the page).
fn focus_composer() {
    focus::move_to("composer");
}

#[component]
pub fn NotificationAsk() -> impl IntoView {
    let Conversation {
        chat,
        peer,
        preferences,
        ..
    } = use_conversation();
    let first = preferences.with_untracked(|p| !p.asked_notifications && !p.notifications);
    let shown = RwSignal::new(false);
    // Once the clinician said yes and the browser said no.
    let blocked = RwSignal::new(false);
    if first && notifications_allowed() {
        // Asked now, whatever the answer: never again on the next load.
        change_preferences(chat, preferences, |p| p.asked_notifications = true);
        shown.set(true);
    }
    let yes = move |_| {
        request_notifications(Box::new(move |allowed| {
            change_preferences(chat, preferences, |p| p.notifications = allowed);
            shown.set(!allowed);
            blocked.set(!allowed);
            if allowed {
                focus_composer();
            }
        }));
    };
    let done = move |_| {
        shown.set(false);
        focus_composer();
    };
    let question = notification_question(&peer);
    // Hidden rather than added and removed: the same few elements either way.
    view! {
        <div class="banner notice ask" data-testid="notification-ask" hidden=move || !shown.get()>
            <p>{move || if blocked.get() { NOTIFICATIONS_BLOCKED.to_owned() } else { question.clone() }}</p>
            <button type="button" class="primary" data-testid="notification-yes" hidden=blocked on:click=yes>"Yes, notify me"</button>
            <button type="button" class="secondary" on:click=done>{move || if blocked.get() { "OK" } else { "Not now" }}</button>
        </div>
    }
}
