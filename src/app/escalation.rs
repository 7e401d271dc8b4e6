//! Escalating an unanswered urgent message from the open conversation
//! (PROTOCOL.md, "Escalation"): the notes the conversation keeps of its
//! escalations on this device, and the forward to the backup colleague.
//!
//! The forward runs a second [`Chat`], for you and the backup, in the
//! background: the message is queued there as soon as that chat may send
//! (once it has read its history, and no earlier message of its own is
//! still being stored), and the chat runs until the backup has read it or
//! this screen goes away. Its saved state keeps what is not sent yet: it
//! goes out when that conversation next opens in this browser.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Interval;
use leptos::prelude::*;

use super::chat::{Chat, MessageRow};
use super::clock::now_ms;
use super::storage;
use crate::core::escalation::{Escalated, Note};
use crate::core::{Delivery, Name, Pair, SendError, Settings};
use crate::display::Forwarding;

/// How often the forward checks how far it got.
const CHECK_MS: u32 = 500;

thread_local! {
    /// The forward under way in this tab, if any: one at a time.
    static FORWARD: RefCell<Option<Forward>> = const { RefCell::new(None) };
}

/// The escalations of the open conversation; copyable into any closure.
#[derive(Clone, Copy)]
pub struct Escalations {
    /// What this conversation noted of its escalations, oldest first.
    pub notes: RwSignal<Vec<Note>>,
    /// How far the last escalation from this screen got, in words
    /// ([`Forwarding::words`]).
    pub state: RwSignal<Option<String>>,
}

impl Escalations {
    /// The escalations of the conversation saved under `conversation`.
    pub fn new(conversation: &str) -> Escalations {
        Escalations {
            notes: RwSignal::new(storage::escalations(conversation)),
            state: RwSignal::new(None),
        }
    }

    /// Forwards `row`, your urgent message to `pair.peer` that has had no
    /// reply, to `backup`; once it is queued there (and kept), notes it in
    /// the conversation saved under `conversation`.
    pub fn escalate(
        self,
        conversation: &str,
        pair: &Pair,
        backup: Name,
        row: &MessageRow,
        server: &str,
        settings: Settings,
    ) {
        let now = now_ms();
        let to = backup.typed().to_owned();
        let note = Note {
            message: row.id.to_string(),
            to: to.clone(),
            at: now,
            waited: now.saturating_sub(row.sent_at),
        };
        let forward = Pending {
            text: row.text.to_string(),
            escalated: Escalated {
                unanswered: pair.peer.typed().to_owned(),
                sent_at: row.sent_at,
            },
            note,
            conversation: conversation.to_owned(),
        };
        // The earlier forward, if still under way, stops first: its saved
        // state keeps it, and its device is free again.
        Escalations::stop();
        let chat = Chat::start_in_background(
            Pair {
                me: pair.me.clone(),
                peer: backup,
            },
            server,
            settings,
        );
        self.state.set(Some(Forwarding::Sending(to).words()));
        let forward = Forward {
            chat: Rc::clone(&chat),
            _check: check(chat, forward, self),
        };
        FORWARD.with(|f| f.replace(Some(forward)));
    }

    /// Stops the forward under way, if any (the screen goes away).
    pub fn stop() {
        let forward = FORWARD.with(|f| f.take());
        drop(forward);
    }
}

/// A forward under way: its chat, and the check of how far it got.
struct Forward {
    chat: Rc<Chat>,
    _check: Interval,
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.chat.stop();
    }
}

/// What a forward is to queue, and the note to keep once it is.
struct Pending {
    text: String,
    escalated: Escalated,
    note: Note,
    /// Where the original conversation is saved.
    conversation: String,
}

/// Queues the forward in `chat` once it may send (and notes it), then
/// follows it: sent once stored and announced, done once read.
fn check(chat: Rc<Chat>, forward: Pending, escalations: Escalations) -> Interval {
    let queued = Cell::new(false);
    let Escalations { notes, state } = escalations;
    let to = forward.note.to.clone();
    let show = move |now: Forwarding| {
        let now = now.words();
        if state.with_untracked(|s| s.as_ref() != Some(&now)) {
            state.set(Some(now));
        }
    };
    Interval::new(CHECK_MS, move || {
        if chat.is_stopped() {
            return;
        }
        if !queued.get() {
            match chat.send_escalation(&forward.text, forward.escalated.clone()) {
                Ok(()) => {
                    queued.set(true);
                    notes.update(|notes| {
                        notes.push(forward.note.clone());
                        storage::save_escalations(&forward.conversation, notes);
                    });
                }
                Err(SendError::Loading | SendError::StillSending) => {}
                Err(e) => {
                    show(Forwarding::Failed(to.clone(), e.to_string()));
                    chat.stop();
                }
            }
            return;
        }
        match chat.last_delivery() {
            Some(Delivery::Sent) => show(Forwarding::Sent(to.clone())),
            Some(Delivery::Read) => {
                show(Forwarding::Sent(to.clone()));
                chat.stop();
            }
            _ => {}
        }
    })
}
