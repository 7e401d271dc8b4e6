//! A small JSON codec for what Bleep stores: on the server (envelopes and
//! records) and in the browser (saved state, transcript, preferences).
//!
//! Writing is compact (no spaces), with fields in a fixed order, and strings
//! escaped the way the first versions of Bleep wrote them: `"`, `\` and
//! control characters are escaped, everything else is written as is, except
//! that [`to_html_safe`] also writes `<`, `>` and `&` as `\u003c`, `\u003e`
//! and `\u0026`. So what this version writes is byte for byte what older
//! versions wrote, and each reads the other's.
//!
//! Reading goes through a [`Value`] tree. Any input, however broken, gives a
//! value or an [`Error`], never a panic: nesting is bounded by [`MAX_DEPTH`],
//! and an object may not name a field twice. Fields a type does not know are
//! skipped, so that a later version may add some.

use std::fmt::{self, Write as _};

use super::participants::DeviceId;
use super::small_map::SmallMap;

/// How deeply arrays and objects may nest in what is read.
pub const MAX_DEPTH: usize = 64;

/// Why a JSON text was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error(&'static str);

impl Error {
    pub const fn new(message: &'static str) -> Error {
        Error(message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Error {}

/// A value written as JSON.
pub trait ToJson {
    fn write_json(&self, out: &mut Writer);
}

/// A value read from JSON.
pub trait FromJson: Sized {
    fn from_json(value: &Value) -> Result<Self, Error>;
}

/// `value` as JSON.
pub fn to_string<T: ToJson + ?Sized>(value: &T) -> String {
    let mut out = Writer::new(false);
    value.write_json(&mut out);
    out.text
}

/// `value` as JSON with `<`, `>` and `&` escaped, so that it never holds
/// markup or `<?`.
pub fn to_html_safe<T: ToJson + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Writer::new(true);
    value.write_json(&mut out);
    out.text.into_bytes()
}

/// Reads a `T` from a JSON text.
pub fn from_str<T: FromJson>(text: &str) -> Result<T, Error> {
    T::from_json(&Value::parse(text)?)
}

/// Reads a `T` from JSON bytes, which must be UTF-8.
pub fn from_slice<T: FromJson>(bytes: &[u8]) -> Result<T, Error> {
    from_str(std::str::from_utf8(bytes).map_err(|_| Error("The text is not UTF-8."))?)
}

/// Builds a JSON text.
pub struct Writer {
    text: String,
    html_safe: bool,
}

impl Writer {
    fn new(html_safe: bool) -> Writer {
        Writer {
            text: String::new(),
            html_safe,
        }
    }

    /// Writes an object with these fields, in this order.
    pub fn object(&mut self, fields: &[(&str, &dyn ToJson)]) {
        self.text.push('{');
        for (i, (name, value)) in fields.iter().enumerate() {
            self.field(i, name);
            value.write_json(self);
        }
        self.text.push('}');
    }

    /// Writes the `i`th field name of an object.
    fn field(&mut self, i: usize, name: &str) {
        if i > 0 {
            self.text.push(',');
        }
        self.string(name);
        self.text.push(':');
    }

    pub fn string(&mut self, s: &str) {
        self.text.push('"');
        for c in s.chars() {
            match c {
                '"' => self.text.push_str("\\\""),
                '\\' => self.text.push_str("\\\\"),
                '\n' => self.text.push_str("\\n"),
                '\r' => self.text.push_str("\\r"),
                '\t' => self.text.push_str("\\t"),
                '\u{8}' => self.text.push_str("\\b"),
                '\u{c}' => self.text.push_str("\\f"),
                '<' | '>' | '&' if self.html_safe => self.unicode_escape(c),
                c if c < ' ' => self.unicode_escape(c),
                c => self.text.push(c),
            }
        }
        self.text.push('"');
    }

    fn unicode_escape(&mut self, c: char) {
        let _ = write!(self.text, "\\u{:04x}", u32::from(c));
    }

    pub fn number(&mut self, n: u64) {
        let _ = write!(self.text, "{n}");
    }
}

impl ToJson for u64 {
    fn write_json(&self, out: &mut Writer) {
        out.number(*self);
    }
}

impl ToJson for u32 {
    fn write_json(&self, out: &mut Writer) {
        out.number(u64::from(*self));
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut Writer) {
        out.text.push_str(if *self { "true" } else { "false" });
    }
}

impl ToJson for str {
    fn write_json(&self, out: &mut Writer) {
        out.string(self);
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut Writer) {
        out.string(self);
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, out: &mut Writer) {
        out.text.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.text.push(',');
            }
            item.write_json(out);
        }
        out.text.push(']');
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut Writer) {
        self.as_slice().write_json(out);
    }
}

