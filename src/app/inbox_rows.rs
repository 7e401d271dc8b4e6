//! The list of conversations (`data-testid="inbox"`), newest activity
//! first: per conversation the colleague's name and on-duty status, the
//! last message's preview and time, whose turn it is and the unread count
//! (`data-testid="inbox-item"`, `data-peer`, `data-unread`). A click opens
//! the conversation beside the list.
//!
//! The inbox draws its items itself, as the markup of
//! [`crate::inbox_list::list_html`] (tested natively, every text escaped),
//! whenever they change (`super::inbox_runner`): no signal holds the rows.
//! One listener on the list finds the item clicked.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::inbox_pane::open_pane;
use super::inbox_runner;
use crate::core::Name;

/// The colleague of the item the click `ev` fell in, if any.
fn clicked_peer(ev: &leptos::ev::MouseEvent) -> Option<Name> {
    let target: web_sys::Element = ev.target()?.dyn_into().ok()?;
    let item = target.closest("[data-peer]").ok()??;
    Name::parse(&item.get_attribute("data-peer")?).ok()
}

/// Every conversation, newest activity first.
#[component]
pub fn ConversationList() -> impl IntoView {
    // Once the list is on the page.
    leptos::task::spawn_local(async { inbox_runner::redraw() });
    view! {
        <h2 class="sr-only" id="inbox-heading">"Conversations"</h2>
        <ul class="inbox" id="inbox-list" data-testid="inbox" aria-labelledby="inbox-heading"
            on:click=move |ev| {
                if let Some(peer) = clicked_peer(&ev) {
                    open_pane(Some(peer), true);
                }
            }></ul>
        <p class="inbox-empty" id="inbox-empty"></p>
    }
}
