//! The data the benchmarks run on: a conversation of any length between
//! "Alice" and "Bob", stored exactly as Bleep stores it (PROTOCOL.md),
//! one person's many conversations for the inbox, and unrelated keys of
//! other programs and other conversations.

use bleep::core::directory::{entry_key, Entry};
use bleep::core::envelope::{Record, ENVELOPE_VERSION};
use bleep::core::inbox::bell::Doorbell;
use bleep::core::inbox::keys::doorbell_key;
use bleep::core::small_map::SmallMap;
use bleep::core::{DeviceId, Envelope, Name, Pair};

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
    conversation_between(
        (ALICE, &device(ALICE_DEVICE)),
        (BOB, &device(BOB_DEVICE)),
        messages,
        seed,
        t0,
    )
}

/// A settled conversation between `first` and `second` (each a name and
/// the device that wrote its messages), as [`conversation`] describes: the
/// messages alternate, `first` writing the first one.
pub fn conversation_between(
    first: (&str, &DeviceId),
    second: (&str, &DeviceId),
    messages: u64,
    seed: u64,
    t0: u64,
) -> Entries {
    let (first_name, first_device) = first;
    let (second_name, second_device) = second;
    let keys = pair(first_name, second_name).keys();
    let mut rng = Rng::new(seed);
    let mut entries = Entries::with_capacity(messages as usize + 3);
    let (mut first_head, mut second_head) = (0, 0);
    let mut last_is_first = None;
    for i in 0..messages {
        let (name, dev, head) = if i % 2 == 0 {
            (first_name, first_device, &mut first_head)
        } else {
            (second_name, second_device, &mut second_head)
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
        last_is_first = Some(i % 2 == 0);
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
    // The keys are `first`'s: `my_record` is first's record, whichever
    // side (p0 or p1) the names sort to.
    entries.push((
        keys.my_record().into_bytes(),
        record(first_device, first_head, second_device, second_head).encode(),
    ));
    entries.push((
        keys.peer_record().into_bytes(),
        record(second_device, second_head, first_device, first_head).encode(),
    ));
    if let Some(mine) = last_is_first {
        // The side of the last sender.
        entries.push((keys.waiting().into_bytes(), keys.waiting_value(mine)));
    }
    entries
}

/// The person whose inbox the inbox benchmark reads.
pub const JO: &str = "Nurse Jo";
/// The device that wrote Jo's seeded messages.
pub const JO_DEVICE: &str = "jjjjjjjjjj";

/// The `i`-th of Jo's colleagues (up to 50 distinct names).
pub fn colleague(i: usize) -> String {
    const ROLES: [&str; 5] = ["Dr", "Nurse", "Sister", "Pharmacist", "Physio"];
    const NAMES: [&str; 10] = [
        "Patel", "Okafor", "Nguyen", "Kowalski", "Murphy", "Haddad", "Larsen", "Santos", "Ito",
        "Brennan",
    ];
    let name = format!(
        "{} {}",
        ROLES[(i / NAMES.len()) % ROLES.len()],
        NAMES[i % NAMES.len()]
    );
    if i < ROLES.len() * NAMES.len() {
        name
    } else {
        format!("{name} {i}")
    }
}

/// The device that wrote the `i`-th colleague's messages: ten lower-case
/// letters, distinct for each colleague.
pub fn colleague_device(i: usize) -> DeviceId {
    let a = (b'a' + (i / 26 % 26) as u8) as char;
    let b = (b'a' + (i % 26) as u8) as char;
    device(&format!("{a}{b}qqqqqqqq"))
}

/// Jo's store for the inbox benchmark: `conversations` settled
/// conversations of Jo with a colleague each (`messages` messages among
/// them, Jo writing first in each, so each ends with the colleague's
/// message when the share is even), a directory entry for each person, Jo's
/// doorbell as it stands between rings (empty), and `unrelated` keys of
/// other programs and conversations, half before and half after Jo's.
pub fn inbox_store(conversations: usize, messages: u64, unrelated_keys: u64) -> Entries {
    let per = messages / conversations.max(1) as u64;
    let jo_device = device(JO_DEVICE);
    let mut entries = unrelated(unrelated_keys / 2, 17);
    for i in 0..conversations {
        let peer = colleague(i);
        entries.extend(conversation_between(
            (JO, &jo_device),
            (&peer, &colleague_device(i)),
            per,
            1_000 + i as u64,
            1_764_000_000_000 + i as u64 * 1_000,
        ));
    }
    for person in std::iter::once(JO.to_owned()).chain((0..conversations).map(colleague)) {
        let name = Name::parse(&person).expect("valid names");
        entries.push((entry_key(&name).into_bytes(), Entry::new(&name).encode()));
    }
    let jo = Name::parse(JO).expect("a valid name");
    entries.push((doorbell_key(&jo).into_bytes(), Doorbell::new().encode()));
    entries.extend(
        unrelated(unrelated_keys - unrelated_keys / 2, 19)
            .into_iter()
            .map(|(mut k, v)| {
                k.extend_from_slice(b".late");
                (k, v)
            }),
    );
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
