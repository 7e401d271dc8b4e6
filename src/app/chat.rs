//! The browser shell around the [`Driver`]: timers, animation frames and
//! signals; the page's events it follows are in `chat/page_events.rs`.
//!
//! [`Chat`] opens the conversation's driver (requests with `fetch`, storage
//! in `localStorage`, the browser's clock), steps it when the session is due
//! (a timer) or something happened (a message typed, the tab shown, the
//! network back), saves the transcript half a second after it changed, and
//! mirrors what the session shows into Leptos signals ([`ChatView`]): after
//! each step it takes the session's events and updates only the signals they
//! name. Components read the signals and call [`Chat::send`]; they never see
//! the session, the driver or a request.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use leptos::prelude::*;

use super::clock::{clock_time, now_ms, BrowserClock};
use super::device::DeviceClaim;
use super::http::BrowserTransport;
use super::storage::{self, ChatKey, ChatStorage};
use crate::core::directory::{Colleague, Entry, Status, TextError};
use crate::core::escalation::Escalated;
use crate::core::unchecked::Unchecked;
use crate::core::{Budget, Connection, Delivery, Event, Pair, SendError, Settings};
use crate::display::{local_day, paused_notice, TurnState, SHOWN_AT_FIRST};
use crate::driver::{Driver, Step, Window};

mod background;
#[cfg(feature = "inbox")]
mod inbox_link;
mod page_events;
mod removed_elsewhere;

/// How long after a change the transcript is saved (it can be large).
const TRANSCRIPT_SAVE_DELAY_MS: u32 = 500;

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
    /// When this window saw it become read (unknown for messages read
    /// before the window opened).
    pub read_at: Option<u64>,
    /// Sent as urgent (PROTOCOL.md, "Priority").
    pub urgent: bool,
    /// Forwarded to a backup colleague (PROTOCOL.md, "Escalation").
    pub escalated: Option<Escalated>,
}

/// What the screen shows of a conversation, as signals.
#[derive(Clone, Copy)]
pub struct ChatView {
    pub turn: RwSignal<TurnState>,
    pub messages: RwSignal<Vec<MessageRow>>,
    /// `None` while online; else why not, in plain words.
    pub offline: RwSignal<Option<String>>,
    pub unread: RwSignal<usize>,
    /// The colleague's urgent messages no device of yours has shown.
    pub urgent_unseen: RwSignal<usize>,
    pub loading: RwSignal<bool>,
    /// How many earlier messages are not on screen.
    pub earlier: RwSignal<usize>,
    /// Whether local storage refused to save (it is full or disabled).
    pub storage_failed: RwSignal<bool>,
    /// What to say, once the screen is back, of a stretch in which the
    /// browser paused the hidden screen and nothing was checked (empty:
    /// nothing, or dismissed).
    pub paused: RwSignal<String>,
    /// What the directory says of the colleague.
    pub colleague: RwSignal<Colleague>,
    /// Removed from this browser in another tab: stopped, the screen leaves.
    pub removed: RwSignal<bool>,
}

impl ChatView {
    fn new() -> ChatView {
        ChatView {
            colleague: RwSignal::new(Colleague::Unknown),
            turn: RwSignal::new(TurnState::Idle),
            messages: RwSignal::new(Vec::new()),
            offline: RwSignal::new(None),
            unread: RwSignal::new(0),
            urgent_unseen: RwSignal::new(0),
            loading: RwSignal::new(true),
            earlier: RwSignal::new(0),
            storage_failed: RwSignal::new(false),
            paused: RwSignal::new(String::new()),
            removed: RwSignal::new(false),
        }
    }
}

type ChatDriver = Driver<BrowserTransport, ChatStorage, BrowserClock>;

