//! The data the benchmarks run on: a conversation of any length between
//! "Alice" and "Bob", stored exactly as Bleep stores it (PROTOCOL.md,
//! version 2: announced, sealed and signed with the keys of [`keys`], and
//! shared with the reading device [`READER_DEVICE`]), and unrelated keys of
//! other programs and other conversations.

use std::collections::BTreeMap;

use bleep::core::envelope::ENVELOPE_VERSION;
use bleep::core::trust::{
    message, Announcement, Conversation, DeviceKeys, PersonKeys, Receipt, SeededEntropy,
};
use bleep::core::{DeviceId, Envelope, KeyLayout, Pair};

use crate::util::Rng;

pub const ALICE: &str = "Alice";
pub const BOB: &str = "Bob";
/// The device that wrote Alice's seeded messages.
pub const ALICE_DEVICE: &str = "aaaaaaaaaa";
/// The device that wrote Bob's seeded messages.
pub const BOB_DEVICE: &str = "bbbbbbbbbb";
/// A new device of Alice's (same browser as [`ALICE_DEVICE`]) that the
/// seeded conversation is shared with: the benchmarks' reading window.
pub const READER_DEVICE: &str = "cccccccccc";

/// The keys the seeded conversation is written with: Alice's (one browser,
/// so also the reader's), Bob's, and each device's.
pub struct Keys {
    pub alice: PersonKeys,
    pub bob: PersonKeys,
    pub alice_device: DeviceKeys,
    pub bob_device: DeviceKeys,
    pub reader: DeviceKeys,
}

/// The same keys every time.
pub fn keys() -> Keys {
    let mut rng = SeededEntropy::new(15);
    let mut person = || PersonKeys::generate(&mut rng).expect("seeded keys");
    let (alice, bob) = (person(), person());
    let mut device = || DeviceKeys::generate(&mut rng).expect("seeded keys");
    Keys {
        alice,
        bob,
        alice_device: device(),
        bob_device: device(),
        reader: device(),
    }
}

/// Entries of a store, in insertion order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

const WORDS: &[&str] = &[
    "bed",
    "4",
    "sats",
    "dropping",
    "to",
    "88%",
    "on",
    "2L",
    "please",
    "review",
    "obs",
    "stable",
    "bloods",
    "back",
    "potassium",
    "5.9",
    "repeat",
    "ECG",
    "done",
    "sinus",
    "rhythm",
    "pain",
    "score",
    "3/10",
    "paracetamol",
    "given",
    "family",
    "asking",
    "for",
    "update",
    "discharge",
    "letter",
    "ready",
    "awaiting",
    "pharmacy",
    "chest",
    "x-ray",
    "reported",
    "no",
    "change",
    "fluids",
    "running",
    "at",
    "125ml/h",
    "catheter",
    "output",
    "low",
    "cannula",
    "resited",
    "NEWS",
    "2",
    "thanks",
    "will",
    "come",
    "now",
    "in",
    "10",
    "min",
    "café",
    "naïve",
    "<b>",
    "&",
    "—",
    "ok",
];

