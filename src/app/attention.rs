//! Getting attention when a reply arrives in a hidden tab: the unread count
//! in the tab title, a badge on the favicon, and (if turned on in settings)
//! a short sound and a desktop notification.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::conversation::Conversation;

const TITLE: &str = "Bleep";

/// The favicon: a speech bubble, with a red badge when something is unread.
fn favicon(unread: usize) -> String {
    let badge = if unread > 0 {
        "<circle cx='24' cy='8' r='8' fill='%23d11'/>"
    } else {
        ""
    };
    format!(
        "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'>\
         <path d='M4 6h20a3 3 0 0 1 3 3v11a3 3 0 0 1-3 3H13l-6 5v-5H4a3 3 0 0 1-3-3V9a3 3 0 0 1 3-3z' fill='%230b63b6'/>{badge}</svg>"
    )
}

fn set_favicon(unread: usize) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(link) = document
        .get_element_by_id("favicon")
        .and_then(|e| e.dyn_into::<web_sys::HtmlLinkElement>().ok())
    {
        link.set_href(&favicon(unread));
    }
}

/// A short two-tone chime, made on the spot (no audio file to download).
fn chime() {
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

fn notify(peer: &str, text: &str) {
    if web_sys::Notification::permission() != web_sys::NotificationPermission::Granted {
        return;
    }
    let options = web_sys::NotificationOptions::new();
    options.set_body(text);
    options.set_tag("bleep");
    let _ = web_sys::Notification::new_with_options(&format!("Bleep: reply from {peer}"), &options);
}

/// No markup: keeps the title and favicon in step with the unread count,
/// and chimes or notifies when it grows.
#[component]
pub fn Attention(c: Conversation) -> impl IntoView {
    let unread = c.view.unread;
    let messages = c.view.messages;
    let preferences = c.preferences;
    let peer = c.peer.clone();
    // A render effect (it runs at once, then whenever the count changes) is
    // less code than an `Effect`; it lives until the screen goes.
    let effect = RenderEffect::new(move |previous: Option<usize>| {
        let count = unread.get();
        let title = if count > 0 {
            format!("({count}) {TITLE} — {peer}")
        } else {
            format!("{TITLE} — {peer}")
        };
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(&title);
        }
        set_favicon(count);
        if previous.is_some_and(|p| count > p) {
            let p = preferences.get_untracked();
            if p.sound {
                chime();
            }
            if p.notifications {
                let text = messages
                    .with_untracked(|m| m.iter().rev().find(|m| !m.mine).map(|m| m.text.clone()));
                notify(&peer, text.as_deref().unwrap_or(""));
            }
        }
        count
    });
    on_cleanup(move || {
        drop(effect);
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(TITLE);
        }
        set_favicon(0);
    });
}
