//! Which conversation a value belongs to, and the optional team key.
//!
//! A version 2 conversation is named by a 32-byte **conversation id**,
//! HKDF-SHA256 of the two normal names (sorted, each length-prefixed), keyed
//! by the team secret when the ward uses one. Every signature and every
//! ciphertext binds that id, so a value copied from another conversation
//! never checks. Its keys share the prefix `bleep2.<16 hex digits of the
//! id>.`.
//!
//! Without a team key the id is a public function of the names: anyone who
//! guesses both names can find the conversation's keys (though not read
//! them). With a **team key**, a ward secret handed over in the fragment of
//! an invitation link (`#team=…`, which browsers never send to a server),
//! the prefix reveals nothing about who talks to whom, and
//! [`TeamKey::layer_key`] gives the key of an outer layer that only the
//! team can write (designed in PROTOCOL.md; only the derivation is here).

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;

use super::encoding;
use super::error::TrustError;
use super::random::{self, Entropy};
use crate::core::participants::Name;

/// The protocol version of every value this module writes and reads.
pub const VERSION: u8 = 2;

/// Which participant: the one whose normal name sorts first, or the other
/// (`p0` and `p1` in the key layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    First,
    Second,
}

impl Side {
    pub(crate) fn byte(self) -> u8 {
        match self {
            Side::First => 0,
            Side::Second => 1,
        }
    }

    pub(crate) fn from_byte(byte: u8) -> Option<Side> {
        match byte {
            0 => Some(Side::First),
            1 => Some(Side::Second),
            _ => None,
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::First => Side::Second,
            Side::Second => Side::First,
        }
    }
}

/// One conversation of protocol version 2. See the module documentation.
#[derive(Clone, PartialEq, Eq)]
pub struct Conversation {
    id: [u8; 32],
    first: String,
    second: String,
}

impl Conversation {
    /// The conversation of two people (in either order), under `team` if
    /// the ward uses a team key.
    pub fn new(a: &Name, b: &Name, team: Option<&TeamKey>) -> Conversation {
        let (first, second) = if a.normal() <= b.normal() {
            (a.normal(), b.normal())
        } else {
            (b.normal(), a.normal())
        };
        let ikm: &[u8] = team.map_or(&[], |t| &t.0);
        let hkdf = Hkdf::<Sha256>::new(Some(b"bleep2 conversation id"), ikm);
        let mut id = [0; 32];
        hkdf.expand_multi_info(
            &[
                &len16(first),
                first.as_bytes(),
                &len16(second),
                second.as_bytes(),
            ],
            &mut id,
        )
        .expect("32 bytes is a valid HKDF-SHA256 length");
        Conversation {
            id,
            first: first.to_owned(),
            second: second.to_owned(),
        }
    }

    pub fn id(&self) -> &[u8; 32] {
        &self.id
    }

    /// The prefix of every key of this conversation: `bleep2.<16 hex>.`.
    pub fn prefix(&self) -> String {
        let hex: String = self.id[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("bleep2.{hex}.")
    }

    /// Which side `name` (any spelling) is on, if it is one of the two.
    pub fn side_of(&self, name: &Name) -> Option<Side> {
        if name.normal() == self.first {
            Some(Side::First)
        } else if name.normal() == self.second {
            Some(Side::Second)
        } else {
            None
        }
    }
}

/// The id is enough to tell conversations apart; the names stay out of logs.
impl fmt::Debug for Conversation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Conversation({})", self.prefix())
    }
}

/// A ward's shared secret: 32 random bytes, written as 43 base64url
/// characters in an invitation link's fragment.
#[derive(Clone, PartialEq, Eq)]
pub struct TeamKey([u8; 32]);

impl TeamKey {
    pub fn generate(rng: &mut dyn Entropy) -> Result<TeamKey, TrustError> {
        Ok(TeamKey(random::bytes(rng)?))
    }

