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
use std::cell::{Cell, RefCell};

use gloo_events::EventListener;
use leptos::html::Div;
use leptos::prelude::*;
use send_wrapper::SendWrapper;

use super::attention::show_count;
use super::conversation::mount_conversation;
use super::inbox_rows::ConversationList;
use super::inbox_runner::InboxView;
use super::joined::{open_in_url, set_address, Joined, Screen};
use super::new_conversation::NewConversation;
use crate::core::{Name, Pair};
use crate::inbox_list::inbox_title;

thread_local! {
    /// The conversation in the pane: dropping it stops its chat.
    static PANE: RefCell<Option<Box<dyn Any>>> = RefCell::default();
    /// The inbox on screen, for the pane's conversation to close itself.
    static SHOWN: Cell<Option<InboxPage>> = const { Cell::new(None) };
}

/// Closes the conversation beside the list ("All conversations", or the
/// conversation removed from the device).
fn close_pane() {
    if let Some(page) = SHOWN.with(Cell::get) {
        page.open(None, false);
    }
}

/// What opens and closes the conversation beside the list.
#[derive(Clone, Copy)]
pub struct InboxPage {
    me: StoredValue<Name>,
    server: StoredValue<String>,
    /// The colleague whose conversation is open.
    pub opened: RwSignal<Option<Name>>,
    pane: NodeRef<Div>,
}

impl InboxPage {
    /// Who is signed in.
    pub fn me(self) -> Name {
        self.me.get_value()
    }

    /// Opens the conversation with `peer` beside the list (`None`: closes
    /// it), after the event that asked for it; `push` makes it a step of
    /// the history (the back button undoes it).
    pub fn open(self, peer: Option<Name>, push: bool) {
        leptos::task::spawn_local(async move { self.show(peer, push) });
    }

    fn show(self, peer: Option<Name>, push: bool) {
        let same = self.opened.with_untracked(|o| match (o, &peer) {
            (Some(a), Some(b)) => a.normal() == b.normal(),
            (None, None) => true,
            _ => false,
        });
        if same && PANE.with(|p| p.borrow().is_some()) == peer.is_some() {
            return;
        }
        // The old conversation goes first, so that its chat stops.
        drop(PANE.with(|p| p.borrow_mut().take()));
        let (me, server) = (self.me.get_value(), self.server.get_value());
        set_address(
            &Screen::Inbox {
                me: me.clone(),
                server: server.clone(),
                open: peer.clone(),
            },
            push,
        );
        self.opened.set(peer.clone());
        let (Some(peer), Some(pane)) = (peer, self.pane.get_untracked()) else {
            return;
        };
        let joined = Joined {
            pair: Pair { me, peer },
            server,
        };
        let handle = mount_conversation(pane.into(), joined, close_pane, true);
        PANE.with(|p| *p.borrow_mut() = Some(handle));
    }
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
    let page = InboxPage {
        me: StoredValue::new(me.clone()),
        server: StoredValue::new(server.clone()),
        opened: RwSignal::new(None),
        pane: NodeRef::new(),
    };
    SHOWN.with(|s| s.set(Some(page)));
    // Once the pane is on the page: the conversation the address names.
    if open.is_some() {
        page.open(open, false);
    }
    // The back and forward buttons move between the list and a
    // conversation.
    let popstate = SendWrapper::new(EventListener::new(&window(), "popstate", move |_| {
        page.open(open_in_url(), false)
    }));
    on_cleanup(move || {
        SHOWN.with(|s| s.set(None));
        drop(popstate.take());
        drop(PANE.with(|p| p.borrow_mut().take()));
    });
    // With no conversation open, the title and badge count every
    // conversation (an open one's own screen counts them otherwise).
    let (total, opened) = (view.total, page.opened);
    Effect::new(move || {
        let total = total.get();
        if opened.with(Option::is_none) {
            show_count(
                &inbox_title(total),
                usize::try_from(total).unwrap_or(usize::MAX),
            );
        }
    });
    let problem = view.problem;
    let loading = move || {
        view.loading
            .get()
            .then_some("Reading your conversations from the server…")
    };

    view! {
        <section class="inbox-screen" class:has-open=move || opened.with(Option::is_some)>
            <div class="inbox-side">
                <header class="top-bar">
                    <h1 class="brand">"Bleep"</h1>
                    <p class="who">
                        <span class="sr-only">"Signed in as "</span>
                        <strong>{me.typed().to_owned()}</strong>
                    </p>
                    <div class="top-actions">
                        <button type="button" class="secondary" on:click=move |_| on_leave()>"Sign out"</button>
                    </div>
                </header>
                <NewConversation page server />
                <p class="inbox-note" role="status">{loading}{move || problem.get()}</p>
                <ConversationList page />
            </div>
            <div class="pane" node_ref=page.pane></div>
        </section>
    }
}
