//! Tests of the PHP `serialize()` reader and writer: the pages and dumps
//! the course server and ours print, and inputs that must be refused.

use super::*;
use proptest::prelude::*;

const HEADING: &[u8] =
    b"<html><body><h1>COMP28112 Server: Messaging System for Healthcare Professionals</h1>";

fn page(dump: &[u8], newline: bool) -> Vec<u8> {
    let mut page = HEADING.to_vec();
    page.extend_from_slice(dump);
    page.extend_from_slice(b"</body></html>");
    if newline {
        page.push(b'\n');
    }
    page
}

/// Escapes as our IMserver.php does: &, <, > and ".
fn escape_html(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"&quot;"),
            _ => out.extend_from_slice(&escape_html_keeping_quotes(&[b])),
        }
    }
    out
}

/// Escapes as our IMserver.php did before issue 16: &, < and > only.
fn escape_html_keeping_quotes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in bytes {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            _ => out.push(b),
        }
    }
    out
}

/// A store whose page, escaped without its quotes and read raw, shows an
/// entry under the key `ghost` that the store does not hold (issue 16).
fn store_with_a_ghost() -> Vec<(Vec<u8>, Vec<u8>)> {
    // After the real first value, up to the end of the second one.
    let second_value = b"second".to_vec();
    let between = format!("\";s:2:\"k2\";s:{}:\"", second_value.len()).len() + second_value.len();
    // The raw reading ends the first value `4 * amps` bytes early, where the
    // value goes on with a fake end of string, the key `ghost` and a fake
    // string that swallows everything up to the real end of the array.
    let mut ghost = format!("\";s:5:\"ghost\";s:{}:\"", 0).into_bytes();
    for _ in 0..4 {
        let amps = ghost.len().div_ceil(4);
        let swallowed = 4 * amps - ghost.len() + between;
        let padding = "_".repeat(4 * amps - format!("\";s:5:\"ghost\";s:{swallowed}:\"").len());
        ghost = format!("\";s:5:\"ghost\";s:{swallowed}:\"{padding}").into_bytes();
    }
    let amps = ghost.len() / 4;
    let mut first_value = vec![b'&'; amps];
    first_value.extend_from_slice(b"filler filler filler filler filler filler");
    first_value.extend_from_slice(&ghost);
    vec![
        (b"k1".to_vec(), first_value),
        (b"k2".to_vec(), second_value),
    ]
}

fn bytes_key(s: &str) -> PhpKey {
    PhpKey::Bytes(s.as_bytes().to_vec())
}

fn reason(input: &[u8]) -> &'static str {
    parse_array(input).expect_err("should be refused").reason()
}

#[test]
fn empty_input_is_refused_but_an_empty_array_is_read() {
    assert_eq!(reason(b""), "empty input");
    assert_eq!(parse_array(b"a:0:{}"), Ok(vec![]));
}

#[test]
fn reads_string_and_integer_keys() {
    let parsed = parse_array(b"a:3:{s:6:\"nurse1\";s:5:\"hello\";i:5;s:2:\"hi\";i:-12;s:0:\"\";}");
    assert_eq!(
        parsed,
        Ok(vec![
            (bytes_key("nurse1"), b"hello".to_vec()),
            (PhpKey::Int(5), b"hi".to_vec()),
            (PhpKey::Int(-12), Vec::new()),
        ])
    );
}

#[test]
fn integer_keys_cover_the_whole_i64_range() {
    let input = b"a:2:{i:-9223372036854775808;s:1:\"a\";i:9223372036854775807;s:1:\"b\";}";
    let parsed = parse_array(input).unwrap();
    assert_eq!(parsed[0].0, PhpKey::Int(i64::MIN));
    assert_eq!(parsed[1].0, PhpKey::Int(i64::MAX));
    assert_eq!(
        reason(b"a:1:{i:9223372036854775808;s:0:\"\";}"),
        "integer out of range"
    );
    assert_eq!(
        reason(b"a:1:{i:-9223372036854775809;s:0:\"\";}"),
        "integer out of range"
    );
    assert_eq!(reason(b"a:1:{i:;s:0:\"\";}"), "expected an integer");
}

