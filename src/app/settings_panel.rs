//! Settings: alerts first (sound, desktop notifications, how often an
//! urgent message alerts again until seen), when to offer escalating an
//! unanswered urgent message, your on-duty status
//! ([`MyStatus`]), your own quick replies, then removing the
//! conversation from this device, and under "Advanced" the server address
//! and how often to check for messages.
//!
//! The panel opens over the conversation on a phone (its own view) and
//! between the top bar and the turn banner on a wider screen; Esc or its
//! Close button closes it, and the focus moves into it when it opens and
//! back to the settings button when it closes ([`SettingsSheet`]).

use leptos::html::{Button, Input, Section};
use leptos::prelude::*;

use super::browser_support::{can_chime, can_notify, request_notifications};
use super::context::{change_preferences, use_conversation, Conversation};
use super::my_status::MyStatus;
use super::quick_replies::QuickReplySettings;
use super::storage::{self, Preferences};
use crate::core::escalation::ESCALATE_MS;
use crate::core::repeat_alert::REPEAT_RANGE_MS;
use crate::core::Delivery;
use crate::display::{
    format_seconds, parse_seconds, remove_from_device_question, NOTIFICATIONS_BLOCKED,
};

/// Whether the settings are open, the button that opens them and the panel:
/// opening moves the focus into the panel, closing back to the button.
#[derive(Clone, Copy, Default)]
pub struct SettingsSheet {
    pub open: RwSignal<bool>,
    pub button: NodeRef<Button>,
    panel: NodeRef<Section>,
}

impl SettingsSheet {
    /// Opens the panel, or closes it if it is open.
    pub fn toggle(self) {
        if self.open.get_untracked() {
            self.close();
            return;
        }
        self.open.set(true);
        // Once the panel is shown: a hidden element takes no focus.
        let panel = self.panel;
        request_animation_frame(move || {
            if let Some(panel) = panel.try_get_untracked().flatten() {
                let _ = panel.focus();
            }
        });
    }

    pub fn close(self) {
        self.open.set(false);
        if let Some(button) = self.button.try_get_untracked().flatten() {
            let _ = button.focus();
        }
    }
}

#[component]
pub fn SettingsPanel(
    sheet: SettingsSheet,
    on_leave: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let Conversation {
        chat,
        view,
        peer,
        server,
        preferences,
        ..
    } = use_conversation();
    let status = RwSignal::new(None::<String>);

    let update = move |change: &dyn Fn(&mut Preferences)| {
        change_preferences(chat, preferences, |p| change(p));
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
            request_notifications(Box::new(move |allowed| {
                if !allowed {
                    update(&|p| p.notifications = false);
                    status.set(Some(NOTIFICATIONS_BLOCKED.into()));
                }
            }));
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

    let remove = move |_| {
        let unsent = view.messages.with_untracked(|rows| {
            rows.iter()
                .any(|row| row.delivery == Some(Delivery::Pending))
        });
        let question = remove_from_device_question(&peer, unsent);
        let confirmed = window().confirm_with_message(&question).unwrap_or(false);
        if confirmed {
            chat.get_value().remove_from_this_device();
            on_leave();
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            sheet.close();
        }
    };

    // Hidden rather than removed when closed: the settings button's
    // `aria-controls` names it, and what was typed in it stays.
    view! {
        <section id="settings-panel" class="settings card" hidden=move || !sheet.open.get()
            aria-labelledby="settings-title" tabindex="-1" node_ref=sheet.panel on:keydown=on_keydown>
            <div class="settings-head">
                <h2 id="settings-title">"Settings"</h2>
                <button type="button" class="secondary" on:click=move |_| sheet.close()>"Close"</button>
            </div>
            <fieldset>
                <legend>"When a reply arrives while Bleep is in the background"</legend>
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
                {interval_field("Repeat an urgent message's alert until seen, every (seconds)", "repeat-urgent",
                    |p| p.urgent_repeat_ms, |p, v| p.urgent_repeat_ms = v.clamp(REPEAT_RANGE_MS.0, REPEAT_RANGE_MS.1))}
                // Minutes, in the field the seconds use: ms / 60 shows as minutes.
                {interval_field("Offer to escalate an urgent message with no reply after (minutes)", "escalate-after",
                    |p| p.escalate_after_ms / 60, |p, v| p.escalate_after_ms = (v * 60).clamp(ESCALATE_MS.0, ESCALATE_MS.1))}
            </fieldset>
            <MyStatus open=sheet.open />
            <QuickReplySettings />
            <div class="remove">
                <button type="button" class="danger" data-testid="remove-from-device" on:click=remove>"Remove from this device…"</button>
                <p class="hint-text">"Your messages stay with your colleague and on the server."</p>
            </div>
            <details class="advanced">
                <summary>"Advanced"</summary>
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
            </details>
            <p class="status" role="status">{status}</p>
        </section>
    }
}
