//! What the inbox list says (issue 17; PROTOCOL.md, "The inbox"): each
//! conversation's line (the list's markup, every text escaped), the unread
//! total for the title and the badge, which conversations just got a new
//! message (a notification), and what the page's address asks for. Plain
//! functions over the core's [`Rows`], tested natively, as in
//! [`crate::display`].
//!
//! The list is drawn as markup from [`list_html`] rather than as a view of
//! components: its lines change together, and a view's typed tree for
//! them cost several times the bytes of the download.

use crate::core::inbox::keys::tag_between;
use crate::core::inbox::{Row, RowTurn, Rows};
use crate::core::Name;
use crate::display::APP_NAME;

/// Whose turn a row shows, in words.
pub fn turn_words(turn: RowTurn) -> &'static str {
    match turn {
        RowTurn::Empty => "new",
        RowTurn::Yours => "your turn",
        RowTurn::Waiting => "waiting",
    }
}

/// The row's preview of its last message ("You: …" for one's own).
pub fn preview(row: &Row) -> String {
    match &row.last {
        None => "No messages yet".to_owned(),
        Some(last) => {
            let urgent = if last.urgent { "Urgent: " } else { "" };
            let mine = if last.mine { "You: " } else { "" };
            format!("{mine}{urgent}{}", last.preview)
        }
    }
}

/// The unread count a row shows, in words for a screen reader ("" for
/// none).
pub fn unread_words(unread: u64) -> String {
    match unread {
        0 => String::new(),
        1 => "1 unread message".to_owned(),
        n => format!("{n} unread messages"),
    }
}

/// The conversation with `peer` as `me`'s rows name it (its tag), if the
/// two are different people.
pub fn tag_of(me: &Name, peer: &Name) -> Option<String> {
    tag_between(me, peer)
}

/// `text` safe inside an element or a quoted attribute: a colleague's name
/// and a message's text come from the server, which anyone can write to.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line of the list: what [`list_html`] needs of a conversation
/// beyond its row.
pub struct Line<'a> {
    pub row: &'a Row,
    /// The colleague's status line from the directory ("" if none).
    pub status: String,
    /// The last message's time as the screen shows it ("" if none).
    pub time: String,
    /// Open beside the list.
    pub open: bool,
}

/// The list's items: per conversation a button (`data-testid="inbox-item"`,
/// `data-peer` the colleague's name as shown, `data-unread` the count,
/// `data-turn`) with the name, time, status, preview, unread count and
/// turn. Every text is escaped.
pub fn list_html(lines: &[Line<'_>]) -> String {
    let mut html = String::new();
    for line in lines {
        let row = line.row;
        let peer = escape(row.peer.typed());
        let unread = row.unread();
        let turn = turn_words(row.turn());
        let current = if line.open {
            " aria-current=\"true\""
        } else {
            ""
        };
        let badge = if unread > 0 {
            format!(
                "<span class=\"inbox-unread\"><span aria-hidden=\"true\">{unread}</span>\
                 <span class=\"sr-only\">{}</span></span>",
                unread_words(unread)
            )
        } else {
            String::new()
        };
        html.push_str(&format!(
            "<li><button type=\"button\" class=\"inbox-item\" data-testid=\"inbox-item\" \
             data-peer=\"{peer}\" data-unread=\"{unread}\" data-turn=\"{turn}\"{current}>\
             <span class=\"inbox-line\"><strong class=\"inbox-peer\">{peer}</strong>\
             <span class=\"inbox-time\">{}</span></span>\
             <span class=\"inbox-status\">{}</span>\
             <span class=\"inbox-line\"><span class=\"inbox-preview\">{}</span>{badge}</span>\
             <span class=\"inbox-turn\">{turn}</span></button></li>",
            escape(&line.time),
            escape(&line.status),
            escape(&preview(row)),
        ));
    }
    html
}

/// Unread messages outside the conversation `open` (its tag): what the
/// open conversation's own count does not already show.
pub fn unread_elsewhere(rows: &Rows, open: Option<&str>) -> u64 {
    let open_unread = open.and_then(|tag| rows.get(tag)).map_or(0, Row::unread);
    rows.total_unread().saturating_sub(open_unread)
}

/// Each conversation's unread count, to compare with the next.
pub fn unread_counts(rows: &Rows) -> Vec<(String, u64)> {
    rows.newest_first()
        .into_iter()
        .map(|(tag, row)| (tag.to_owned(), row.unread()))
        .collect()
}

/// The conversations, other than `open`, whose unread count grew since
/// `before` (from [`unread_counts`]): a notification each, with the
/// colleague's name and the last message's preview.
pub fn newly_unread(
    before: &[(String, u64)],
    rows: &Rows,
    open: Option<&str>,
) -> Vec<(String, String)> {
    rows.newest_first()
        .into_iter()
        .filter(|(tag, _)| Some(*tag) != open)
        .filter(|(tag, row)| {
            let was = before.iter().find(|(t, _)| t == tag).map_or(0, |(_, n)| *n);
            row.unread() > was
        })
        .map(|(_, row)| {
            let text = row
                .last
                .as_ref()
                .map(|l| l.preview.clone())
                .unwrap_or_default();
            (row.peer.typed().to_owned(), text)
        })
        .collect()
}

/// The tab's title on the inbox: "(3) Bleep — inbox" while 3 messages are
/// unread.
pub fn inbox_title(unread: u64) -> String {
    if unread > 0 {
        format!("({unread}) {APP_NAME} — inbox")
    } else {
        format!("{APP_NAME} — inbox")
    }
}

/// What the page's address asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Asked {
    /// Nothing: the sign-in form.
    SignIn,
    /// `?me=&peer=`: that conversation on a screen of its own.
    Conversation { me: Name, peer: Name },
    /// `?me=`, and `&open=` for the conversation beside the list.
    Inbox { me: Name, open: Option<Name> },
}