#[test]
fn string_lengths_count_bytes_not_characters() {
    // Counted in characters ("naïve 🙂" has 7), the lengths are refused.
    let input = "a:1:{s:5:\"café\";s:7:\"naïve 🙂\";}";
    assert_eq!(
        reason(input.as_bytes()),
        "string length does not match its contents"
    );
    let input = "a:1:{s:4:\"café\";s:11:\"naïve 🙂\";}";
    assert_eq!(
        reason(input.as_bytes()),
        "string length does not match its contents"
    );
    let input = "a:1:{s:5:\"café\";s:11:\"naïve 🙂\";}";
    assert_eq!(
        parse_array(input.as_bytes()),
        Ok(vec![(bytes_key("café"), "naïve 🙂".as_bytes().to_vec())])
    );
}

#[test]
fn strings_may_hold_quotes_semicolons_braces_and_any_byte() {
    let value = b"say \"hi\"; {a:1:{}} \";} \xff\xfe\x00 </body></html>".to_vec();
    let entries = vec![(bytes_key("\";}"), value.clone())];
    let input = serialize_array(&entries);
    assert_eq!(parse_array(&input), Ok(entries));
}

#[test]
fn other_types_and_nested_arrays_are_refused() {
    assert_eq!(
        reason(b"a:1:{s:1:\"k\";a:0:{}}"),
        "nested arrays are not supported"
    );
    assert_eq!(reason(b"a:1:{s:1:\"k\";i:5;}"), "values must be strings");
    assert_eq!(reason(b"a:1:{s:1:\"k\";N;}"), "values must be strings");
    assert_eq!(
        reason(b"a:1:{d:1.5;s:0:\"\";}"),
        "keys must be integers or strings"
    );
    assert_eq!(reason(b"s:1:\"k\";"), "expected an array (a:N:{...})");
    assert_eq!(reason(b"i:5;"), "expected an array (a:N:{...})");
}

#[test]
fn lying_lengths_are_refused() {
    // Too long, too short, past the end, absurdly large.
    assert!(parse_array(b"a:1:{s:2:\"k\";s:1:\"v\";}").is_err());
    assert!(parse_array(b"a:1:{s:1:\"k\";s:0:\"v\";}").is_err());
    assert_eq!(
        reason(b"a:1:{s:1:\"k\";s:50:\"v\";}"),
        "string runs past the end of the input"
    );
    assert_eq!(
        reason(b"a:1:{s:99999999999999999999999:\"k\";s:0:\"\";}"),
        "number too large"
    );
    assert_eq!(
        reason(b"a:1:{s:18446744073709551615:\"k\";s:0:\"\";}"),
        "string runs past the end of the input"
    );
}

#[test]
fn the_declared_count_must_match() {
    assert_eq!(
        reason(b"a:2:{s:1:\"k\";s:1:\"v\";}"),
        "fewer entries than the array size says"
    );
    assert_eq!(
        reason(b"a:0:{s:1:\"k\";s:1:\"v\";}"),
        "more entries than the array size says"
    );
    assert_eq!(
        reason(b"a:18446744073709551615:{}"),
        "fewer entries than the array size says"
    );
    assert_eq!(reason(b"a:-1:{}"), "expected a number");
}

#[test]
fn trailing_bytes_are_refused() {
    assert_eq!(reason(b"a:0:{}x"), "unexpected bytes after the array");
    assert_eq!(reason(b"a:0:{}\n"), "unexpected bytes after the array");
    assert_eq!(reason(b"a:0:{}a:0:{}"), "unexpected bytes after the array");
}

#[test]
fn every_truncation_is_refused() {
    let entries = vec![
        (bytes_key("nurse1"), "héllo \"there\"".as_bytes().to_vec()),
        (PhpKey::Int(-7), b"x;}".to_vec()),
    ];
    let input = serialize_array(&entries);
    assert_eq!(parse_array(&input), Ok(entries));
    for cut in 0..input.len() {
        assert!(
            parse_array(&input[..cut]).is_err(),
            "prefix of {cut} bytes accepted"
        );
        // An empty dump is an empty store; any other prefix is refused.
        if cut > 0 {
            assert!(
                parse_page(&page(&input[..cut], true)).is_err(),
                "page cut at {cut} accepted"
            );
        }
    }
}

