//! How everything Bleep stores is written and read as JSON: on the server
//! (envelopes and records) and in the browser (saved state, journal lines,
//! preferences, sign-in, leases). The types derive serde's `Serialize` and
//! `Deserialize`; serde_json does the work, with these rules on top.
//!
//! Writing is compact, fields in the order the types declare them, strings
//! escaped only where JSON requires it (`\"`, `\\`, `\n`-style escapes,
//! `\u00XX` for other control characters): byte for byte what Bleep wrote
//! before it used serde. [`to_html_safe`], for the server, also writes `<`,
//! `>` and `&` as `\u003c`, `\u003e` and `\u0026`, so a stored value never
//! holds `<?` (the course server executes stored PHP) or markup.
//!
//! Reading skips fields a type does not know and refuses, besides what
//! serde_json refuses (not JSON, a missing required field, a wrong type), a
//! text that nests more than [`MAX_DEPTH`] deep or in which an object names
//! a field twice, wherever in the text that object is. serde_json checks
//! neither (its own nesting limit is 128; a derived struct refuses a known
//! field given twice, but not an unknown one, and a map keeps the last), so
//! a first pass over the text ([`Shape`]) checks both before the value is
//! read. Nothing here panics on any input.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserializer, Serialize};

/// How deeply arrays and objects may nest in what is read.
pub const MAX_DEPTH: usize = 64;

/// Why a JSON text was not read.
pub type Error = serde_json::Error;

/// `value` as compact JSON, for local storage.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    String::from_utf8(write(value)).unwrap_or_else(|_| cannot_fail())
}

/// `value` as compact JSON with `<`, `>` and `&` escaped, for the server.
///
/// In a JSON text these three can only stand inside strings (values and
/// field names): no structural character is one of them. So escaping every
/// one of them in the whole text, as `\u003c`, `\u003e` and `\u0026`,
/// escapes exactly those in strings. (Byte by byte is safe: no byte of a
/// multi-byte UTF-8 character is below 0x80.)
pub fn to_html_safe<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let plain = write(value);
    let mut out = Vec::with_capacity(plain.len());
    for &byte in &plain {
        match byte {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            _ => out.push(byte),
        }
    }
    out
}

/// Both of the above: one writer, so that the WebAssembly holds one copy
/// of each type's writing code, not two.
fn write<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| cannot_fail())
}

/// Writing a stored type cannot fail: every map Bleep stores is keyed by
/// strings, no type has a `Serialize` of its own that could refuse, and a
/// `Vec` takes any bytes. (Not `expect`: that would bring the error's
/// `Debug` into the WebAssembly for a message never shown.)
#[cold]
fn cannot_fail() -> ! {
    unreachable!("Bleep's stored types always serialize")
}

/// Reads a `T` from a JSON text.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    from_slice(text.as_bytes())
}

/// Reads a `T` from JSON bytes, which must be UTF-8.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    Shape { depth: 0 }.deserialize(&mut serde_json::Deserializer::from_slice(bytes))?;
    serde_json::from_slice(bytes)
}

/// The first pass of [`from_slice`]: walks any JSON value, refusing one
/// that nests deeper than [`MAX_DEPTH`] or whose objects name a field twice.
/// It keeps nothing but the field names of the object it is in (borrowed
/// from the text unless they hold escapes).
#[derive(Clone, Copy)]
struct Shape {
    /// How many arrays and objects enclose the value.
    depth: usize,
}

