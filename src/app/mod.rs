//! The browser side of Bleep: Leptos screens over the protocol core.
//!
//! - [`start`] shows the sign-in form or a conversation, one at a time;
//! - [`chat`] runs the core with real requests, timers and storage;
//! - the other modules are the pieces of the screen, each named for what the
//!   clinician sees.

pub mod attention;
pub mod chat;
pub mod composer;
pub mod connection_banner;
pub mod context;
pub mod conversation;
pub mod device;
pub mod http;
pub mod settings_panel;
pub mod sign_in;
pub mod storage;
pub mod transcript;
pub mod turn_banner;

use std::any::Any;
use std::cell::RefCell;

use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

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

/// Starts the app: a `<main>` on the page's body, showing the sign-in form,
/// or the conversation a link asks for.
pub fn start() {
    // A panic aborts the app: say why in the console.
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
    // Names fold case with String.prototype.toLowerCase, which follows
    // Unicode's default case conversion as str::to_lowercase does.
    crate::core::participants::set_lowercase(|text| {
        js_sys::JsString::from(text).to_lower_case().into()
    });
    let Some(main) = app_element() else {
        return;
    };
    PAGE.with(|page| page.borrow_mut().main = Some(main));
    show(joined_from_url());
}

/// What the page shows: the `<main>` element and the screen in it.
#[derive(Default)]
struct Page {
    main: Option<web_sys::HtmlElement>,
    /// The screen's mount handle: dropping it takes the screen off the page
    /// and runs its clean-ups (a conversation stops its chat).
    screen: Option<Box<dyn Any>>,
}

thread_local! {
    static PAGE: RefCell<Page> = RefCell::default();
}

/// Adds `<main class="app">` to the page's body.
fn app_element() -> Option<web_sys::HtmlElement> {
    let document = web_sys::window()?.document()?;
    let main = document.create_element("main").ok()?;
    main.set_class_name("app");
    document.body()?.append_child(&main).ok()?;
    main.dyn_into().ok()
}

/// Shows the sign-in form (`None`) or the conversation `joined`, in place
/// of what was shown. Each screen is mounted on its own and replaced whole
/// (never redrawn in place), so no code exists to redraw one into another.
fn show(joined: Option<Joined>) {
    let (main, old) = PAGE.with(|page| {
        let mut page = page.borrow_mut();
        (page.main.clone(), page.screen.take())
    });
    // The old screen goes first, so that its chat stops before a new starts.
    drop(old);
    let Some(main) = main else {
        return;
    };
    let screen: Box<dyn Any> = match joined {
        None => Box::new(mount_to(main, || view! { <SignIn on_join=join /> })),
        Some(joined) => {
            // Remembered however it was opened (form or link), so that the
            // form comes back filled in after "Switch colleague".
            storage::remember_sign_in(&storage::SignIn {
                me: joined.pair.me.typed().to_owned(),
                peer: joined.pair.peer.typed().to_owned(),
                server: joined.server.clone(),
            });
            Box::new(mount_to(main, move || {
                view! { <ConversationScreen joined=joined on_leave=leave /> }
            }))
        }
    };
    PAGE.with(|page| page.borrow_mut().screen = Some(screen));
}

/// Opens the conversation. The switch waits until the event that asked for
/// it is handled: its screen is about to go.
fn join(joined: Joined) {
    leptos::task::spawn_local(async move { show(Some(joined)) });
}

/// Back to the sign-in form (after the event that asked for it).
fn leave() {
    leptos::task::spawn_local(async { show(None) });
}

/// The text of `message` while there is one: the line that says what went
/// wrong, or what is going on. Shared by every such line, so that their
/// drawing code exists once.
pub fn message_text(message: RwSignal<Option<String>>) -> impl IntoView {
    move || message.get()
}

/// The element of the page with the id `id`, as a `T`. (Found by id rather
/// than held in a `NodeRef`: no code for node references is needed.)
pub fn element_by_id<T: JsCast>(id: &str) -> Option<T> {
    web_sys::window()?
        .document()?
        .get_element_by_id(id)?
        .dyn_into()
        .ok()
}

/// What the text field with the id `id` holds ("" if there is none). The
/// forms read their fields when they are sent, rather than keep a signal
/// in step with every key pressed.
pub fn field_value(id: &str) -> String {
    element_by_id::<web_sys::HtmlInputElement>(id)
        .map(|field| field.value())
        .unwrap_or_default()
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
