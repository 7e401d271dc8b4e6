//! The thin shell that runs the protocol core in the browser.
//!
//! [`Chat`] owns a [`Session`], runs the requests it asks for with the
//! IMserver client, wakes it with a timer when it wants to poll, tells it
//! when the tab is hidden or the network comes back, saves its state to
//! `localStorage` before every request goes out, and mirrors what it shows
//! into Leptos signals ([`ChatView`]). Components read the signals and call
//! [`Chat::send`]; they never see the session itself.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::http::BrowserTransport;
use super::storage;
use crate::core::{Budget, Connection, Delivery, Pair, SendError, Session, Settings, Turn};
use crate::imserver::client::ImClient;

/// Milliseconds since 1970, from the browser's clock.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// One message as a row of the transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRow {
    /// Stable identity: the sending window and its number.
    pub id: String,
    pub from: String,
    pub mine: bool,
    pub text: String,
    pub sent_at: u64,
    pub delivery: Option<Delivery>,
}

/// The turn, as the banner shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnState {
    Idle,
    Sending,
    Waiting { since: u64 },
}

impl TurnState {
    pub fn as_str(self) -> &'static str {
        match self {
            TurnState::Idle => "idle",
            TurnState::Sending => "sending",
            TurnState::Waiting { .. } => "waiting",
        }
    }
}

/// What the screen shows of a conversation, as signals.
#[derive(Clone, Copy)]
pub struct ChatView {
    pub turn: RwSignal<TurnState>,
    pub messages: RwSignal<Vec<MessageRow>>,
    /// `None` while online; else why not, in plain words.
    pub offline: RwSignal<Option<String>>,
    pub unread: RwSignal<usize>,
    pub loading: RwSignal<bool>,
    /// Whether local storage refused to save (it is full or disabled).
    pub storage_failed: RwSignal<bool>,
}

impl ChatView {
    fn new() -> ChatView {
        ChatView {
            turn: RwSignal::new(TurnState::Idle),
            messages: RwSignal::new(Vec::new()),
            offline: RwSignal::new(None),
            unread: RwSignal::new(0),
            loading: RwSignal::new(true),
            storage_failed: RwSignal::new(false),
        }
    }
}

/// A running conversation. Dropped (and stopped) with its screen.
pub struct Chat {
    session: RefCell<Session>,
    client: ImClient<BrowserTransport>,
    view: ChatView,
    timer: RefCell<Option<Timeout>>,
    busy: Cell<bool>,
    stopped: Cell<bool>,
    shown_revision: Cell<u64>,
    listeners: RefCell<Vec<(web_sys::EventTarget, &'static str, Closure<dyn FnMut()>)>>,
}

impl Chat {
    /// Starts the conversation `pair` on `server`, resuming what this
    /// browser saved, or loading the history from the server if nothing was.
    pub fn start(pair: Pair, server: &str, settings: Settings) -> Rc<Chat> {
        let seed = (js_sys::Math::random() * 2f64.powi(53)) as u64;
        let keys = pair.keys();
        let saved = storage::load_session(keys.prefix(), pair.me.normal())
            .filter(|saved| saved.pair().me.normal() == pair.me.normal() && saved.device() == &storage::device_id());
        let session = match saved {
            Some(saved) => Session::restore(saved, server, settings.clone(), seed),
            None => Session::new(pair, storage::device_id(), server, settings.clone(), seed),
        };
        let timeout = u32::try_from(settings.request_timeout_ms).unwrap_or(u32::MAX);
        let chat = Rc::new(Chat {
            session: RefCell::new(session),
            client: ImClient::new(server, BrowserTransport::new(timeout)),
            view: ChatView::new(),
            timer: RefCell::new(None),
            busy: Cell::new(false),
            stopped: Cell::new(false),
            shown_revision: Cell::new(0),
            listeners: RefCell::new(Vec::new()),
        });
        chat.listen();
        chat.set_visible(!is_hidden());
        chat.refresh_view();
        chat.pump();
        chat
    }

    pub fn view(&self) -> ChatView {
        self.view
    }

    /// Sends a message (it shows at once as pending).
    pub fn send(self: &Rc<Self>, text: &str) -> Result<(), SendError> {
        self.session.borrow_mut().send(text, now_ms())?;
        self.changed();
        self.pump();
        Ok(())
    }

    /// How much of the server's request limit a draft would take.
    pub fn budget(&self, text: &str) -> Budget {
        self.session.borrow().budget(text)
    }

    /// Tries the server again at once.
    pub fn retry_now(self: &Rc<Self>) {
        self.session.borrow_mut().poll_now(now_ms());
        self.pump();
    }

