//! The browser shell around the core's [`Inbox`] (PROTOCOL.md, "The
//! inbox"), as [`super::chat`] is around a conversation's driver: it runs
//! the inbox's requests with `fetch`, one at a time, on a timer of its own
//! (3 s on a visible tab, 15 s hidden), keeps its rows in `localStorage`
//! whenever they change, and mirrors them into signals ([`InboxView`]).
//! Every decision is the core's.
//!
//! One inbox runs per page, for the person signed in, whatever screen is
//! shown: the conversations on screen (and an escalation's, with no
//! screen) tell it when one of their messages was read back
//! ([`stored`], which rings the colleague's doorbell) and which
//! conversation is on screen ([`shown`]: its own screen counts and alerts
//! for it, and while the tab is visible nothing in it is unread). A browser with no rows kept for the person (a new device)
//! rebuilds them from the page once, before the first poll; never per
//! poll.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::alerts::alert;
use super::chat::is_hidden;
use super::clock::{clock_time, now_ms};
use super::hooks::listen_weak;
use super::http::BrowserTransport;
use super::storage;
use crate::core::directory::{entry_key, Entry};
use crate::core::inbox::page::rows_from_page;
use crate::core::inbox::{Inbox, Rows};
use crate::core::{Envelope, Millis, Name, Settings};
use crate::display::reply_notification;
use crate::imserver::answer::Answer;
use crate::imserver::{ImClient, ImError, Request};
use crate::inbox_list::{list_html, newly_unread, tag_of, unread_counts, unread_elsewhere, Line};
use crate::presence::status_line;

/// Reading the page (a new device) is tried this many times before the
/// inbox starts without it: new conversations still appear.
const PAGE_TRIES: u32 = 3;

/// How often a visible inbox reads its colleagues' directory entries
/// (their on-duty status), one `get` each: not part of the steady poll.
const STATUS_EVERY_MS: Millis = 300_000;

/// What the inbox shows, as signals (the list itself is drawn by
/// [`redraw`]).
#[derive(Clone, Copy)]
pub struct InboxView {
    /// Unread messages over every conversation.
    pub total: RwSignal<u64>,
    /// Unread messages outside the conversation on screen.
    pub elsewhere: RwSignal<u64>,
    /// A new device is reading its conversations from the server.
    pub loading: RwSignal<bool>,
    /// What went wrong, in plain words (empty: nothing).
    pub problem: RwSignal<String>,
}

/// The inbox of one person on one server. See the module documentation.
struct Runner {
    me: Name,
    server: String,
    client: ImClient<BrowserTransport>,
    /// `None` until a new device has its rows from the page.
    inbox: RefCell<Option<Inbox>>,
    /// Messages read back before the inbox was ready: rung once it is.
    pending: RefCell<Vec<(Name, Envelope)>>,
    /// The conversation on screen (its tag), visible or not.
    open: RefCell<Option<String>>,
    settings: Settings,
    saved_revision: Cell<u64>,
    /// Each conversation's unread count when the rows last changed.
    counts: RefCell<Vec<(String, u64)>>,
    /// The inbox's request under way (its id), if one is.
    in_flight: Cell<Option<u64>>,
    timer: RefCell<Option<Timeout>>,
    /// The colleagues' directory entries, by normal name (none: not read
    /// yet, or no entry).
    statuses: RefCell<Vec<(String, Option<Entry>)>>,
    statuses_at: Cell<Millis>,
    /// The open conversation the list last showed as open.
    drawn_open: RefCell<Option<String>>,
    /// How many times the page was tried (a new device).
    page_tries: Cell<u32>,
    /// Colleagues whose directory entry is still to be read, and whether
    /// a read is under way.
    status_queue: RefCell<Vec<Name>>,
    reading_status: Cell<bool>,
    listeners: RefCell<Vec<EventListener>>,
    view: InboxView,
    /// Owns the signals of `view`.
    _owner: Owner,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Runner>>> = const { RefCell::new(None) };
}

