//! Under the turn banner, while you wait for a reply to an urgent message:
//! once it has waited as long as the settings say (five minutes unless
//! chosen otherwise), "No reply: escalate" to a backup colleague, the name
//! suggested from the directory and the last backup filled in; then how
//! far the escalation got ("Escalated to Dr Y").

use leptos::html::Input;
use leptos::prelude::*;

use super::chat::{self, MessageRow};
use super::context::{change_preferences, use_conversation, Conversation};
use super::sign_in::suggest;
use crate::core::escalation::{awaited, backup, is_due};
use crate::core::Pair;
use crate::display::TurnState;

#[component]
pub fn EscalateOffer() -> impl IntoView {
    let Conversation {
        view,
        now,
        preferences,
        escalations,
        ..
    } = use_conversation();
    let (turn, messages) = (view.turn, view.messages);
    // Your urgent message waited on, while waiting.
    let waited_on = Memo::new(move |_| {
        matches!(turn.get(), TurnState::Waiting { .. })
            .then(|| {
                messages.with(|rows| {
                    awaited(rows.iter().map(|r| (r.mine, r.urgent))).map(|i| rows[i].clone())
                })
            })
            .flatten()
    });
    // It, once the wait is over and if it was not escalated yet; changes
    // only then, not at every tick of the clock.
    let due = Memo::new(move |_| {
        waited_on.get().filter(|row| {
            is_due(
                row.sent_at,
                now.get(),
                preferences.with(|p| p.escalate_after_ms),
            ) && !escalations
                .notes
                .with(|notes| notes.iter().any(|n| *n.message == *row.id))
        })
    });
    let state = move || {
        waited_on.with(Option::is_some).then(|| {
            escalations
                .state
                .with(|s| s.as_ref().map(|s| s.words()))
                .map(|words| view! { <p class="unsent" role="status" data-testid="escalation">{words}</p> })
        })
    };
    view! {
        {move || due.get().map(|row| view! { <EscalateForm row=row /> })}
        {state}
    }
}

/// The form that escalates `row` to the backup colleague named in it.
#[component]
fn EscalateForm(row: MessageRow) -> impl IntoView {
    let Conversation {
        chat,
        me,
        peer,
        server,
        preferences,
        escalations,
        ..
    } = use_conversation();
    let field = NodeRef::<Input>::new();
    let error = RwSignal::new(None::<String>);
    // The people on the server, for suggestions: one listing, as the form
    // appears.
    let listed = server.clone();
    leptos::task::spawn_local(async move {
        if let Some(names) = chat::people(&listed).await {
            suggest("backups", &names);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = field.get_untracked().map(|f| f.value()).unwrap_or_default();
        let Ok(pair) = Pair::parse(&me, &peer) else {
            return;
        };
        match backup(&typed, &pair) {
            Ok(name) => {
                change_preferences(chat, preferences, |p| p.backup = name.typed().to_owned());
                let settings = preferences.with_untracked(|p| p.timing.clone());
                escalations.escalate(&pair, name, &row, &server, settings);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    view! {
        <form class="unsent escalate" on:submit=submit>
            <label for="backup">"Backup colleague"</label>
            <input id="backup" list="backups" autocomplete="off" aria-describedby="backup-error"
                value=preferences.with_untracked(|p| p.backup.clone()) node_ref=field
                on:input=move |_| error.set(None) />
            <datalist id="backups"></datalist>
            <button type="submit" class="danger" data-testid="escalate">"No reply: escalate"</button>
            <p id="backup-error" class="field-error" role="alert">{error}</p>
        </form>
    }
}
