//! Who is talking to whom, and where their conversation lives on the server.
//!
//! Two clinicians meet in the same conversation whatever order or letter case
//! they type their names in: names are compared in a normal form (trimmed,
//! inner white space folded, lower case) and the pair is sorted before it is
//! hashed into the conversation's key prefix. Every key Bleep writes starts
//! with that prefix, so two pairs on one server never touch each other's keys
//! and keys written by other programs are never read as ours.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize, Serializer};

/// The longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 40;

/// A participant's name: as typed (for display) and in normal form (for
/// comparisons and keys). Stored as `{"typed":…,"normal":…}` and read back
/// as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name {
    typed: String,
    normal: String,
}

impl Name {
    /// Checks a name typed by a user.
    pub fn parse(typed: &str) -> Result<Name, NameError> {
        let typed = typed.split_whitespace().collect::<Vec<_>>().join(" ");
        if typed.is_empty() {
            return Err(NameError::Empty);
        }
        if typed.chars().count() > MAX_NAME_CHARS {
            return Err(NameError::TooLong);
        }
        if typed.chars().any(char::is_control) {
            return Err(NameError::ControlCharacter);
        }
        let normal = lowercase(&typed);
        Ok(Name { typed, normal })
    }

    /// The name as its owner typed it.
    pub fn typed(&self) -> &str {
        &self.typed
    }

    /// The name in normal form: two names are the same person when these are equal.
    pub fn normal(&self) -> &str {
        &self.normal
    }

    /// Whether `other` (any spelling) names the same person.
    pub fn is(&self, other: &str) -> bool {
        // The name exactly as typed needs no folding (in the browser, folding
        // is a call into JavaScript).
        other == self.typed || Name::parse(other).is_ok_and(|n| n.normal == self.normal)
    }
}

/// Lower-cases text as Unicode's default case conversion does, which is how
/// names are compared. Native builds use the standard library's tables; the
/// browser build installs the browser's own (`String.prototype.toLowerCase`)
/// with [`set_lowercase`] at start-up, so that its WebAssembly need not carry
/// the tables too. ASCII text, which most names are, never leaves
/// WebAssembly: on it the default conversion is ASCII's (loading 10,000
/// messages lower-cases each sender's name twice).
pub fn lowercase(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    match LOWERCASE.get() {
        Some(lower) => lower(text),
        None => builtin_lowercase(text),
    }
}

/// Makes [`lowercase`] use `lower`, which must implement Unicode's default
/// lower-casing. Only the first call counts: names already compared must not
/// change their normal form.
pub fn set_lowercase(lower: fn(&str) -> String) {
    let _ = LOWERCASE.set(lower);
}

static LOWERCASE: OnceLock<fn(&str) -> String> = OnceLock::new();

#[cfg(not(target_arch = "wasm32"))]
fn builtin_lowercase(text: &str) -> String {
    text.to_lowercase()
}

/// In the browser the app calls [`set_lowercase`] before any name is read;
/// lower-casing ASCII alone keeps the tables out of the WebAssembly.
#[cfg(target_arch = "wasm32")]
fn builtin_lowercase(text: &str) -> String {
    text.to_ascii_lowercase()
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.typed)
    }
}

/// Why a name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
    ControlCharacter,
    SameAsColleague,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("Please enter a name."),
            NameError::TooLong => {
                write!(f, "Names can be at most {MAX_NAME_CHARS} characters long.")
            }
            NameError::ControlCharacter => f.write_str("Names cannot contain control characters."),
            NameError::SameAsColleague => {
                f.write_str("Your name and your colleague's name must be different.")
            }
        }
    }
}

impl std::error::Error for NameError {}

/// The two people in a conversation, seen from one of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    pub me: Name,
    pub peer: Name,
}

impl Pair {
    /// Checks both names as typed on the sign-in form.
    pub fn parse(me: &str, peer: &str) -> Result<Pair, (Field, NameError)> {
        let me = Name::parse(me).map_err(|e| (Field::Me, e))?;
        let peer = Name::parse(peer).map_err(|e| (Field::Peer, e))?;
        if me.normal == peer.normal {
            return Err((Field::Peer, NameError::SameAsColleague));
        }
        Ok(Pair { me, peer })
    }

    /// Checks both names as typed on the sign-in form, and says what is
    /// wrong with each (`[me, peer]`), so that the form shows every problem
    /// at once.
    pub fn check(me: &str, peer: &str) -> Result<Pair, [Option<NameError>; 2]> {
        match (Name::parse(me), Name::parse(peer)) {
            (Ok(me), Ok(peer)) if me.normal == peer.normal => {
                Err([None, Some(NameError::SameAsColleague)])
            }
            (Ok(me), Ok(peer)) => Ok(Pair { me, peer }),
            (me, peer) => Err([me.err(), peer.err()]),
        }
    }

