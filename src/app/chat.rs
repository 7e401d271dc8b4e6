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
use std::sync::Arc;

use gloo_timers::callback::{Interval, Timeout};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::device::DeviceClaim;
use super::http::BrowserTransport;
use super::storage::{self, ChatKey};
use crate::core::journal::Journal;
use crate::core::{Budget, Connection, Delivery, Pair, SendError, Session, Settings, Turn};
use crate::display::{local_day, SHOWN_AT_FIRST};
use crate::imserver::client::ImClient;

/// How long after a change the transcript is saved (it can be large).
const TRANSCRIPT_SAVE_DELAY_MS: u32 = 500;

/// Milliseconds since 1970, from the browser's clock.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// One message as a row of the transcript. Its text is shared, not copied:
/// the rows on screen are copied and compared at every change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRow {
    /// Stable identity: the sending window and its number.
    pub id: Arc<str>,
    /// The number part of `id`.
    pub seq: u64,
    pub from: Arc<str>,
    pub mine: bool,
    pub text: Arc<str>,
    pub sent_at: u64,
    /// The local calendar day it was sent (see [`crate::display::local_day`]).
    pub day: i64,
    pub delivery: Option<Delivery>,
}

/// The turn, as the banner shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnState {
    /// A new window is still reading the conversation from the server.
    Loading,
    Idle,
    Sending,
    Waiting {
        since: u64,
    },
}

impl TurnState {
    pub fn as_str(self) -> &'static str {
        match self {
            TurnState::Loading => "loading",
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
    /// How many earlier messages are not on screen.
    pub earlier: RwSignal<usize>,
    /// The time, ticking once a second, for "waiting for 2 min" and retries.
    pub now: RwSignal<u64>,
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
            earlier: RwSignal::new(0),
            now: RwSignal::new(now_ms()),
            storage_failed: RwSignal::new(false),
        }
    }
}