/// Maps keyed by device are objects with the device ids as field names.
impl<V: ToJson> ToJson for SmallMap<DeviceId, V> {
    fn write_json(&self, out: &mut Writer) {
        out.text.push('{');
        for (i, (device, value)) in self.iter().enumerate() {
            out.field(i, device.as_str());
            value.write_json(out);
        }
        out.text.push('}');
    }
}

/// A parsed JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// A number: `Some` when it is a whole number that fits in a `u64`
    /// (written without fraction or exponent), `None` for any other.
    Number(Option<u64>),
    String(String),
    Array(Vec<Value>),
    /// Fields in the order written; no name appears twice.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// Parses a whole JSON text.
    pub fn parse(text: &str) -> Result<Value, Error> {
        let mut parser = Parser { text, pos: 0 };
        let value = parser.value(0)?;
        parser.skip_space();
        if parser.pos < text.len() {
            return Err(Error("Unexpected text after the JSON value."));
        }
        Ok(value)
    }

    /// The fields of an object.
    pub fn fields(&self) -> Result<Fields<'_>, Error> {
        match self {
            Value::Object(fields) => Ok(Fields(fields)),
            _ => Err(Error("Expected an object.")),
        }
    }
}

/// The fields of an object, to read a struct from.
pub struct Fields<'a>(&'a [(String, Value)]);

impl Fields<'_> {
    fn find(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A field that must be present.
    pub fn get<T: FromJson>(&self, name: &str) -> Result<T, Error> {
        T::from_json(self.find(name).ok_or(Error("A field is missing."))?)
    }

    /// A field that may be left out, `default` then.
    pub fn get_or<T: FromJson>(&self, name: &str, default: T) -> Result<T, Error> {
        self.find(name).map_or(Ok(default), T::from_json)
    }
}

/// Implements [`ToJson`] and [`FromJson`] for a struct stored as a JSON
/// object, naming each field once, in the order it is written:
///
/// - `field: "name"`: written under `name`, and must be there when read;
/// - `field: "name" = default`: may be left out when read, `default` then;
/// - after the list, `unsaved { field: value }`: never written, and set to
///   `value` when read.
///
/// ```text
/// json_object!(Follow { owner: "owner", head: "head" } unsaved { have: 0 });
/// ```
macro_rules! json_object {
    (@read $fields:ident, $name:literal) => {
        $fields.get($name)?
    };
    (@read $fields:ident, $name:literal, $default:expr) => {
        $fields.get_or($name, $default)?
    };
    (
        $ty:ident { $($field:ident : $name:literal $(= $default:expr)?),* $(,)? }
        $(unsaved { $($other:ident : $value:expr),* $(,)? })?
    ) => {
        impl $crate::core::json::ToJson for $ty {
            fn write_json(&self, out: &mut $crate::core::json::Writer) {
                out.object(&[$(($name, &self.$field)),*]);
            }
        }

        impl $crate::core::json::FromJson for $ty {
            fn from_json(
                value: &$crate::core::json::Value,
            ) -> Result<$ty, $crate::core::json::Error> {
                let fields = value.fields()?;
                Ok($ty {
                    $($field: $crate::core::json::json_object!(@read fields, $name $(, $default)?),)*
                    $($($other: $value,)*)?
                })
            }
        }
    };
}
pub(crate) use json_object;

impl FromJson for u64 {
    fn from_json(value: &Value) -> Result<u64, Error> {
        match value {
            Value::Number(Some(n)) => Ok(*n),
            _ => Err(Error("Expected a whole number.")),
        }
    }
}

impl FromJson for u32 {
    fn from_json(value: &Value) -> Result<u32, Error> {
        u32::try_from(u64::from_json(value)?).map_err(|_| Error("A number is too large."))
    }
}

