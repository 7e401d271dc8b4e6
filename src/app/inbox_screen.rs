//! The inbox screen (issue 17): the list of conversations, the field that
//! starts one, and the conversation opened from them. On a wide screen the
//! list and the conversation sit side by side; on a phone they are two
//! views, and opening a conversation is a step of the browser's history,
//! so the back button returns to the list (`popstate`).
//!
//! The conversation is mounted as a root of its own into the pane beside
//! the list, as `super::show` mounts whole screens, rather than drawn by a
//! view that switches: the list stays as it is while conversations come
//! and go.

use std::any::Any;
use std::cell::RefCell;

use gloo_events::EventListener;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;

use super::attention::show_count;
use super::conversation::mount_conversation;
use super::inbox_rows::ConversationList;
use super::inbox_runner::{self, InboxView};
use super::joined::{open_in_url, set_address, Joined, Screen};
use super::new_conversation::NewConversation;
use crate::core::{Name, Pair};
use crate::inbox_list::inbox_title;

/// The inbox on screen: whose, on which server, and the colleague whose
/// conversation is open beside the list.
struct Shown {
    me: Name,
    server: String,
    opened: Option<Name>,
}

thread_local! {
    /// The conversation in the pane: dropping it stops its chat.
    static PANE: RefCell<Option<Box<dyn Any>>> = RefCell::default();
    static SHOWN: RefCell<Option<Shown>> = const { RefCell::new(None) };
}

/// Who is signed in, while the inbox is on screen.
pub fn signed_in() -> Option<Name> {
    SHOWN.with(|s| s.borrow().as_ref().map(|s| s.me.clone()))
}

/// Whether no conversation is open beside the list (on screen).
fn list_alone() -> bool {
    SHOWN.with(|s| s.borrow().as_ref().is_some_and(|s| s.opened.is_none()))
}

/// Opens the conversation with `peer` beside the list (`None`: closes it),
/// after the event that asked for it; `push` makes it a step of the
/// history (the back button undoes it).
pub fn open_pane(peer: Option<Name>, push: bool) {
    leptos::task::spawn_local(async move { show_pane(peer, push) });
}

/// Closes the conversation beside the list ("All conversations", or the
/// conversation removed from the device).
fn close_pane() {
    open_pane(None, false);
}

fn show_pane(peer: Option<Name>, push: bool) {
    let Some((me, server, same)) = SHOWN.with(|s| {
        s.borrow().as_ref().map(|s| {
            let same = match (&s.opened, &peer) {
                (Some(a), Some(b)) => a.normal() == b.normal(),
                (None, None) => true,
                _ => false,
            };
            (s.me.clone(), s.server.clone(), same)
        })
    }) else {
        return;
    };
    if same && PANE.with(|p| p.borrow().is_some()) == peer.is_some() {
        return;
    }
    // The old conversation goes first, so that its chat stops.
    drop(PANE.with(|p| p.borrow_mut().take()));
    set_address(
        &Screen::Inbox {
            me: me.clone(),
            server: server.clone(),
            open: peer.clone(),
        },
        push,
    );
    SHOWN.with(|s| {
        if let Some(s) = s.borrow_mut().as_mut() {
            s.opened = peer.clone();
        }
    });
    let document = document();
    if let Some(screen) = document.get_element_by_id("inbox-screen") {
        screen.set_class_name(if peer.is_some() {
            "inbox-screen has-open"
        } else {
            "inbox-screen"
        });
    }
    let Some(peer) = peer else {
        // The list alone: its title and badge again.
        if let Some(view) = inbox_runner::view() {
            show_total(view.total.get_untracked());
        }
        return;
    };
    let Some(pane) = document
        .get_element_by_id("conversation-pane")
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    let joined = Joined {
        pair: Pair { me, peer },
        server,
    };
    let handle = mount_conversation(pane, joined, close_pane, true);
    PANE.with(|p| *p.borrow_mut() = Some(handle));
}

/// The title and badge of the list alone: every conversation's unread.
fn show_total(total: u64) {
    show_count(
        &inbox_title(total),
        usize::try_from(total).unwrap_or(usize::MAX),
    );
}

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
    SHOWN.with(|s| {
        *s.borrow_mut() = Some(Shown {
            me,
            server: server.clone(),
            opened: None,
        })
    });
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
        SHOWN.with(|s| s.borrow_mut().take());
        drop(popstate.take());
        drop(PANE.with(|p| p.borrow_mut().take()));
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