/// What the address's parameters `me`, `peer` and `open` ask for. A `me`
/// that does not read asks for the form; so does a `peer` that does not
/// read or is oneself (as before the inbox). An `open` that does not read,
/// or is oneself, is left out.
pub fn asked(me: Option<&str>, peer: Option<&str>, open: Option<&str>) -> Asked {
    let Some(me) = me.and_then(|m| Name::parse(m).ok()) else {
        return Asked::SignIn;
    };
    let other = |name: &str| Name::parse(name).ok().filter(|n| n.normal() != me.normal());
    if let Some(peer) = peer {
        return match other(peer) {
            Some(peer) => Asked::Conversation { me, peer },
            None => Asked::SignIn,
        };
    }
    let open = open.and_then(other);
    Asked::Inbox { me, open }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{DeviceId, Envelope};

    fn name(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    fn envelope(from: &str, seq: u64, text: &str, urgent: bool) -> Envelope {
        Envelope {
            version: 1,
            from: from.into(),
            device: DeviceId::parse("pppppppppp").unwrap(),
            seq,
            clock: seq,
            sent_at: 1_000 * seq,
            text: text.into(),
            urgent,
            unanswered: None,
            original_at: None,
        }
    }

    fn learn(rows: &mut Rows, from: &str, seq: u64, text: &str, at: u64) -> String {
        let tag = tag_of(rows.me(), &name(from)).unwrap();
        assert!(rows.learn(&tag, &envelope(from, seq, text, false), at));
        tag
    }

    #[test]
    fn a_row_says_whose_turn_and_what_was_said_last() {
        let mut rows = Rows::new(name("Nurse Jo"));
        let tag = learn(&mut rows, "Dr Patel", 1, "Bed 4?", 10);
        let row = rows.get(&tag).unwrap();
        assert_eq!(
            (turn_words(row.turn()), preview(row).as_str()),
            ("your turn", "Bed 4?")
        );
        rows.sent(
            &name("Dr Patel"),
            &envelope("Nurse Jo", 2, "On it", true),
            20,
        );
        let row = rows.get(&tag).unwrap();
        assert_eq!(turn_words(row.turn()), "waiting");
        assert_eq!(preview(row), "You: Urgent: On it");
        rows.open_with(&name("Carol"));
        let carol = rows
            .get(&tag_of(&name("Nurse Jo"), &name("Carol")).unwrap())
            .unwrap();
        assert_eq!(
            (turn_words(carol.turn()), preview(carol).as_str()),
            ("new", "No messages yet")
        );
        assert_eq!(unread_words(0), "");
        assert_eq!(unread_words(1), "1 unread message");
        assert_eq!(unread_words(4), "4 unread messages");
    }

    #[test]
    fn the_open_conversation_neither_counts_elsewhere_nor_notifies() {
        let mut rows = Rows::new(name("Nurse Jo"));
        let patel = learn(&mut rows, "Dr Patel", 2, "Bed 4?", 10);
        let before = unread_counts(&rows);
        let carol = learn(&mut rows, "Carol", 1, "Call me", 20);
        learn(&mut rows, "Dr Patel", 3, "Now please", 30);
        assert_eq!(rows.total_unread(), 4);
        assert_eq!(unread_elsewhere(&rows, Some(&patel)), 1);
        assert_eq!(unread_elsewhere(&rows, Some(&carol)), 3);
        assert_eq!(unread_elsewhere(&rows, None), 4);
        assert_eq!(
            newly_unread(&before, &rows, Some(&patel)),
            [("Carol".to_owned(), "Call me".to_owned())]
        );
        assert_eq!(newly_unread(&before, &rows, None).len(), 2);
        // Read: nothing grew.
        rows.read_all(&carol);
        assert!(newly_unread(&unread_counts(&rows), &rows, None).is_empty());
        assert_eq!(inbox_title(0), "Bleep — inbox");
        assert_eq!(inbox_title(3), "(3) Bleep — inbox");
    }

    #[test]
    fn the_list_escapes_what_the_server_says() {
        let mut rows = Rows::new(name("Nurse Jo"));
        let tag = learn(
            &mut rows,
            "Dr <b>\"Evil\"</b>",
            2,
            "<img src=x onerror=alert(1)> & 'x'",
            10,
        );
        let row = rows.get(&tag).unwrap();
        let html = list_html(&[Line {
            row,
            status: "On duty · <i>".to_owned(),
            time: "14:05".to_owned(),
            open: true,
        }]);
        assert!(
            !html.contains("<img") && !html.contains("<b>") && !html.contains("<i>"),
            "{html}"
        );
        assert!(
            html.contains("data-peer=\"Dr &lt;b&gt;&quot;Evil&quot;&lt;/b&gt;\""),
            "{html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &#39;x&#39;"),
            "{html}"
        );
        assert!(html.contains("data-unread=\"2\""), "{html}");
        assert!(html.contains("aria-current=\"true\""), "{html}");
        assert!(html.contains("2 unread messages"), "{html}");
        assert!(html.contains("data-turn=\"your turn\""), "{html}");
        // Read: no badge.
        rows.read_all(&tag);
        let row = rows.get(&tag).unwrap();
        let html = list_html(&[Line {
            row,
            status: String::new(),
            time: String::new(),
            open: false,
        }]);
        assert!(
            html.contains("data-unread=\"0\"") && !html.contains("inbox-unread"),
            "{html}"
        );
        assert!(!html.contains("aria-current"), "{html}");
    }

    #[test]
    fn the_address_opens_the_form_a_conversation_or_the_inbox() {
        assert_eq!(asked(None, Some("Bob"), None), Asked::SignIn);
        assert_eq!(asked(Some("  "), None, None), Asked::SignIn);
        assert_eq!(
            asked(Some("Alice"), Some("Bob"), None),
            Asked::Conversation {
                me: name("Alice"),
                peer: name("Bob")
            }
        );
        assert_eq!(
            asked(Some("Alice"), None, Some("Bob")),
            Asked::Inbox {
                me: name("Alice"),
                open: Some(name("Bob"))
            }
        );
        // Oneself, or a name that does not read: as colleague, the form
        // (as before the inbox); to open beside the inbox, left out.
        for other in ["alice", "", "\u{0}"] {
            assert_eq!(asked(Some("Alice"), Some(other), None), Asked::SignIn);
            assert_eq!(
                asked(Some("Alice"), None, Some(other)),
                Asked::Inbox {
                    me: name("Alice"),
                    open: None
                }
            );
        }
    }
}