/// A message text of 3 to 22 words, some of them needing escapes.
pub fn text(rng: &mut Rng) -> String {
    let n = 3 + rng.below(20) as usize;
    (0..n)
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn pair(me: &str, peer: &str) -> Pair {
    Pair::parse(me, peer).expect("valid names")
}

pub fn device(id: &str) -> DeviceId {
    DeviceId::parse(id).expect("valid device id")
}

/// A settled conversation of `messages` messages, alternating Alice, Bob,
/// Alice, … (so it ends with Bob's message when `messages` is even: Alice's
/// turn), each side's record showing every message read by the other, and
/// `__waiting__` holding the last sender's side, sealed with [`keys`] as
/// version 2 stores it, with both devices' announcements and their shares
/// with [`READER_DEVICE`]. Starts at `t0` ms, one message a minute.
pub fn conversation(messages: u64, seed: u64, t0: u64) -> Entries {
    let keys = keys();
    let pair = pair(ALICE, BOB);
    let conv = Conversation::new(&pair.me, &pair.peer, None);
    let layout = KeyLayout::v2(&pair, conv.prefix());
    let alice = device(ALICE_DEVICE);
    let bob = device(BOB_DEVICE);
    let reader = device(READER_DEVICE);
    let mut rng = Rng::new(seed);
    let mut entropy = SeededEntropy::new(seed);
    let mut entries = Entries::with_capacity(messages as usize + 7);
    let sides = [
        (&alice, &keys.alice, &keys.alice_device, &pair.me),
        (&bob, &keys.bob, &keys.bob_device, &pair.peer),
    ];
    for (dev, person, device_keys, name) in sides {
        let side = conv.side_of(name).expect("one of the pair");
        let announcement = Announcement::write(&conv, dev, side, &person.identity, &device_keys.device_key);
        entries.push((layout.announcement(dev).into_bytes(), announcement.into_bytes()));
        let sender_key = device_keys.current().expect("a sender key");
        let share = sender_key
            .share(
                &conv,
                dev,
                &person.identity,
                &device_keys.device_key,
                &reader,
                &keys.reader.device_key.public(),
                &mut entropy,
            )
            .expect("a share");
        entries.push((
            layout.share(dev, &reader, sender_key.epoch()).into_bytes(),
            share.into_bytes(),
        ));
    }
    let (mut alice_head, mut bob_head) = (0, 0);
    let mut last_sender = "";
    for i in 0..messages {
        let (name, dev, head, person, device_keys) = if i % 2 == 0 {
            (ALICE, &alice, &mut alice_head, &keys.alice, &keys.alice_device)
        } else {
            (BOB, &bob, &mut bob_head, &keys.bob, &keys.bob_device)
        };
        *head += 1;
        // The inner envelope (PROTOCOL.md, "Message").
        let inner = serde_json::json!({
            "n": name,
            "c": i + 1,
            "t": t0 + i * 60_000,
            "x": text(&mut rng),
        });
        let sealed = message::seal(
            inner.to_string().as_bytes(),
            &conv,
            dev,
            *head,
            device_keys.current().expect("a sender key"),
            &person.identity,
            &mut entropy,
        )
        .expect("sealed");
        entries.push((layout.message(dev, *head).into_bytes(), sealed.into_bytes()));
        last_sender = name;
    }
    let mut record = |dev: &DeviceId, head: u64, other: &DeviceId, seen: u64, person: &PersonKeys, device_keys: &DeviceKeys| {
        let mut receipt = Receipt {
            revision: 1,
            head,
            ..Receipt::default()
        };
        if seen > 0 {
            receipt.seen.insert(other.clone(), seen);
        }
        let sealed = receipt
            .seal(
                &conv,
                dev,
                device_keys.current().expect("a sender key"),
                &person.identity,
                &mut entropy,
            )
            .expect("sealed");
        let entries: BTreeMap<&str, String> = [(dev.as_str(), sealed)].into_iter().collect();
        serde_json::to_vec(&entries).expect("JSON")
    };
    // "alice" sorts before "bob": Alice's record is p0, which is Alice's my_record.
    let alice_record = record(&alice, alice_head, &bob, bob_head, &keys.alice, &keys.alice_device);
    let bob_record = record(&bob, bob_head, &alice, alice_head, &keys.bob, &keys.bob_device);
    entries.push((layout.my_record().into_bytes(), alice_record));
    entries.push((layout.peer_record().into_bytes(), bob_record));
    if !last_sender.is_empty() {
        // The side of the last sender (these are Alice's keys).
        let value = layout.waiting_value(last_sender == ALICE);
        entries.push((layout.waiting().into_bytes(), value));
    }
    entries
}

/// `count` keys that are not Alice and Bob's: other conversations' messages
/// and records, and what course clients keep (status flags, last messages).
pub fn unrelated(count: u64, seed: u64) -> Entries {
    let mut rng = Rng::new(seed);
    let mut entries = Entries::with_capacity(count as usize);
    let names = [
        "Carol", "Dan", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj",
    ];
    let mut i = 0;
    while (entries.len() as u64) < count {
        let a = names[(i / 7) % names.len()];
        let b = names[(i / 7 + 1 + i % 3) % names.len()];
        if a != b {
            let keys = pair(a, b).keys();
            let dev = device(&format!("{}{}", ["c", "d", "e", "f"][i % 4], "zzzzzzzzz"));
            let seq = (i as u64) + 1;
            let envelope = Envelope {
                version: ENVELOPE_VERSION,
                from: a.to_owned(),
                device: dev.clone(),
                seq,
                clock: seq,
                sent_at: 1_764_000_000_000 + seq,
                text: text(&mut rng),
            };
            entries.push((keys.message(&dev, seq).into_bytes(), envelope.encode()));
        }
        if i % 5 == 0 && (entries.len() as u64) < count {
            entries.push((
                format!("nurse{i}").into_bytes(),
                format!("ward {} status {}", i % 40, text(&mut rng)).into_bytes(),
            ));
        }
        i += 1;
    }
    entries.truncate(count as usize);
    entries
}

/// Bytes of a store's keys and values together.
pub fn size(entries: &Entries) -> usize {
    entries.iter().map(|(k, v)| k.len() + v.len()).sum()
}
