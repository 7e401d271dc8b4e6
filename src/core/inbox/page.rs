//! A new device's inbox, rebuilt from the page (PROTOCOL.md, "The inbox",
//! "A new device"): the one whole-store read a device with nothing saved
//! makes anyway. Never per poll.
//!
//! A conversation of this person is found from its keys: the tag of every
//! message key is compared with the tags of this person's conversations
//! with each sender named in a message and each person in the directory.
//! Each conversation's row then takes every message found (the last one
//! in the agreed order, and how far each of the colleague's devices
//! wrote) and this person's record (how far any of their devices has
//! shown each of the colleague's devices: read).

use super::super::directory::{entry_key, people, Entry, PREFIX as DIRECTORY_PREFIX};
use super::super::envelope::{Envelope, Record};
use super::super::participants::{DeviceId, Name};
use super::super::small_map::SmallMap;
use super::keys::{is_tag, side_of, tag_between, TAG_LEN};
use super::rows::Rows;

/// How many people of the directory are tried as colleagues.
const MAX_PEOPLE: usize = 5_000;

/// A message key of any conversation: (tag, device, seq).
fn message_key(key: &[u8]) -> Option<(&str, DeviceId, u64)> {
    let key = std::str::from_utf8(key).ok()?;
    let rest = key.strip_prefix("bleep1.")?;
    let tag = rest.get(..TAG_LEN)?;
    let (device, seq) = rest.get(TAG_LEN..)?.strip_prefix(".m.")?.split_once('.')?;
    if !is_tag(tag) || seq.starts_with('0') || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((tag, DeviceId::parse(device)?, seq.parse().ok()?))
}

