//! A conversation the user asked to open: from the sign-in form, or from a
//! link (`?me=Alice&peer=Bob&server=…`); and the page's address, which
//! always names the conversation on screen.

use crate::core::Pair;

/// The server address used when none is given: IMserver.php beside the page.
pub const DEFAULT_SERVER: &str = "IMserver.php";

/// A conversation the user asked to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    pub pair: Pair,
    pub server: String,
}

impl Joined {
    /// The conversation the page's address asks for, if it names both
    /// people (`?me=&peer=`, optionally `&server=`).
    pub fn from_url() -> Option<Joined> {
        let search = web_sys::window()?.location().search().ok()?;
        let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
        let pair = Pair::parse(&params.get("me")?, &params.get("peer")?).ok()?;
        let server = params.get("server").unwrap_or_default();
        Some(Joined {
            pair,
            server: server_or_default(&server),
        })
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

/// Puts the conversation on screen in the page's address (`?me=…&peer=…`,
/// and `&server=…` unless it is the default), or takes it out (`None`, the
/// sign-in form), in place of the current history entry: a reload or a
/// bookmark opens what is on screen, and the back button does not step
/// through sign-ins.
pub fn show_in_address(joined: Option<&Joined>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(path) = window.location().pathname() else {
        return;
    };
    let mut address = path;
    if let Some(joined) = joined {
        let Ok(query) = web_sys::UrlSearchParams::new() else {
            return;
        };
        query.append("me", joined.pair.me.typed());
        query.append("peer", joined.pair.peer.typed());
        if joined.server != DEFAULT_SERVER {
            query.append("server", &joined.server);
        }
        address = format!("{address}?{}", String::from(query.to_string()));
    }
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&address));
    }
}
