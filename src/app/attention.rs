//! Getting attention when a reply arrives in a hidden tab: the unread count
//! in the tab title (with the inbox's unread elsewhere: every conversation
//! counts), a badge on the favicon, and (if turned on in settings)
//! a short sound and a desktop notification. An urgent message alerts again
//! (sound and notification) at the interval chosen in settings until a
//! device of yours has shown it; [`RepeatAlert`] decides when, on the
//! screen's one-second clock.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::browser_support::{can_chime, can_notify};
use super::context::{use_conversation, Conversation};
use crate::core::repeat_alert::RepeatAlert;
use crate::core::settings::Preferences;
use crate::display::{reply_notification, tab_title, urgent_notification, APP_NAME};

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
fn set_favicon(unread: usize) {
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

/// No markup: keeps the title and favicon in step with the unread count,
/// and chimes or notifies when it grows.
#[component]
pub fn Attention() -> impl IntoView {
    let Conversation {
        view,
        now,
        peer,
        preferences,
        ..
    } = use_conversation();
    let (unread, messages) = (view.unread, view.messages);
    let title = urgent_notification(&peer);
    // The other conversations' unread messages, from the inbox.
    #[cfg(feature = "inbox")]
    let elsewhere = super::inbox_runner::view().map(|inbox| inbox.elsewhere);
    #[cfg(not(feature = "inbox"))]
    let elsewhere: Option<RwSignal<u64>> = None;
    // Runs once the screen is up, then whenever the count changes, until
    // the screen goes.
    Effect::new(move |previous: Option<usize>| {
        let count = unread.get();
        let all = count + elsewhere.map_or(0, |e| e.get() as usize);
        show_count(&tab_title(all, &peer), all);
        if previous.is_some_and(|p| count > p) {
            let text = messages
                .with_untracked(|m| m.iter().rev().find(|m| !m.mine).map(|m| m.text.clone()));
            alert(
                &preferences.get_untracked(),
                &reply_notification(&peer),
                text.as_deref(),
            );
        }
        count
    });
    // Each second, and whenever the unseen urgent messages change: alert
    // again if an urgent message is still unseen on all your devices.
    let repeat = StoredValue::new(RepeatAlert::default());
    Effect::new(move || {
        let (at, unseen) = (now.get(), view.urgent_unseen.get());
        let every = preferences.with(|p| p.urgent_repeat_ms);
        let mut schedule = repeat.get_value();
        let again = schedule.tick(at, unseen, every);
        repeat.set_value(schedule);
        if again {
            let text = messages.with_untracked(|m| {
                m.iter()
                    .rev()
                    .find(|m| m.urgent && !m.mine)
                    .map(|m| m.text.clone())
            });
            alert(&preferences.get_untracked(), &title, text.as_deref());
        }
    });
    on_cleanup(move || {
        document().set_title(APP_NAME);
        set_favicon(0);
    });
}
