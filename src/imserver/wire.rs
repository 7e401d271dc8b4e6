//! The request and answer format of IMserver.php, with no I/O.
//!
//! Every request is a GET whose query string carries `action`, `key` and
//! `value`; every answer is a small text body (see the IMserver facts). This
//! module builds the URLs and reads the bodies:
//!
//! - [`Request`] and [`request_url`]: what to ask, and the URL that asks it.
//!   Keys and values are percent-encoded by [`encode_component`] so that the
//!   course server never sees a hospital number in the raw URI (it would
//!   pick another data file) nor `<?`;
//! - [`decode_get`], [`decode_keys`], [`is_acknowledgement`]: what the
//!   answers mean, tolerating the final newline being there or not and PHP
//!   warnings printed in place of a missing value;
//! - [`is_unsafe_value`]: bytes the course server must never store, because
//!   it executes its data file as PHP.

/// The longest request URL Bleep sends. Web servers commonly refuse request
/// lines over about 8 KB; this leaves room for the method and the version.
pub const MAX_REQUEST_LINE: usize = 8000;

/// One thing to ask the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The value of `key` (missing and empty are the same).
    Get { key: Vec<u8> },
    /// Store `value` under `key`.
    Set { key: Vec<u8>, value: Vec<u8> },
    /// Remove `key` (removing a missing key is fine).
    Unset { key: Vec<u8> },
    /// Every key, in insertion order.
    Keys,
    /// Remove everything.
    Clear,
    /// The no-action page with the whole store.
    Page,
}