fn current() -> Option<Rc<Runner>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// The runner of `me`, if the one running is theirs.
fn runner_of(me: &Name) -> Option<Rc<Runner>> {
    current().filter(|r| r.me.normal() == me.normal())
}

/// Runs `me`'s inbox on `server` (or keeps the one running), and gives
/// what it shows.
pub fn run(me: &Name, server: &str, settings: Settings) -> InboxView {
    if let Some(runner) = current().filter(|r| r.me.normal() == me.normal() && r.server == server) {
        return runner.view;
    }
    // Signals that live as long as the runner: no screen owns them.
    let owner = Owner::new();
    let view = owner.with(|| InboxView {
        total: RwSignal::new(0),
        elsewhere: RwSignal::new(0),
        loading: RwSignal::new(false),
        problem: RwSignal::new(String::new()),
    });
    let timeout = u32::try_from(settings.request_timeout_ms).unwrap_or(u32::MAX);
    let runner = Rc::new(Runner {
        me: me.clone(),
        server: server.to_owned(),
        client: ImClient::new(server.to_owned(), BrowserTransport::new(timeout)),
        inbox: RefCell::new(None),
        pending: RefCell::new(Vec::new()),
        open: RefCell::new(None),
        settings,
        saved_revision: Cell::new(0),
        counts: RefCell::new(Vec::new()),
        in_flight: Cell::new(None),
        timer: RefCell::new(None),
        statuses: RefCell::new(Vec::new()),
        statuses_at: Cell::new(0),
        drawn_open: RefCell::new(None),
        page_tries: Cell::new(0),
        status_queue: RefCell::new(Vec::new()),
        reading_status: Cell::new(false),
        listeners: RefCell::new(Vec::new()),
        view,
        _owner: owner,
    });
    if let Some(old) = CURRENT.with(|c| c.borrow_mut().replace(Rc::clone(&runner))) {
        old.stop();
    }
    runner.listen();
    match storage::inbox_rows(me) {
        Some(rows) => runner.ready(rows),
        None => runner.read_page(0),
    }
    view
}

/// What the running inbox shows, if one runs.
pub fn view() -> Option<InboxView> {
    current().map(|r| r.view)
}

/// `me`'s conversation with `peer` read back its message `envelope`: the
/// row shows it, and `peer`'s doorbell is rung.
pub fn stored(me: &Name, peer: &Name, envelope: &Envelope) {
    let Some(runner) = runner_of(me) else {
        return;
    };
    let now = now_ms();
    match runner.inbox.borrow_mut().as_mut() {
        Some(inbox) => inbox.sent(peer, envelope, now),
        None => {
            runner
                .pending
                .borrow_mut()
                .push((peer.clone(), envelope.clone()));
            return;
        }
    }
    runner.after_change();
    runner.pump();
}

/// `me`'s conversation with `peer` is on screen (`true`), or no longer
/// (`false`): while it is, its own screen counts and alerts for it (a
/// hidden tab too), and once the tab is visible nothing in it counts as
/// unread here.
pub fn shown(me: &Name, peer: &Name, on_screen: bool) {
    let Some(runner) = runner_of(me) else {
        return;
    };
    let tag = tag_of(me, peer);
    {
        let mut open = runner.open.borrow_mut();
        if on_screen {
            *open = tag;
        } else if *open == tag {
            *open = None;
        }
    }
    runner.after_change();
}

/// `me` removed the conversation with `peer` from this device: its row
/// goes too, with what it said.
pub fn forget(me: &Name, peer: &Name) {
    if let Some(runner) = runner_of(me) {
        if let Some(inbox) = runner.inbox.borrow_mut().as_mut() {
            inbox.forget(peer);
        }
        runner.after_change();
    }
}

