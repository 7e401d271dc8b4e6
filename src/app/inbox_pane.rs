//! The conversation opened beside the inbox's list (issue 17), and who is
//! signed in while the inbox is on screen. Opening one is a step of the
//! browser's history on request, so that on a phone, where the list and
//! the conversation are two views, the back button returns to the list.
//!
//! The conversation is mounted as a root of its own into the pane beside
//! the list, as `super::show` mounts whole screens, rather than drawn by a
//! view that switches: the list stays as it is while conversations come
//! and go.

use std::any::Any;
use std::cell::RefCell;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::alerts::show_count;
use super::conversation::mount_conversation;
use super::inbox_runner;
use super::joined::{set_address, Joined, Screen};
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

/// `me`'s inbox on `server` is on screen, with no conversation open yet.
pub fn begin(me: Name, server: String) {
    SHOWN.with(|s| {
        *s.borrow_mut() = Some(Shown {
            me,
            server,
            opened: None,
        })
    });
}

/// The inbox left the screen: the open conversation goes with it (its
/// chat stops).
pub fn end() {
    SHOWN.with(|s| s.borrow_mut().take());
    drop(PANE.with(|p| p.borrow_mut().take()));
}

/// Who is signed in, while the inbox is on screen.
pub fn signed_in() -> Option<Name> {
    SHOWN.with(|s| s.borrow().as_ref().map(|s| s.me.clone()))
}

/// Whether no conversation is open beside the list (on screen).
pub fn list_alone() -> bool {
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
pub fn show_total(total: u64) {
    show_count(
        &inbox_title(total),
        usize::try_from(total).unwrap_or(usize::MAX),
    );
}
