//! The data the benchmarks run on: a conversation of any length between
//! "Alice" and "Bob", stored exactly as Bleep stores it (PROTOCOL.md), and
//! unrelated keys of other programs and other conversations.

use bleep::core::envelope::{Record, ENVELOPE_VERSION};
use bleep::core::small_map::SmallMap;
use bleep::core::{DeviceId, Envelope, Pair};

use crate::util::Rng;

pub const ALICE: &str = "Alice";
pub const BOB: &str = "Bob";
/// The device that wrote Alice's seeded messages.
pub const ALICE_DEVICE: &str = "aaaaaaaaaa";
/// The device that wrote Bob's seeded messages.
pub const BOB_DEVICE: &str = "bbbbbbbbbb";

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
/// `__waiting__` holding the last sender's side. Starts at `t0` ms, one message a
/// minute.
pub fn conversation(messages: u64, seed: u64, t0: u64) -> Entries {
    let keys = pair(ALICE, BOB).keys();
    let alice = device(ALICE_DEVICE);
    let bob = device(BOB_DEVICE);
    let mut rng = Rng::new(seed);
    let mut entries = Entries::with_capacity(messages as usize + 3);
    let (mut alice_head, mut bob_head) = (0, 0);
    let mut last_sender = "";
    for i in 0..messages {
        let (name, dev, head) = if i % 2 == 0 {
            (ALICE, &alice, &mut alice_head)
        } else {
            (BOB, &bob, &mut bob_head)
        };
        *head += 1;
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            from: name.to_owned(),
            device: dev.clone(),
            seq: *head,
            clock: i + 1,
            sent_at: t0 + i * 60_000,
            text: text(&mut rng),
            urgent: false,
            unanswered: None,
            original_at: None,
        };
        entries.push((keys.message(dev, *head).into_bytes(), envelope.encode()));
        last_sender = name;
    }
    let record = |own: &DeviceId, head: u64, other: &DeviceId, seen: u64| Record {
        heads: if head > 0 {
            SmallMap::from_iter([(own.clone(), head)])
        } else {
            SmallMap::new()
        },
        seen: SmallMap::from_iter([(
            own.clone(),
            if seen > 0 {
                SmallMap::from_iter([(other.clone(), seen)])
            } else {
                SmallMap::new()
            },
        )]),
    };
    // "alice" sorts before "bob": Alice's record is p0, which is Alice's my_record.
    let alice_keys = pair(ALICE, BOB).keys();
    entries.push((
        alice_keys.my_record().into_bytes(),
        record(&alice, alice_head, &bob, bob_head).encode(),
    ));
    entries.push((
        alice_keys.peer_record().into_bytes(),
        record(&bob, bob_head, &alice, alice_head).encode(),
    ));
    if !last_sender.is_empty() {
        // The side of the last sender (these are Alice's keys).
        let value = keys.waiting_value(last_sender == ALICE);
        entries.push((keys.waiting().into_bytes(), value));
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
                urgent: false,
                unanswered: None,
                original_at: None,
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
