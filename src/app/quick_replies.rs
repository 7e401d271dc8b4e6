//! Quick replies: a row of one-tap answers above the composer ("Acknowledged",
//! "On my way", "Call me", "Can't come, ask someone else", then the user's
//! own phrases), and the field in the settings where the user keeps their
//! own, one a line. A quick reply is sent as the composer sends a message
//! (the turn, the priority toggle, delivery marks); the draft stays as it
//! was.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::context::{change_preferences, use_conversation, Conversation};
use crate::core::quick_replies as replies;

/// The row of quick replies; `pick` sends one. While `locked`, the buttons
/// are disabled (their fieldset is), and the composer's reason
/// (`#composer-lock`) says why.
#[component]
pub fn QuickReplies(
    pick: impl Fn(String) + 'static,
    locked: impl Fn() -> bool + Send + Sync + 'static,
) -> impl IntoView {
    let Conversation { preferences, .. } = use_conversation();
    let buttons = move || {
        preferences.with(|p| {
            replies::all(&p.quick_replies)
                .map(|text| view! { <button type="button" class="secondary quick" data-testid="quick-reply">{text.to_owned()}</button> })
                .collect_view()
        })
    };
    // One listener for every button: the words of the one clicked are the
    // reply (a disabled button is never clicked).
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let button = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("button").ok().flatten());
        if let Some(text) = button.and_then(|b| b.text_content()) {
            pick(text);
        }
    };
    view! {
        <fieldset class="quick-replies" aria-label="Quick replies" disabled=locked
            aria-describedby="composer-lock" on:click=on_click>{buttons}</fieldset>
    }
}

/// In the settings: the user's own quick replies, one a line.
#[component]
pub fn QuickReplySettings() -> impl IntoView {
    let Conversation {
        chat, preferences, ..
    } = use_conversation();
    let shown = move || preferences.with_untracked(|p| p.quick_replies.clone());
    let on_change = move |ev: leptos::ev::Event| {
        let field = event_target::<web_sys::HtmlTextAreaElement>(&ev);
        // What cannot be kept is refused as the browser refuses a field.
        match replies::tidy(&field.value()) {
            Ok(own) => {
                change_preferences(chat, preferences, |p| p.quick_replies = own);
                field.set_custom_validity("");
                field.set_value(&shown());
            }
            Err(e) => {
                field.set_custom_validity(e.message());
                field.report_validity();
            }
        }
    };
    view! {
        <label for="quick-replies-own">"Your own quick replies, one a line (after the four every ward has)"</label>
        <textarea id="quick-replies-own" rows="3" on:change=on_change>{shown()}</textarea>
    }
}