/// An event listener to remove when the chat stops.
type Listener = (web_sys::EventTarget, &'static str, Closure<dyn FnMut()>);

/// A running conversation. Dropped (and stopped) with its screen.
pub struct Chat {
    session: RefCell<Session>,
    /// Where this conversation is saved, for this tab's device.
    storage_key: ChatKey,
    /// Keeps this tab's device to itself while the chat runs.
    claim: RefCell<Option<DeviceClaim>>,
    client: ImClient<BrowserTransport>,
    view: ChatView,
    timer: RefCell<Option<Timeout>>,
    /// Saves the transcript a moment after it changed.
    transcript_timer: RefCell<Option<Timeout>>,
    /// Ticks `view.now`.
    clock: RefCell<Option<Interval>>,
    /// Where the saved transcript's journal ends.
    journal: RefCell<Journal>,
    /// Whether the last save of the state, and of the transcript, failed.
    state_unsaved: Cell<bool>,
    transcript_unsaved: Cell<bool>,
    busy: Cell<bool>,
    stopped: Cell<bool>,
    shown_revision: Cell<u64>,
    /// How many of the newest messages are on screen at most, and how many
    /// the transcript held when they were last counted.
    limit: Cell<usize>,
    total: Cell<usize>,
    listeners: RefCell<Vec<Listener>>,
}

impl Chat {
    /// Starts the conversation `pair` on `server`, resuming what this
    /// browser saved, or loading the history from the server if nothing was.
    pub fn start(pair: Pair, server: &str, settings: Settings) -> Rc<Chat> {
        let seed = (js_sys::Math::random() * 2f64.powi(53)) as u64;
        let keys = pair.keys();
        let conversation = format!("{}{}", keys.prefix(), pair.me.normal());
        let claim = DeviceClaim::claim(&conversation);
        let storage_key = ChatKey::new(keys.prefix(), pair.me.normal(), claim.device().clone());
        let saved = storage::load_session(&storage_key).filter(|(saved, _, _)| {
            saved.pair().me.normal() == pair.me.normal() && saved.device() == claim.device()
        });
        let (session, journal) = match saved {
            Some((saved, transcript, journal)) => (
                Session::restore(saved, transcript, server, settings.clone(), seed),
                journal,
            ),
            None => {
                // Whatever transcript this device kept without a state to go
                // with it is stale: the history is read from the server again.
                storage::forget_transcript(&storage_key);
                let session =
                    Session::new(pair, claim.device().clone(), server, settings.clone(), seed);
                (session, Journal::default())
            }
        };
        let timeout = u32::try_from(settings.request_timeout_ms).unwrap_or(u32::MAX);
        let chat = Rc::new(Chat {
            session: RefCell::new(session),
            storage_key,
            claim: RefCell::new(Some(claim)),
            client: ImClient::new(server, BrowserTransport::new(timeout)),
            view: ChatView::new(),
            timer: RefCell::new(None),
            transcript_timer: RefCell::new(None),
            clock: RefCell::new(None),
            journal: RefCell::new(journal),
            state_unsaved: Cell::new(false),
            transcript_unsaved: Cell::new(false),
            busy: Cell::new(false),
            stopped: Cell::new(false),
            shown_revision: Cell::new(0),
            limit: Cell::new(SHOWN_AT_FIRST),
            total: Cell::new(0),
            listeners: RefCell::new(Vec::new()),
        });
        let now = chat.view.now;
        *chat.clock.borrow_mut() = Some(Interval::new(1_000, move || now.set(now_ms())));
        chat.listen();
        chat.set_visible(!is_hidden());
        chat.refresh_view();
        chat.pump();
        chat
    }

    pub fn view(&self) -> ChatView {
        self.view
    }

    /// Sends a message. It shows at once, as pending; its request starts
    /// once the browser has drawn it.
    pub fn send(self: &Rc<Self>, text: &str) -> Result<(), SendError> {
        self.session.borrow_mut().send(text, now_ms())?;
        self.changed();
        self.pump_after_frame();
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

    /// Where this conversation is saved for this tab.
    pub fn storage_key(&self) -> &ChatKey {
        &self.storage_key
    }

    /// The prefix of every key of this conversation on the server.
    pub fn key_prefix(&self) -> String {
        self.session.borrow().keys().prefix().to_owned()
    }

    /// Every key of this conversation on the server, to clear it.
    pub fn client(&self) -> &ImClient<BrowserTransport> {
        &self.client
    }

    /// Shows `more` earlier messages above the transcript.
    pub fn show_earlier(&self, more: usize) {
        self.limit.set(self.limit.get() + more);
        self.refresh_view();
    }

    /// Stops polling and listening; called when the screen goes away.
    pub fn stop(&self) {
        self.stopped.set(true);
        self.timer.borrow_mut().take();
        self.transcript_timer.borrow_mut().take();
        self.clock.borrow_mut().take();
        self.save_transcript();
        self.claim.borrow_mut().take();
        for (target, event, closure) in self.listeners.borrow_mut().drain(..) {
            let _ =
                target.remove_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
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
                let before = chat.session.borrow().revision();
                chat.session
                    .borrow_mut()
                    .handle_answer(outgoing.id, answer, now_ms());
                chat.changed();
                // What changed is drawn before the next request starts;
                // but the rest of a send (telling the colleague) follows at
                // once: they are waiting for it.
                let session = chat.session.borrow();
                let (changed, telling) = (session.revision() != before, session.is_telling_peer());
                drop(session);
                match (changed, telling) {
                    (false, _) => chat.pump(),
                    (true, true) => chat.pump_soon(),
                    (true, false) => chat.pump_after_frame(),
                }
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

    /// Runs [`Chat::pump`] in a task of its own.
    fn pump_soon(self: &Rc<Self>) {
        let chat = Rc::clone(self);
        *self.timer.borrow_mut() = Some(Timeout::new(0, move || chat.pump()));
    }

    /// Runs [`Chat::pump`] in a task of its own once the browser has drawn
    /// the next frame: what just changed (a new message, a delivery mark,
    /// the turn) reaches the screen before the next request is built and
    /// started, each change in a frame of its own. (A hidden tab draws no
    /// frames: there, the task comes at once.)
    fn pump_after_frame(self: &Rc<Self>) {
        if is_hidden() {
            self.pump_soon();
        } else {
            let chat = Rc::clone(self);
            request_animation_frame(move || chat.pump_soon());
        }
    }

    /// Saves and mirrors the session after anything that may have changed it.
    fn changed(self: &Rc<Self>) {
        let revision = self.session.borrow().revision();
        if revision == self.shown_revision.get() {
            return;
        }
        self.shown_revision.set(revision);
        let session = self.session.borrow();
        let saved = storage::save_state(&self.storage_key, &session.saved());
        let transcript_changed = !session.unsaved_transcript().is_empty();
        drop(session);
        self.state_unsaved.set(!saved);
        self.show_storage_state();
        if transcript_changed && self.transcript_timer.borrow().is_none() {
            let chat = Rc::clone(self);
            *self.transcript_timer.borrow_mut() =
                Some(Timeout::new(TRANSCRIPT_SAVE_DELAY_MS, move || {
                    chat.transcript_timer.borrow_mut().take();
                    let saved = chat.save_transcript();
                    chat.show_storage_state();
                    if saved {
                        chat.changed();
                        chat.pump();
                    }
                }));
        }
        self.refresh_view();
    }

    /// Appends what changed in the transcript to storage, and tells the
    /// session once it is stored; says whether it was.
    fn save_transcript(&self) -> bool {
        let mut session = self.session.borrow_mut();
        if session.unsaved_transcript().is_empty() {
            return true;
        }
        let stored = storage::save_transcript(
            &self.storage_key,
            &self.journal.borrow(),
            session.unsaved_transcript(),
        );
        self.transcript_unsaved.set(stored.is_none());
        match stored {
            Some(next) => {
                *self.journal.borrow_mut() = next;
                session.transcript_saved();
                true
            }
            None => false,
        }
    }

    /// Warns on screen while the browser refuses to keep the state or the
    /// transcript (storage full or turned off).
    fn show_storage_state(&self) {
        let failed = self.state_unsaved.get() || self.transcript_unsaved.get();
        if self.view.storage_failed.get_untracked() != failed {
            self.view.storage_failed.set(failed);
        }
    }

    fn refresh_view(&self) {
        let session = self.session.borrow();
        let turn = match session.turn() {
            _ if session.is_loading_history() => TurnState::Loading,
            Turn::Idle => TurnState::Idle,
            Turn::Sending => TurnState::Sending,
            Turn::Waiting { since } => TurnState::Waiting { since },
        };
        if self.view.turn.get_untracked() != turn {
            self.view.turn.set(turn);
        }
        // Only the newest messages are on screen; older ones on request. New
        // messages extend the window rather than push its oldest row out: an
        // append then lays out and paints one row, not every row moved up.
        let total = session.message_count();
        let before = self.total.replace(total);
        if before > 0
            && total > before
            && total - before <= SHOWN_AT_FIRST
            && !session.is_loading_history()
        {
            self.limit.set(self.limit.get() + total - before);
        }
        let limit = self.limit.get();
        let offset = js_sys::Date::new_0().get_timezone_offset() as i32;
        // Rows already on screen are reused, their text shared, not copied:
        // most changes add a row or change one row's delivery. (Matched from
        // the newest, as the rows are built. Every device id has the same
        // length, so its number and the id's start are the whole id.)
        let rows = self.view.messages.with_untracked(|old| {
            let mut old = old.iter().rev().peekable();
            let mut rows: Vec<MessageRow> = session
                .messages()
                .rev()
                .take(limit)
                .map(|m| {
                    let e = m.envelope;
                    let day = local_day(e.sent_at, offset);
                    match old
                        .next_if(|row| row.seq == e.seq && row.id.starts_with(e.device.as_str()))
                    {
                        Some(row) => MessageRow {
                            day,
                            delivery: m.delivery,
                            ..row.clone()
                        },
                        None => MessageRow {
                            id: format!("{}.{}", e.device, e.seq).into(),
                            seq: e.seq,
                            from: e.from.as_str().into(),
                            mine: m.mine,
                            text: e.text.as_str().into(),
                            sent_at: e.sent_at,
                            day,
                            delivery: m.delivery,
                        },
                    }
                })
                .collect();
            rows.reverse();
            rows
        });
        let earlier = total - rows.len();
        if self.view.earlier.get_untracked() != earlier {
            self.view.earlier.set(earlier);
        }
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
        let unread = session.unread();
        if self.view.unread.get_untracked() != unread {
            self.view.unread.set(unread);
        }
        let loading = session.is_loading_history();
        if self.view.loading.get_untracked() != loading {
            self.view.loading.set(loading);
        }
    }

    /// Listens for the tab being hidden or shown and the network coming back.
    fn listen(self: &Rc<Self>) {
        let Some(window) = web_sys::window() else {
            return;
        };
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
        // A closing or reloading tab saves its transcript at once.
        let weak = Rc::downgrade(self);
        let on_pagehide = Closure::<dyn FnMut()>::new(move || {
            if let Some(chat) = weak.upgrade() {
                chat.save_transcript();
            }
        });
        let mut listeners = self.listeners.borrow_mut();
        if let Some(document) = window.document() {
            let target: web_sys::EventTarget = document.into();
            let _ = target.add_event_listener_with_callback(
                "visibilitychange",
                on_visibility.as_ref().unchecked_ref(),
            );
            listeners.push((target, "visibilitychange", on_visibility));
        }
        let target: web_sys::EventTarget = window.into();
        let _ =
            target.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        listeners.push((target.clone(), "online", on_online));
        let _ = target
            .add_event_listener_with_callback("pagehide", on_pagehide.as_ref().unchecked_ref());
        listeners.push((target, "pagehide", on_pagehide));
    }
}

/// Whether the tab is hidden (another tab in front, or minimised).
pub fn is_hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}