/// A running conversation. Dropped (and stopped) with its screen.
pub struct Chat {
    driver: ChatDriver,
    /// Where this conversation is saved, for this tab's device.
    storage_key: ChatKey,
    /// Whether the draft kept in storage was sent, and goes when the state
    /// that holds the message is saved ([`Chat::set_draft_sent`]).
    draft_sent: Cell<bool>,
    /// Keeps this tab's device to itself while the chat runs.
    claim: RefCell<Option<DeviceClaim>>,
    view: ChatView,
    /// Wakes the driver when the session is next due.
    timer: RefCell<Option<Timeout>>,
    /// Saves the transcript a moment after it changed.
    transcript_timer: RefCell<Option<Timeout>>,
    /// How many of the newest messages are on screen at most, and how many
    /// the transcript held when they were last counted.
    limit: Cell<usize>,
    total: Cell<usize>,
    /// The page's events the chat follows (see [`Chat::listen`]); each
    /// listener removes itself when dropped.
    listeners: RefCell<Vec<EventListener>>,
    /// When the server was checked while the screen was hidden.
    unchecked: RefCell<Unchecked>,
    /// Runs with no screen ([`Chat::start_in_background`]).
    background: bool,
    /// This device's newest message told to the inbox (`inbox_link`).
    #[cfg(feature = "inbox")]
    rung: Cell<u64>,
}

impl Chat {
    /// Starts the conversation `pair` on `server`, resuming what this
    /// browser saved, or loading the history from the server if nothing was.
    pub fn start(pair: Pair, server: &str, settings: Settings) -> Rc<Chat> {
        Chat::open(pair, server, settings, false)
    }

    fn open(pair: Pair, server: &str, settings: Settings, background: bool) -> Rc<Chat> {
        let seed = (js_sys::Math::random() * 2f64.powi(53)) as u64;
        let keys = pair.keys();
        let conversation = format!("{}{}", keys.prefix(), pair.me.normal());
        let claim = DeviceClaim::claim(&conversation);
        let storage_key = ChatKey::new(keys.prefix(), pair.me.normal(), claim.device().clone());
        let timeout = u32::try_from(settings.request_timeout_ms).unwrap_or(u32::MAX);
        let window = Window {
            pair,
            device: claim.device().clone(),
            server: server.to_owned(),
            settings,
            seed,
        };
        let driver = Driver::open(
            window,
            BrowserTransport::new(timeout),
            ChatStorage::new(storage_key.clone()),
            BrowserClock,
        );
        let chat = Rc::new(Chat {
            driver,
            storage_key,
            draft_sent: Cell::new(false),
            claim: RefCell::new(Some(claim)),
            view: ChatView::new(),
            timer: RefCell::new(None),
            transcript_timer: RefCell::new(None),
            limit: Cell::new(SHOWN_AT_FIRST),
            total: Cell::new(0),
            listeners: RefCell::new(Vec::new()),
            unchecked: RefCell::default(),
            background,
            #[cfg(feature = "inbox")]
            rung: Cell::new(0),
        });
        #[cfg(feature = "inbox")]
        chat.join_inbox();
        chat.listen();
        chat.driver.set_visible(!is_hidden() && !background);
        // The whole state once; from now on, only what the events name.
        while chat.driver.poll_event().is_some() {}
        chat.show_turn();
        chat.show_messages();
        chat.show_connection();
        chat.show_unread();
        chat.show_loading();
        chat.show_directory();
        chat.after_change();
        chat.pump();
        chat
    }

    pub fn view(&self) -> ChatView {
        self.view
    }

    /// Sends a message. It shows at once, as pending; it is saved, and its
    /// request starts, once the browser has drawn it (a page closed before
    /// is saved as it goes).
    pub fn send(self: &Rc<Self>, text: &str) -> Result<(), SendError> {
        self.driver.send(text)?;
        self.after_change();
        self.pump_after_frame();
        Ok(())
    }

    /// Sends an urgent message (on your turn, or as a follow-up while
    /// waiting for the colleague's reply), as [`Chat::send`] sends a message.
    pub fn send_urgent(self: &Rc<Self>, text: &str) -> Result<(), SendError> {
        self.driver.send_urgent(text)?;
        self.after_change();
        self.pump_after_frame();
        Ok(())
    }

    /// Your on-duty status and text, as this device knows them.
    pub fn my_status(&self) -> Entry {
        self.driver.session().my_status().clone()
    }

    /// Sets your on-duty status and text: kept, and written at once.
    pub fn set_status(
        self: &Rc<Self>,
        status: Option<Status>,
        text: &str,
    ) -> Result<(), TextError> {
        self.driver.set_status(status, text)?;
        self.after_change();
        self.pump();
        Ok(())
    }

    /// How much of the server's request limit a draft would take.
    pub fn budget(&self, text: &str) -> Budget {
        self.driver.budget(text)
    }

