//! The browser side of Bleep: Leptos screens over the protocol core.
//!
//! - [`App`] chooses between the sign-in form and a conversation;
//! - [`chat`] runs the core with real requests, timers and storage;
//! - the other modules are the pieces of the screen, each named for what the
//!   clinician sees.

pub mod attention;
pub mod chat;
pub mod composer;
pub mod connection_banner;
pub mod conversation;
pub mod device;
pub mod http;
pub mod settings_panel;
pub mod sign_in;
pub mod storage;
pub mod transcript;
pub mod turn_banner;

use leptos::either::Either;
use leptos::prelude::*;

use crate::core::Pair;
use conversation::ConversationScreen;
use sign_in::SignIn;

/// The server address used when none is given: IMserver.php beside the page.
pub const DEFAULT_SERVER: &str = "IMserver.php";

/// A conversation the user asked to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    pub pair: Pair,
    pub server: String,
}

/// Mounts the app on the page's body.
pub fn start() {
    // A panic aborts the app: say why in the console.
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
    leptos::mount::mount_to_body(App);
}

/// The whole app: the sign-in form until a conversation is opened.
#[component]
pub fn App() -> impl IntoView {
    let joined = RwSignal::new(joined_from_url());
    let on_join = move |j: Joined| {
        storage::remember_sign_in(&storage::SignIn {
            me: j.pair.me.typed().to_owned(),
            peer: j.pair.peer.typed().to_owned(),
            server: j.server.clone(),
        });
        joined.set(Some(j));
    };
    let on_leave = move || joined.set(None);
    view! {
        <main class="app">
            {move || match joined.get() {
                None => Either::Left(view! { <SignIn on_join=on_join /> }),
                Some(j) => Either::Right(view! { <ConversationScreen joined=j on_leave=on_leave /> }),
            }}
        </main>
    }
}

/// The text of `message` while there is one: the line that says what went
/// wrong, or what is going on. Shared by every such line, so that their
/// drawing code exists once.
pub fn message_text(message: RwSignal<Option<String>>) -> impl IntoView {
    move || message.get()
}

/// Keeps `value` equal to what is typed into the field the handler is on
/// (for `on:input`). Shared by the text fields, so its code exists once.
pub fn keep_typed(value: RwSignal<String>) -> impl FnMut(web_sys::Event) + Clone + 'static {
    move |ev| value.set(event_target_value(&ev))
}

/// Reads `?me=&peer=&server=` so that a link can open a conversation.
fn joined_from_url() -> Option<Joined> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    let me = params.get("me")?;
    let peer = params.get("peer")?;
    let server = params
        .get("server")
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    let pair = Pair::parse(&me, &peer).ok()?;
    Some(Joined {
        pair,
        server: server.trim().to_owned(),
    })
}