/// The user starts a conversation with `peer`: its row appears.
pub fn start(me: &Name, peer: &Name) {
    if let Some(runner) = runner_of(me) {
        if let Some(inbox) = runner.inbox.borrow_mut().as_mut() {
            inbox.start(peer);
        }
        runner.after_change();
    }
}

/// Draws the running inbox's list (the inbox screen is now up).
pub fn redraw() {
    if let Some(runner) = current() {
        runner.draw();
    }
}

/// Stops the running inbox (signing out).
pub fn stop() {
    if let Some(runner) = CURRENT.with(|c| c.borrow_mut().take()) {
        runner.stop();
    }
}

impl Runner {
    fn stop(&self) {
        self.save();
        self.timer.borrow_mut().take();
        self.listeners.borrow_mut().clear();
        *self.inbox.borrow_mut() = None;
    }

    fn is_current(self: &Rc<Self>) -> bool {
        current().is_some_and(|c| Rc::ptr_eq(&c, self))
    }

    /// Runs `request`, then `then` with its answer, unless this runner was
    /// stopped meanwhile. Every request of the inbox goes through here, so
    /// that the download holds one copy of the code that awaits it.
    fn ask(self: &Rc<Self>, request: Request, then: fn(&Rc<Runner>, Result<Answer, ImError>)) {
        let runner = Rc::clone(self);
        // Not Leptos' executor: the inbox may start before any screen
        // (a link to it), when that executor is not set up yet.
        wasm_bindgen_futures::spawn_local(async move {
            let answer = runner.client.run(&request).await;
            if runner.is_current() {
                then(&runner, answer);
            }
        });
    }

    /// A new device: `me`'s rows from the page, then the inbox starts.
    fn read_page(self: &Rc<Self>, tries: u32) {
        self.view.loading.set(true);
        self.page_tries.set(tries);
        self.ask(Request::Page, |runner, answer| {
            let tries = runner.page_tries.get();
            match answer {
                Ok(Answer::Store(entries)) => runner.ready(rows_from_page(&runner.me, &entries)),
                _ if tries + 1 < PAGE_TRIES => {
                    let again = Rc::clone(runner);
                    let wait = 2_000 << tries;
                    *runner.timer.borrow_mut() =
                        Some(Timeout::new(wait, move || again.read_page(tries + 1)));
                }
                _ => {
                    runner.view.problem.set(
                        "Your earlier conversations could not be read from the server; \
                         new messages still appear here."
                            .to_owned(),
                    );
                    runner.ready(Rows::new(runner.me.clone()));
                }
            }
        });
    }

    /// The rows are in: the inbox starts polling.
    fn ready(self: &Rc<Self>, rows: Rows) {
        let mut inbox = Inbox::new(rows);
        let now = now_ms();
        for (peer, envelope) in self.pending.take() {
            inbox.sent(&peer, &envelope, now);
        }
        *self.inbox.borrow_mut() = Some(inbox);
        self.view.loading.set(false);
        self.set_interval();
        self.after_change();
        self.pump();
    }

    fn set_interval(&self) {
        let every = if is_hidden() {
            self.settings.hidden_poll_ms
        } else {
            self.settings.idle_poll_ms
        };
        if let Some(inbox) = self.inbox.borrow_mut().as_mut() {
            inbox.set_interval(every, now_ms());
        }
    }

    /// Runs the inbox's next request, or sleeps until it wants one.
    fn pump(self: &Rc<Self>) {
        if self.in_flight.get().is_some() {
            return;
        }
        let now = now_ms();
        let (next, wake_at) = match self.inbox.borrow_mut().as_mut() {
            Some(inbox) => {
                let next = inbox.poll_request(now);
                (next, inbox.poll_timeout(now))
            }
            None => return,
        };
        let Some(outgoing) = next else {
            if let Some(at) = wake_at {
                let delay = u32::try_from(at.saturating_sub(now)).unwrap_or(u32::MAX);
                let again = Rc::clone(self);
                *self.timer.borrow_mut() = Some(Timeout::new(delay, move || again.pump()));
            }
            return;
        };
        self.in_flight.set(Some(outgoing.id));
        self.ask(outgoing.request, |runner, answer| {
            let Some(id) = runner.in_flight.take() else {
                return;
            };
            match runner.inbox.borrow_mut().as_mut() {
                Some(inbox) => inbox.handle_answer(id, answer, now_ms()),
                None => return,
            }
            runner.after_change();
            runner.pump();
        });
    }