    /// The server keys of this conversation.
    pub fn keys(&self) -> KeyLayout {
        KeyLayout::new(self)
    }
}

/// Which sign-in field a [`NameError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Me,
    Peer,
}

/// A window's identity on the server: random letters, chosen once per
/// browser profile, so that one person's windows never write the same key.
///
/// Stored as a string; reading refuses one that is not [`DeviceId::LEN`]
/// lower-case letters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct DeviceId(String);

impl DeviceId {
    /// Length of a device id.
    pub const LEN: usize = 10;

    /// Builds a device id from random numbers (any source).
    pub fn from_random(mut random: impl FnMut() -> u32) -> DeviceId {
        DeviceId(
            (0..Self::LEN)
                .map(|_| (b'a' + (random() % 26) as u8) as char)
                .collect(),
        )
    }

    /// Accepts an id read back from the server or from storage.
    pub fn parse(text: &str) -> Option<DeviceId> {
        Self::is_valid(text).then(|| DeviceId(text.to_owned()))
    }

    fn is_valid(text: &str) -> bool {
        text.len() == Self::LEN && text.bytes().all(|b| b.is_ascii_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DeviceId {
    type Error = NotADeviceId;

    fn try_from(text: String) -> Result<DeviceId, NotADeviceId> {
        if DeviceId::is_valid(&text) {
            Ok(DeviceId(text))
        } else {
            Err(NotADeviceId)
        }
    }
}

impl Serialize for DeviceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Why a stored device id was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotADeviceId;

impl fmt::Display for NotADeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a device id is {} lower-case letters", DeviceId::LEN)
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where each piece of a conversation is stored.
///
/// With `P` = `bleep1.<16 hex digits of the pair's hash>.`:
/// - `P__waiting__`: the turn key, the side (`p0` or `p1`) of whoever sent
///   last, so that no name is stored in plain text;
/// - `Pp0`, `Pp1`: each participant's record (device heads and read receipts),
///   `p0` being the participant whose normal name sorts first;
/// - `Pm.<device>.<seq>`: one message, written only by the device that sent it.
///
/// Protocol version 2 ([`KeyLayout::v2`]) has `P` = `bleep2.<16 hex digits of
/// the conversation id>.` and adds, each written only by the device named
/// first:
/// - `Pk.<device>`: the device's announcement;
/// - `Px.<sender>.<recipient>.<epoch>`: a sender key shared with one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLayout {
    prefix: String,
    me_index: u8,
}

impl KeyLayout {
    fn new(pair: &Pair) -> KeyLayout {
        let (first, second) = if pair.me.normal <= pair.peer.normal {
            (&pair.me.normal, &pair.peer.normal)
        } else {
            (&pair.peer.normal, &pair.me.normal)
        };
        let mut hash = Fnv64::new();
        hash.write(first.as_bytes());
        hash.write(&[0]);
        hash.write(second.as_bytes());
        KeyLayout {
            prefix: format!("bleep1.{:016x}.", hash.finish()),
            me_index: if first == &pair.me.normal { 0 } else { 1 },
        }
    }

    /// The keys of protocol version 2 of `pair`, under the prefix of its
    /// conversation (`trust::Conversation::prefix`, which depends on this
    /// module: passed as text to keep the modules free of a circle).
    pub fn v2(pair: &Pair, prefix: String) -> KeyLayout {
        KeyLayout {
            prefix,
            ..KeyLayout::new(pair)
        }
    }

    /// The prefix shared by every key of this conversation.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn waiting(&self) -> String {
        format!("{}__waiting__", self.prefix)
    }

    /// The value of `__waiting__` when the last message is ours (`mine`)
    /// or the colleague's: the side of its sender, `p0` or `p1`.
    pub fn waiting_value(&self, mine: bool) -> Vec<u8> {
        let side = if mine {
            self.me_index
        } else {
            1 - self.me_index
        };
        vec![b'p', b'0' + side]
    }

    pub fn my_record(&self) -> String {
        format!("{}p{}", self.prefix, self.me_index)
    }

    pub fn peer_record(&self) -> String {
        format!("{}p{}", self.prefix, 1 - self.me_index)
    }

    pub fn message(&self, device: &DeviceId, seq: u64) -> String {
        format!("{}m.{}.{}", self.prefix, device, seq)
    }

    /// Where `device` announces its keys (version 2).
    pub fn announcement(&self, device: &DeviceId) -> String {
        format!("{}k.{}", self.prefix, device)
    }

    /// Where `sender` shares its sender key of `epoch` with `recipient`
    /// (version 2).
    pub fn share(&self, sender: &DeviceId, recipient: &DeviceId, epoch: u32) -> String {
        format!("{}x.{}.{}.{}", self.prefix, sender, recipient, epoch)
    }

    /// Recognises a key of this conversation.
    pub fn classify(&self, key: &[u8]) -> Option<KeyKind> {
        let rest = key.strip_prefix(self.prefix.as_bytes())?;
        let rest = std::str::from_utf8(rest).ok()?;
        match rest {
            "__waiting__" => Some(KeyKind::Waiting),
            "p0" | "p1" => Some(if rest.as_bytes()[1] - b'0' == self.me_index {
                KeyKind::MyRecord
            } else {
                KeyKind::PeerRecord
            }),
            _ => {
                if let Some(device) = rest.strip_prefix("k.") {
                    return Some(KeyKind::Announcement(DeviceId::parse(device)?));
                }
                if let Some(share) = rest.strip_prefix("x.") {
                    let (sender, share) = share.split_once('.')?;
                    let (recipient, epoch) = share.split_once('.')?;
                    return Some(KeyKind::Share {
                        sender: DeviceId::parse(sender)?,
                        recipient: DeviceId::parse(recipient)?,
                        epoch: u32::try_from(number(epoch)?).ok()?,
                    });
                }
                let (device, seq) = rest.strip_prefix("m.")?.split_once('.')?;
                Some(KeyKind::Message(DeviceId::parse(device)?, number(seq)?))
            }
        }
    }
}

/// A number from 1 up, written without leading zeros.
fn number(text: &str) -> Option<u64> {
    if text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// What a key of this conversation holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Waiting,
    MyRecord,
    PeerRecord,
    Message(DeviceId, u64),
    /// `k.<device>` (version 2).
    Announcement(DeviceId),
    /// `x.<sender>.<recipient>.<epoch>` (version 2).
    Share {
        sender: DeviceId,
        recipient: DeviceId,
        epoch: u32,
    },
}

/// FNV-1a, 64 bits: stable across platforms and versions, unlike std's hasher.
/// (Also names a person's doorbell, `core::inbox::keys`.)
pub(crate) struct Fnv64(u64);

impl Fnv64 {
    pub(crate) fn new() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_and_space() {
        let a = Name::parse("  Nurse   Jo ").unwrap();
        assert_eq!(a.typed(), "Nurse Jo");
        assert_eq!(a.normal(), "nurse jo");
        assert!(a.is("NURSE JO"));
        // The name as typed (no folding needed), and names that only look close.
        assert!(a.is("Nurse Jo"));
        assert!(a.is(" nurse  jo"));
        assert!(!a.is("Nurse Joe"));
        assert!(!a.is("Nurse Jo\u{7}"));
        assert_eq!(Name::parse("   "), Err(NameError::Empty));
        assert_eq!(Name::parse(&"x".repeat(41)), Err(NameError::TooLong));
        assert_eq!(Name::parse("a\u{7}b"), Err(NameError::ControlCharacter));
        // Unicode's default lower-casing, as the browser's toLowerCase does it.
        assert_eq!(Name::parse("ÉLODIE ΟΔΟΣ").unwrap().normal(), "élodie οδος");
    }

