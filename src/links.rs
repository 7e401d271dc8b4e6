//! Web links in a message's text: where each `http://` or `https://`
//! address starts and ends, so that the transcript can make it clickable
//! while every other character stays plain text (never markup). Any other
//! scheme (`javascript:`, `data:`, …) is never a link.

/// A run of a message's text: plain, or a web address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Link(&'a str),
}

/// `text` cut into plain runs and web addresses, in order; together they
/// are the whole text. A text without an address is one [`Piece::Text`]
/// (or nothing, if it is empty).
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let (mut plain, mut from) = (0, 0);
    while let Some(start) = next_scheme(text, from) {
        match link_end(text, start) {
            Some(end) => {
                if plain < start {
                    out.push(Piece::Text(&text[plain..start]));
                }
                out.push(Piece::Link(&text[start..end]));
                (plain, from) = (end, end);
            }
            None => from = start + "http".len(),
        }
    }
    if plain < text.len() {
        out.push(Piece::Text(&text[plain..]));
    }
    out
}

/// Where the next `http://` or `https://` (any letter case) at the start of
/// a word begins, from byte `from` on. (An ASCII letter is always a
/// character's first byte, so the index is a character boundary.)
fn next_scheme(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    (from..bytes.len()).find(|&i| {
        let rest = &bytes[i..];
        let scheme = |s: &[u8]| rest.len() >= s.len() && rest[..s.len()].eq_ignore_ascii_case(s);
        (scheme(b"http://") || scheme(b"https://"))
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
    })
}

/// Where the address starting at `start` ends: at a space, a control
/// character, `<`, `>` or `"`, less the punctuation that ends a sentence
/// rather than the address (and a closing bracket it did not open).
/// `None` when no host follows the scheme.
fn link_end(text: &str, start: usize) -> Option<usize> {
    let rest = &text[start..];
    let mut end = start
        + rest
            .find(|c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(rest.len());
    loop {
        let link = &text[start..end];
        let unopened =
            |open: char, close: char| link.matches(close).count() > link.matches(open).count();
        match link.chars().last() {
            Some('.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*') => end -= 1,
            Some(')') if unopened('(', ')') => end -= 1,
            Some(']') if unopened('[', ']') => end -= 1,
            _ => break,
        }
    }
    let host = text[start..end].split_once("://").map(|(_, host)| host)?;
    host.chars().next().is_some_and(starts_host).then_some(end)
}

/// Whether a host name can start with `c`: an ASCII letter or digit, `[`
/// (an IPv6 address), or any other non-ASCII character, the first letter of
/// an internationalised name. (Asking Unicode whether it is a letter would
/// link its letter tables into the app: about 1 KB of the download for
/// addresses no one types.)
fn starts_host(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '[' || !c.is_ascii()
}

#[cfg(test)]
mod tests {
    use super::Piece::{Link, Text};
    use super::*;
    use proptest::prelude::*;

    /// Text rich in the characters the cutting looks at.
    fn link_like() -> impl Strategy<Value = String> {
        let parts = prop::sample::select(vec![
            "http://",
            "HTTPS://",
            "https://",
            "a.example",
            "/",
            "(",
            ")",
            "[",
            "]",
            ".",
            ",",
            "!",
            "?",
            " ",
            "\n",
            "<",
            ">",
            "\"",
            "é",
            "😀",
            "\u{0}",
            "x",
            "http",
            ":",
        ]);
        proptest::collection::vec(parts, 0..24).prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn any_text_is_cut_without_a_loss_and_links_are_web_addresses(
            text in prop_oneof![link_like(), any::<String>()]
        ) {
            let found = pieces(&text);
            let joined: String = found
                .iter()
                .map(|p| match p {
                    Text(t) | Link(t) => *t,
                })
                .collect();
            prop_assert_eq!(joined, text.clone());
            for piece in found {
                if let Link(link) = piece {
                    let lower = link.to_ascii_lowercase();
                    prop_assert!(lower.starts_with("http://") || lower.starts_with("https://"), "{}", link);
                    prop_assert!(!link.contains(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"')), "{}", link);
                }
            }
        }
    }

    #[test]
    fn an_address_is_a_link_and_the_rest_stays_text() {
        assert_eq!(
            pieces("Guideline: https://intranet.example/sepsis?v=2&ward=7. Thanks"),
            [
                Text("Guideline: "),
                Link("https://intranet.example/sepsis?v=2&ward=7"),
                Text(". Thanks"),
            ]
        );
        assert_eq!(
            pieces("(see http://a.example/x_(y)) and HTTPS://B.example!"),
            [
                Text("(see "),
                Link("http://a.example/x_(y)"),
                Text(") and "),
                Link("HTTPS://B.example"),
                Text("!"),
            ]
        );
        assert_eq!(
            pieces("<https://a.example/é>\"x\""),
            [Text("<"), Link("https://a.example/é"), Text(">\"x\"")]
        );
    }

    #[test]
    fn only_web_addresses_with_a_host_are_links() {
        for text in [
            "javascript:alert(1)",
            "data:text/html,<b>x</b>",
            "https://",
            "https://./x",
            "https://-x",
            "http:// spaced",
            "xhttps://a.example",
            "ftp://a.example",
            "no link here",
            "",
        ] {
            let found: Vec<_> = pieces(text)
                .into_iter()
                .filter(|p| matches!(p, Link(_)))
                .collect();
            assert!(found.is_empty(), "{text:?}: {found:?}");
        }
        assert_eq!(pieces(""), []);
    }

    #[test]
    fn internationalised_and_ipv6_hosts_are_links() {
        for link in [
            "https://bücher.example/a",
            "https://例え.jp",
            "http://[::1]:8080/x",
            "https://10.0.0.7/ward",
        ] {
            assert_eq!(pieces(link), [Link(link)], "{link}");
        }
    }

    #[test]
    fn the_pieces_are_the_whole_text() {
        for text in [
            "a https://x.example b http://y.example/😀, c",
            "https://x.example",
            "😀https://x.example.",
            "http://http://x",
        ] {
            let joined: String = pieces(text)
                .into_iter()
                .map(|p| match p {
                    Text(t) | Link(t) => t,
                })
                .collect();
            assert_eq!(joined, text);
        }
    }
}
