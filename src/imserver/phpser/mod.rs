//! The store as IMserver.php prints it: PHP `serialize()` of one array.
//!
//! The no-action page of IMserver.php shows the whole store as a serialized
//! PHP array such as `a:2:{s:6:"nurse1";s:5:"hello";i:5;s:2:"hi";}`. Keys are
//! byte strings or integers (PHP turns canonical decimal keys into integers);
//! values are always byte strings. This module reads and writes exactly that
//! subset and refuses everything else, byte by byte, without ever panicking:
//! the page is data from a server that other programs write to as well.
//!
//! - [`parse_page`] takes a whole answer page (raw, as the course server
//!   prints it, or HTML-escaped, as ours does) and returns the entries;
//!   [`parse_escaped_page`] reads a page its server declared escaped (ours,
//!   with the header [`ESCAPED_PAGE_HEADER`]) escaped-first;
//! - [`parse_array`] and [`serialize_array`] are the two directions of the
//!   serialized form itself;
//! - [`PhpKey`] is a key as PHP holds it.

use std::fmt;

/// A key of a PHP array: PHP stores canonical decimal strings as integers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PhpKey {
    Int(i64),
    Bytes(Vec<u8>),
}

impl PhpKey {
    /// The key PHP would make of the string `bytes`: an integer when it is a
    /// canonical decimal number within `i64` (`"5"`, `"-12"`, `"0"`), the
    /// bytes themselves otherwise (`"05"`, `"-0"`, `"+5"`, `" 5"`, `"5 "`).
    pub fn from_bytes(bytes: Vec<u8>) -> PhpKey {
        match canonical_integer(&bytes) {
            Some(n) => PhpKey::Int(n),
            None => PhpKey::Bytes(bytes),
        }
    }

    /// The key as the bytes a client sent (integers in decimal).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            PhpKey::Int(n) => n.to_string().into_bytes(),
            PhpKey::Bytes(bytes) => bytes.clone(),
        }
    }

    /// Like [`PhpKey::to_bytes`], without copying string keys.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            PhpKey::Int(n) => n.to_string().into_bytes(),
            PhpKey::Bytes(bytes) => bytes,
        }
    }
}