    pub fn set_settings(self: &Rc<Self>, settings: Settings) {
        self.session.borrow_mut().set_settings(settings, now_ms());
        self.pump();
    }

    /// The key prefix and own name under which this conversation is saved.
    pub fn storage_keys(&self) -> (String, String) {
        let session = self.session.borrow();
        (session.keys().prefix().to_owned(), session.pair().me.normal().to_owned())
    }

    /// Every key of this conversation on the server, to clear it.
    pub fn client(&self) -> &ImClient<BrowserTransport> {
        &self.client
    }

    /// Stops polling and listening; called when the screen goes away.
    pub fn stop(&self) {
        self.stopped.set(true);
        self.timer.borrow_mut().take();
        for (target, event, closure) in self.listeners.borrow_mut().drain(..) {
            let _ = target.remove_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        }
    }

    fn set_visible(self: &Rc<Self>, visible: bool) {
        self.session.borrow_mut().set_visible(visible, now_ms());
        self.changed();
        self.pump();
    }

    /// Runs the next request the session wants, or sleeps until it wants one.
    fn pump(self: &Rc<Self>) {
        if self.stopped.get() || self.busy.get() {
            return;
        }
        let now = now_ms();
        let next = self.session.borrow_mut().poll_request(now);
        if let Some(outgoing) = next {
            self.busy.set(true);
            let chat = Rc::clone(self);
            leptos::task::spawn_local(async move {
                let answer = chat.client.run(&outgoing.request).await;
                chat.busy.set(false);
                if chat.stopped.get() {
                    return;
                }
                chat.session.borrow_mut().handle_answer(outgoing.id, answer, now_ms());
                chat.changed();
                chat.pump();
            });
            return;
        }
        let wake_at = self.session.borrow().poll_timeout(now);
        if let Some(at) = wake_at {
            let delay = u32::try_from(at.saturating_sub(now)).unwrap_or(u32::MAX);
            let chat = Rc::clone(self);
            *self.timer.borrow_mut() = Some(Timeout::new(delay, move || chat.pump()));
        }
    }

    /// Saves and mirrors the session after anything that may have changed it.
    fn changed(&self) {
        let revision = self.session.borrow().revision();
        if revision == self.shown_revision.get() {
            return;
        }
        self.shown_revision.set(revision);
        let session = self.session.borrow();
        let saved = storage::save_session(session.keys().prefix(), session.pair().me.normal(), &session.saved());
        drop(session);
        self.view.storage_failed.set(!saved);
        self.refresh_view();
    }

    fn refresh_view(&self) {
        let session = self.session.borrow();
        let turn = match session.turn() {
            Turn::Idle => TurnState::Idle,
            Turn::Sending => TurnState::Sending,
            Turn::Waiting { since } => TurnState::Waiting { since },
        };
        self.view.turn.set(turn);
        let rows: Vec<MessageRow> = session
            .messages()
            .map(|m| MessageRow {
                id: format!("{}.{}", m.envelope.device, m.envelope.seq),
                from: m.envelope.from.clone(),
                mine: m.mine,
                text: m.envelope.text.clone(),
                sent_at: m.envelope.sent_at,
                delivery: m.delivery,
            })
            .collect();
        if self.view.messages.with_untracked(|old| old != &rows) {
            self.view.messages.set(rows);
        }
        let offline = match session.connection() {
            Connection::Online => None,
            Connection::Offline { reason, .. } => Some(reason),
        };
        if self.view.offline.get_untracked() != offline {
            self.view.offline.set(offline);
        }
        self.view.unread.set(session.unread());
        self.view.loading.set(session.is_loading_history());
    }

    /// Listens for the tab being hidden or shown and the network coming back.
    fn listen(self: &Rc<Self>) {
        let Some(window) = web_sys::window() else { return };
        let weak = Rc::downgrade(self);
        let on_visibility = Closure::<dyn FnMut()>::new(move || {
            if let Some(chat) = weak.upgrade() {
                chat.set_visible(!is_hidden());
            }
        });
        let weak = Rc::downgrade(self);
        let on_online = Closure::<dyn FnMut()>::new(move || {
            if let Some(chat) = weak.upgrade() {
                chat.retry_now();
            }
        });
        let mut listeners = self.listeners.borrow_mut();
        if let Some(document) = window.document() {
            let target: web_sys::EventTarget = document.into();
            let _ = target.add_event_listener_with_callback("visibilitychange", on_visibility.as_ref().unchecked_ref());
            listeners.push((target, "visibilitychange", on_visibility));
        }
        let target: web_sys::EventTarget = window.into();
        let _ = target.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        listeners.push((target, "online", on_online));
    }
}

/// Whether the tab is hidden (another tab in front, or minimised).
pub fn is_hidden() -> bool {
    web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden())
}