    #[test]
    fn same_pair_same_conversation_whatever_the_order_or_case() {
        let ab = Pair::parse("Alice", "Dr Bob").unwrap().keys();
        let ba = Pair::parse("dr  BOB", "alice").unwrap().keys();
        assert_eq!(ab.prefix(), ba.prefix());
        assert_eq!(ab.waiting(), ba.waiting());
        assert_eq!(ab.my_record(), ba.peer_record());
        assert_eq!(ab.peer_record(), ba.my_record());
        let other = Pair::parse("Alice", "Carol").unwrap().keys();
        assert_ne!(ab.prefix(), other.prefix());
    }

    #[test]
    fn same_name_twice_is_refused() {
        assert_eq!(
            Pair::parse("Sam", " sam "),
            Err((Field::Peer, NameError::SameAsColleague))
        );
    }

    #[test]
    fn the_form_learns_every_wrong_name_at_once() {
        use NameError::*;
        assert_eq!(Pair::check(" ", ""), Err([Some(Empty), Some(Empty)]));
        assert_eq!(Pair::check("Sam", ""), Err([None, Some(Empty)]));
        let long = "x".repeat(41);
        assert_eq!(Pair::check(&long, "Jo"), Err([Some(TooLong), None]));
        assert_eq!(
            Pair::check("Sam", "SAM"),
            Err([None, Some(SameAsColleague)])
        );
        assert_eq!(
            Pair::check("Sam", "Jo"),
            Ok(Pair::parse("Sam", "Jo").unwrap())
        );
    }