    /// The same, for a draft sent as urgent.
    pub fn urgent_budget(&self, text: &str) -> Budget {
        self.driver.urgent_budget(text)
    }

    /// Tries the server again at once.
    pub fn retry_now(self: &Rc<Self>) {
        self.driver.poll_now();
        self.pump();
    }

    pub fn set_settings(self: &Rc<Self>, settings: Settings) {
        self.driver.set_settings(settings);
        self.pump();
    }

    /// Where this conversation is saved for this tab.
    pub fn storage_key(&self) -> &ChatKey {
        &self.storage_key
    }

    /// Whether the message just sent was the draft (`false` once a new
    /// draft is typed): the draft kept in storage is then removed right
    /// after the state that holds the message is saved, in the same task
    /// (after the next frame, or as the page goes), so that a reload finds
    /// the message or the draft, never neither.
    pub fn set_draft_sent(&self, sent: bool) {
        self.draft_sent.set(sent);
    }

    /// Saves the state if it changed, then forgets a sent draft.
    fn save_state(&self) {
        self.driver.save_state();
        if self.draft_sent.take() {
            storage::save_draft(&self.storage_key, "");
        }
    }

    /// Removes the conversation from this browser: stops the chat and
    /// forgets its messages, unsent ones and draft, for every device of it
    /// here. What the server and the colleague have is untouched.
    pub fn remove_from_this_device(&self) {
        self.stop();
        storage::forget_conversation(&self.storage_key);
        #[cfg(feature = "inbox")]
        self.tell_removed();
    }

    /// Shows `more` earlier messages above the transcript.
    pub fn show_earlier(&self, more: usize) {
        self.limit.set(self.limit.get() + more);
        self.show_messages();
    }

    /// Stops polling and listening; called when the screen goes away.
    pub fn stop(&self) {
        #[cfg(feature = "inbox")]
        self.tell_shown(false);
        self.driver.stop();
        self.save_state();
        self.timer.borrow_mut().take();
        self.transcript_timer.borrow_mut().take();
        self.claim.borrow_mut().take();
        self.listeners.borrow_mut().clear();
    }

    fn set_visible(self: &Rc<Self>, visible: bool) {
        let now = now_ms();
        if visible {
            let interval = self.driver.session().settings().hidden_poll_ms;
            if let Some(gap) = self.unchecked.borrow_mut().shown(now, interval) {
                let (from, to) = (clock_time(gap.from), clock_time(gap.to));
                self.view
                    .paused
                    .set(paused_notice(gap.to - gap.from, &from, &to));
            }
        } else {
            self.unchecked.borrow_mut().hidden(now);
        }
        self.driver.set_visible(visible && !self.background);
        self.after_change();
        self.pump();
    }

    /// Steps the driver: runs the next request the session wants, or sleeps
    /// until it wants one.
    fn pump(self: &Rc<Self>) {
        if self.driver.is_stopped() || self.driver.is_busy() {
            return;
        }
        let chat = Rc::clone(self);
        leptos::task::spawn_local(async move {
            let step = chat.driver.step().await;
            if matches!(step, Step::Answered { .. }) {
                chat.unchecked.borrow_mut().checked(now_ms());
            }
            match step {
                // What changed is drawn before the next request starts; but
                // the rest of a send (telling the colleague) follows at
                // once: they are waiting for it.
                Step::Answered {
                    changed,
                    telling_peer,
                } => {
                    chat.after_change();
                    #[cfg(feature = "inbox")]
                    if changed {
                        chat.tell_inbox();
                    }
                    match (changed, telling_peer) {
                        (false, _) => chat.pump(),
                        (true, true) => chat.pump_soon(),
                        (true, false) => chat.pump_after_frame(),
                    }
                }
                Step::Idle { wake_at: Some(at) } => {
                    let delay = u32::try_from(at.saturating_sub(now_ms())).unwrap_or(u32::MAX);
                    let again = Rc::clone(&chat);
                    *chat.timer.borrow_mut() = Some(Timeout::new(delay, move || again.pump()));
                }
                Step::Idle { wake_at: None } | Step::Busy | Step::Stopped => {}
            }
        });
    }

