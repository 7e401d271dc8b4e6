//! What the browser keeps between visits, in `localStorage`: the sign-in,
//! settings, per conversation the escalations noted, and per conversation
//! and device the protocol state (outbox and transcript), the draft, and
//! the lease of the tab using that device; per person the on-duty status
//! and the inbox's rows;
//! and in `sessionStorage` (one tab's own) which
//! device the tab used.
//!
//! Storage can be missing, full or disabled (private browsing): every
//! function here then does nothing or returns `None`, and Bleep still works
//! for the life of the tab.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::core::claim::Lease;
use crate::core::codec;
use crate::core::directory::Entry;
use crate::core::escalation::Note;
use crate::core::inbox::Rows;
use crate::core::journal::{self, Change, Journal};
use crate::core::log::MessageLog;
pub use crate::core::settings::{Preferences, SignIn};
use crate::core::{DeviceId, Envelope, Name, Saved};

thread_local! {
    /// The page's `localStorage`, looked up once: finding it again at every
    /// write (several per message) took about as long as the write.
    static LOCAL: Option<web_sys::Storage> =
        web_sys::window().and_then(|w| w.local_storage().ok().flatten());
}

fn storage() -> Option<web_sys::Storage> {
    LOCAL.with(Clone::clone)
}

/// Whether this browser lets Bleep keep anything at all (a private window
/// may refuse `localStorage` outright).
pub fn available() -> bool {
    LOCAL.with(Option::is_some)
}

fn read(key: &str) -> Option<String> {
    storage()?.get_item(key).ok()?
}

fn write(key: &str, value: &str) -> bool {
    storage().is_some_and(|s| s.set_item(key, value).is_ok())
}

fn remove(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}

fn read_json<T: DeserializeOwned>(key: &str) -> Option<T> {
    codec::from_str(&read(key)?).ok()
}

fn write_json<T: Serialize + ?Sized>(key: &str, value: &T) -> bool {
    write(key, &codec::to_string(value))
}

pub fn last_sign_in() -> Option<SignIn> {
    read_json("bleep.sign-in")
}

pub fn remember_sign_in(sign_in: &SignIn) {
    write_json("bleep.sign-in", sign_in);
}

pub fn preferences() -> Preferences {
    stored_preferences().unwrap_or_default()
}

/// The preferences as stored now (by this tab or another), if any are.
pub fn stored_preferences() -> Option<Preferences> {
    read_json("bleep.preferences")
}

pub fn save_preferences(preferences: &Preferences) {
    write_json("bleep.preferences", preferences);
}

/// Where a conversation's data of one device lives: the separator `#` comes
/// before the device id, which is letters only.
fn conversation_key(what: &str, chat: &ChatKey) -> String {
    format!("bleep.{what}.{}#{}", chat.conversation, chat.device)
}

/// Names one device's data of one conversation in storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatKey {
    /// The conversation's key prefix followed by your normal name.
    pub conversation: String,
    pub device: DeviceId,
}

impl ChatKey {
    pub fn new(prefix: &str, me: &str, device: DeviceId) -> ChatKey {
        ChatKey {
            conversation: format!("{prefix}{me}"),
            device,
        }
    }
}

/// The devices with a saved state for a conversation in this browser.
pub fn saved_devices(conversation: &str) -> Vec<DeviceId> {
    let Some(storage) = storage() else {
        return Vec::new();
    };
    let wanted = format!("bleep.session.{conversation}#");
    let count = storage.length().unwrap_or(0);
    (0..count)
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter_map(|key| key.strip_prefix(&wanted).and_then(DeviceId::parse))
        .collect()
}

/// The device this tab used for a conversation before it reloaded.
pub fn tab_device(conversation: &str) -> Option<DeviceId> {
    let session = web_sys::window()?.session_storage().ok()??;
    DeviceId::parse(
        &session
            .get_item(&format!("bleep.tab-device.{conversation}"))
            .ok()??,
    )
}

pub fn set_tab_device(conversation: &str, device: &DeviceId) {
    if let Some(session) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
        let _ = session.set_item(&format!("bleep.tab-device.{conversation}"), device.as_str());
    }
}

fn lease_key(device: &DeviceId) -> String {
    format!("bleep.lease.{device}")
}

pub fn lease(device: &DeviceId) -> Option<Lease> {
    read_json(&lease_key(device))
}

pub fn set_lease(device: &DeviceId, lease: &Lease) {
    write_json(&lease_key(device), lease);
}

pub fn drop_lease(device: &DeviceId) {
    remove(&lease_key(device));
}

/// A conversation as this device left it: the protocol state, and the
/// transcript as last saved (which may be older than the state) with the
/// journal it was read from.
pub fn load_session(chat: &ChatKey) -> Option<(Saved, MessageLog, Journal)> {
    let saved = read_json(&conversation_key("session", chat))?;
    let mut chunks = read_chunks(chat);
    if chunks.is_empty() {
        chunks = migrate_transcript(chat);
    }
    let transcript = journal::replay(chunks.iter().map(String::as_str));
    Some((saved, transcript, Journal::resume(&chunks)))
}

/// Chunk `n` of a conversation's saved transcript journal.
fn chunk_key(chat: &ChatKey, n: usize) -> String {
    conversation_key(&format!("log.{n}"), chat)
}

fn read_chunks(chat: &ChatKey) -> Vec<String> {
    (0..).map_while(|n| read(&chunk_key(chat, n))).collect()
}

