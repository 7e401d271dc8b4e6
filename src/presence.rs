//! What the screens say about people in the directory (PROTOCOL.md, "The
//! directory"): a colleague's status line in the conversation header, the
//! warning about a name nobody has used here, and the note about a
//! colleague who is off duty. Plain functions, tested natively, as in
//! [`crate::display`].

use crate::core::directory::{Entry, Status};
use crate::core::Millis;
use crate::display::elapsed;

/// "On duty · bleep 4321 · last seen 3 min ago": what is known, in that
/// order (a status, a text, and last seen once a device has written it).
pub fn status_line(entry: &Entry, now: Millis) -> String {
    let mut line = String::new();
    let mut add = |part: &str| {
        if !line.is_empty() {
            line.push_str(" · ");
        }
        line.push_str(part);
    };
    if let Some(status) = entry.status() {
        add(status.words());
    }
    if !entry.text.is_empty() {
        add(&entry.text);
    }
    if entry.seen_at > 0 {
        let ago = now.saturating_sub(entry.seen_at);
        if ago < 60_000 {
            add("last seen just now");
        } else {
            add(&format!("last seen {} ago", elapsed(ago)));
        }
    }
    line
}

/// The header's line for a colleague with no directory entry.
pub const NOT_LISTED: &str = "never used Bleep here";

/// The warning about a colleague's name that has no directory entry.
pub fn never_used(peer: &str) -> String {
    format!("{peer} has never used Bleep here: check the name")
}

/// The note above the composer while the colleague is off duty, or `None`.
pub fn off_duty_note(peer: &str, entry: &Entry) -> Option<String> {
    if entry.status() != Some(Status::OffDuty) {
        return None;
    }
    let text = if entry.text.is_empty() {
        String::new()
    } else {
        format!(" ({})", entry.text)
    };
    Some(format!(
        "{peer} is off duty{text}. Your message will still be sent."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Name;

    fn entry(json: &str) -> Entry {
        Entry::decode(json.as_bytes(), &Name::parse("Dr Patel").unwrap()).unwrap()
    }

    #[test]
    fn the_status_line_says_what_is_known() {
        let full = entry(r#"{"v":1,"n":"Dr Patel","s":"busy","x":"theatre 3","c":1,"t":1000}"#);
        assert_eq!(
            status_line(&full, 181_000),
            "Busy, in theatre · theatre 3 · last seen 3 min ago"
        );
        assert_eq!(
            status_line(&full, 30_000),
            "Busy, in theatre · theatre 3 · last seen just now"
        );
        // A clock behind the writer's.
        assert_eq!(
            status_line(&full, 0),
            "Busy, in theatre · theatre 3 · last seen just now"
        );
        let bare = entry(r#"{"v":1,"n":"Dr Patel","c":0,"t":0}"#);
        assert_eq!(status_line(&bare, 5), "");
    }

    #[test]
    fn a_name_nobody_used_and_an_off_duty_colleague_are_said_plainly() {
        assert_eq!(
            never_used("Dr Patal"),
            "Dr Patal has never used Bleep here: check the name"
        );
        let off = entry(r#"{"v":1,"n":"Dr Patel","s":"off","x":"back at 8","c":1,"t":1}"#);
        assert_eq!(
            off_duty_note("Dr Patel", &off).as_deref(),
            Some("Dr Patel is off duty (back at 8). Your message will still be sent.")
        );
        let on = entry(r#"{"v":1,"n":"Dr Patel","s":"on","c":1,"t":1}"#);
        assert_eq!(off_duty_note("Dr Patel", &on), None);
    }
}