#[test]
fn error_offsets_point_at_the_problem() {
    let error = parse_array(b"a:1:{s:1:\"k\";b:1;}").unwrap_err();
    assert_eq!(error.offset(), 13);
    assert_eq!(error.to_string(), "values must be strings at byte 13");
}

#[test]
fn keys_are_canonicalised_as_php_does() {
    assert_eq!(PhpKey::from_bytes(b"5".to_vec()), PhpKey::Int(5));
    assert_eq!(PhpKey::from_bytes(b"0".to_vec()), PhpKey::Int(0));
    assert_eq!(PhpKey::from_bytes(b"-12".to_vec()), PhpKey::Int(-12));
    assert_eq!(
        PhpKey::from_bytes(b"-9223372036854775808".to_vec()),
        PhpKey::Int(i64::MIN)
    );
    assert_eq!(
        PhpKey::from_bytes(b"9223372036854775807".to_vec()),
        PhpKey::Int(i64::MAX)
    );
    for stays in [
        "05",
        "-0",
        "+5",
        " 5",
        "5 ",
        "",
        "-",
        "9223372036854775808",
        "1e3",
        "0x1",
        "٣",
    ] {
        assert_eq!(
            PhpKey::from_bytes(stays.as_bytes().to_vec()),
            bytes_key(stays),
            "{stays:?}"
        );
    }
    assert_eq!(PhpKey::Int(-3).to_bytes(), b"-3");
    assert_eq!(bytes_key("k").into_bytes(), b"k");
}

#[test]
fn pages_with_and_without_the_final_newline() {
    let dump = b"a:2:{s:6:\"nurse1\";s:5:\"hello\";i:5;s:2:\"hi\";}";
    let expected = vec![
        (b"nurse1".to_vec(), b"hello".to_vec()),
        (b"5".to_vec(), b"hi".to_vec()),
    ];
    assert_eq!(parse_page(&page(dump, true)), Ok(expected.clone()));
    assert_eq!(parse_page(&page(dump, false)), Ok(expected));
}

#[test]
fn an_empty_page_is_an_empty_store() {
    assert_eq!(parse_page(&page(b"", true)), Ok(vec![]));
    assert_eq!(parse_page(&page(b"", false)), Ok(vec![]));
    assert_eq!(parse_page(&page(b"a:0:{}", true)), Ok(vec![]));
}

#[test]
fn escaped_pages_are_read() {
    let entries = vec![(
        bytes_key("a<b>&c"),
        b"x &amp; <?php ?> </body></html>".to_vec(),
    )];
    let escaped = escape_html(&serialize_array(&entries));
    let parsed = parse_page(&page(&escaped, true)).unwrap();
    assert_eq!(
        parsed,
        vec![(
            b"a<b>&c".to_vec(),
            b"x &amp; <?php ?> </body></html>".to_vec()
        )]
    );
    // The raw form of the same store is read as printed.
    let raw = parse_page(&page(&serialize_array(&entries), true)).unwrap();
    assert_eq!(raw, parsed);
}

#[test]
fn a_page_escaped_without_quotes_read_raw_can_show_a_ghost_entry() {
    let store = store_with_a_ghost();
    let dump = serialize_array(&as_php(&store));
    let old_style = page(&escape_html_keeping_quotes(&dump), true);
    let misread = parse_page(&old_style).unwrap();
    assert!(
        misread.iter().any(|(k, _)| k == b"ghost"),
        "the crafted page should fool a raw reading: {misread:?}"
    );
    // Escaped-first (what the header asks for) reads it right ...
    assert_eq!(parse_escaped_page(&old_style), Ok(store.clone()));
    // ... and with its quotes escaped the page has one reading only.
    let ours = page(&escape_html(&dump), true);
    assert!(parse_array(&escape_html(&dump)).is_err());
    assert_eq!(parse_page(&ours), Ok(store.clone()));
    assert_eq!(parse_escaped_page(&ours), Ok(store));
}

