//! What the user asked to open: from the sign-in form, or from a link
//! (`?me=Alice&peer=Bob&server=…` a conversation, `?me=Alice` the inbox,
//! `&open=Bob` with that conversation beside it); and the page's address,
//! which always names what is on screen.

#[cfg(feature = "inbox")]
use crate::core::Name;
use crate::core::Pair;
use crate::inbox_list::{asked, Asked};

/// The server address used when none is given: IMserver.php beside the page.
pub const DEFAULT_SERVER: &str = "IMserver.php";

/// A conversation the user asked to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    pub pair: Pair,
    pub server: String,
}

/// A screen the user asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    SignIn,
    /// One conversation, on a screen of its own (`?me=&peer=`).
    Conversation(Joined),
    /// `me`'s inbox (`?me=`), with the conversation `open` beside it
    /// (with the `inbox` feature only).
    #[cfg(feature = "inbox")]
    Inbox {
        me: Name,
        server: String,
        open: Option<Name>,
    },
}

/// The page's address parameters.
fn params() -> Option<web_sys::UrlSearchParams> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()
}

impl Screen {
    /// What the page's address asks for.
    pub fn from_url() -> Screen {
        let Some(params) = params() else {
            return Screen::SignIn;
        };
        let server = server_or_default(&params.get("server").unwrap_or_default());
        let (me, peer, open) = (params.get("me"), params.get("peer"), params.get("open"));
        match asked(me.as_deref(), peer.as_deref(), open.as_deref()) {
            Asked::SignIn => Screen::SignIn,
            Asked::Conversation { me, peer } => Screen::Conversation(Joined {
                pair: Pair { me, peer },
                server,
            }),
            #[cfg(feature = "inbox")]
            Asked::Inbox { me, open } => Screen::Inbox { me, server, open },
            // Without the inbox, a link without a colleague opens the form.
            #[cfg(not(feature = "inbox"))]
            Asked::Inbox { .. } => Screen::SignIn,
        }
    }
}

/// The colleague whose conversation the address opens beside the inbox
/// (`&open=`), if any: read again when the back button moves.
#[cfg(feature = "inbox")]
pub fn open_in_url() -> Option<Name> {
    match Screen::from_url() {
        Screen::Inbox { open, .. } => open,
        _ => None,
    }
}

/// The server address typed in a form or a link, trimmed; the default
/// address if none was given.
pub fn server_or_default(typed: &str) -> String {
    match typed.trim() {
        "" => DEFAULT_SERVER.to_owned(),
        address => address.to_owned(),
    }
}

/// The page's address for `screen`: `?me=…&peer=…` (or `&open=…`), and
/// `&server=…` unless it is the default; the bare page for the sign-in.
fn address_of(screen: &Screen) -> Option<String> {
    let mut address = web_sys::window()?.location().pathname().ok()?;
    let query = web_sys::UrlSearchParams::new().ok()?;
    let (me, other, server) = match screen {
        Screen::SignIn => return Some(address),
        Screen::Conversation(joined) => (
            &joined.pair.me,
            Some(("peer", &joined.pair.peer)),
            &joined.server,
        ),
        #[cfg(feature = "inbox")]
        Screen::Inbox { me, server, open } => (me, open.as_ref().map(|o| ("open", o)), server),
    };
    query.append("me", me.typed());
    if let Some((key, name)) = other {
        query.append(key, name.typed());
    }
    if server != DEFAULT_SERVER {
        query.append("server", server);
    }
    address = format!("{address}?{}", String::from(query.to_string()));
    Some(address)
}

/// Puts `screen` in the page's address, in place of the current history
/// entry: a reload or a bookmark opens what is on screen, and the back
/// button does not step through sign-ins.
pub fn show_in_address(screen: &Screen) {
    set_address(screen, false);
}

/// Puts `screen` in the page's address as a new history entry (`push`)
/// or in place of the current one: opening a conversation from the inbox
/// is a step the back button undoes.
pub fn set_address(screen: &Screen, push: bool) {
    let (Some(window), Some(address)) = (web_sys::window(), address_of(screen)) else {
        return;
    };
    if let Ok(history) = window.history() {
        let null = wasm_bindgen::JsValue::NULL;
        let _ = if push {
            history.push_state_with_url(&null, "", Some(&address))
        } else {
            history.replace_state_with_url(&null, "", Some(&address))
        };
    }
}
