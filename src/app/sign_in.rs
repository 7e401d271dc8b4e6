//! The sign-in form: your name, your colleague's if you want that
//! conversation at once (with suggestions of the people seen on the
//! server, and a warning about a name nobody has used there; left out,
//! your inbox opens), the server, and a plain answer to "does the server
//! answer?".

use std::cell::RefCell;

use leptos::html::{Button, Input};
use leptos::prelude::*;

use super::joined::{server_or_default, Joined, Screen};
use super::on_server;
use super::storage;
use crate::core::participants::MAX_NAME_CHARS;
use crate::core::{Name, NameError, Pair};
use crate::display::{name_hint, ServerCheck};
use crate::presence::never_used;

thread_local! {
    /// What the form says once, the next time it shows: why the
    /// conversation on screen left it.
    static NOTE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Has the sign-in form say `text` the next time it shows, once.
pub fn say_next_time(text: String) {
    NOTE.with(|note| *note.borrow_mut() = text);
}

/// Whether the server at `server` answers (the chat shell asks it).
pub async fn check_server(server: &str) -> ServerCheck {
    match on_server::check_server(server).await {
        Ok(()) => ServerCheck::Connected,
        Err(error) => ServerCheck::Unreachable(error.to_string()),
    }
}

/// The line under the form that says whether the server answers. (The
/// paragraph itself stays, as the live region must; its state and its words
/// change together.)
#[component]
pub fn ServerStatus(check: RwSignal<ServerCheck>) -> impl IntoView {
    let state = move || check.with(ServerCheck::as_str);
    let text = move || check.with(ServerCheck::message);
    view! {
        <p class="server-status" data-testid="server-status" data-state=state role="status" aria-live="polite">
            {text}
        </p>
    }
}

/// A name field, filled with `value`, with its label, its length limit
/// (the field takes no more, and says so before the form is sent) and the
/// line that says what is wrong with it.
#[component]
fn NameField(
    id: &'static str,
    label: &'static str,
    hint_id: &'static str,
    error_id: &'static str,
    autocomplete: Option<&'static str>,
    /// The id of a `<datalist>` of suggestions.
    #[prop(optional)]
    list: Option<&'static str>,
    value: String,
    error: RwSignal<Option<String>>,
    field: NodeRef<Input>,
    /// The field may be left empty.
    #[prop(optional)]
    optional: bool,
) -> impl IntoView {
    view! {
        <label for=id>{label}</label>
        <input id=id data-testid=id name=id autocomplete=autocomplete list=list required=!optional
            maxlength=MAX_NAME_CHARS aria-describedby=format!("{hint_id} {error_id}")
            value=value node_ref=field />
        <p id=hint_id class="field-hint">{name_hint()}</p>
        <p id=error_id class="field-error" role="alert">{error}</p>
    }
}

/// What `field` holds ("" before it is on the page or after it left).
/// The form reads its fields when it is sent, rather than keep a signal in
/// step with every key pressed.
fn text_of(field: NodeRef<Input>) -> String {
    field
        .try_get_untracked()
        .flatten()
        .map(|field| field.value())
        .unwrap_or_default()
}

/// Focuses the first empty name field, else the button that opens the
/// conversation: where the user goes on.
fn focus_first_empty(fields: [NodeRef<Input>; 2], join: NodeRef<Button>) {
    match fields.into_iter().find(|f| text_of(*f).trim().is_empty()) {
        Some(field) => focus(field),
        None => {
            if let Some(button) = join.get_untracked() {
                let _ = button.focus();
            }
        }
    }
}

fn focus(field: NodeRef<Input>) {
    if let Some(field) = field.get_untracked() {
        let _ = field.focus();
    }
}

/// Fills a name field's suggestions (the `<datalist>` whose id is `list`)
/// with `names` (one a line), once they are in.
pub fn suggest(list: &str, names: &str) {
    let document = document();
    let Some(list) = document.get_element_by_id(list) else {
        return;
    };
    for name in names.lines() {
        if let Ok(option) = document.create_element("option") {
            let _ = option.set_attribute("value", name);
            let _ = list.append_child(&option);
        }
    }
}

/// `me`'s inbox on `server`, or what is wrong with the name.
#[cfg(feature = "inbox")]
fn inbox_of(me: &str, server: String) -> Result<Screen, [Option<NameError>; 2]> {
    Name::parse(me)
        .map(|me| Screen::Inbox {
            me,
            server,
            open: None,
        })
        .map_err(|e| [Some(e), None])
}

/// Without the inbox, no screen opens without a colleague (never called:
/// the form asks for the colleague's name first).
#[cfg(not(feature = "inbox"))]
fn inbox_of(_me: &str, _server: String) -> Result<Screen, [Option<NameError>; 2]> {
    Err([None, Some(NameError::Empty)])
}

/// Lists the people seen on `server` (one listing, now) as the
/// suggestions of the `<datalist>` whose id is `list`; gives the warning
/// about the name in `typed` while nobody by that name is among them
/// (nothing until the list is in): the sign-in form's colleague, and the
/// inbox's new conversation.
pub fn never_used_warning(
    server: String,
    list: &'static str,
    typed: RwSignal<String>,
) -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static {
    let people = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
        let found = on_server::people(&server).await;
        if let Some(names) = &found {
            suggest(list, names);
        }
        people.set(found);
    });
    move || {
        let name = Name::parse(&typed.get()).ok()?;
        people
            .with(|p| {
                p.as_ref()
                    .is_some_and(|p| !p.lines().any(|n| n == name.normal()))
            })
            .then(|| never_used(name.typed()))
    }
}