    #[test]
    fn keys_are_recognised_and_junk_is_not() {
        let keys = Pair::parse("a", "b").unwrap().keys();
        let dev = DeviceId::parse("abcdefghij").unwrap();
        let msg = keys.message(&dev, 12);
        assert_eq!(
            keys.classify(msg.as_bytes()),
            Some(KeyKind::Message(dev.clone(), 12))
        );
        assert_eq!(
            keys.classify(keys.waiting().as_bytes()),
            Some(KeyKind::Waiting)
        );
        // "a" sorts first: side p0; both sides agree on who sent last.
        let theirs = Pair::parse("b", "a").unwrap().keys();
        assert_eq!(keys.waiting_value(true), b"p0");
        assert_eq!(keys.waiting_value(false), b"p1");
        assert_eq!(theirs.waiting_value(false), keys.waiting_value(true));
        assert_eq!(
            keys.classify(keys.my_record().as_bytes()),
            Some(KeyKind::MyRecord)
        );
        assert_eq!(
            keys.classify(keys.peer_record().as_bytes()),
            Some(KeyKind::PeerRecord)
        );
        for junk in ["message", "__waiting__", "bleep1.x.m.abc.1"] {
            assert_eq!(keys.classify(junk.as_bytes()), None, "{junk}");
        }
        let p = keys.prefix();
        for junk in [
            "m.abcdefghij.0",
            "m.abcdefghij.007",
            "m.ABCDEFGHIJ.1",
            "m.abcdefghij.x",
            "p2",
        ] {
            assert_eq!(
                keys.classify(format!("{p}{junk}").as_bytes()),
                None,
                "{junk}"
            );
        }
    }

    #[test]
    fn version_2_keys_are_recognised_and_junk_is_not() {
        let pair = Pair::parse("Nurse Jo", "Dr Patel").unwrap();
        let keys = KeyLayout::v2(&pair, "bleep2.0123456789abcdef.".into());
        let v1 = pair.keys();
        assert!(keys.prefix().starts_with("bleep2.") && keys.prefix() != v1.prefix());
        // Sides as in version 1: "dr patel" sorts first.
        assert_eq!(keys.my_record(), format!("{}p1", keys.prefix()));
        assert_eq!(
            Pair::parse("dr  PATEL", "nurse jo")
                .unwrap()
                .keys()
                .my_record()[7..],
            v1.peer_record()[7..]
        );
        let (a, b) = (
            DeviceId::parse("abcdefghij").unwrap(),
            DeviceId::parse("klmnopqrst").unwrap(),
        );
        assert_eq!(
            keys.classify(keys.announcement(&a).as_bytes()),
            Some(KeyKind::Announcement(a.clone()))
        );
        assert_eq!(
            keys.classify(keys.share(&a, &b, 3).as_bytes()),
            Some(KeyKind::Share {
                sender: a.clone(),
                recipient: b.clone(),
                epoch: 3
            })
        );
        assert_eq!(
            keys.classify(keys.message(&a, 7).as_bytes()),
            Some(KeyKind::Message(a.clone(), 7))
        );
        // Version 1 and version 2 keys never mix.
        assert_eq!(v1.classify(keys.message(&a, 7).as_bytes()), None);
        assert_eq!(keys.classify(v1.message(&a, 7).as_bytes()), None);
        let p = keys.prefix();
        for junk in [
            "k.abcdefghi",
            "k.abcdefghij.1",
            "x.abcdefghij.klmnopqrst",
            "x.abcdefghij.klmnopqrst.0",
            "x.abcdefghij.klmnopqrst.01",
            "x.abcdefghij.klmnopqrst.4294967296",
            "x.abcdefghij.KLMNOPQRST.1",
            "x.abcdefghij.klmnopqrst.1.1",
        ] {
            assert_eq!(
                keys.classify(format!("{p}{junk}").as_bytes()),
                None,
                "{junk}"
            );
        }
    }

    #[test]
    fn device_ids_are_letters() {
        let mut n = 0u32;
        let id = DeviceId::from_random(|| {
            n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            n
        });
        assert!(DeviceId::parse(id.as_str()).is_some());
    }

    proptest::proptest! {
        /// The ASCII shortcut agrees with Unicode's default conversion, on
        /// ASCII names and on any other text (which takes the full path).
        #[test]
        fn lowercase_is_unicodes_default_conversion(text in "[ -~]{0,20}|\\PC{0,20}") {
            proptest::prop_assert_eq!(lowercase(&text), text.to_lowercase());
        }
    }
}
