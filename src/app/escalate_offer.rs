//! Under the turn banner, while you wait for a reply to an urgent message:
//! once it has waited as long as the settings say (five minutes unless
//! chosen otherwise), "No reply: escalate" to a backup colleague, the name
//! suggested from the directory and the last backup filled in; then how
//! far the escalation got ("Escalated to Dr Y"), where the focus goes once
//! the offer is taken.

use std::cell::Cell;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;

use super::context::{change_preferences, use_conversation, Conversation};
use super::focus;
use super::on_server;
use super::sign_in::suggest;
use crate::core::escalation::{awaited, backup, is_due};
use crate::core::Pair;
use crate::display::TurnState;

#[component]
pub fn EscalateOffer() -> impl IntoView {
    let Conversation {
        chat,
        view,
        now,
        me,
        peer,
        server,
        preferences,
        escalations,
    } = use_conversation();
    let (turn, messages) = (view.turn, view.messages);
    let server_for_list = server.clone();
    // Your urgent message waited on, while waiting.
    let waited_on = move || {
        matches!(turn.get(), TurnState::Waiting { .. })
            .then(|| {
                messages.with(|rows| {
                    awaited(rows.iter().map(|r| (r.mine, r.urgent)))
                        .and_then(|i| rows.get(i).cloned())
                })
            })
            .flatten()
    };
    // Whether it is to be offered: the wait is over and it was not
    // escalated yet. Changes only then, not at every tick of the clock.
    let due = Memo::new(move |_| {
        waited_on().is_some_and(|row| {
            is_due(
                row.sent_at,
                now.get(),
                preferences.with(|p| p.escalate_after_ms),
            ) && !escalations
                .notes
                .with(|notes| notes.iter().any(|n| *n.message == *row.id))
        })
    });
    let state = escalations.state;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = document()
            .get_element_by_id("backup")
            .and_then(|f| f.dyn_into::<HtmlInputElement>().ok())
            .map(|f| f.value())
            .unwrap_or_default();
        let (Ok(pair), Some(row)) = (Pair::parse(&me, &peer), untrack(waited_on)) else {
            return;
        };
        match backup(&typed, &pair) {
            Ok(name) => {
                change_preferences(chat, preferences, |p| p.backup = name.typed().to_owned());
                let settings = preferences.with_untracked(|p| p.timing.clone());
                let chat = chat.get_value();
                let conversation = &chat.storage_key().conversation;
                escalations.escalate(conversation, &pair, name, &row, &server, settings);
                // The form hides once the forward is queued: the focus
                // goes on to the line that says how far it got, rather
                // than fall to the page with the hidden button.
                focus::move_to("escalation");
            }
            Err(e) => state.set(Some(e.to_string())),
        }
    };
    // The people on the server, for suggestions: one listing, when the
    // name field is first used.
    let listed = Cell::new(false);
    let list_people = move |_| {
        if !listed.replace(true) {
            let server = server_for_list.clone();
            leptos::task::spawn_local(async move {
                if let Some(names) = on_server::people(&server).await {
                    suggest("backups", &names);
                }
            });
        }
    };
    // How far the escalation from this screen got (or why not), while
    // still waiting.
    let words = move || waited_on().and(state.get());
    // Hidden rather than removed while not due: only a change of `due`
    // shows or hides it.
    view! {
        <form class="unsent escalate" hidden=move || !due.get() on:submit=submit>
            <label for="backup">"Backup colleague"</label>
            <input id="backup" list="backups" value=preferences.with_untracked(|p| p.backup.clone())
                on:focus=list_people />
            <datalist id="backups"></datalist>
            <button type="submit" class="danger" data-testid="escalate">"No reply: escalate"</button>
        </form>
        <p id="escalation" class="unsent" role="status" tabindex="-1" data-testid="escalation">{words}</p>
    }
}
