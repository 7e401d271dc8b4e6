//! The composer: a multi-line draft that survives reloads; Enter sends,
//! Shift+Enter starts a new line. On a touch screen Enter starts a new line
//! and the send button sends, as phone messengers do (a phone's return key
//! has no Shift); the Enter that ends an input method's composition never
//! sends. The "Urgent" toggle makes the next message urgent (it goes back to
//! routine once sent). While you wait for a reply you can still type; a
//! routine message waits for the reply, an urgent one ("Send as urgent
//! follow-up", or Send with the toggle on) goes at once. Quick replies
//! ([`QuickReplies`]) send with one tap, as the draft would, leaving it be.

use leptos::html::Textarea;
use leptos::prelude::*;

use super::context::{use_conversation, Conversation};
use super::quick_replies::QuickReplies;
use super::storage;
use crate::display::{budget_note, TurnState};

/// Whether the main pointer is a finger (a phone or a tablet).
fn touch_screen() -> bool {
    window()
        .match_media("(pointer: coarse)")
        .ok()
        .flatten()
        .is_some_and(|query| query.matches())
}

/// Whether `ev` is an Enter that sends: not with Shift, not on a touch
/// screen, and not ending an input method's composition (Safari reports
/// that one without `isComposing`, as key code 229).
fn sends(ev: &leptos::ev::KeyboardEvent) -> bool {
    ev.key() == "Enter"
        && !ev.shift_key()
        && !ev.is_composing()
        && ev.key_code() != 229
        && !touch_screen()
}

#[component]
pub fn Composer() -> impl IntoView {
    let Conversation {
        chat, view, peer, ..
    } = use_conversation();
    let turn = view.turn;
    let key = chat.get_value().storage_key().clone();
    let draft = RwSignal::new(storage::draft(&key));
    let field = NodeRef::<Textarea>::new();
    let error = RwSignal::new(None::<String>);
    // The priority of the next message: urgent while the toggle is on.
    let urgent = RwSignal::new(false);
    // Notifies only if there was an error to clear (it runs at every key).
    let clear_error = move || {
        if error.with_untracked(Option::is_some) {
            error.set(None);
        }
    };

    // Sends `text` (or else the draft) as a routine message, or as urgent
    // when `as_urgent` or the toggle is on (also while waiting for the
    // colleague's reply).
    let send = move |text: Option<String>, as_urgent: bool| {
        let from_draft = text.is_none();
        let text = text.unwrap_or_else(|| draft.get_untracked());
        let chat = chat.get_value();
        let sent = if as_urgent || urgent.get_untracked() {
            chat.send_urgent(&text)
        } else {
            chat.send(&text)
        };
        match sent {
            Ok(()) => {
                if from_draft {
                    draft.set(String::new());
                    chat.set_draft_sent(true);
                }
                urgent.set(false);
                clear_error();
            }
            Err(e) => error.set(Some(e.to_string())),
        }
        if let Some(field) = field.get_untracked() {
            let _ = field.focus();
        }
    };

    // Whether nothing can be sent now: not your turn (an urgent message may
    // still go while you wait).
    let locked = move || match turn.get() {
        TurnState::Idle => false,
        TurnState::Waiting { .. } => !urgent.get(),
        _ => true,
    };
    let budget = move || {
        draft.with(|d| {
            let chat = chat.get_value();
            if urgent.get() {
                chat.urgent_budget(d)
            } else {
                chat.budget(d)
            }
        })
    };
    // Why sending is locked, the budget note and the send buttons change
    // together: one reactive closure draws the bar (in place, so the button
    // stays the same element). While you wait for a reply, a second button
    // sends the draft at once as an urgent follow-up.
    let bar = move || {
        let b = budget();
        let over = !b.fits();
        let state = turn.get();
        let lock_reason = state.composer_lock(&peer);
        let waiting = matches!(state, TurnState::Waiting { .. });
        let disabled = locked() || over;
        let follow_up = waiting.then(|| {
            let too_long = !draft.with(|d| chat.get_value().urgent_budget(d)).fits();
            view! {
                <button type="button" class="urgent" data-testid="send-anyway" disabled=too_long
                    on:click=move |_| send(None, true)>
                    "Send as urgent follow-up"
                </button>
            }
        });
        view! {
            <p id="composer-lock" class="lock">{lock_reason}</p>
            <p id="composer-note" class=if over { "budget over" } else { "budget" }>{budget_note(b.used, b.limit)}</p>
            {follow_up}
            <button type="submit" class="primary" data-testid="send"
                disabled=disabled aria-disabled=if disabled { "true" } else { "false" }>
                {if urgent.get() { "Send urgent" } else { "Send" }}
            </button>
        }
    };

    // Once the screen is up: what the user types next is a message.
    Effect::new(move || {
        if let Some(field) = field.get_untracked() {
            let _ = field.focus();
        }
    });
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        // What is typed now replaces a sent draft still to be forgotten.
        chat.get_value().set_draft_sent(false);
        storage::save_draft(&key, &text);
        draft.set(text);
        clear_error();
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if sends(&ev) {
            ev.prevent_default();
            send(None, false);
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send(None, false);
    };
    let quick = move |text: String| send(Some(text), false);

    view! {
        <form class="composer" on:submit=on_submit>
            <QuickReplies pick=quick locked=locked />
            <label for="composer" class="sr-only">"Message"</label>
            <textarea id="composer" data-testid="composer" rows="3"
                placeholder=if touch_screen() { "Write a message" } else { "Write a message — Enter sends, Shift+Enter for a new line" }
                aria-describedby="composer-note composer-lock composer-error"
                node_ref=field prop:value=draft on:input=on_input on:keydown=on_keydown>
            </textarea>
            <div class="composer-bar">
                <button type="button" class="priority" data-testid="priority"
                    aria-pressed=move || if urgent.get() { "true" } else { "false" }
                    title="Mark the next message urgent: it alerts again until seen"
                    on:click=move |_| urgent.update(|u| *u = !*u)>
                    "Urgent"
                </button>
                {bar}
            </div>
            <p id="composer-error" class="field-error" role="alert" data-testid="composer-error">{error}</p>
        </form>
    }
}
