//! What this browser offers of the APIs Bleep can do without: desktop
//! notifications, sound, local storage and resize observers.
//!
//! A browser may lack any of them (an iPhone tab has no `Notification`, a
//! private window may refuse `localStorage`, an old browser has no
//! `ResizeObserver`). Calling one that is missing throws in JavaScript, and
//! a throw inside the app's code leaves its state half-changed: every call
//! into them is guarded here first, and the screen says in words what the
//! browser cannot do ([`crate::display::Missing`]).

use wasm_bindgen::JsValue;

use super::storage;
use crate::display::Missing;

/// Whether the page's global object has `name` (`window.Notification`).
/// Reading it never throws into the app: a getter that throws counts as
/// missing.
fn has_global(name: &str) -> bool {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .is_ok_and(|value| !value.is_undefined() && !value.is_null())
}

/// Whether desktop notifications can be asked for and shown.
pub fn can_notify() -> bool {
    has_global("Notification")
}

/// Whether this browser would show a notification now, or could after
/// asking: it has them and they are not blocked for this site.
pub fn notifications_allowed() -> bool {
    can_notify() && web_sys::Notification::permission() != web_sys::NotificationPermission::Denied
}

/// Asks the browser to allow desktop notifications; `then` learns whether
/// they are. (Call it from a click: browsers ignore a request that no click
/// asked for.)
pub fn request_notifications(then: Box<dyn FnOnce(bool)>) {
    if !can_notify() {
        return then(false);
    }
    match web_sys::Notification::request_permission() {
        Ok(promise) => leptos::task::spawn_local(async move {
            let answer = wasm_bindgen_futures::JsFuture::from(promise).await;
            then(answer.ok().and_then(|v| v.as_string()).as_deref() == Some("granted"));
        }),
        Err(_) => then(false),
    }
}

/// Whether the alert sound can be played.
pub fn can_chime() -> bool {
    has_global("AudioContext")
}

/// Whether the transcript can follow its own size changes.
pub fn can_observe_resize() -> bool {
    has_global("ResizeObserver")
}

/// What this browser lacks, in the order the notice lists it.
pub fn missing() -> Vec<Missing> {
    [
        (can_notify(), Missing::Notifications),
        (can_chime(), Missing::Sound),
        (storage::available(), Missing::Storage),
        (can_observe_resize(), Missing::ResizeObserver),
    ]
    .into_iter()
    .filter_map(|(has, what)| (!has).then_some(what))
    .collect()
}
