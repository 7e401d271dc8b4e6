//! Your on-duty status in the settings: on duty, busy (in theatre) or off
//! duty, and a short note such as "bleep 4321". A change is kept by this
//! browser and written to your directory entry at once. Each time the
//! settings open, the fields show your status as this window last learnt it
//! (another of your devices may have changed it since), so that saving never
//! puts back an older choice.

use leptos::html::{Input, Select};
use leptos::prelude::*;

use super::context::{use_conversation, Conversation};
use crate::core::directory::{Status, MAX_TEXT_CHARS};

#[component]
pub fn MyStatus(
    /// Whether the settings are open.
    open: RwSignal<bool>,
) -> impl IntoView {
    let Conversation { chat, .. } = use_conversation();
    let (select, text) = (NodeRef::<Select>::new(), NodeRef::<Input>::new());
    let error = RwSignal::new(None::<String>);
    let save = move || {
        let (Some(select), Some(text)) = (select.get_untracked(), text.get_untracked()) else {
            return;
        };
        let result = chat
            .get_value()
            .set_status(Status::from_code(&select.value()), &text.value());
        error.set(result.err().map(|e| e.to_string()));
    };
    let mine = chat.get_value().my_status();
    let chosen = mine.status().map_or("", Status::code);
    Effect::new(move || {
        if !open.get() {
            return;
        }
        let mine = chat.get_value().my_status();
        if let (Some(select), Some(text)) = (select.get_untracked(), text.get_untracked()) {
            select.set_value(mine.status().map_or("", Status::code));
            text.set_value(&mine.text);
        }
    });

    // A change of either field (it bubbles), or Enter in the note, saves both.
    view! {
        <form class="my-status" on:change=move |_| save()
            on:submit=move |ev| { ev.prevent_default(); save(); }>
            <fieldset>
                <legend>"Your status, as colleagues see it"</legend>
                <label for="my-status">"Status"</label>
                <select id="my-status" data-testid="my-status" node_ref=select>
                    <option value="">"Not set"</option>
                    <option value="on" selected=chosen == "on">"On duty"</option>
                    <option value="busy" selected=chosen == "busy">"Busy, in theatre"</option>
                    <option value="off" selected=chosen == "off">"Off duty"</option>
                </select>
                <label for="my-status-text">"Note, such as your bleep number"</label>
                <input id="my-status-text" data-testid="my-status-text" maxlength=MAX_TEXT_CHARS
                    value=mine.text node_ref=text />
                <p class="field-error" role="alert">{error}</p>
            </fieldset>
        </form>
    }
}