impl Shape {
    /// The shape of the values inside an array or object at this one.
    fn inner<E: de::Error>(self) -> Result<Shape, E> {
        if self.depth >= MAX_DEPTH {
            return Err(E::custom("the JSON text nests too deeply"));
        }
        Ok(Shape {
            depth: self.depth + 1,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Shape {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Shape {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let inner = self.inner()?;
        while items.next_element_seed(inner)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<(), A::Error> {
        let inner = self.inner()?;
        // Kept sorted as they come (no sort routine in the WebAssembly).
        let mut names: Vec<Cow<'de, str>> = Vec::new();
        while let Some(name) = fields.next_key_seed(FieldName)? {
            match names.binary_search(&name) {
                Ok(_) => return Err(de::Error::custom("an object names a field twice")),
                Err(at) => names.insert(at, name),
            }
            fields.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// A field name, borrowed from the text when it holds no escape.
struct FieldName;

impl<'de> DeserializeSeed<'de> for FieldName {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldName {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E>(self, name: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(name))
    }

    fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Pair {
        a: u64,
        #[serde(default)]
        b: String,
    }

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn reads_what_serde_json_reads_and_skips_unknown_fields() {
        let text = " {\"z\" : [1, -2, 1.5, true, null, {\"q\":\"\\u00e9\"}], \"a\":7} ";
        assert_eq!(
            from_str::<Pair>(text).unwrap(),
            Pair {
                a: 7,
                b: String::new()
            }
        );
        assert!(from_str::<Pair>("{\"b\":\"x\"}").is_err(), "a is required");
        assert!(from_str::<Pair>("{\"a\":-1}").is_err());
        assert!(from_str::<Pair>("{\"a\":-0}").is_err());
        assert!(from_str::<Pair>("{\"a\":1e2}").is_err());
        assert!(from_str::<Pair>("{\"a\":1.0}").is_err());
        assert!(from_str::<Pair>("{\"a\":1} x").is_err());
        assert!(from_str::<Pair>("{\"a\":1,\"b\":null}").is_err());
        assert!(from_slice::<String>(b"\"\xff\"").is_err());
        assert!(from_slice::<String>(b"\"\\ud800\"").is_err());
        assert!(from_slice::<String>(b"\"a\x01\"").is_err());
    }

    #[test]
    fn nesting_is_bounded_at_64() {
        assert!(from_str::<serde_json::Value>(&nested(MAX_DEPTH)).is_ok());
        assert!(from_str::<serde_json::Value>(&nested(MAX_DEPTH + 1)).is_err());
        // serde_json alone reads the deeper one: the limit is ours.
        assert!(serde_json::from_str::<serde_json::Value>(&nested(MAX_DEPTH + 1)).is_ok());
        // Deep nesting inside a field that is skipped counts too.
        let skipped = format!("{{\"a\":1,\"deep\":{}}}", nested(MAX_DEPTH));
        assert!(from_str::<Pair>(&skipped).is_err());
        let skipped = format!("{{\"a\":1,\"deep\":{}}}", nested(MAX_DEPTH - 1));
        assert!(from_str::<Pair>(&skipped).is_ok());
        // Far too deep for any stack: refused, without overflowing it.
        assert!(from_str::<Pair>(&"[{\"a\":".repeat(100_000)).is_err());
    }

    #[test]
    fn a_field_named_twice_is_refused_wherever_it_is() {
        for text in [
            "{\"a\":1,\"a\":2}",
            "{\"a\":1,\"b\":\"x\",\"b\":\"y\"}",
            // Unknown fields, and inside one: serde alone takes these.
            "{\"a\":1,\"z\":1,\"z\":1}",
            "{\"a\":1,\"z\":[{\"y\":1,\"y\":1}]}",
            // The same name spelled with an escape.
            "{\"a\":1,\"\\u0061\":1}",
        ] {
            assert!(from_str::<Pair>(text).is_err(), "{text}");
        }
        assert!(serde_json::from_str::<Pair>("{\"a\":1,\"z\":1,\"z\":1}").is_ok());
        // Maps, which serde_json reads keeping the last.
        let twice = "{\"x\":1,\"y\":2,\"x\":3}";
        assert!(serde_json::from_str::<BTreeMap<String, u64>>(twice).is_ok());
        assert!(from_str::<BTreeMap<String, u64>>(twice).is_err());
        assert!(from_str::<BTreeMap<String, u64>>("{\"x\":1,\"y\":{\"x\":1}}").is_err());
        assert!(from_str::<Pair>("{\"a\":1,\"z\":{\"a\":1}}").is_ok());
    }

    #[test]
    fn strings_are_escaped_as_before() {
        let s = "a\"b\\c\n\r\t\u{8}\u{c}\u{0}\u{1}\u{1f}\u{7f}é😀\u{2028}<>&/";
        assert_eq!(
            to_string(s),
            "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0000\\u0001\\u001f\u{7f}é😀\u{2028}<>&/\""
        );
        assert_eq!(
            to_html_safe(s),
            "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0000\\u0001\\u001f\u{7f}é😀\u{2028}\\u003c\\u003e\\u0026/\""
                .as_bytes()
        );
        assert_eq!(to_html_safe("<?&>"), b"\"\\u003c?\\u0026\\u003e\"".to_vec());
        let map = BTreeMap::from([("<k>", 1)]);
        assert_eq!(to_html_safe(&map), b"{\"\\u003ck\\u003e\":1}".to_vec());
    }

    proptest! {
        #[test]
        fn strings_round_trip(s in any::<String>()) {
            prop_assert_eq!(from_str::<String>(&to_string(&s)).ok(), Some(s.clone()));
            prop_assert_eq!(from_slice::<String>(&to_html_safe(&s)).ok(), Some(s.clone()));
        }

        #[test]
        fn html_safe_text_never_holds_markup(s in any::<String>()) {
            let bytes = to_html_safe(&s);
            prop_assert!(!bytes.iter().any(|b| matches!(b, b'<' | b'>' | b'&')));
            let plain = to_string(&s).replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026");
            prop_assert_eq!(bytes, plain.into_bytes());
        }

        #[test]
        fn reading_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = from_slice::<Vec<u64>>(&bytes);
            let _ = from_slice::<Pair>(&bytes);
        }

        #[test]
        fn refuses_only_what_serde_json_refuses_or_our_rules_do(
            text in "[\\[\\]{}\",:0-9a-z\\\\ .eE+-]{0,80}"
        ) {
            let ours = from_str::<serde_json::Value>(&text).is_ok();
            let theirs = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            // Depth cannot pass 64 in 80 characters; only a repeated name
            // (which needs an object) may tell them apart.
            if !text.contains('{') {
                prop_assert_eq!(ours, theirs, "{:?}", text);
            } else if ours {
                prop_assert!(theirs);
            }
        }
    }
}