    /// After anything that may have changed the rows: the open
    /// conversation is read, the rows are kept and shown, and a new
    /// message elsewhere notifies.
    fn after_change(self: &Rc<Self>) {
        let open = self.open.borrow().clone();
        let mut guard = self.inbox.borrow_mut();
        let Some(inbox) = guard.as_mut() else {
            return;
        };
        if let (Some(tag), false) = (&open, is_hidden()) {
            let unread = inbox.rows().get(tag).filter(|row| row.unread() > 0);
            if let Some(peer) = unread.map(|row| row.peer.clone()) {
                inbox.read_all(&peer);
            }
        }
        if inbox.revision() == self.saved_revision.get() {
            let elsewhere = unread_elsewhere(inbox.rows(), open.as_deref());
            if self.view.elsewhere.get_untracked() != elsewhere {
                self.view.elsewhere.set(elsewhere);
            }
            drop(guard);
            if *self.drawn_open.borrow() != open {
                self.draw();
            }
            return;
        }
        // The first rows shown are not news; a row that grows later is.
        let first = self.saved_revision.replace(inbox.revision()) == 0;
        let rows = inbox.rows();
        if !storage::save_inbox_rows(rows) && storage::available() {
            self.view
                .problem
                .set("This browser could not keep your inbox: its storage is full.".to_owned());
        }
        let fresh = newly_unread(&self.counts.borrow(), rows, open.as_deref());
        *self.counts.borrow_mut() = unread_counts(rows);
        self.view.total.set(rows.total_unread());
        self.view
            .elsewhere
            .set(unread_elsewhere(rows, open.as_deref()));
        let statuses = self.statuses.borrow();
        let ask_statuses = rows
            .newest_first()
            .iter()
            .any(|(_, row)| !statuses.iter().any(|(n, _)| n == row.peer.normal()));
        drop((statuses, guard));
        self.draw();
        if !first {
            let preferences = storage::preferences();
            for (peer, text) in fresh {
                alert(&preferences, &reply_notification(&peer), Some(&text));
            }
        }
        if ask_statuses {
            self.read_statuses(false);
        }
    }

    /// Draws the list, if the inbox screen is up: its items' markup (the
    /// focus kept on the item that had it), and the line said when there
    /// are none.
    fn draw(&self) {
        let document = document();
        let Some(list) = document.get_element_by_id("inbox-list") else {
            return;
        };
        let inbox = self.inbox.borrow();
        let open = self.open.borrow().clone();
        let statuses = self.statuses.borrow();
        let now = now_ms();
        let rows = inbox
            .as_ref()
            .map(|inbox| inbox.rows().newest_first())
            .unwrap_or_default();
        let lines: Vec<Line<'_>> = rows
            .iter()
            .map(|&(tag, row)| Line {
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
                open: open.as_deref() == Some(tag),
            })
            .collect();
        let focused = document
            .active_element()
            .and_then(|e| e.get_attribute("data-peer"));
        list.set_inner_html(&list_html(&lines));
        if let Some(peer) = focused {
            focus_item(&list, &peer);
        }
        if let Some(empty) = document.get_element_by_id("inbox-empty") {
            empty.set_text_content((rows.is_empty() && inbox.is_some()).then_some(NO_ROWS));
        }
        *self.drawn_open.borrow_mut() = open;
    }

    /// Keeps the rows now (the page goes).
    fn save(&self) {
        if let Some(inbox) = self.inbox.borrow().as_ref() {
            storage::save_inbox_rows(inbox.rows());
        }
    }