/// The colleague's field: optional with the inbox (left empty, the inbox
/// opens).
const PEER_LABEL: &str = if cfg!(feature = "inbox") {
    "Your colleague's name (leave empty for all your conversations)"
} else {
    "Your colleague's name"
};

/// The sign-in form.
#[component]
pub fn SignIn(on_join: impl Fn(Screen) + Clone + Send + Sync + 'static) -> impl IntoView {
    let last = storage::last_sign_in().unwrap_or_default();
    let server = server_or_default(&last.server);
    let (me_field, peer_field, server_field) = (NodeRef::new(), NodeRef::new(), NodeRef::new());
    let me_error = RwSignal::new(None::<String>);
    let peer_error = RwSignal::new(None::<String>);
    let check = RwSignal::new(ServerCheck::Checking);
    let join_button = NodeRef::<Button>::new();
    let note = NOTE.with(|note| note.take());
    // Once the form is on the page.
    Effect::new(move || focus_first_empty([me_field, peer_field], join_button));

    let run_check = move |address: String| {
        check.set(ServerCheck::Checking);
        leptos::task::spawn_local(async move {
            let result = check_server(address.trim()).await;
            // Ignore an answer about an address the user has since changed
            // (or for a form that has gone).
            if text_of(server_field) == address {
                check.set(result);
            }
        });
    };
    // The field is not in the page yet: its first address is checked.
    run_check(server.clone());

    // The people seen on this server (one listing, now): suggestions for
    // the colleague's name, and a warning about a name nobody has used.
    let peer_typed = RwSignal::new(last.peer.clone());
    let unknown_peer = never_used_warning(server.clone(), "people", peer_typed);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        me_error.set(None);
        peer_error.set(None);
        let server = server_or_default(&text_of(server_field));
        let (me, peer) = (text_of(me_field), text_of(peer_field));
        // No colleague: the inbox (with the `inbox` feature; without it,
        // the colleague's name is asked for).
        let checked = if cfg!(feature = "inbox") && peer.trim().is_empty() {
            inbox_of(&me, server)
        } else {
            Pair::check(&me, &peer).map(|pair| Screen::Conversation(Joined { pair, server }))
        };
        match checked {
            Ok(screen) => on_join(screen),
            // Each field says what is wrong with it; the focus goes to the
            // first that does.
            Err([me, peer]) => {
                me_error.set(me.map(|e| e.to_string()));
                peer_error.set(peer.map(|e| e.to_string()));
                focus(if me.is_some() { me_field } else { peer_field });
            }
        }
    };

    view! {
        <section class="sign-in-screen">
            <h1 class="brand">"Bleep"</h1>
            <p class="tagline">"Messages between colleagues, one turn at a time."</p>
            {(!note.is_empty()).then(move || view! {
                <p class="banner notice" role="status" data-testid="sign-in-note">{note}</p>
            })}
            <form class="sign-in card" data-testid="sign-in" on:submit=submit novalidate
                on:input=move |_| peer_typed.set(text_of(peer_field))>
                <NameField id="me" label="Your name" hint_id="me-hint" error_id="me-error"
                    autocomplete=Some("name") value=last.me error=me_error field=me_field />
                <NameField id="peer" label=PEER_LABEL hint_id="peer-hint" error_id="peer-error"
                    autocomplete=None list="people" value=last.peer error=peer_error field=peer_field optional=cfg!(feature = "inbox") />
                <datalist id="people"></datalist>
                <p class="field-hint colleague-note" role="status" data-testid="unknown-colleague">{unknown_peer}</p>

                <label for="server">"Server address"</label>
                <input id="server" data-testid="server" name="server" inputmode="url"
                    value=server node_ref=server_field
                    on:change:target=move |ev| run_check(ev.target().value()) />
                <ServerStatus check=check />
                <div class="actions">
                    <button type="button" class="secondary" on:click=move |_| run_check(text_of(server_field))>"Check connection"</button>
                    <button type="submit" class="primary" data-testid="join" node_ref=join_button>"Open conversation"</button>
                </div>
            </form>
        </section>
    }
}