    /// Runs [`Chat::pump`] in a task of its own, after saving the state if
    /// it changed (a message sent is saved there: see [`Chat::send`]).
    fn pump_soon(self: &Rc<Self>) {
        let chat = Rc::clone(self);
        *self.timer.borrow_mut() = Some(Timeout::new(0, move || {
            chat.save_state();
            chat.pump();
        }));
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

    /// After anything that may have changed the session: shows what its
    /// events name, and saves the transcript soon if it changed.
    fn after_change(self: &Rc<Self>) {
        self.show_events();
        self.show_storage_state();
        if self.driver.has_unsaved_transcript() && self.transcript_timer.borrow().is_none() {
            let chat = Rc::clone(self);
            *self.transcript_timer.borrow_mut() =
                Some(Timeout::new(TRANSCRIPT_SAVE_DELAY_MS, move || {
                    chat.transcript_timer.borrow_mut().take();
                    let saved = chat.driver.save_transcript();
                    chat.show_storage_state();
                    if saved {
                        // Now acknowledged to the others: our record says so.
                        chat.after_change();
                        chat.pump();
                    }
                }));
        }
    }

    /// Updates the signals the session's events name, and only those.
    fn show_events(&self) {
        let (mut turn, mut messages, mut connection, mut unread, mut loading) =
            (false, false, false, false, false);
        let mut directory = false;
        while let Some(event) = self.driver.poll_event() {
            match event {
                Event::TurnChanged => turn = true,
                Event::MessagesChanged => messages = true,
                Event::ConnectionChanged => connection = true,
                Event::UnreadChanged => unread = true,
                // The banner says "loading" until then, and the first
                // history is shown from its newest messages.
                Event::LoadingChanged => (turn, messages, loading) = (true, true, true),
                // Trust notices are not on this screen yet (issue 15).
                Event::NoticesChanged => {}
                Event::DirectoryChanged => directory = true,
            }
        }
        // A colleague without an entry who writes has used Bleep after all.
        if directory
            || (messages
                && self
                    .view
                    .colleague
                    .with_untracked(|c| *c == Colleague::NeverUsed))
        {
            self.show_directory();
        }
        if turn {
            self.show_turn();
        }
        if messages {
            self.show_messages();
        }
        if connection {
            self.show_connection();
        }
        if unread {
            self.show_unread();
        }
        if loading {
            self.show_loading();
        }
    }

    /// Warns on screen while the browser refuses to keep the state or the
    /// transcript (storage full or turned off).
    fn show_storage_state(&self) {
        let failed = self.driver.storage_failed();
        if self.view.storage_failed.get_untracked() != failed {
            self.view.storage_failed.set(failed);
        }
    }

    fn show_turn(&self) {
        let session = self.driver.session();
        let turn = TurnState::new(session.turn(), session.is_loading_history());
        if self.view.turn.get_untracked() != turn {
            self.view.turn.set(turn);
        }
    }

    fn show_connection(&self) {
        let offline = match self.driver.session().connection() {
            Connection::Online => None,
            Connection::Offline { reason, .. } => Some(reason),
        };
        if self.view.offline.get_untracked() != offline {
            self.view.offline.set(offline);
        }
    }

    fn show_unread(&self) {
        let session = self.driver.session();
        let (unread, urgent) = (session.unread(), session.urgent_unseen());
        if self.view.unread.get_untracked() != unread {
            self.view.unread.set(unread);
        }
        if self.view.urgent_unseen.get_untracked() != urgent {
            self.view.urgent_unseen.set(urgent);
        }
    }

    /// Shows what the directory says of the colleague (only on its
    /// events, or once a colleague without an entry has written).
    fn show_directory(&self) {
        self.view.colleague.set(self.driver.session().colleague());
    }

    fn show_loading(&self) {
        let loading = self.driver.session().is_loading_history();
        if self.view.loading.get_untracked() != loading {
            self.view.loading.set(loading);
        }
    }

    fn show_messages(&self) {
        let session = self.driver.session();
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
        let now = now_ms();
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
                            // Seen becoming read now.
                            read_at: row.read_at.or_else(|| {
                                (m.delivery == Some(Delivery::Read) && row.delivery != m.delivery)
                                    .then_some(now)
                            }),
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
                            read_at: None,
                            urgent: m.urgent(),
                            escalated: e.escalated(),
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
    }
}

/// Whether the tab is hidden (another tab in front, or minimised).
pub fn is_hidden() -> bool {
    document().hidden()
}