/// Percent-encodes every byte outside `A-Za-z`, digits included, with
/// uppercase hex. Letters alone never make the course server's data-file
/// pattern (`[a-z]\d{5}[a-z]{2}`, matched on the raw URI), and an encoded
/// digit never sits next to more than one other digit.
pub fn encode_component(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 3);
    for &byte in bytes {
        if byte.is_ascii_alphabetic() {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

/// The URL that sends `request` to the IMserver.php at `server` (a relative
/// or absolute URL, which may already carry a query string).
pub fn request_url(server: &str, request: &Request) -> String {
    let (action, key, value) = match request {
        Request::Get { key } => ("get", Some(key), None),
        Request::Set { key, value } => ("set", Some(key), Some(value)),
        Request::Unset { key } => ("unset", Some(key), None),
        Request::Keys => ("keys", None, None),
        Request::Clear => ("clear", None, None),
        Request::Page => return server.to_owned(),
    };
    let separator = if !server.contains('?') {
        "?"
    } else if server.ends_with(['?', '&']) {
        ""
    } else {
        "&"
    };
    let mut url = format!("{server}{separator}action={action}");
    if let Some(key) = key {
        url.push_str("&key=");
        url.push_str(&encode_component(key));
    }
    if let Some(value) = value {
        url.push_str("&value=");
        url.push_str(&encode_component(value));
    }
    url
}

/// Whether `value` must not be stored: the course server includes its data
/// file as PHP, so `<?` in it would run as code on the next page view.
pub fn is_unsafe_value(value: &[u8]) -> bool {
    value.windows(2).any(|pair| pair == b"<?")
}

/// The value in the answer to a `get`: `None` when the key is missing,
/// which the server says with an empty value or, where PHP shows warnings,
/// with a warning in place of the value. One final `"\n"` is removed when
/// present (one known copy of the server does not print it).
pub fn decode_get(body: &[u8]) -> Option<Vec<u8>> {
    let value = body.strip_suffix(b"\n").unwrap_or(body);
    if value.is_empty() || is_php_diagnostic(value) {
        None
    } else {
        Some(value.to_vec())
    }
}

/// Whether `text` starts with a message PHP printed itself, in its HTML form
/// (`<br />\n<b>Warning</b>:  ... on line 12<br />`) or its plain form
/// (`\nWarning: ... on line 12`), possibly after a newline.
fn is_php_diagnostic(text: &[u8]) -> bool {
    const KINDS: [&[u8]; 3] = [b"Warning", b"Notice", b"Deprecated"];
    let text = skip_newline(text);
    if let Some(rest) = text.strip_prefix(b"<br />") {
        let Some(rest) = skip_newline(rest).strip_prefix(b"<b>") else {
            return false;
        };
        return KINDS.iter().any(|kind| {
            rest.strip_prefix(*kind)
                .is_some_and(|r| r.starts_with(b"</b>:"))
        });
    }
    let first_line = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let first_line = first_line.strip_prefix(b"PHP ").unwrap_or(first_line);
    KINDS.iter().any(|kind| {
        first_line
            .strip_prefix(*kind)
            .is_some_and(|r| r.starts_with(b": "))
    }) && first_line.windows(9).any(|w| w == b" on line ")
}

/// `text` without one leading `"\n"` or `"\r\n"`.
fn skip_newline(text: &[u8]) -> &[u8] {
    text.strip_prefix(b"\r\n")
        .or_else(|| text.strip_prefix(b"\n"))
        .unwrap_or(text)
}

/// The keys in the answer to `keys`: one a line, then an empty line (which,
/// like any empty line, is skipped; a missing final newline is fine).
pub fn decode_keys(body: &[u8]) -> Vec<Vec<u8>> {
    body.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Whether `body` is the answer to `set`, `unset` or `clear`: a newline, or
/// nothing where the server omits it.
pub fn is_acknowledgement(body: &[u8]) -> bool {
    body == b"\n" || body.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The inverse of `encode_component`, for checking it.
    fn percent_decode(text: &str) -> Option<Vec<u8>> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        Some(out)
    }

    /// `[a-z]\d{5}[a-z]{2}` anywhere in `text`.
    fn has_diversion_pattern(text: &str) -> bool {
        text.as_bytes().windows(8).any(|w| {
            w[0].is_ascii_lowercase()
                && w[1..6].iter().all(u8::is_ascii_digit)
                && w[6..].iter().all(u8::is_ascii_lowercase)
        })
    }

    const WARNING: &[u8] =
        b"<br />\n<b>Warning</b>:  Undefined array key \"x\" in /path/IMserver.php on line 12<br />\n\n";

    #[test]
    fn encoding_keeps_letters_only() {
        assert_eq!(encode_component(b"Nurse1 & co"), "Nurse%31%20%26%20co");
        assert_eq!(encode_component("é<?".as_bytes()), "%C3%A9%3C%3F");
        assert_eq!(encode_component(b""), "");
    }

    #[test]
    fn urls_for_every_request() {
        let server = "http://ward.example/IMserver.php";
        let get = Request::Get {
            key: b"k55592hr".to_vec(),
        };
        assert_eq!(
            request_url(server, &get),
            "http://ward.example/IMserver.php?action=get&key=k%35%35%35%39%32hr"
        );
        let set = Request::Set {
            key: b"a b".to_vec(),
            value: b"x+y".to_vec(),
        };
        assert_eq!(
            request_url("IMserver.php", &set),
            "IMserver.php?action=set&key=a%20b&value=x%2By"
        );
        assert_eq!(
            request_url("s", &Request::Unset { key: b"k".to_vec() }),
            "s?action=unset&key=k"
        );
        assert_eq!(request_url("s", &Request::Keys), "s?action=keys");
        assert_eq!(request_url("s", &Request::Clear), "s?action=clear");
        assert_eq!(request_url("s?x=1", &Request::Page), "s?x=1");
        assert!(!has_diversion_pattern(&request_url(server, &get)));
    }

    #[test]
    fn urls_extend_an_existing_query() {
        assert_eq!(
            request_url("s?ward=a", &Request::Keys),
            "s?ward=a&action=keys"
        );
        assert_eq!(request_url("s?", &Request::Keys), "s?action=keys");
        assert_eq!(
            request_url("s?ward=a&", &Request::Keys),
            "s?ward=a&action=keys"
        );
    }

    #[test]
    fn unsafe_values() {
        assert!(is_unsafe_value(b"<?php echo 1; ?>"));
        assert!(is_unsafe_value(b"a <?= b"));
        assert!(!is_unsafe_value(b"a < ? b ?> <"));
        assert!(!is_unsafe_value(b""));
    }

    #[test]
    fn get_answers_with_and_without_the_final_newline() {
        assert_eq!(decode_get(b"hello\n"), Some(b"hello".to_vec()));
        assert_eq!(decode_get(b"hello"), Some(b"hello".to_vec()));
        assert_eq!(
            decode_get(b"two\nlines\n\n"),
            Some(b"two\nlines\n".to_vec())
        );
        assert_eq!(decode_get(b"\n"), None);
        assert_eq!(decode_get(b""), None);
    }

    #[test]
    fn a_php_warning_means_missing() {
        assert_eq!(decode_get(WARNING), None);
        assert_eq!(decode_get(&WARNING[..WARNING.len() - 1]), None);
        let mut after_newline = b"\n".to_vec();
        after_newline.extend_from_slice(WARNING);
        assert_eq!(decode_get(&after_newline), None);
        let crlf = b"\r\n<br />\r\n<b>Notice</b>:  Undefined index: x in /p/IMserver.php on line 3<br />\r\n\n";
        assert_eq!(decode_get(crlf), None);
        assert_eq!(
            decode_get(b"\nWarning: Undefined array key \"x\" in /p/IMserver.php on line 12\n\n"),
            None
        );
        assert_eq!(
            decode_get(b"PHP Notice:  Undefined index: x in /p on line 3\n"),
            None
        );
    }

    #[test]
    fn values_that_merely_look_like_html_are_kept() {
        assert_eq!(decode_get(b"<br />hello\n"), Some(b"<br />hello".to_vec()));
        assert_eq!(
            decode_get(b"<b>Warning</b>: wet floor\n"),
            Some(b"<b>Warning</b>: wet floor".to_vec())
        );
        assert_eq!(
            decode_get(b"Warning: wet floor\n"),
            Some(b"Warning: wet floor".to_vec())
        );
    }

    #[test]
    fn keys_answers() {
        assert_eq!(
            decode_keys(b"a\nb c\n\n"),
            vec![b"a".to_vec(), b"b c".to_vec()]
        );
        assert_eq!(decode_keys(b"a\nb\n"), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(decode_keys(b"\n"), Vec::<Vec<u8>>::new());
        assert_eq!(decode_keys(b""), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn acknowledgements() {
        assert!(is_acknowledgement(b"\n"));
        assert!(is_acknowledgement(b""));
        assert!(!is_acknowledgement(b"\n\n"));
        assert!(!is_acknowledgement(WARNING));
    }

    fn request() -> impl Strategy<Value = Request> {
        let bytes = || proptest::collection::vec(any::<u8>(), 0..60);
        prop_oneof![
            bytes().prop_map(|key| Request::Get { key }),
            (bytes(), bytes()).prop_map(|(key, value)| Request::Set { key, value }),
            bytes().prop_map(|key| Request::Unset { key }),
            Just(Request::Keys),
            Just(Request::Clear),
        ]
    }

    /// Bytes rich in hospital-number material.
    fn id_like() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(prop::sample::select(b"k5592hr0<?%".to_vec()), 0..40)
    }

    fn any_bytes_or_id_like() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![proptest::collection::vec(any::<u8>(), 0..80), id_like()]
    }

    proptest! {
        #[test]
        fn encoding_round_trips_and_stays_harmless(bytes in any_bytes_or_id_like()) {
            let encoded = encode_component(&bytes);
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'%'));
            prop_assert!(!has_diversion_pattern(&encoded));
            prop_assert!(!encoded.contains("<?"));
            prop_assert_eq!(percent_decode(&encoded), Some(bytes));
        }

        #[test]
        fn urls_never_divert_nor_carry_php_tags(request in request(), key in id_like(), value in id_like()) {
            for request in [request, Request::Set { key, value }] {
                let url = request_url("http://ward.example/IMserver.php", &request);
                prop_assert!(!has_diversion_pattern(&url), "{}", url);
                prop_assert!(!url.contains("<?"));
            }
        }

        #[test]
        fn get_answers_round_trip(value in proptest::collection::vec(any::<u8>(), 1..40)) {
            prop_assume!(!is_php_diagnostic(&value));
            let mut body = value.clone();
            body.push(b'\n');
            prop_assert_eq!(decode_get(&body), Some(value));
        }
    }
}