/// `Some(n)` when `bytes` is `0` or `-?[1-9][0-9]*` and fits in an `i64`.
fn canonical_integer(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    let canonical = match digits {
        [] => false,
        [b'0'] => digits.len() == bytes.len(), // "0" yes, "-0" no
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// A store's entries as a client sees them: key and value bytes, in the
/// server's order.
pub type StoreEntries = Vec<(Vec<u8>, Vec<u8>)>;

/// Why a serialized array (or a page holding one) could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    offset: usize,
    reason: &'static str,
}

impl ParseError {
    fn at(offset: usize, reason: &'static str) -> ParseError {
        ParseError { offset, reason }
    }

    /// The byte offset where reading stopped (in the text that was parsed).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What was wrong there, in a few words.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for ParseError {}

/// The heading's end; the dump follows it directly.
const HEADING_END: &[u8] = b"</h1>";
/// What closes the page; the last occurrence counts, as values may hold it.
const PAGE_END: &[u8] = b"</body></html>";

/// The answer header by which our IMserver.php says its page is HTML-escaped
/// (value [`ESCAPED_PAGE_VALUE`]); the course server does not send it.
pub const ESCAPED_PAGE_HEADER: &str = "X-Bleep-Page";
/// The value of [`ESCAPED_PAGE_HEADER`] on an escaped page.
pub const ESCAPED_PAGE_VALUE: &str = "html-escaped";

/// The entries of an IMserver.php no-action page, keys as bytes, in the
/// order the server keeps them.
///
/// The dump is whatever lies between the first `</h1>` and the last
/// `</body></html>` (after which only whitespace may follow). An empty dump
/// is an empty store: the course server prints nothing before its first
/// write. The dump is read as printed first; when that fails and it holds a
/// `&`, it is read again with `&amp;`, `&lt;`, `&gt;` and `&quot;` undone,
/// which is how our own server escapes it. Error offsets count from the
/// start of `body` (for the raw reading).
pub fn parse_page(body: &[u8]) -> Result<StoreEntries, ParseError> {
    read_page(body, false)
}

/// Like [`parse_page`] for a page its server declared HTML-escaped (see
/// [`ESCAPED_PAGE_HEADER`]): the escaped reading is tried first, so keys and
/// values crafted to look like extra entries when read raw cannot add any.
pub fn parse_escaped_page(body: &[u8]) -> Result<StoreEntries, ParseError> {
    read_page(body, true)
}

fn read_page(body: &[u8], escaped_first: bool) -> Result<StoreEntries, ParseError> {
    let start = find(body, HEADING_END)
        .map(|at| at + HEADING_END.len())
        .ok_or(ParseError::at(0, "not an IMserver page (no heading)"))?;
    let end = rfind(body, PAGE_END)
        .filter(|&at| at >= start)
        .ok_or(ParseError::at(
            body.len(),
            "not an IMserver page (no end of page)",
        ))?;
    let after = end + PAGE_END.len();
    if let Some(extra) = body[after..].iter().position(|b| !b.is_ascii_whitespace()) {
        return Err(ParseError::at(
            after + extra,
            "unexpected text after the end of the page",
        ));
    }
    let dump = &body[start..end];
    if dump.is_empty() {
        return Ok(Vec::new());
    }
    let raw = || parse_array(dump).map_err(|e| ParseError::at(start + e.offset, e.reason));
    let unescaped = || parse_array(&unescape_html(dump));
    let entries = if escaped_first {
        unescaped().or_else(|_| raw())?
    } else {
        match raw() {
            Ok(entries) => entries,
            Err(raw_error) if dump.contains(&b'&') => unescaped().map_err(|_| raw_error)?,
            Err(raw_error) => return Err(raw_error),
        }
    };
    Ok(entries
        .into_iter()
        .map(|(key, value)| (key.into_bytes(), value))
        .collect())
}

/// Undoes `&amp;`, `&lt;`, `&gt;` and `&quot;` in one pass; any other `&`
/// stays.
fn unescape_html(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some((&byte, tail)) = rest.split_first() {
        let entity = [
            (&b"amp;"[..], b'&'),
            (b"lt;", b'<'),
            (b"gt;", b'>'),
            (b"quot;", b'"'),
        ]
        .into_iter()
        .find(|(name, _)| byte == b'&' && tail.starts_with(name));
        match entity {
            Some((name, plain)) => {
                out.push(plain);
                rest = &tail[name.len()..];
            }
            None => {
                out.push(byte);
                rest = tail;
            }
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// Reads `a:N:{...}` whose keys are integers or strings and whose values are
/// strings, and nothing after it. String lengths are in bytes and must be
/// exact; the number of entries must be `N`.
pub fn parse_array(input: &[u8]) -> Result<Vec<(PhpKey, Vec<u8>)>, ParseError> {
    let mut reader = Reader { input, pos: 0 };
    if input.is_empty() {
        return Err(reader.error("empty input"));
    }
    reader.expect_tag(b'a', "expected an array (a:N:{...})")?;
    let count = reader.unsigned(b':')?;
    reader.expect(b'{', "expected { after the array size")?;
    // Each entry takes at least 8 bytes (i:0;s:0:"";): never trust `count`
    // for an allocation.
    let mut entries = Vec::with_capacity(count.min(input.len() / 8));
    for _ in 0..count {
        if reader.peek() == Some(b'}') {
            return Err(reader.error("fewer entries than the array size says"));
        }
        let key = reader.key()?;
        let value = reader.string_value()?;
        entries.push((key, value));
    }
    match reader.peek() {
        Some(b'}') => reader.pos += 1,
        None => return Err(reader.error("input ends inside the array")),
        Some(_) => return Err(reader.error("more entries than the array size says")),
    }
    if reader.pos != input.len() {
        return Err(reader.error("unexpected bytes after the array"));
    }
    Ok(entries)
}

/// Writes `entries` as PHP's `serialize()` writes an array. Keys are written
/// as given: use [`PhpKey::from_bytes`] for the form PHP itself would store.
pub fn serialize_array(entries: &[(PhpKey, Vec<u8>)]) -> Vec<u8> {
    let mut out = format!("a:{}:{{", entries.len()).into_bytes();
    for (key, value) in entries {
        match key {
            PhpKey::Int(n) => out.extend_from_slice(format!("i:{n};").as_bytes()),
            PhpKey::Bytes(bytes) => write_string(&mut out, bytes),
        }
        write_string(&mut out, value);
    }
    out.push(b'}');
    out
}

fn write_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("s:{}:\"", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\";");
}

/// A position in the serialized text. Every read is bounds-checked.
struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn error(&self, reason: &'static str) -> ParseError {
        ParseError::at(self.pos, reason)
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), ParseError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    /// `tag` followed by `:`.
    fn expect_tag(&mut self, tag: u8, reason: &'static str) -> Result<(), ParseError> {
        if self.input.get(self.pos..self.pos + 2) == Some(&[tag, b':'][..]) {
            self.pos += 2;
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    /// Decimal digits (consumed), as a number no larger than `max`: the one
    /// digit loop behind sizes, lengths and integers. `too_large` is
    /// reported at the digit that would pass `max`, `empty` where no digit
    /// is.
    fn digits(
        &mut self,
        max: u64,
        too_large: &'static str,
        empty: &'static str,
    ) -> Result<u64, ParseError> {
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(byte) = self.peek().filter(u8::is_ascii_digit) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(byte - b'0')))
                .filter(|&n| n <= max)
                .ok_or(self.error(too_large))?;
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error(empty));
        }
        Ok(n)
    }

    /// Decimal digits up to `end` (consumed): a size or a length.
    fn unsigned(&mut self, end: u8) -> Result<usize, ParseError> {
        let max = u64::try_from(usize::MAX).unwrap_or(u64::MAX);
        let n = self.digits(max, "number too large", "expected a number")?;
        self.expect(end, "unexpected byte after a number")?;
        // `digits` kept `n` within usize.
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// An optionally signed decimal `i64` up to `;` (consumed).
    fn signed(&mut self) -> Result<i64, ParseError> {
        let negative = match self.peek() {
            Some(b'-') => true,
            Some(b'+') => false,
            _ => return self.signed_digits(false),
        };
        self.pos += 1;
        self.signed_digits(negative)
    }

    fn signed_digits(&mut self, negative: bool) -> Result<i64, ParseError> {
        // Up to the magnitude of i64::MIN, the largest of either sign.
        let magnitude = self.digits(
            i64::MIN.unsigned_abs(),
            "integer out of range",
            "expected an integer",
        )?;
        let n = if negative {
            Some(0i64.wrapping_sub_unsigned(magnitude))
        } else {
            i64::try_from(magnitude).ok()
        };
        let n = n.ok_or(self.error("integer out of range"))?;
        self.expect(b';', "expected ; after an integer")?;
        Ok(n)
    }

    /// `s:LEN:"...";` once `s:` has been read.
    fn string_body(&mut self) -> Result<Vec<u8>, ParseError> {
        let len = self.unsigned(b':')?;
        self.expect(b'"', "expected \" before a string")?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.input.len())
            .ok_or(self.error("string runs past the end of the input"))?;
        let bytes = self.input[self.pos..end].to_vec();
        self.pos = end;
        if self.input.get(end..end + 2) != Some(&b"\";"[..]) {
            return Err(self.error("string length does not match its contents"));
        }
        self.pos += 2;
        Ok(bytes)
    }

    fn key(&mut self) -> Result<PhpKey, ParseError> {
        match self.peek() {
            Some(b'i') => {
                self.expect_tag(b'i', "expected : after i")?;
                Ok(PhpKey::Int(self.signed()?))
            }
            Some(b's') => {
                self.expect_tag(b's', "expected : after s")?;
                Ok(PhpKey::Bytes(self.string_body()?))
            }
            None => Err(self.error("input ends inside the array")),
            Some(_) => Err(self.error("keys must be integers or strings")),
        }
    }

    fn string_value(&mut self) -> Result<Vec<u8>, ParseError> {
        match self.peek() {
            Some(b's') => {
                self.expect_tag(b's', "expected : after s")?;
                self.string_body()
            }
            Some(b'a') => Err(self.error("nested arrays are not supported")),
            None => Err(self.error("input ends inside the array")),
            Some(_) => Err(self.error("values must be strings")),
        }
    }
}

#[cfg(test)]
mod tests;