#[test]
fn escaped_first_still_reads_a_raw_page() {
    let store = vec![(b"k".to_vec(), b"a &amp; b".to_vec())];
    let raw = page(&serialize_array(&as_php(&store)), true);
    assert_eq!(parse_escaped_page(&raw), Ok(store.clone()));
    assert_eq!(parse_page(&raw), Ok(store));
}

#[test]
fn values_holding_the_page_end_are_kept_whole() {
    let entries = vec![(bytes_key("k"), b"</h1></body></html>\n".to_vec())];
    let parsed = parse_page(&page(&serialize_array(&entries), false)).unwrap();
    assert_eq!(
        parsed,
        vec![(b"k".to_vec(), b"</h1></body></html>\n".to_vec())]
    );
}

#[test]
fn other_pages_are_refused() {
    assert!(parse_page(b"").is_err());
    assert!(parse_page(b"\n").is_err());
    assert!(parse_page(b"<html><body>Not Found</body></html>").is_err());
    assert!(parse_page(&page(b"junk", true)).is_err());
    assert!(parse_page(&page(b"a:0:{} &amp;", true)).is_err());
    let mut trailing = page(b"a:0:{}", true);
    trailing.extend_from_slice(b"<script></script>");
    assert!(parse_page(&trailing).is_err());
}

fn byte_string() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(prop::sample::select(b"s:1\";}{a&<>amp;lt".to_vec()), 0..40),
    ]
}

fn store() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    proptest::collection::vec((byte_string(), byte_string()), 0..8)
}

fn as_php(store: &[(Vec<u8>, Vec<u8>)]) -> Vec<(PhpKey, Vec<u8>)> {
    store
        .iter()
        .map(|(k, v)| (PhpKey::from_bytes(k.clone()), v.clone()))
        .collect()
}

proptest! {
    #[test]
    fn serialize_then_parse_round_trips(store in store()) {
        let entries = as_php(&store);
        prop_assert_eq!(parse_array(&serialize_array(&entries)), Ok(entries));
        let plain: Vec<_> = store.iter().map(|(k, v)| (PhpKey::Bytes(k.clone()), v.clone())).collect();
        prop_assert_eq!(parse_array(&serialize_array(&plain)), Ok(plain));
    }

    #[test]
    fn pages_round_trip_raw_and_escaped(store in store(), newline in any::<bool>()) {
        let dump = serialize_array(&as_php(&store));
        prop_assert_eq!(parse_page(&page(&dump, newline)), Ok(store.clone()));
        prop_assert_eq!(parse_page(&page(&escape_html(&dump), newline)), Ok(store.clone()));
        prop_assert_eq!(parse_escaped_page(&page(&escape_html(&dump), newline)), Ok(store.clone()));
        prop_assert_eq!(
            parse_escaped_page(&page(&escape_html_keeping_quotes(&dump), newline)),
            Ok(store.clone())
        );
        if !store.is_empty() {
            prop_assert!(parse_array(&escape_html(&dump)).is_err(), "an escaped dump read raw");
        }
    }

    #[test]
    fn parsing_never_panics(input in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_array(&input);
        let _ = parse_page(&input);
        let _ = parse_page(&page(&input, true));
        let _ = parse_escaped_page(&page(&input, true));
    }

    #[test]
    fn parsing_mutated_dumps_never_panics(
        store in store(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6),
    ) {
        let mut dump = serialize_array(&as_php(&store));
        for (at, byte, kind) in edits {
            let i = at.index(dump.len() + 1);
            match kind {
                0 => dump.insert(i, byte),
                1 if i < dump.len() => { dump.remove(i); }
                _ if i < dump.len() => dump[i] = byte,
                _ => dump.push(byte),
            }
        }
        let _ = parse_array(&dump);
        let _ = parse_page(&page(&dump, false));
        let _ = parse_page(&page(&escape_html(&dump), true));
    }
}
