//! A conversation the user asked to open: from the sign-in form, or from a
//! link (`?me=Alice&peer=Bob&server=…`).

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
