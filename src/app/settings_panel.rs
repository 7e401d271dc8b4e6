//! Settings: server address, poll intervals, sound, desktop notifications,
//! and clearing this conversation.

use leptos::html::Input;
use leptos::prelude::*;

use super::browser_support::{can_chime, can_notify};
use super::context::{use_conversation, Conversation};
use super::storage::{self, Preferences};
use crate::display::{format_seconds, parse_seconds};

#[component]
pub fn SettingsPanel(
    open: RwSignal<bool>,
    on_leave: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let Conversation {
        chat,
        server,
        preferences,
        ..
    } = use_conversation();
    let status = RwSignal::new(None::<String>);

    let update = move |change: &dyn Fn(&mut Preferences)| {
        preferences.update(|p| change(p));
        let p = preferences.get_untracked();
        storage::save_preferences(&p);
        chat.get_value().set_settings(p.timing.clone());
    };
    let interval_field = move |label: &'static str,
                               id: &'static str,
                               get: fn(&Preferences) -> u64,
                               set: fn(&mut Preferences, u64)| {
        view! {
            <label for=id>{label}</label>
            <input id=id type="number" min="0.2" step="0.1" inputmode="decimal"
                value=format_seconds(preferences.with_untracked(get))
                on:change:target=move |ev| {
                    let field = ev.target();
                    if let Some(ms) = parse_seconds(&field.value()) {
                        update(&|p| set(p, ms));
                    }
                    // The field shows the interval in use at once: rounded,
                    // or the one before if what was typed is not an interval.
                    field.set_value(&format_seconds(preferences.with_untracked(get)));
                } />
        }
    };

    // Only what this browser can do can be turned on: a setting saved as on
    // must never do nothing. (The browser notice says what is missing.)
    let (notifications_work, sound_works) = (can_notify(), can_chime());
    let toggle_notifications = move |ev| {
        let on = event_target_checked(&ev);
        update(&|p| p.notifications = on);
        if on {
            if let Ok(promise) = web_sys::Notification::request_permission() {
                leptos::task::spawn_local(async move {
                    let answer = wasm_bindgen_futures::JsFuture::from(promise).await;
                    if answer.ok().and_then(|v| v.as_string()).as_deref() != Some("granted") {
                        update(&|p| p.notifications = false);
                        status.set(Some("Notifications are blocked by the browser: allow them in its site settings.".into()));
                    }
                });
            }
        }
    };

    let server_field = NodeRef::<Input>::new();
    let leave = on_leave.clone();
    let change_server = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let (Some(mut sign_in), Some(field)) = (storage::last_sign_in(), server_field.get()) {
            sign_in.server = field.value().trim().to_owned();
            storage::remember_sign_in(&sign_in);
        }
        leave();
    };

    let clear = move |_| {
        let confirmed = web_sys::window()
            .and_then(|w| w.confirm_with_message("Remove every message of this conversation from the server, for both of you? This cannot be undone.").ok())
            .unwrap_or(false);
        if !confirmed {
            return;
        }
        let chat = chat.get_value();
        let on_leave = on_leave.clone();
        status.set(Some("Clearing…".into()));
        leptos::task::spawn_local(async move {
            match chat.clear_conversation().await {
                Ok(_) => on_leave(),
                Err(e) => status.set(Some(format!("Could not clear the conversation. {e}"))),
            }
        });
    };

    // Hidden rather than removed when closed: the settings button's
    // `aria-controls` names it, and what was typed in it stays.
    view! {
        <section id="settings-panel" class="settings card" hidden=move || !open.get() aria-label="Settings">
            <h2>"Settings"</h2>
            <form class="server-form" on:submit=change_server>
                <label for="settings-server">"Server address"</label>
                <input id="settings-server" value=server node_ref=server_field />
                <button type="submit" class="secondary">"Use this server (sign in again)"</button>
            </form>
            <fieldset>
                <legend>"How often to check for messages (seconds)"</legend>
                {interval_field("While waiting for a reply", "poll-waiting", |p| p.timing.waiting_poll_ms, |p, v| p.timing.waiting_poll_ms = v)}
                {interval_field("While it is your turn", "poll-idle", |p| p.timing.idle_poll_ms, |p, v| p.timing.idle_poll_ms = v)}
                {interval_field("While this tab is hidden", "poll-hidden", |p| p.timing.hidden_poll_ms, |p, v| p.timing.hidden_poll_ms = v)}
            </fieldset>
            <fieldset>
                <legend>"When a reply arrives in a hidden tab"</legend>
                <label class="check">
                    <input type="checkbox" id="alert-sound" disabled=!sound_works
                        prop:checked=move || sound_works && preferences.with(|p| p.sound)
                        on:change=move |ev| { let on = event_target_checked(&ev); update(&|p| p.sound = on); } />
                    "Play a sound"
                </label>
                <label class="check">
                    <input type="checkbox" id="alert-notifications" disabled=!notifications_work
                        prop:checked=move || notifications_work && preferences.with(|p| p.notifications)
                        on:change=toggle_notifications />
                    "Show a desktop notification"
                </label>
            </fieldset>
            <button type="button" class="danger" on:click=clear>"Clear this conversation…"</button>
            <p class="status" role="status">{status}</p>
        </section>
    }
}
