//! The browser side of Bleep: Leptos screens over the protocol core.
//!
//! - [`start`] shows the sign-in form, a conversation or the inbox, one
//!   at a time;
//! - [`chat`] runs the core with real requests, timers and storage, and
//!   [`inbox_runner`] the inbox (one per page, whatever screen is shown);
//! - [`on_server`] asks a server what no conversation does: whether it
//!   answers, and who has been seen on it;
//! - `webcrypto` (probe builds only, for now) is the browser's WebCrypto
//!   for version 2's primitives;
//! - [`context`] is what the pieces of a conversation screen share;
//! - the other modules are the pieces of the screens, each named for what
//!   the clinician sees.

pub mod alerts;
pub mod attention;
pub mod browser_notice;
pub mod browser_support;
pub mod chat;
pub mod clock;
pub mod colleague_status;
pub mod composer;
pub mod connection_banner;
pub mod context;
pub mod conversation;
pub mod device;
pub mod escalate_offer;
pub mod escalation;
pub mod focus;
pub mod hooks;
pub mod http;
#[cfg(feature = "inbox")]
pub mod inbox_pane;
#[cfg(feature = "inbox")]
pub mod inbox_rows;
#[cfg(feature = "inbox")]
pub mod inbox_runner;
#[cfg(feature = "inbox")]
pub mod inbox_screen;
pub mod joined;
pub mod my_status;
#[cfg(feature = "inbox")]
pub mod new_conversation;
pub mod notification_ask;
pub mod on_server;
pub mod paused_notice;
pub mod quick_replies;
pub mod settings_panel;
pub mod sign_in;
pub mod storage;
pub mod transcript;
pub mod turn_banner;
pub mod unsent_line;
pub mod update_prompt;
// WebCrypto for version 2's primitives: checked against the native
// known answers through the probe build, not yet what the app seals with.
#[cfg(feature = "bench-probe")]
pub mod webcrypto;

use std::any::Any;
use std::cell::RefCell;

use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use conversation::mount_conversation;
#[cfg(feature = "inbox")]
use inbox_screen::InboxScreen;
use joined::Screen;
use sign_in::SignIn;
use update_prompt::UpdatePrompt;

/// Starts the app: a `<main>` on the page's body, showing the sign-in form,
/// or the conversation or inbox a link asks for.
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
    show(Screen::from_url());
    // Over whichever screen is shown, for as long as the page lives.
    if let Some(body) = document().body() {
        mount_to(body, || view! { <UpdatePrompt /> }).forget();
    }
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
    let document = document();
    let main = document.create_element("main").ok()?;
    main.set_class_name("app");
    document.body()?.append_child(&main).ok()?;
    main.dyn_into().ok()
}

/// Shows `screen` in place of what was shown.
///
/// Each screen is a root of its own, mounted whole and dropped whole, rather
/// than one `App` whose view switches between them: a view that can switch
/// carries the code to redraw each screen in place, which the app never
/// does (about 10 KB of the download).
fn show(screen: Screen) {
    let (main, old) = PAGE.with(|page| {
        let mut page = page.borrow_mut();
        (page.main.clone(), page.screen.take())
    });
    // The old screen goes first, so that its chat stops before a new starts.
    drop(old);
    let Some(main) = main else {
        return;
    };
    joined::show_in_address(&screen);
    // The inbox runs for whoever is signed in, whatever the screen.
    #[cfg(feature = "inbox")]
    let timing = storage::preferences().timing;
    let mounted: Box<dyn Any> = match screen {
        Screen::SignIn => {
            #[cfg(feature = "inbox")]
            inbox_runner::stop();
            Box::new(mount_to(main, || view! { <SignIn on_join=join /> }))
        }
        Screen::Conversation(joined) => {
            // Remembered however it was opened (form or link), so that the
            // form comes back filled in after "Switch colleague".
            storage::remember_sign_in(&storage::SignIn {
                me: joined.pair.me.typed().to_owned(),
                peer: joined.pair.peer.typed().to_owned(),
                server: joined.server.clone(),
            });
            #[cfg(feature = "inbox")]
            inbox_runner::run(&joined.pair.me, &joined.server, timing);
            mount_conversation(main, joined, leave, false)
        }
        #[cfg(feature = "inbox")]
        Screen::Inbox { me, server, open } => {
            storage::remember_sign_in(&storage::SignIn {
                me: me.typed().to_owned(),
                peer: String::new(),
                server: server.clone(),
            });
            let view = inbox_runner::run(&me, &server, timing);
            Box::new(mount_to(main, move || {
                view! { <InboxScreen me server view open on_leave=leave /> }
            }))
        }
    };
    PAGE.with(|page| page.borrow_mut().screen = Some(mounted));
}

/// Opens what the sign-in form asked for. The switch waits until the event
/// that asked for it is handled: its screen is about to go.
fn join(screen: Screen) {
    leptos::task::spawn_local(async move { show(screen) });
}

/// Back to the sign-in form (after the event that asked for it).
fn leave() {
    leptos::task::spawn_local(async { show(Screen::SignIn) });
}
