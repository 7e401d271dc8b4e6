//! Starting a conversation from the inbox: a colleague's name
//! (`data-testid="new-conversation"`), suggested from the people seen on
//! the server (one listing when the inbox opens, never per poll), with the
//! warning about a name nobody has used there before the first message
//! goes. The conversation opens beside the list; the message can still be
//! sent to a name nobody used.

use leptos::html::Input;
use leptos::prelude::*;

use super::inbox_pane::{open_pane, signed_in};
use super::inbox_runner;
use super::sign_in::never_used_warning;
use crate::core::participants::MAX_NAME_CHARS;
use crate::core::{Name, NameError};

/// The field and its button, above the list.
#[component]
pub fn NewConversation(server: String) -> impl IntoView {
    let field = NodeRef::<Input>::new();
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let unknown = never_used_warning(server, "colleagues", typed);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(me) = signed_in() else {
            return;
        };
        match Name::parse(&typed.get_untracked()) {
            Ok(peer) if peer.normal() == me.normal() => {
                error.set(Some(NameError::SameAsColleague.to_string()));
            }
            Ok(peer) => {
                error.set(None);
                inbox_runner::start(&me, &peer);
                typed.set(String::new());
                if let Some(field) = field.get_untracked() {
                    field.set_value("");
                }
                open_pane(Some(peer), true);
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    view! {
        <form class="new-conversation" on:submit=submit novalidate>
            <label for="new-conversation">"Start a conversation with"</label>
            <div class="new-conversation-row">
                <input id="new-conversation" data-testid="new-conversation" list="colleagues"
                    maxlength=MAX_NAME_CHARS autocomplete="off" node_ref=field
                    aria-describedby="new-conversation-error new-conversation-note"
                    on:input:target=move |ev| typed.set(ev.target().value()) />
                <button type="submit" class="primary">"Start"</button>
            </div>
            <datalist id="colleagues"></datalist>
            <p id="new-conversation-error" class="field-error" role="alert">{error}</p>
            <p id="new-conversation-note" class="field-hint colleague-note" role="status" data-testid="unknown-colleague">{unknown}</p>
        </form>
    }
}
