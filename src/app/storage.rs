//! What the browser keeps between visits, in `localStorage`: this window's
//! device id, the sign-in, settings, and per conversation the protocol state
//! (outbox and transcript) and the draft.
//!
//! Storage can be missing, full or disabled (private browsing): every
//! function here then does nothing or returns `None`, and Bleep still works
//! for the life of the tab.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::core::{DeviceId, Envelope, Saved, Settings};

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
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
    serde_json::from_str(&read(key)?).ok()
}

fn write_json<T: Serialize>(key: &str, value: &T) -> bool {
    serde_json::to_string(value).is_ok_and(|text| write(key, &text))
}

/// This browser profile's device id, made on first use.
pub fn device_id() -> DeviceId {
    const KEY: &str = "bleep.device";
    if let Some(id) = read(KEY).as_deref().and_then(DeviceId::parse) {
        return id;
    }
    let id = DeviceId::from_random(|| (js_sys::Math::random() * f64::from(u32::MAX)) as u32);
    write(KEY, id.as_str());
    id
}

/// The last sign-in, to fill the form next time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignIn {
    pub me: String,
    pub peer: String,
    pub server: String,
}

pub fn last_sign_in() -> Option<SignIn> {
    read_json("bleep.sign-in")
}

pub fn remember_sign_in(sign_in: &SignIn) {
    write_json("bleep.sign-in", sign_in);
}

/// Preferences that are not part of the protocol.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    pub timing: Settings,
    pub sound: bool,
    pub notifications: bool,
}

pub fn preferences() -> Preferences {
    read_json("bleep.preferences").unwrap_or_default()
}

pub fn save_preferences(preferences: &Preferences) {
    write_json("bleep.preferences", preferences);
}

fn conversation_key(what: &str, prefix: &str, me: &str) -> String {
    format!("bleep.{what}.{prefix}{me}")
}

/// The protocol state of a conversation, as this window left it, and the
/// transcript as last saved (which may be older than the state).
pub fn load_session(prefix: &str, me: &str) -> Option<(Saved, Vec<Envelope>)> {
    let saved = read_json(&conversation_key("session", prefix, me))?;
    let transcript = read_json(&conversation_key("transcript", prefix, me)).unwrap_or_default();
    Some((saved, transcript))
}

/// Saves the protocol state (small: done after every change); says whether
/// it was stored.
pub fn save_state(prefix: &str, me: &str, saved: &Saved) -> bool {
    write_json(&conversation_key("session", prefix, me), saved)
}

/// Saves the transcript (large: done at most about once a second).
pub fn save_transcript(prefix: &str, me: &str, transcript: &[Envelope]) -> bool {
    write_json(&conversation_key("transcript", prefix, me), &transcript)
}

pub fn forget_session(prefix: &str, me: &str) {
    for what in ["session", "transcript", "draft"] {
        remove(&conversation_key(what, prefix, me));
    }
}

pub fn draft(prefix: &str, me: &str) -> String {
    read(&conversation_key("draft", prefix, me)).unwrap_or_default()
}

pub fn save_draft(prefix: &str, me: &str, draft: &str) {
    let key = conversation_key("draft", prefix, me);
    if draft.is_empty() {
        remove(&key);
    } else {
        write(&key, draft);
    }
}
