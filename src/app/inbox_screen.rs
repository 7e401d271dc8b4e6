//! The inbox screen (issue 17): the list of conversations, the field that
//! starts one, and the conversation opened from them ([`super::inbox_pane`]).
//! On a wide screen the list and the conversation sit side by side; on a
//! phone they are two views, and the back and forward buttons move between
//! them (`popstate`).

use gloo_events::EventListener;
use leptos::prelude::*;
use send_wrapper::SendWrapper;

use super::inbox_pane::{self, list_alone, open_pane, show_total};
use super::inbox_rows::ConversationList;
use super::inbox_runner::InboxView;
use super::joined::open_in_url;
use super::new_conversation::NewConversation;
use crate::core::Name;

/// `me`'s inbox on `server`, with the conversation `open` beside it.
#[component]
pub fn InboxScreen(
    me: Name,
    server: String,
    view: InboxView,
    open: Option<Name>,
    on_leave: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let typed = me.typed().to_owned();
    inbox_pane::begin(me, server.clone());
    // Once the pane is on the page: the conversation the address names.
    if open.is_some() {
        open_pane(open, false);
    }
    // The back and forward buttons move between the list and a
    // conversation.
    let popstate = SendWrapper::new(EventListener::new(&window(), "popstate", |_| {
        open_pane(open_in_url(), false)
    }));
    on_cleanup(move || {
        drop(popstate.take());
        inbox_pane::end();
    });
    // With no conversation open, the title and badge count every
    // conversation (an open one's own screen counts them otherwise).
    let total = view.total;
    Effect::new(move || {
        let total = total.get();
        if list_alone() {
            show_total(total);
        }
    });
    let problem = view.problem;
    let loading = move || {
        view.loading
            .get()
            .then_some("Reading your conversations from the server…")
    };

    view! {
        <section class="inbox-screen" id="inbox-screen">
            <div class="inbox-side">
                <header class="top-bar">
                    <h1 class="brand">"Bleep"</h1>
                    <p class="who">
                        <span class="sr-only">"Signed in as "</span>
                        <strong>{typed}</strong>
                    </p>
                    <div class="top-actions">
                        <button type="button" class="secondary" on:click=move |_| on_leave()>"Sign out"</button>
                    </div>
                </header>
                <NewConversation server />
                <p class="inbox-note" role="status">{loading}{move || problem.get()}</p>
                <ConversationList />
            </div>
            <div class="pane" id="conversation-pane"></div>
        </section>
    }
}
