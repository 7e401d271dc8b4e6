//! Getting attention when a reply arrives in a hidden tab: the unread count
//! in the tab title (with the inbox's unread elsewhere: every conversation
//! counts), a badge on the favicon, and (if turned on in settings)
//! a short sound and a desktop notification. An urgent message alerts again
//! (sound and notification) at the interval chosen in settings until a
//! device of yours has shown it; [`RepeatAlert`] decides when, on the
//! screen's one-second clock.

use leptos::prelude::*;

use super::alerts::{alert, set_favicon, show_count};
use super::context::{use_conversation, Conversation};
use crate::core::repeat_alert::RepeatAlert;
use crate::display::{reply_notification, tab_title, urgent_notification, APP_NAME};

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