    /// The text that goes after `#team=` in an invitation link.
    pub fn to_text(&self) -> String {
        encoding::encode(&self.0)
    }

    pub fn from_text(text: &str) -> Result<TeamKey, TrustError> {
        encoding::decode(text.trim())
            .and_then(|bytes| bytes.try_into().ok())
            .map(TeamKey)
            .ok_or(TrustError::DamagedTeamLink)
    }

    /// The key of the team layer of `conversation`: an outer authenticated
    /// encryption of every stored value that only team members can make.
    pub fn layer_key(&self, conversation: &Conversation) -> [u8; 32] {
        let hkdf = Hkdf::<Sha256>::new(Some(b"bleep2 team layer"), &self.0);
        let mut key = [0; 32];
        hkdf.expand(conversation.id(), &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 length");
        key
    }
}

/// Never prints the secret.
impl fmt::Debug for TeamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TeamKey(..)")
    }
}

/// A length as two big-endian bytes (names are at most 40 characters, so
/// at most 160 bytes).
fn len16(text: &str) -> [u8; 2] {
    u16::try_from(text.len()).unwrap_or(u16::MAX).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::trust::random::SeededEntropy;

    fn name(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    #[test]
    fn same_pair_same_id_whatever_the_order_or_spelling() {
        let ab = Conversation::new(&name("Alice"), &name("Dr Bob"), None);
        let ba = Conversation::new(&name("dr  BOB"), &name("alice"), None);
        assert_eq!(ab.id(), ba.id());
        assert_eq!(ab.prefix(), ba.prefix());
        assert!(ab.prefix().starts_with("bleep2."));
        assert_eq!(ab.prefix().len(), "bleep2.".len() + 16 + 1);
        assert_eq!(ab.side_of(&name("ALICE")), Some(Side::First));
        assert_eq!(ab.side_of(&name("dr bob")), Some(Side::Second));
        assert_eq!(ab.side_of(&name("Carol")), None);
        let other = Conversation::new(&name("Alice"), &name("Carol"), None);
        assert_ne!(ab.id(), other.id());
    }

    #[test]
    fn names_cannot_be_shifted_between_the_two_sides() {
        // Length prefixes: ("ab","c") and ("a","bc") are different pairs.
        let one = Conversation::new(&name("ab"), &name("c"), None);
        let two = Conversation::new(&name("a"), &name("bc"), None);
        assert_ne!(one.id(), two.id());
    }

    #[test]
    fn a_team_key_hides_the_pair_and_keys_its_layer() {
        let mut rng = SeededEntropy::new(1);
        let team = TeamKey::generate(&mut rng).unwrap();
        let other_team = TeamKey::generate(&mut rng).unwrap();
        let (a, b) = (name("Alice"), name("Bob"));
        let open = Conversation::new(&a, &b, None);
        let ward = Conversation::new(&a, &b, Some(&team));
        let other_ward = Conversation::new(&a, &b, Some(&other_team));
        assert_ne!(open.id(), ward.id());
        assert_ne!(ward.id(), other_ward.id());
        assert_eq!(ward, Conversation::new(&b, &a, Some(&team)));
        assert_ne!(team.layer_key(&ward), other_team.layer_key(&ward));
        assert_ne!(team.layer_key(&ward), team.layer_key(&open));
        assert_ne!(team.layer_key(&ward)[..], ward.id()[..]);
        // The link's text round-trips; damaged links are refused.
        let text = team.to_text();
        assert_eq!(text.len(), 43);
        assert_eq!(TeamKey::from_text(&text), Ok(team.clone()));
        assert_eq!(
            TeamKey::from_text(&text[1..]),
            Err(TrustError::DamagedTeamLink)
        );
        assert_eq!(TeamKey::from_text("team"), Err(TrustError::DamagedTeamLink));
        assert!(!format!("{team:?}").contains(&text));
        assert!(!format!("{ward:?}").contains("alice"));
    }
}