impl FromJson for bool {
    fn from_json(value: &Value) -> Result<bool, Error> {
        match value {
            Value::Bool(b) => Ok(*b),
            _ => Err(Error("Expected true or false.")),
        }
    }
}

impl FromJson for String {
    fn from_json(value: &Value) -> Result<String, Error> {
        match value {
            Value::String(s) => Ok(s.clone()),
            _ => Err(Error("Expected a string.")),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Value) -> Result<Vec<T>, Error> {
        match value {
            Value::Array(items) => items.iter().map(T::from_json).collect(),
            _ => Err(Error("Expected an array.")),
        }
    }
}

impl<V: FromJson> FromJson for SmallMap<DeviceId, V> {
    fn from_json(value: &Value) -> Result<SmallMap<DeviceId, V>, Error> {
        let mut map = SmallMap::new();
        for (key, value) in value.fields()?.0 {
            let device = DeviceId::parse(key).ok_or(Error("Expected a device id."))?;
            map.insert(device, V::from_json(value)?);
        }
        Ok(map)
    }
}

/// A recursive-descent parser over a text already known to be UTF-8.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Consumes `byte` (after any space), or fails.
    fn expect(&mut self, byte: u8) -> Result<(), Error> {
        self.skip_space();
        if self.next() == Some(byte) {
            Ok(())
        } else {
            Err(Error("The JSON text is malformed."))
        }
    }

    /// Consumes `word` if the text continues with it.
    fn eat(&mut self, word: &str) -> bool {
        let found = self.text.as_bytes()[self.pos..].starts_with(word.as_bytes());
        if found {
            self.pos += word.len();
        }
        found
    }

