//! Where the inbox lives on the server (PROTOCOL.md, "The inbox"): each
//! person's **doorbell**, one key outside every conversation, and in each
//! conversation the two **inbox acknowledgements**, one per side.
//!
//! A conversation is named in the doorbell by its **tag**, the 16 hex
//! digits of its key prefix (`bleep1.<tag>.`); a writer's **part** of a
//! doorbell is named `<tag>.<device>`. Names are checked as strictly as
//! every other key: a part name that is not a tag, a dot and a device id is
//! junk.

use super::super::participants::{DeviceId, Fnv64, KeyLayout, Name, Pair};

/// Every doorbell key starts with this; the rest is 16 hex digits.
pub const DOORBELL_PREFIX: &str = "bleep1.b.";

/// How many hex digits a conversation's tag has.
pub const TAG_LEN: usize = 16;

/// `person`'s doorbell: `bleep1.b.<16 hex digits>`, FNV-1a 64 of `b`, a NUL
/// byte and the person's normal name. A hash rather than the name, so the
/// key alone does not spell out whose bell it is (the directory does, and
/// anyone can hash a staff list: this hides nothing from a determined
/// reader, and version 2 keys it by the team secret).
pub fn doorbell_key(person: &Name) -> String {
    let mut hash = Fnv64::new();
    hash.write(b"b\0");
    hash.write(person.normal().as_bytes());
    format!("{DOORBELL_PREFIX}{:016x}", hash.finish())
}

/// The tag of a version 1 conversation: the 16 hex digits of its prefix.
pub fn tag_of(layout: &KeyLayout) -> Option<&str> {
    let tag = layout.prefix().strip_prefix("bleep1.")?.strip_suffix('.')?;
    is_tag(tag).then_some(tag)
}

/// The tag of `me`'s conversation with `peer`; `None` for the same person
/// twice.
pub fn tag_between(me: &Name, peer: &Name) -> Option<String> {
    if me.normal() == peer.normal() {
        return None;
    }
    let pair = Pair {
        me: me.clone(),
        peer: peer.clone(),
    };
    tag_of(&pair.keys()).map(str::to_owned)
}

/// Whether `text` is a tag: 16 lower-case hex digits.
pub fn is_tag(text: &str) -> bool {
    text.len() == TAG_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The name of `device`'s part of a doorbell, for conversation `tag`.
pub fn part_name(tag: &str, device: &DeviceId) -> String {
    format!("{tag}.{device}")
}

/// Reads a part name back: (tag, device), or `None` for junk.
pub fn parse_part(name: &str) -> Option<(&str, DeviceId)> {
    let (tag, device) = name.split_once('.')?;
    Some((tag, DeviceId::parse(device)?)).filter(|(tag, _)| is_tag(tag))
}

/// Where `device`'s message `seq` of conversation `tag` is stored (as
/// `KeyLayout::message` names it).
pub fn message_key(tag: &str, device: &DeviceId, seq: u64) -> String {
    format!("bleep1.{tag}.m.{device}.{seq}")
}

/// Where the devices of one side of conversation `tag` acknowledge the
/// rings they took in: `bleep1.<tag>.i0` or `…i1`, the side as in the
/// records (`p0`/`p1`). `me_side` is the side of the person whose
/// acknowledgement it is, as [`side_of`] gives it.
pub fn ack_key(tag: &str, side: u8) -> String {
    format!("bleep1.{tag}.i{}", side.min(1))
}

/// The side (0 or 1) of `person` in their conversation with `other`: 0 for
/// the one whose normal name sorts first, as for `p0`/`p1`.
pub fn side_of(person: &Name, other: &Name) -> u8 {
    u8::from(person.normal() > other.normal())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    #[test]
    fn a_doorbell_is_per_person_whatever_the_spelling() {
        let key = doorbell_key(&name("Dr Patel"));
        assert_eq!(key, doorbell_key(&name(" dr  PATEL")));
        assert_ne!(key, doorbell_key(&name("Dr Patal")));
        assert!(key.starts_with(DOORBELL_PREFIX));
        assert!(is_tag(&key[DOORBELL_PREFIX.len()..]));
        assert!(!key.contains("patel"), "{key}");
    }

    #[test]
    fn tags_are_the_conversation_prefix_and_the_same_from_both_sides() {
        let (jo, patel) = (name("Nurse Jo"), name("Dr Patel"));
        let tag = tag_between(&jo, &patel).unwrap();
        assert_eq!(Some(tag.clone()), tag_between(&patel, &jo));
        let pair = Pair::parse("Nurse Jo", "Dr Patel").unwrap();
        assert_eq!(pair.keys().prefix(), format!("bleep1.{tag}."));
        assert_eq!(tag_between(&jo, &name("nurse  jo")), None);
        // The acknowledgement sits beside the records, on the same side.
        assert_eq!(side_of(&patel, &jo), 0);
        assert_eq!(side_of(&jo, &patel), 1);
        assert_eq!(
            ack_key(&tag, side_of(&jo, &patel)),
            pair.keys().my_record().replace(".p1", ".i1")
        );
        // A version 2 prefix has no version 1 tag.
        let v2 = KeyLayout::v2(&pair, "bleep2.0123456789abcdef.".into());
        assert_eq!(tag_of(&v2), None);
        let device = DeviceId::parse("abcdefghij").unwrap();
        assert_eq!(
            message_key(&tag, &device, 7),
            pair.keys().message(&device, 7)
        );
    }

    #[test]
    fn part_names_are_checked() {
        let device = DeviceId::parse("abcdefghij").unwrap();
        let part = part_name("0123456789abcdef", &device);
        assert_eq!(parse_part(&part), Some(("0123456789abcdef", device)));
        for junk in [
            "",
            ".",
            "0123456789abcdef",
            "0123456789abcdef.",
            "0123456789ABCDEF.abcdefghij",
            "0123456789abcde.abcdefghij",
            "0123456789abcdeg.abcdefghij",
            "0123456789abcdef.abcdefghi",
            "0123456789abcdef.abcdefghij.1",
            "0123456789abcdef..abcdefghij",
        ] {
            assert_eq!(parse_part(junk), None, "{junk}");
        }
    }
}
