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