    fn value(&mut self, depth: usize) -> Result<Value, Error> {
        if depth >= MAX_DEPTH {
            return Err(Error("The JSON text nests too deeply."));
        }
        self.skip_space();
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ if self.eat("null") => Ok(Value::Null),
            _ if self.eat("true") => Ok(Value::Bool(true)),
            _ if self.eat("false") => Ok(Value::Bool(false)),
            _ => Err(Error("The JSON text is malformed.")),
        }
    }

    /// Whether a list ends here (consuming `close`), after `count` items.
    fn list_ends(&mut self, close: u8, count: usize) -> Result<bool, Error> {
        self.skip_space();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(true);
        }
        if count > 0 {
            self.expect(b',')?;
        }
        Ok(false)
    }

    fn array(&mut self, depth: usize) -> Result<Value, Error> {
        self.pos += 1;
        let mut items = Vec::new();
        while !self.list_ends(b']', items.len())? {
            items.push(self.value(depth)?);
        }
        Ok(Value::Array(items))
    }

    fn object(&mut self, depth: usize) -> Result<Value, Error> {
        self.pos += 1;
        let mut fields: Vec<(String, Value)> = Vec::new();
        while !self.list_ends(b'}', fields.len())? {
            self.skip_space();
            if self.peek() != Some(b'"') {
                return Err(Error("Expected a field name."));
            }
            let name = self.string()?;
            if fields.iter().any(|(n, _)| *n == name) {
                return Err(Error("A field appears twice."));
            }
            self.expect(b':')?;
            let value = self.value(depth)?;
            fields.push((name, value));
        }
        Ok(Value::Object(fields))
    }

    /// A string, its opening quote next.
    fn string(&mut self) -> Result<String, Error> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= b' ') {
                self.pos += 1;
            }
            // Stopped at an ASCII byte or the end: a boundary between
            // characters. (`get`, not indexing, here and below: no code to
            // report a slice off a boundary, which cannot happen.)
            out.push_str(self.text.get(start..self.pos).unwrap_or_default());
            match self.next() {
                Some(b'"') => return Ok(out),
                Some(b'\\') => out.push(self.escape()?),
                Some(_) => return Err(Error("A string holds a control character.")),
                None => return Err(Error("A string is not closed.")),
            }
        }
    }

    /// The character of an escape, its backslash consumed.
    fn escape(&mut self) -> Result<char, Error> {
        Ok(match self.next() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => return self.unicode_escape(),
            _ => return Err(Error("A string holds an unknown escape.")),
        })
    }

    /// The character of a `\u` escape (two for one beyond the BMP).
    fn unicode_escape(&mut self) -> Result<char, Error> {
        let unit = self.hex4()?;
        let code = match unit {
            0xd800..=0xdbff => {
                if !self.eat("\\u") {
                    return Err(Error("A string holds half a surrogate pair."));
                }
                let low = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&low) {
                    return Err(Error("A string holds half a surrogate pair."));
                }
                0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
            }
            _ => unit,
        };
        char::from_u32(code).ok_or(Error("A string holds half a surrogate pair."))
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let mut unit = 0;
        for _ in 0..4 {
            let digit = self
                .next()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or(Error("A string holds a malformed \\u escape."))?;
            unit = unit * 16 + digit;
        }
        Ok(unit)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, Error> {
        let negative = self.eat("-");
        let start = self.pos;
        let whole = self.digits();
        let integer = self.text.get(start..self.pos).unwrap_or_default();
        if whole == 0 || (whole > 1 && integer.starts_with('0')) {
            return Err(Error("A number is malformed."));
        }
        let mut plain = !negative;
        if self.eat(".") {
            plain = false;
            if self.digits() == 0 {
                return Err(Error("A number is malformed."));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            plain = false;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(Error("A number is malformed."));
            }
        }
        Ok(Value::Number(if plain {
            integer.parse().ok()
        } else {
            None
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<Value, Error> {
        Value::parse(text)
    }

    #[test]
    fn reads_every_kind_of_value() {
        let value =
            parse(" {\"a\" : [1, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\"], \"b\":{}} ");
        assert_eq!(
            value,
            Ok(Value::Object(vec![
                (
                    "a".into(),
                    Value::Array(vec![
                        Value::Number(Some(1)),
                        Value::Bool(true),
                        Value::Bool(false),
                        Value::Null,
                        Value::String("xé😀\n".into()),
                    ])
                ),
                ("b".into(), Value::Object(Vec::new())),
            ]))
        );
    }

    #[test]
    fn numbers_other_than_whole_u64_are_read_but_not_as_u64() {
        for text in ["-1", "1.5", "1e3", "18446744073709551616", "-0"] {
            assert_eq!(parse(text), Ok(Value::Number(None)), "{text}");
        }
        assert_eq!(
            parse("18446744073709551615"),
            Ok(Value::Number(Some(u64::MAX)))
        );
        assert_eq!(u32::from_json(&Value::Number(Some(1 << 32))).ok(), None);
    }

    #[test]
    fn malformed_texts_are_refused() {
        for text in [
            "",
            " ",
            "{",
            "[1,]",
            "[,1]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a:1}",
            "01",
            "1.",
            "-",
            "1e",
            "\"abc",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"a\u{1}\"",
            "nul",
            "[1] 2",
            "{\"a\":1,\"a\":2}",
            "\"\\u12\"",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
        }
        assert!(from_slice::<String>(b"\"\xff\"").is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).is_err());
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(&too_deep).is_err());
    }

    #[test]
    fn strings_are_escaped_like_older_versions_wrote_them() {
        let s = "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é<>&/";
        assert_eq!(
            to_string(s),
            "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\u{7f}é<>&/\""
        );
        assert_eq!(to_html_safe("<?&>"), b"\"\\u003c?\\u0026\\u003e\"".to_vec());
    }

    proptest! {
        #[test]
        fn strings_round_trip(s in any::<String>()) {
            prop_assert_eq!(from_str::<String>(&to_string(&s)), Ok(s.clone()));
            prop_assert_eq!(from_slice::<String>(&to_html_safe(&s)), Ok(s.clone()));
        }

        #[test]
        fn strings_are_written_as_serde_json_writes_them(s in any::<String>()) {
            prop_assert_eq!(to_string(&s), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn parsing_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = from_slice::<Vec<u64>>(&bytes);
        }

        #[test]
        fn parsing_json_like_text_never_panics(
            text in "[\\[\\]{}\",:0-9a-z\\\\ .eE+-]{0,80}"
        ) {
            let ours = Value::parse(&text).is_ok();
            let theirs = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            // serde_json lets an object name a field twice; we do not.
            if !text.contains('{') {
                prop_assert_eq!(ours, theirs, "{:?}", text);
            }
        }
    }
}
