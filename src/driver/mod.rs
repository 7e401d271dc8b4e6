//! The one loop that runs a [`Session`] against a server: the browser's
//! chat, the simulation in `tests/sim` and the poll benchmark all use it, so
//! the simulated schedules exercise the code that ships.
//!
//! A [`Driver`] is generic over how requests travel ([`Transport`]), where
//! the conversation is kept ([`Storage`]) and what time it is ([`Clock`]).
//! [`Driver::step`] runs the session's next request, if one is due, and takes
//! its answer in; it saves the session's state after every change and before
//! every request goes out, so that a reload never forgets a message that may
//! already be on the server. A message the user sends is saved by the
//! caller ([`Driver::save_state`]) or the next step, whichever comes first:
//! the browser saves it once the frame that shows it is drawn, so that
//! drawing it waits for no storage. Saving the transcript, which can be
//! large, is left to the caller ([`Driver::save_transcript`]): the browser
//! does it half a second after a change, the simulation at random moments.
//!
//! The driver decides nothing about timers or drawing: [`Step`] says what an
//! answer changed and when to come back, [`Driver::poll_event`] what changed
//! on screen, and the caller chooses when to step again.

pub mod memory;
mod ports;

use std::cell::{Cell, Ref, RefCell};

use crate::core::directory::{self, Status, TextError};
use crate::core::escalation::Escalated;
use crate::core::{Budget, DeviceId, Event, Millis, Pair, SendError, Session, Settings};
use crate::imserver::answer::Answer;
use crate::imserver::{ImClient, ImError, Request, Transport};

pub use memory::MemoryStorage;
pub use ports::{Clock, Storage};

/// Who speaks in a conversation, where, and how: what [`Driver::open`] opens.
#[derive(Clone, Debug)]
pub struct Window {
    pub pair: Pair,
    /// The window's device id (claimed by the caller).
    pub device: DeviceId,
    /// The address of IMserver.php.
    pub server: String,
    pub settings: Settings,
    /// Seeds the backoff's jitter.
    pub seed: u64,
}

/// What one [`Driver::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A request was run and its answer taken in.
    Answered {
        /// Whether the answer changed what the screen shows.
        changed: bool,
        /// Whether a message of ours is still on its way to the colleague
        /// (being stored, or not yet announced): worth continuing at once.
        telling_peer: bool,
    },
    /// No request is due: step again at `wake_at` (`None`: only once
    /// something happens).
    Idle { wake_at: Option<Millis> },
    /// A request is already under way: its step goes on.
    Busy,
    /// The driver was stopped: nothing more is run.
    Stopped,
}

/// Runs a session with real requests and storage. See the module documentation.
pub struct Driver<T: Transport, S: Storage, C: Clock> {
    session: RefCell<Session>,
    client: ImClient<T>,
    storage: RefCell<S>,
    clock: C,
    /// The session's revision when its state was last saved.
    saved_revision: Cell<u64>,
    /// The session's status revision when the status was last saved.
    saved_status: Cell<u64>,
    /// Whether the last save of the state, and of the transcript, failed.
    state_failed: Cell<bool>,
    transcript_failed: Cell<bool>,
    busy: Cell<bool>,
    stopped: Cell<bool>,
}