    /// Reads the colleagues' directory entries, one `get` each, one after
    /// another: those not read yet, or (`all`) every one once their last
    /// reading is old.
    fn read_statuses(self: &Rc<Self>, all: bool) {
        let now = now_ms();
        if all {
            if now.saturating_sub(self.statuses_at.get()) < STATUS_EVERY_MS {
                return;
            }
            self.statuses_at.set(now);
        }
        let peers: Vec<Name> = {
            let inbox = self.inbox.borrow();
            let mut statuses = self.statuses.borrow_mut();
            let peers: Vec<Name> = inbox
                .iter()
                .flat_map(|inbox| inbox.rows().newest_first())
                .map(|(_, row)| row.peer.clone())
                .filter(|peer| all || !statuses.iter().any(|(n, _)| n == peer.normal()))
                .collect();
            // Noted at once as asked, so that a change meanwhile asks no
            // twice.
            for peer in &peers {
                if !statuses.iter().any(|(n, _)| n == peer.normal()) {
                    statuses.push((peer.normal().to_owned(), None));
                }
            }
            peers
        };
        self.status_queue.borrow_mut().extend(peers);
        self.next_status();
    }

    /// Reads the next entry waiting in the queue, if none is under way.
    fn next_status(self: &Rc<Self>) {
        if self.reading_status.get() {
            return;
        }
        let Some(peer) = self.status_queue.borrow().last().cloned() else {
            return;
        };
        self.reading_status.set(true);
        let key = entry_key(&peer).into_bytes();
        self.ask(Request::Get { key }, |runner, answer| {
            runner.reading_status.set(false);
            let Some(peer) = runner.status_queue.borrow_mut().pop() else {
                return;
            };
            if let Ok(Answer::Value(value)) = answer {
                let entry = value.and_then(|v| Entry::decode(&v, &peer));
                if let Some(slot) = runner
                    .statuses
                    .borrow_mut()
                    .iter_mut()
                    .find(|(n, _)| n == peer.normal())
                {
                    slot.1 = entry;
                }
                if runner.status_queue.borrow().is_empty() {
                    runner.draw();
                }
            }
            runner.next_status();
        });
    }

    /// Follows the tab being shown or hidden (the interval, and the open
    /// conversation read once shown), the network coming back, and the
    /// page going (the rows kept).
    fn listen(self: &Rc<Self>) {
        let listener =
            |target: &web_sys::EventTarget, event, act| listen_weak(target, event, self, act);
        *self.listeners.borrow_mut() = vec![
            listener(&document(), "visibilitychange", |runner| {
                runner.set_interval();
                if !is_hidden() {
                    if let Some(inbox) = runner.inbox.borrow_mut().as_mut() {
                        inbox.poll_now(now_ms());
                    }
                    runner.read_statuses(true);
                }
                runner.after_change();
                runner.pump();
            }),
            listener(&window(), "online", |runner| {
                if let Some(inbox) = runner.inbox.borrow_mut().as_mut() {
                    inbox.poll_now(now_ms());
                }
                runner.pump();
            }),
            listener(&window(), "pagehide", |runner| runner.save()),
        ];
    }
}

/// What the list says when there is no conversation.
const NO_ROWS: &str =
    "No conversations yet. Start one above; a colleague's first message appears here.";

/// Focuses the item of the colleague `peer` in `list` (its markup was just
/// drawn again under the user's focus).
fn focus_item(list: &web_sys::Element, peer: &str) {
    // Each item is a button in an `<li>`.
    let mut next = list.first_element_child();
    while let Some(li) = next {
        let item = li.first_element_child();
        if let Some(item) = item.filter(|e| e.get_attribute("data-peer").as_deref() == Some(peer)) {
            if let Ok(item) = item.dyn_into::<web_sys::HtmlElement>() {
                let _ = item.focus();
            }
            return;
        }
        next = li.next_element_sibling();
    }
}
