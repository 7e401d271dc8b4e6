//! The browser's ways to get a clinician's attention: the unread count in
//! the tab's title, a badge on the favicon, a short chime and a desktop
//! notification. Used by the conversation on screen ([`super::attention`])
//! and by the inbox, for a message in a conversation that is not open.

use leptos::prelude::document;
use wasm_bindgen::JsCast;

use super::browser_support::{can_chime, can_notify};
use crate::core::settings::Preferences;

/// The favicon (`bleep.svg`, beside the page), with a red badge on it when
/// something is unread.
fn favicon(unread: usize) -> &'static str {
    if unread == 0 {
        return "bleep.svg";
    }
    "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 64 64'>\
     <rect width='64' height='64' rx='14' fill='%230b5f6b'/>\
     <path d='M18 20h28a4 4 0 0 1 4 4v14a4 4 0 0 1-4 4H30l-9 8v-8h-3a4 4 0 0 1-4-4V24a4 4 0 0 1 4-4z' fill='%23fff'/>\
     <circle cx='50' cy='14' r='13' fill='%23d11' stroke='%23fff' stroke-width='3'/></svg>"
}

/// Points the page's icon at [`favicon`]. (The `<link id="favicon">` is
/// part of index.html, outside the app's view: found by its id.)
pub fn set_favicon(unread: usize) {
    if let Some(link) = document()
        .get_element_by_id("favicon")
        .and_then(|e| e.dyn_into::<web_sys::HtmlLinkElement>().ok())
    {
        link.set_href(favicon(unread));
    }
}

/// A short two-tone chime, made on the spot (no audio file to download).
fn chime() {
    if !can_chime() {
        return;
    }
    let Ok(context) = web_sys::AudioContext::new() else {
        return;
    };
    let now = context.current_time();
    for (i, frequency) in [880.0, 1_320.0].into_iter().enumerate() {
        let (Ok(oscillator), Ok(gain)) = (context.create_oscillator(), context.create_gain())
        else {
            return;
        };
        oscillator.frequency().set_value(frequency);
        let start = now + i as f64 * 0.15;
        let _ = gain.gain().set_value_at_time(0.2, start);
        let _ = gain
            .gain()
            .exponential_ramp_to_value_at_time(0.001, start + 0.14);
        let _ = oscillator.connect_with_audio_node(&gain);
        let _ = gain.connect_with_audio_node(&context.destination());
        let _ = oscillator.start_with_when(start);
        let _ = oscillator.stop_with_when(start + 0.15);
    }
}

/// Shows a desktop notification titled `title`; it replaces Bleep's last
/// one, and alerts again even so.
fn notify(title: &str, text: &str) {
    // `Notification.permission` throws where there is no `Notification`.
    if !can_notify()
        || web_sys::Notification::permission() != web_sys::NotificationPermission::Granted
    {
        return;
    }
    let options = web_sys::NotificationOptions::new();
    options.set_body(text);
    options.set_tag("bleep");
    options.set_renotify(true);
    let _ = web_sys::Notification::new_with_options(title, &options);
}

/// The tab's title and the favicon's badge for `unread` messages.
pub fn show_count(title: &str, unread: usize) {
    document().set_title(title);
    set_favicon(unread);
}

/// Chimes and notifies, as the settings `p` allow (the inbox, too, for a
/// message in a conversation that is not open).
pub fn alert(p: &Preferences, title: &str, text: Option<&str>) {
    if p.sound {
        chime();
    }
    if p.notifications {
        notify(title, text.unwrap_or(""));
    }
}