/// `me`'s rows from every entry of the store (the page).
pub fn rows_from_page(me: &Name, entries: &[(Vec<u8>, Vec<u8>)]) -> Rows {
    let mut rows = Rows::new(me.clone());
    // Every conversation of `me` that a name on the page gives: by tag.
    let mut peers: SmallMap<String, Name> = SmallMap::new();
    let note = |peers: &mut SmallMap<String, Name>, peer: Name| {
        if let Some(tag) = tag_between(me, &peer) {
            peers.get_or_insert_with(tag, || peer);
        }
    };
    let directory: Vec<&(Vec<u8>, Vec<u8>)> = entries
        .iter()
        .filter(|(k, _)| k.starts_with(DIRECTORY_PREFIX.as_bytes()))
        .collect();
    let keys: Vec<Vec<u8>> = directory.iter().map(|(k, _)| k.clone()).collect();
    for person in people(&keys, MAX_PEOPLE) {
        let Ok(name) = Name::parse(&person) else {
            continue;
        };
        // The name as its owner typed it, if the entry reads.
        let key = entry_key(&name);
        let typed = directory
            .iter()
            .find(|(k, _)| k == key.as_bytes())
            .and_then(|(_, v)| Entry::decode(v, &name))
            .and_then(|entry| Name::parse(&entry.name).ok());
        note(&mut peers, typed.unwrap_or(name));
    }
    let mut messages = Vec::new();
    for (key, value) in entries {
        let Some((tag, device, seq)) = message_key(key) else {
            continue;
        };
        let Some(envelope) = Envelope::decode(value, &device, seq) else {
            continue;
        };
        if let Ok(sender) = Name::parse(&envelope.from) {
            if sender.normal() != me.normal() && tag_between(me, &sender).as_deref() == Some(tag) {
                note(&mut peers, sender);
            }
        }
        messages.push((tag.to_owned(), envelope));
    }
    for (tag, envelope) in &messages {
        let Some(peer) = peers.get(tag) else {
            continue;
        };
        if me.is(&envelope.from) {
            rows.sent(peer, envelope, envelope.sent_at);
        } else {
            rows.learn(tag, envelope, envelope.sent_at);
        }
    }
    // What this person has read: their record in each conversation.
    for (tag, peer) in peers.iter() {
        if rows.get(tag).is_none() {
            continue;
        }
        let record_key = format!("bleep1.{tag}.p{}", side_of(me, peer));
        let Some(record) = entries
            .iter()
            .find(|(k, _)| k == record_key.as_bytes())
            .and_then(|(_, v)| Record::decode(v))
        else {
            continue;
        };
        let peer_devices: Vec<(DeviceId, u64)> = rows
            .get(tag)
            .map(|row| row.heads().map(|(d, n)| (d.clone(), n)).collect())
            .unwrap_or_default();
        for (device, _) in peer_devices {
            let shown = record
                .seen
                .values()
                .filter_map(|seen| seen.get(&device).copied())
                .max()
                .unwrap_or(0);
            if shown > 0 {
                rows.read_up_to(tag, &device, shown);
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::super::super::participants::Pair;
    use super::super::rows::RowTurn;
    use super::*;

    fn envelope(from: &str, device: &DeviceId, seq: u64, clock: u64) -> Vec<u8> {
        Envelope {
            version: 1,
            from: from.into(),
            device: device.clone(),
            seq,
            clock,
            sent_at: 1_000 * clock,
            text: format!("{from} {seq}"),
            urgent: false,
            unanswered: None,
            original_at: None,
        }
        .encode()
    }

    #[test]
    fn a_new_device_finds_its_conversations_counts_and_turns_on_the_page() {
        let jo = Name::parse("Nurse Jo").unwrap();
        let (p, j, c) = (
            DeviceId::parse("pppppppppp").unwrap(),
            DeviceId::parse("jjjjjjjjjj").unwrap(),
            DeviceId::parse("cccccccccc").unwrap(),
        );
        let with_patel = Pair::parse("Nurse Jo", "Dr Patel").unwrap().keys();
        let with_carol = Pair::parse("Nurse Jo", "Carol").unwrap().keys();
        let with_ann = Pair::parse("Nurse Jo", "Ann").unwrap().keys();
        let others = Pair::parse("Dr Patel", "Carol").unwrap().keys();
        let mut seen = SmallMap::new();
        seen.insert(p.clone(), 2);
        let mut record = Record::default();
        record.seen.insert(j.clone(), seen);
        let entries: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (b"junk".to_vec(), b"x".to_vec()),
            // Dr Patel wrote 3, Jo answered after the second, has read 2.
            (
                with_patel.message(&p, 1).into_bytes(),
                envelope("Dr Patel", &p, 1, 1),
            ),
            (
                with_patel.message(&p, 2).into_bytes(),
                envelope("Dr Patel", &p, 2, 2),
            ),
            (
                with_patel.message(&j, 1).into_bytes(),
                envelope("Nurse Jo", &j, 1, 3),
            ),
            (
                with_patel.message(&p, 3).into_bytes(),
                envelope("dr patel", &p, 3, 4),
            ),
            (with_patel.my_record().into_bytes(), record.encode()),
            // Jo wrote to Carol, who has not answered: found through the directory.
            (
                with_carol.message(&j, 1).into_bytes(),
                envelope("Nurse Jo", &j, 1, 9),
            ),
            (
                entry_key(&Name::parse("Carol").unwrap()).into_bytes(),
                Entry::new(&Name::parse("Carol").unwrap()).encode(),
            ),
            // Ann's message copied under another conversation's key: not ours.
            (
                others.message(&c, 1).into_bytes(),
                envelope("Ann", &c, 1, 1),
            ),
            // Jo wrote to Ann, who is in no directory: not found.
            (
                with_ann.message(&j, 1).into_bytes(),
                envelope("Nurse Jo", &j, 1, 1),
            ),
            // Junk under a message key.
            (with_patel.message(&p, 9).into_bytes(), b"<?php".to_vec()),
        ];
        let rows = rows_from_page(&jo, &entries);
        let listed: Vec<_> = rows
            .newest_first()
            .into_iter()
            .map(|(_, r)| (r.peer.typed().to_owned(), r.unread(), r.turn()))
            .collect();
        assert_eq!(
            listed,
            [
                ("Carol".to_owned(), 0, RowTurn::Waiting),
                ("dr patel".to_owned(), 1, RowTurn::Yours)
            ]
        );
    }

    #[test]
    fn message_keys_are_checked() {
        assert!(message_key(b"bleep1.0123456789abcdef.m.abcdefghij.12").is_some());
        for junk in [
            &b"bleep1.0123456789abcdef.m.abcdefghij.012"[..],
            b"bleep1.0123456789abcdef.m.abcdefghij.",
            b"bleep1.0123456789abcdef.p0",
            b"bleep1.d.nurse jo",
            b"bleep1.0123456789abcdeX.m.abcdefghij.1",
            b"bleep1.\xff",
            b"bleep1.0123456789abcdef.m.abcdefghij.99999999999999999999999",
        ] {
            assert_eq!(message_key(junk), None, "{junk:?}");
        }
    }

    proptest::proptest! {
        /// Any keys and values on the page, ours or not: no panic, and
        /// every row found is a conversation of this person with someone
        /// else.
        #[test]
        fn any_page_reads_without_panic(
            entries in proptest::collection::vec(
                (
                    proptest::prop_oneof![
                        "bleep1\\.[0-9a-f]{16}\\.m\\.[a-z]{10}\\.[0-9]{1,3}",
                        "bleep1\\.d\\.[a-z ]{0,12}",
                        "bleep1\\.[0-9a-f]{16}\\.p[01]",
                        ".{0,20}",
                    ],
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
                ),
                0..40,
            )
        ) {
            let jo = Name::parse("Nurse Jo").unwrap();
            let entries: Vec<(Vec<u8>, Vec<u8>)> =
                entries.into_iter().map(|(k, v)| (k.into_bytes(), v)).collect();
            let rows = rows_from_page(&jo, &entries);
            for (tag, row) in rows.newest_first() {
                let expected = tag_between(&jo, &row.peer);
                proptest::prop_assert_eq!(expected.as_deref(), Some(tag));
            }
        }
    }
}
