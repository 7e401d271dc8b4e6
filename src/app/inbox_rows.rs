//! The list of conversations (`data-testid="inbox"`), newest activity
//! first: per conversation the colleague's name and on-duty status, the
//! last message's preview and time, whose turn it is and the unread count
//! (`data-testid="inbox-item"`, `data-peer`, `data-unread`). A click opens
//! the conversation beside the list.
//!
//! Its items are the markup of [`list_html`] (tested natively, every text
//! escaped), redrawn whenever the rows, the statuses or the open
//! conversation change; one listener on the list finds the item clicked.

use leptos::html::Ul;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::clock::{clock_time, now_ms};
use super::inbox_runner::InboxView;
use super::inbox_screen::InboxPage;
use crate::core::Name;
use crate::inbox_list::{list_html, Line};
use crate::presence::status_line;

/// The colleague of the item the click `ev` fell in, if any.
fn clicked_peer(ev: &leptos::ev::MouseEvent) -> Option<Name> {
    let target: web_sys::Element = ev.target()?.dyn_into().ok()?;
    let item = target.closest("[data-peer]").ok()??;
    Name::parse(&item.get_attribute("data-peer")?).ok()
}

/// Every conversation, newest activity first.
#[component]
pub fn ConversationList(page: InboxPage, view: InboxView) -> impl IntoView {
    let list = NodeRef::<Ul>::new();
    let (rows, statuses, opened) = (view.rows, view.statuses, page.opened);
    Effect::new(move || {
        let Some(list) = list.get() else {
            return;
        };
        let now = now_ms();
        let html = rows.with(|rows| {
            statuses.with(|statuses| {
                opened.with(|open| {
                    let lines: Vec<Line<'_>> = rows
                        .iter()
                        .map(|(_, row)| Line {
                            row,
                            status: statuses
                                .iter()
                                .find(|(n, _)| n == row.peer.normal())
                                .and_then(|(_, e)| e.as_ref())
                                .map(|e| status_line(e, now))
                                .unwrap_or_default(),
                            time: row
                                .last
                                .as_ref()
                                .map(|l| clock_time(l.sent_at))
                                .unwrap_or_default(),
                            open: open
                                .as_ref()
                                .is_some_and(|o| o.normal() == row.peer.normal()),
                        })
                        .collect();
                    list_html(&lines)
                })
            })
        });
        list.set_inner_html(&html);
    });
    let empty = move || {
        (rows.with(Vec::is_empty) && !view.loading.get()).then_some(
            "No conversations yet. Start one above; a colleague's first message appears here.",
        )
    };
    view! {
        <h2 class="sr-only" id="inbox-heading">"Conversations"</h2>
        <ul class="inbox" data-testid="inbox" aria-labelledby="inbox-heading" node_ref=list
            on:click=move |ev| {
                if let Some(peer) = clicked_peer(&ev) {
                    page.open(Some(peer), true);
                }
            }></ul>
        <p class="inbox-empty">{empty}</p>
    }
}