/// Earlier versions kept the transcript as one JSON array: turns it into
/// journal chunks (the array is removed once they are stored).
fn migrate_transcript(chat: &ChatKey) -> Vec<String> {
    let old_key = conversation_key("transcript", chat);
    let Some(transcript) = read_json::<Vec<Envelope>>(&old_key) else {
        return Vec::new();
    };
    let changes: Vec<Change> = transcript.into_iter().map(Change::Added).collect();
    let (_, writes) = Journal::default().record(&changes);
    if write_chunks(chat, &writes) {
        remove(&old_key);
    }
    writes.into_iter().map(|(_, text)| text).collect()
}

fn write_chunks(chat: &ChatKey, writes: &[journal::ChunkWrite]) -> bool {
    writes
        .iter()
        .all(|(n, text)| write(&chunk_key(chat, *n), text))
}

/// Removes a conversation's saved transcript of one device.
pub fn forget_transcript(chat: &ChatKey) {
    remove(&conversation_key("transcript", chat));
    for n in 0.. {
        let key = chunk_key(chat, n);
        if read(&key).is_none() {
            break;
        }
        remove(&key);
    }
}

/// Saves the protocol state (small: done after every change); says whether
/// it was stored.
pub fn save_state(chat: &ChatKey, saved: &Saved) -> bool {
    write_json(&conversation_key("session", chat), saved)
}

/// Appends `changes` to the saved transcript (done at most about twice a
/// second; it rewrites only the journal's last chunk or two). Returns the
/// journal as now stored, or `None` if storage refused.
pub fn save_transcript(chat: &ChatKey, journal: &Journal, changes: &[Change]) -> Option<Journal> {
    let (next, writes) = journal.record(changes);
    write_chunks(chat, &writes).then_some(next)
}

/// Where this browser keeps the escalations of a conversation (all its
/// devices here).
fn escalations_key(conversation: &str) -> String {
    format!("bleep.escalations.{conversation}")
}

/// What this browser noted of the escalations of a conversation.
pub fn escalations(conversation: &str) -> Vec<Note> {
    read_json(&escalations_key(conversation)).unwrap_or_default()
}

pub fn save_escalations(conversation: &str, notes: &[Note]) {
    write_json(&escalations_key(conversation), notes);
}

/// Forgets everything this browser kept of `chat`'s conversation, for every
/// device.
pub fn forget_conversation(chat: &ChatKey) {
    let conversation = &chat.conversation;
    // This tab's device too, whose state is no longer saved if another tab
    // removed it first (its last transcript may have been saved since).
    let mut devices = saved_devices(conversation);
    if !devices.contains(&chat.device) {
        devices.push(chat.device.clone());
    }
    for device in devices {
        let chat = ChatKey {
            conversation: conversation.to_owned(),
            device,
        };
        for what in ["session", "draft"] {
            remove(&conversation_key(what, &chat));
        }
        forget_transcript(&chat);
    }
    remove(&escalations_key(conversation));
}

/// Whether `key` is where `chat`'s state is saved.
pub fn is_session_key(key: &str, chat: &ChatKey) -> bool {
    key == conversation_key("session", chat)
}

pub fn draft(chat: &ChatKey) -> String {
    read(&conversation_key("draft", chat)).unwrap_or_default()
}

pub fn save_draft(chat: &ChatKey, draft: &str) {
    let key = conversation_key("draft", chat);
    if draft.is_empty() {
        remove(&key);
    } else {
        write(&key, draft);
    }
}

/// One device's saved conversation, as the [`crate::driver::Driver`] keeps
/// it: the state and the transcript's journal in `localStorage`.
pub struct ChatStorage {
    key: ChatKey,
    /// Where the stored journal ends.
    journal: Journal,
}

impl ChatStorage {
    pub fn new(key: ChatKey) -> ChatStorage {
        ChatStorage {
            key,
            journal: Journal::default(),
        }
    }
}

impl crate::driver::Storage for ChatStorage {
    fn load(&mut self) -> Option<(Saved, MessageLog)> {
        let (saved, transcript, journal) = load_session(&self.key)?;
        self.journal = journal;
        Some((saved, transcript))
    }

    fn forget_transcript(&mut self) {
        forget_transcript(&self.key);
        self.journal = Journal::default();
    }

    fn save_state(&mut self, saved: &Saved) -> bool {
        save_state(&self.key, saved)
    }

    fn append_transcript(&mut self, changes: &[Change]) -> bool {
        // A browser that keeps nothing at all (a private window may refuse
        // storage outright): this tab is the only record there can be, and
        // the browser notice says so. Counted as kept, so that what the tab
        // shows is acknowledged (else the colleague never sees "read").
        if !available() {
            return true;
        }
        match save_transcript(&self.key, &self.journal, changes) {
            Some(next) => {
                self.journal = next;
                true
            }
            None => false,
        }
    }

    fn load_status(&mut self, person: &Name) -> Option<Entry> {
        Entry::decode(read(&status_key(person))?.as_bytes(), person)
    }

    fn save_status(&mut self, person: &Name, status: &Entry) -> bool {
        write(&status_key(person), &codec::to_string(status))
    }
}

/// Where this browser keeps a person's on-duty status and text (as their
/// directory entry).
fn status_key(person: &Name) -> String {
    format!("bleep.status.{}", person.normal())
}

/// Where this browser keeps a person's inbox (PROTOCOL.md, "The inbox").
fn inbox_key(person: &Name) -> String {
    format!("bleep.inbox.{}", person.normal())
}

/// `person`'s inbox rows as this browser last kept them; `None` if none
/// were, or they do not read (the inbox then reads the page again).
pub fn inbox_rows(person: &Name) -> Option<Rows> {
    read_json::<Rows>(&inbox_key(person)).filter(|rows| rows.me().normal() == person.normal())
}

/// Keeps `rows` for their person; says whether they were kept.
pub fn save_inbox_rows(rows: &Rows) -> bool {
    write_json(&inbox_key(rows.me()), rows)
}