impl<T: Transport, S: Storage, C: Clock> Driver<T, S, C> {
    /// Opens `window`'s conversation, resuming what `storage` kept for this
    /// name and device, or starting afresh (the history is then read from
    /// the server).
    pub fn open(window: Window, transport: T, mut storage: S, clock: C) -> Driver<T, S, C> {
        let Window {
            pair,
            device,
            server,
            settings,
            seed,
        } = window;
        let saved = storage.load().filter(|(saved, _)| {
            saved.pair().me.normal() == pair.me.normal() && saved.device() == &device
        });
        let kept_status = storage.load_status(&pair.me);
        let mut session = match saved {
            Some((saved, transcript)) => {
                Session::restore(saved, transcript, &server, settings, seed)
            }
            None => {
                storage.forget_transcript();
                Session::new(pair, device, &server, settings, seed)
            }
        };
        session.use_kept_status(kept_status);
        let saved_status = session.status_revision();
        // Protocol version 2's keys (`Session::use_keys`) are made, loaded
        // and kept (a Storage port of their own) only once version 2 is on
        // the wire (PROTOCOL.md, "Moving to version 2"): on the
        // version 1 wire nothing reads them. Making them linked Ed25519,
        // X25519 and SHA-512 into the app (19.3 KB gzip), and keeping them
        // was another 2 KB of code that never ran (BENCHMARKS.md).
        Driver {
            session: RefCell::new(session),
            client: ImClient::new(server, transport),
            storage: RefCell::new(storage),
            clock,
            saved_revision: Cell::new(0),
            saved_status: Cell::new(saved_status),
            state_failed: Cell::new(false),
            transcript_failed: Cell::new(false),
            busy: Cell::new(false),
            stopped: Cell::new(false),
        }
    }

    /// The session, to read what it shows. (Not held across a step.)
    pub fn session(&self) -> Ref<'_, Session> {
        self.session.borrow()
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// The user sends `text`, pending. It is kept by the next
    /// [`Driver::save_state`] or step, whichever comes first: the browser
    /// saves once the frame that shows it is drawn, or as the page goes.
    pub fn send(&self, text: &str) -> Result<(), SendError> {
        self.session.borrow_mut().send(text, self.clock.now())
    }

    /// The user sends `text` as urgent (on their turn, or as a follow-up
    /// while waiting for the colleague's reply); kept as [`Driver::send`]
    /// says.
    pub fn send_urgent(&self, text: &str) -> Result<(), SendError> {
        self.session
            .borrow_mut()
            .send_urgent(text, self.clock.now())
    }

    /// Forwards an unanswered urgent message's `text` to this
    /// conversation's colleague, marked `escalated`: saved at once, as
    /// pending.
    pub fn send_escalation(&self, text: &str, escalated: Escalated) -> Result<(), SendError> {
        let result = self
            .session
            .borrow_mut()
            .send_escalation(text, escalated, self.clock.now());
        self.save_state();
        result
    }

    /// The user chose an on-duty status and a text: kept, and written to
    /// the directory at once.
    pub fn set_status(&self, status: Option<Status>, text: &str) -> Result<(), TextError> {
        let result = self
            .session
            .borrow_mut()
            .set_status(status, text, self.clock.now());
        self.save_state();
        result
    }

    /// How much of a request a draft would take.
    pub fn budget(&self, text: &str) -> Budget {
        self.session.borrow().budget(text)
    }

    /// How much of a request a draft sent as urgent would take.
    pub fn urgent_budget(&self, text: &str) -> Budget {
        self.session.borrow().urgent_budget(text)
    }

    /// The screen was hidden or shown.
    pub fn set_visible(&self, visible: bool) {
        self.session
            .borrow_mut()
            .set_visible(visible, self.clock.now());
        self.save_state();
    }

    /// Try the server again at once.
    pub fn poll_now(&self) {
        self.session.borrow_mut().poll_now(self.clock.now());
    }

    pub fn set_settings(&self, settings: Settings) {
        self.session
            .borrow_mut()
            .set_settings(settings, self.clock.now());
    }

    /// What changed on screen, one event at a time (see [`Session::poll_event`]).
    pub fn poll_event(&self) -> Option<Event> {
        self.session.borrow_mut().poll_event()
    }

    /// When the session next wants a step, if nothing else happens (`None`
    /// while a request is under way, or until something happens).
    pub fn wake_at(&self) -> Option<Millis> {
        self.session.borrow().poll_timeout(self.clock.now())
    }

    /// Turns the session's repair off, so tests can show that without it
    /// messages get lost.
    #[doc(hidden)]
    pub fn disable_repair(&self) {
        self.session.borrow_mut().disable_repair();
    }

    /// Whether a request is under way.
    pub fn is_busy(&self) -> bool {
        self.busy.get()
    }

