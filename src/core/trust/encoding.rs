//! How version 2 values are written as text: base64url without padding.
//!
//! The alphabet is `A-Z a-z 0-9 - _`, so a stored value never contains
//! `<?` (the course server executes stored PHP), `&`, quotes or white
//! space, and reads the same through a page that escapes HTML. Decoding is
//! canonical (no padding, no stray bits): one byte string has exactly one
//! text, so the sender's read-back can compare text.
//!
//! [`Reader`] takes fixed-size fields off the front of decoded bytes.

use base64ct::{Base64UrlUnpadded, Encoding};

/// The longest value text accepted, in characters: more than any request
/// line the server takes, so larger values are junk and are not decoded.
pub const MAX_TEXT: usize = 12_000;

pub fn encode(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Decodes text written by [`encode`]; anything else is `None`.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    if text.len() > MAX_TEXT {
        return None;
    }
    Base64UrlUnpadded::decode_vec(text).ok()
}

/// Characters of text for `len` bytes.
pub const fn encoded_len(len: usize) -> usize {
    (len * 4).div_ceil(3)
}

/// Reads fixed-size fields from the front of a byte string.
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader(bytes)
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.array()?))
    }

    /// Whatever is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_canonical_text_decodes() {
        assert_eq!(encode(b"\xff\xfe\x00"), "__4A");
        assert_eq!(decode("__4A"), Some(b"\xff\xfe\x00".to_vec()));
        assert_eq!(decode("__4A=="), None, "padding");
        assert_eq!(decode("__4A_"), None, "a dangling character");
        assert_eq!(decode("__4"), Some(b"\xff\xfe".to_vec()));
        assert_eq!(decode("AB"), None, "stray bits (AA is the canonical text)");
        assert_eq!(decode("a+b/"), None, "the other base64 alphabet");
        assert_eq!(decode("<?php"), None);
        assert_eq!(decode(&"A".repeat(MAX_TEXT + 4)), None);
        assert_eq!(encoded_len(3), 4);
        assert_eq!(encoded_len(4), 6);
    }

    #[test]
    fn a_reader_takes_fields_and_stops_at_the_end() {
        let bytes = [1, 0, 0, 0, 3, 9];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8(), Some(1));
        assert_eq!(r.u32(), Some(3));
        assert_eq!(r.u64(), None);
        assert_eq!(r.rest(), &[9]);
        assert!(r.is_empty());
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip_as_safe_text(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let text = encode(&bytes);
            prop_assert_eq!(text.len(), encoded_len(bytes.len()));
            prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(decode(&text), Some(bytes));
        }
    }
}