    /// Runs the next request the session wants, if one is due, and takes its
    /// answer in. One request at a time: while one is under way, another
    /// step returns [`Step::Busy`] at once.
    pub async fn step(&self) -> Step {
        if self.stopped.get() {
            return Step::Stopped;
        }
        if self.busy.get() {
            return Step::Busy;
        }
        // Whatever changed is kept before anything goes out.
        self.save_state();
        let now = self.clock.now();
        let next = self.session.borrow_mut().poll_request(now);
        let Some(outgoing) = next else {
            return Step::Idle {
                wake_at: self.session.borrow().poll_timeout(now),
            };
        };
        self.busy.set(true);
        let answer = self.client.run(&outgoing.request).await;
        self.busy.set(false);
        if self.stopped.get() {
            return Step::Stopped;
        }
        let mut session = self.session.borrow_mut();
        let before = session.revision();
        session.handle_answer(outgoing.id, answer, self.clock.now());
        let step = Step::Answered {
            changed: session.revision() != before,
            telling_peer: session.is_telling_peer(),
        };
        drop(session);
        self.save_state();
        step
    }

    /// Keeps the session's state if it changed since it was last kept.
    pub fn save_state(&self) {
        let session = self.session.borrow();
        let revision = session.revision();
        if revision == self.saved_revision.get() {
            return;
        }
        self.saved_revision.set(revision);
        let mut storage = self.storage.borrow_mut();
        let mut kept = storage.save_state(&session.saved());
        if session.status_revision() != self.saved_status.get() {
            let status_kept = storage.save_status(&session.pair().me, session.my_status());
            if status_kept {
                self.saved_status.set(session.status_revision());
            }
            kept &= status_kept;
        }
        self.state_failed.set(!kept);
    }

    /// Whether the transcript changed since it was last saved.
    pub fn has_unsaved_transcript(&self) -> bool {
        !self.session.borrow().unsaved_transcript().is_empty()
    }

    /// Appends what changed in the transcript to storage, and tells the
    /// session once it is kept; says whether it was (or nothing changed).
    pub fn save_transcript(&self) -> bool {
        let mut session = self.session.borrow_mut();
        if session.unsaved_transcript().is_empty() {
            return true;
        }
        let kept = self
            .storage
            .borrow_mut()
            .append_transcript(session.unsaved_transcript());
        self.transcript_failed.set(!kept);
        if kept {
            session.transcript_saved();
            drop(session);
            // Now acknowledged: our record says so.
            self.save_state();
        }
        kept
    }

    /// Whether storage refused the last save of the state or the transcript.
    pub fn storage_failed(&self) -> bool {
        self.state_failed.get() || self.transcript_failed.get()
    }

    /// Stops: no more requests, and the answer to one under way is ignored.
    /// The transcript is saved one last time.
    pub fn stop(&self) {
        self.stopped.set(true);
        self.save_transcript();
        self.save_state();
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    /// The storage, once the driver is no longer needed (a simulated reload
    /// opens a new driver on it).
    pub fn into_storage(self) -> S {
        self.storage.into_inner()
    }
}

/// Whether an IMserver.php answers at `server`: it is asked for a key that
/// does not exist, and any well-formed answer means it is there and working.
pub async fn check_server<T: Transport>(server: &str, transport: T) -> Result<(), ImError> {
    let probe = Request::Get {
        key: b"bleep.connection-check".to_vec(),
    };
    ImClient::new(server, transport)
        .run(&probe)
        .await
        .map(|_| ())
}

/// The people seen on the server at `server` (normal names, sorted, at
/// most `limit`), from one listing of its keys: the sign-in form's
/// suggestions. Never part of a poll.
pub async fn people<T: Transport>(
    server: &str,
    transport: T,
    limit: usize,
) -> Result<Vec<String>, ImError> {
    match ImClient::new(server, transport).run(&Request::Keys).await? {
        Answer::Keys(keys) => Ok(directory::people(&keys, limit)),
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests;
