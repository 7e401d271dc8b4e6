//! The attacker of issue 15: someone with nothing but HTTP access to the
//! store, acting between the clinicians' requests on a schedule drawn from
//! the seed.
//!
//! Each action is one of:
//! - **alter** a character of any stored value of the conversation, or
//!   **truncate** it;
//! - **replay** an older value it saw under the same key (a record, the
//!   turn key, or a message it altered earlier), deleted keys included;
//! - **move** a value to another key: another sequence number, another
//!   device, the other record, another device's announcement or share;
//! - **delete** a key, or (rarely) **clear** the whole store;
//! - **raise** read receipts in a record: in version 1 by raising the
//!   numbers, in version 2 by sealing its own receipt under a real device,
//!   moving or replaying another device's entry, altering one, or putting
//!   a plain version 1 record in its place;
//! - **forge** a message under a real device, sealed with its own keys
//!   (in version 2 now and then a plain version 1 envelope instead);
//!   a **new device** announcing itself for one participant's side with
//!   its own identity key (with its shares, messages and a receipt that
//!   claims its head and nothing read); a **substitute** announcement of a
//!   real device with its own keys, a new epoch shared with every device,
//!   and messages and receipts under it; and values sealed for **another
//!   conversation**;
//! - flip the turn key.
//!
//! A new device's receipt never claims that anything was read: a device
//! accepted on first use's terms could make *read* show as well, and
//! invariant (b) allows no exception.
//!
//! Forging as a new device is what trust on first use cannot refuse: it is
//! only done once every window of the other person has shown a message of
//! the forged side (so a real identity is pinned and the forged one is
//! announced as changed), and a substitute only once every other window
//! has shown a message of that device (so its real announcement is
//! pinned). Before that, either would be posing as someone at first
//! contact, which PROTOCOL.md says version 2 does not protect.
//!
//! Values that no check may accept under the key they sit at (altered, cut
//! short, moved, from another conversation, sealed with the attacker's key
//! under a real device's epoch 1) are marked as tainted on the server, so
//! that the simulation can tell which windows read one.

use std::collections::{BTreeMap, BTreeSet};

use bleep::core::envelope::{Envelope, Record, ENVELOPE_VERSION};
use bleep::core::participants::KeyKind;
use bleep::core::trust::{
    message, Announcement, Conversation, DeviceKey, IdentityKey, Receipt, RustCrypto,
    SeededEntropy, SenderKey, Side,
};
use bleep::core::{DeviceId, KeyLayout, Name};

use super::{CourseServer, Rng};

/// The epoch of the substitute keys: far above any real one.
const SUBSTITUTE_EPOCH: u32 = 1_000;

/// How many of each action the attacker took.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    pub altered: u32,
    pub truncated: u32,
    pub replayed: u32,
    pub moved: u32,
    pub deleted: u32,
    pub cleared: u32,
    pub raised: u32,
    pub forged: u32,
    pub new_devices: u32,
    pub substituted: u32,
    pub foreign: u32,
    pub turn_flipped: u32,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.altered += other.altered;
        self.truncated += other.truncated;
        self.replayed += other.replayed;
        self.moved += other.moved;
        self.deleted += other.deleted;
        self.cleared += other.cleared;
        self.raised += other.raised;
        self.forged += other.forged;
        self.new_devices += other.new_devices;
        self.substituted += other.substituted;
        self.foreign += other.foreign;
        self.turn_flipped += other.turn_flipped;
    }
}

/// What the simulation tells the attacker before each action: only used
/// to keep it out of first contact (see the module documentation).
pub struct Context<'a> {
    /// Devices whose messages every other window has shown.
    pub pinned_everywhere: &'a BTreeSet<DeviceId>,
    /// Per side: whether every window of the other side has shown a
    /// message of a real device of this side.
    pub side_known: [bool; 2],
}

/// A key of the conversation, as the attacker sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Slot {
    Waiting,
    Record(usize),
    Message(DeviceId, u64),
    Announcement(DeviceId),
    Share(DeviceId, DeviceId, u32),
}

/// A device the attacker made up.
struct Forged {
    device: DeviceId,
    side: usize,
    head: u64,
    revision: u64,
}

/// See the module documentation.
pub struct Attacker {
    rng: Rng,
    entropy: SeededEntropy,
    mean_gap: u64,
    /// When it acts next.
    pub next_at: u64,
    layout: KeyLayout,
    v2: bool,
    conversation: Conversation,
    foreign: Conversation,
    /// The two participants as typed, by side.
    names: [String; 2],
    /// Its own identity for each side (one key never speaks for both).
    identities: [IdentityKey; 2],
    device_key: DeviceKey,
    sender_key: SenderKey,
    substitute_key: SenderKey,
    forged: Vec<Forged>,
    /// Every value seen under each key, oldest first.
    history: BTreeMap<Vec<u8>, Vec<Vec<u8>>>,
    texts: u32,
    pub tally: Tally,
}

impl Attacker {
    /// An attacker of the conversation of `names` (either order), whose
    /// keys the clinicians' windows use as `layout`.
    pub fn new(seed: u64, layout: &KeyLayout, names: [&Name; 2]) -> Attacker {
        let mut rng = Rng::new(seed ^ 0xa77a_c4e5);
        let mut entropy = SeededEntropy::new(seed);
        let names = if names[0].normal() <= names[1].normal() {
            names
        } else {
            [names[1], names[0]]
        };
        let conversation = Conversation::new(names[0], names[1], None);
        let carol = Name::parse("Carol Jones").expect("a valid name");
        let foreign = Conversation::new(names[0], &carol, None);
        let identity = |e: &mut SeededEntropy| {
            IdentityKey::generate(e, &mut RustCrypto).expect("seeded bytes")
        };
        let identities = [identity(&mut entropy), identity(&mut entropy)];
        let device_key = DeviceKey::generate(&mut entropy, &mut RustCrypto).expect("seeded bytes");
        let sender_key = SenderKey::generate(1, &mut entropy).expect("seeded bytes");
        let substitute_key =
            SenderKey::generate(SUBSTITUTE_EPOCH, &mut entropy).expect("seeded bytes");
        let mean_gap = [700, 2_000, 5_000][rng.below(3) as usize];
        let next_at = rng.below(2 * mean_gap);
        Attacker {
            rng,
            entropy,
            mean_gap,
            next_at,
            layout: layout.clone(),
            v2: layout.prefix().starts_with("bleep2."),
            conversation,
            foreign,
            names: [names[0].typed().to_owned(), names[1].typed().to_owned()],
            identities,
            device_key,
            sender_key,
            substitute_key,
            forged: Vec::new(),
            history: BTreeMap::new(),
            texts: 0,
            tally: Tally::default(),
        }
    }

    /// Remembers the values now in the store (the attacker reads it as
    /// often as it likes).
    pub fn observe(&mut self, server: &CourseServer) {
        for (key, value) in &server.store {
            let seen = self.history.entry(key.clone()).or_default();
            if seen.last() != Some(value) {
                seen.push(value.clone());
                if seen.len() > 8 {
                    seen.remove(0);
                }
            }
        }
    }

    /// Takes one action, and schedules the next.
    pub fn act(&mut self, now: u64, server: &mut CourseServer, ctx: &Context) {
        self.next_at = now + 1 + self.rng.below(2 * self.mean_gap);
        self.observe(server);
        match self.rng.below(100) {
            0..=13 => self.alter(server),
            14..=19 => self.truncate(server),
            20..=30 => self.replay(server),
            31..=42 => self.move_value(server),
            43..=51 => self.delete(server),
            52 => {
                if self.rng.chance(300) {
                    server.store.clear();
                    self.tally.cleared += 1;
                }
            }
            53..=65 => self.raise(server),
            66..=74 => self.forge_under_real_device(server),
            75..=83 => self.forge_device(server, ctx),
            84..=89 => self.substitute(server, ctx),
            90..=96 => self.foreign_value(server),
            _ => self.flip_turn(server),
        }
    }

    fn slot(&self, key: &[u8]) -> Option<Slot> {
        let rest = key.strip_prefix(self.layout.prefix().as_bytes())?;
        match rest {
            b"p0" => return Some(Slot::Record(0)),
            b"p1" => return Some(Slot::Record(1)),
            _ => {}
        }
        Some(match self.layout.classify(key)? {
            KeyKind::Waiting => Slot::Waiting,
            KeyKind::Message(d, s) => Slot::Message(d, s),
            KeyKind::Announcement(d) => Slot::Announcement(d),
            KeyKind::Share {
                sender,
                recipient,
                epoch,
            } => Slot::Share(sender, recipient, epoch),
            KeyKind::MyRecord | KeyKind::PeerRecord => return None,
        })
    }

    fn key_of(&self, slot: &Slot) -> String {
        let p = self.layout.prefix();
        match slot {
            Slot::Waiting => self.layout.waiting(),
            Slot::Record(side) => format!("{p}p{side}"),
            Slot::Message(d, s) => format!("{p}m.{d}.{s}"),
            Slot::Announcement(d) => format!("{p}k.{d}"),
            Slot::Share(s, r, e) => format!("{p}x.{s}.{r}.{e}"),
        }
    }

    /// The conversation's keys now in the store, with what they hold.
    fn slots(&self, server: &CourseServer) -> Vec<(Vec<u8>, Slot)> {
        server
            .store
            .iter()
            .filter_map(|(k, _)| Some((k.clone(), self.slot(k)?)))
            .collect()
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.rng.below(items.len() as u64) as usize].clone())
    }

    fn is_forged(&self, device: &DeviceId) -> bool {
        self.forged.iter().any(|f| &f.device == device)
    }

    /// The clinicians' devices the store shows (not the attacker's own).
    fn real_devices(&self, server: &CourseServer) -> Vec<DeviceId> {
        let mut devices = BTreeSet::new();
        for (_, slot) in self.slots(server) {
            match slot {
                Slot::Message(d, _) | Slot::Announcement(d) => {
                    devices.insert(d);
                }
                _ => {}
            }
        }
        devices.retain(|d| !self.is_forged(d));
        devices.into_iter().collect()
    }

    /// Which side a device speaks for, as far as the store says.
    fn side_of(&self, server: &CourseServer, device: &DeviceId) -> Option<usize> {
        if let Some(f) = self.forged.iter().find(|f| &f.device == device) {
            return Some(f.side);
        }
        if self.v2 {
            let key = self.key_of(&Slot::Announcement(device.clone()));
            let text = std::str::from_utf8(server.value(key.as_bytes())?).ok()?;
            let a = Announcement::read(text, &self.conversation, device, &mut RustCrypto).ok()?;
            return Some(usize::from(a.side == Side::Second));
        }
        (0..2).find(|&side| {
            let key = self.key_of(&Slot::Record(side));
            server
                .value(key.as_bytes())
                .and_then(Record::decode)
                .is_some_and(|r| r.heads.contains_key(device))
        })
    }

    fn head_of(&self, server: &CourseServer, device: &DeviceId) -> u64 {
        self.slots(server)
            .into_iter()
            .filter_map(|(_, slot)| match slot {
                Slot::Message(d, s) if &d == device => Some(s),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    fn put(&mut self, server: &mut CourseServer, key: &[u8], value: Vec<u8>, tainted: bool) {
        if tainted {
            server.tainted.insert((key.to_vec(), value.clone()));
        }
        match server.store.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => server.store.push((key.to_vec(), value)),
        }
    }

    /// Whether a value the attacker made up under `slot` must fail every
    /// check there, and so is worth noticing (messages only: see the
    /// simulation's invariant (d)).
    fn taints(slot: &Slot) -> bool {
        matches!(slot, Slot::Message(..))
    }

    fn alter(&mut self, server: &mut CourseServer) {
        let slots = self.slots(server);
        let Some((key, slot)) = self.pick(&slots) else {
            return;
        };
        let mut value = server.value(&key).unwrap_or_default().to_vec();
        if value.len() < 2 {
            return;
        }
        // Past the first few characters: in version 2 those name the
        // version, kind and epoch, which a reader needs to check a value.
        let from = if value.len() > 12 { 8 } else { 0 };
        let at = from + self.rng.below((value.len() - from) as u64) as usize;
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut byte = ALPHABET[self.rng.below(ALPHABET.len() as u64) as usize];
        if byte == value[at] {
            byte = if byte == b'A' { b'B' } else { b'A' };
        }
        value[at] = byte;
        self.put(server, &key, value, Self::taints(&slot));
        self.tally.altered += 1;
    }

    fn truncate(&mut self, server: &mut CourseServer) {
        let slots = self.slots(server);
        let Some((key, slot)) = self.pick(&slots) else {
            return;
        };
        let mut value = server.value(&key).unwrap_or_default().to_vec();
        if value.len() < 2 {
            return;
        }
        let len = 1 + self.rng.below(value.len() as u64 - 1) as usize;
        value.truncate(len);
        self.put(server, &key, value, Self::taints(&slot) && len >= 12);
        self.tally.truncated += 1;
    }

    fn replay(&mut self, server: &mut CourseServer) {
        let candidates: Vec<(Vec<u8>, Vec<u8>)> = self
            .history
            .iter()
            .filter(|(k, _)| self.slot(k).is_some())
            .flat_map(|(k, values)| {
                let now = server.value(k).map(<[u8]>::to_vec);
                values
                    .iter()
                    .filter(move |v| Some(*v) != now.as_ref())
                    .map(move |v| (k.clone(), v.clone()))
            })
            .collect();
        let Some((key, value)) = self.pick(&candidates) else {
            return;
        };
        // A value the attacker made up stays as tainted as it was.
        self.put(server, &key, value, false);
        self.tally.replayed += 1;
    }

    fn move_value(&mut self, server: &mut CourseServer) {
        let slots = self.slots(server);
        let Some((key, slot)) = self.pick(&slots) else {
            return;
        };
        let devices = self.real_devices(server);
        let other = |me: &DeviceId, rng: &mut Rng| {
            let others: Vec<&DeviceId> = devices.iter().filter(|d| *d != me).collect();
            (!others.is_empty()).then(|| others[rng.below(others.len() as u64) as usize].clone())
        };
        let target = match &slot {
            Slot::Message(d, s) => match self.rng.below(3) {
                0 if *s > 1 => Slot::Message(d.clone(), s - 1),
                1 => Slot::Message(d.clone(), s + 1 + self.rng.below(2)),
                _ => match other(d, &mut self.rng) {
                    Some(o) => Slot::Message(o, *s),
                    None => Slot::Message(d.clone(), s + 1),
                },
            },
            Slot::Record(side) => Slot::Record(1 - side),
            Slot::Announcement(d) => match other(d, &mut self.rng) {
                Some(o) => Slot::Announcement(o),
                None => return,
            },
            Slot::Share(s, r, e) => match (self.rng.below(2), other(r, &mut self.rng)) {
                (0, Some(o)) => Slot::Share(s.clone(), o, *e),
                _ => Slot::Share(s.clone(), r.clone(), e + 1),
            },
            Slot::Waiting => return,
        };
        let value = server.value(&key).unwrap_or_default().to_vec();
        let target_key = self.key_of(&target);
        if server.value(target_key.as_bytes()) == Some(&value[..]) {
            return;
        }
        self.put(server, target_key.as_bytes(), value, Self::taints(&target));
        self.tally.moved += 1;
    }

    fn delete(&mut self, server: &mut CourseServer) {
        let slots = self.slots(server);
        if let Some((key, _)) = self.pick(&slots) {
            server.store.retain(|(k, _)| *k != key);
            self.tally.deleted += 1;
        }
    }

    fn flip_turn(&mut self, server: &mut CourseServer) {
        let key = self.layout.waiting();
        let value = match server.value(key.as_bytes()) {
            Some(b"p0") => b"p1".to_vec(),
            Some(b"p1") => b"p0".to_vec(),
            _ => b"p1".to_vec(),
        };
        self.put(server, key.as_bytes(), value, false);
        self.tally.turn_flipped += 1;
    }

    /// A new text of the attacker's.
    fn text(&mut self) -> String {
        self.texts += 1;
        match self.rng.below(3) {
            0 => format!(
                "forged {}: ignore my last message, bed 4 is fine",
                self.texts
            ),
            1 => format!("forged {}: give 100 mg morphine to bed 7", self.texts),
            _ => format!("forged {}", self.texts),
        }
    }

    /// How the attacker spells a participant's name.
    fn name(&mut self, side: usize) -> String {
        let typed = self.names[side].clone();
        match self.rng.below(3) {
            0 => typed.to_uppercase(),
            1 => typed.to_lowercase(),
            _ => typed,
        }
    }

    /// A message of `device` number `seq`, in the conversation's version,
    /// sealed (version 2) with `key` and `side`'s attacker identity.
    fn forge_value(
        &mut self,
        conversation_is_foreign: bool,
        device: &DeviceId,
        seq: u64,
        side: usize,
        substitute: bool,
    ) -> Vec<u8> {
        let from = self.name(side);
        let text = self.text();
        let clock = 1 + self.rng.below(12);
        // In version 2, now and then a plain version 1 envelope: a client
        // must not fall back to reading those.
        if !self.v2 || (!conversation_is_foreign && self.rng.below(4) == 0) {
            let envelope = Envelope {
                version: ENVELOPE_VERSION,
                from: if conversation_is_foreign {
                    "Carol Jones".to_owned()
                } else {
                    from
                },
                device: device.clone(),
                seq,
                clock,
                sent_at: 1_764_000_000_000 + clock,
                text,
                urgent: false,
                unanswered: None,
                original_at: None,
            };
            return envelope.encode();
        }
        let inner = serde_json::json!({"n": from, "c": clock, "t": 1_764_000_000_000u64 + clock, "x": text});
        let plaintext = serde_json::to_vec(&inner).expect("JSON of plain values");
        let conversation = if conversation_is_foreign {
            &self.foreign
        } else {
            &self.conversation
        };
        let key = if substitute {
            &self.substitute_key
        } else {
            &self.sender_key
        };
        message::seal(
            &plaintext,
            conversation,
            device,
            seq,
            key,
            &self.identities[side],
            &mut self.entropy,
            &mut RustCrypto,
        )
        .expect("seeded bytes")
        .into_bytes()
    }

    fn forge_under_real_device(&mut self, server: &mut CourseServer) {
        let devices = self.real_devices(server);
        let Some(device) = self.pick(&devices) else {
            return;
        };
        let side = self
            .side_of(server, &device)
            .unwrap_or(self.rng.below(2) as usize);
        let head = self.head_of(server, &device);
        let seq = 1 + self.rng.below(head + 2);
        let value = self.forge_value(false, &device, seq, side, false);
        let key = self.key_of(&Slot::Message(device, seq));
        self.put(server, key.as_bytes(), value, self.v2);
        self.tally.forged += 1;
    }

    fn foreign_value(&mut self, server: &mut CourseServer) {
        let devices = self.real_devices(server);
        let Some(device) = self.pick(&devices) else {
            return;
        };
        let side = self.side_of(server, &device).unwrap_or(0);
        if self.v2 && self.rng.below(2) == 0 {
            // An announcement of a real device, signed for another
            // conversation.
            let side_byte = if side == 0 { Side::First } else { Side::Second };
            let value = Announcement::write(
                &self.foreign,
                &device,
                side_byte,
                &self.identities[side],
                &self.device_key,
                &mut RustCrypto,
            )
            .expect("the crates sign at once");
            let key = self.key_of(&Slot::Announcement(device));
            self.put(server, key.as_bytes(), value.into_bytes(), false);
        } else {
            let seq = 1 + self.rng.below(self.head_of(server, &device) + 1);
            let value = self.forge_value(true, &device, seq, side, false);
            let key = self.key_of(&Slot::Message(device, seq));
            self.put(server, key.as_bytes(), value, true);
        }
        self.tally.foreign += 1;
    }

    /// Version 2: shares the attacker's `key` as `sender` with every real
    /// device whose announcement the store holds.
    fn share_everywhere(
        &mut self,
        server: &mut CourseServer,
        sender: &DeviceId,
        side: usize,
        key: &SenderKey,
    ) {
        for recipient in self.real_devices(server) {
            if &recipient == sender {
                continue;
            }
            let announcement = self.key_of(&Slot::Announcement(recipient.clone()));
            let Some(text) = server
                .value(announcement.as_bytes())
                .and_then(|v| std::str::from_utf8(v).ok())
            else {
                continue;
            };
            let Ok(a) = Announcement::read(text, &self.conversation, &recipient, &mut RustCrypto)
            else {
                continue;
            };
            let Ok(share) = key.share(
                &self.conversation,
                sender,
                &self.identities[side],
                &self.device_key,
                &recipient,
                &a.device_key,
                &mut self.entropy,
                &mut RustCrypto,
            ) else {
                continue;
            };
            let slot = Slot::Share(sender.clone(), recipient, key.epoch());
            let share_key = self.key_of(&slot);
            self.put(server, share_key.as_bytes(), share.into_bytes(), false);
        }
    }

    /// Version 2: puts `receipt` for `device` in `side`'s record.
    fn put_receipt(
        &mut self,
        server: &mut CourseServer,
        side: usize,
        device: &DeviceId,
        receipt: &Receipt,
        key: &SenderKey,
        identity_side: usize,
    ) {
        let record_key = self.key_of(&Slot::Record(side));
        let mut record: BTreeMap<String, String> = server
            .value(record_key.as_bytes())
            .and_then(|v| serde_json::from_slice(v).ok())
            .unwrap_or_default();
        let Ok(sealed) = receipt.seal(
            &self.conversation,
            device,
            key,
            &self.identities[identity_side],
            &mut self.entropy,
            &mut RustCrypto,
        ) else {
            return;
        };
        record.insert(device.as_str().to_owned(), sealed);
        let value = serde_json::to_vec(&record).expect("JSON of strings");
        self.put(server, record_key.as_bytes(), value, false);
    }

    /// A device of the attacker's, posing as a new browser of one side.
    fn forge_device(&mut self, server: &mut CourseServer, ctx: &Context) {
        let sides: Vec<usize> = (0..2).filter(|&s| ctx.side_known[s]).collect();
        let Some(side) = self.pick(&sides) else {
            return;
        };
        // More messages from a device already made, or a new one.
        let index = match self.forged.iter().position(|f| f.side == side) {
            Some(i) if self.rng.below(2) == 0 => i,
            _ => {
                let device = DeviceId::from_random(|| self.rng.next() as u32);
                self.forged.push(Forged {
                    device,
                    side,
                    head: 0,
                    revision: 0,
                });
                self.forged.len() - 1
            }
        };
        let device = self.forged[index].device.clone();
        let seq = self.forged[index].head + 1;
        self.forged[index].head = seq;
        self.forged[index].revision += 1;
        let revision = self.forged[index].revision;
        let value = self.forge_value(false, &device, seq, side, false);
        let key = self.key_of(&Slot::Message(device.clone(), seq));
        self.put(server, key.as_bytes(), value, false);
        if self.v2 {
            // Now and then with the other side's identity, which no screen
            // may accept for this side.
            let identity_side = if self.rng.chance(100) { 1 - side } else { side };
            let announcement = Announcement::write(
                &self.conversation,
                &device,
                if side == 0 { Side::First } else { Side::Second },
                &self.identities[identity_side],
                &self.device_key,
                &mut RustCrypto,
            )
            .expect("the crates sign at once");
            let key = self.key_of(&Slot::Announcement(device.clone()));
            self.put(server, key.as_bytes(), announcement.into_bytes(), false);
            let sender_key = self.sender_key.clone();
            self.share_everywhere(server, &device, identity_side, &sender_key);
            let receipt = Receipt {
                revision,
                head: seq,
                ..Receipt::default()
            };
            self.put_receipt(server, side, &device, &receipt, &sender_key, identity_side);
        } else {
            let record_key = self.key_of(&Slot::Record(side));
            let mut record = server
                .value(record_key.as_bytes())
                .and_then(Record::decode)
                .unwrap_or_default();
            record.heads.insert(device, seq);
            self.put(server, record_key.as_bytes(), record.encode(), false);
        }
        self.tally.new_devices += 1;
    }

    /// The attacker's own announcement under a real device, a new epoch
    /// shared with everyone, and a message and a receipt under it.
    fn substitute(&mut self, server: &mut CourseServer, ctx: &Context) {
        let devices: Vec<DeviceId> = self
            .real_devices(server)
            .into_iter()
            .filter(|d| ctx.pinned_everywhere.contains(d))
            .collect();
        let Some(device) = self.pick(&devices) else {
            return;
        };
        let Some(side) = self.side_of(server, &device) else {
            return;
        };
        let seq = self.head_of(server, &device) + 1;
        let value = self.forge_value(false, &device, seq, side, true);
        let key = self.key_of(&Slot::Message(device.clone(), seq));
        self.put(server, key.as_bytes(), value, false);
        if self.v2 {
            let announcement = Announcement::write(
                &self.conversation,
                &device,
                if side == 0 { Side::First } else { Side::Second },
                &self.identities[side],
                &self.device_key,
                &mut RustCrypto,
            )
            .expect("the crates sign at once");
            let key = self.key_of(&Slot::Announcement(device.clone()));
            self.put(server, key.as_bytes(), announcement.into_bytes(), false);
            let substitute_key = self.substitute_key.clone();
            self.share_everywhere(server, &device, side, &substitute_key);
            let receipt = self.everything_read(server, seq);
            self.put_receipt(server, side, &device, &receipt, &substitute_key, side);
        }
        self.tally.substituted += 1;
    }

    /// A receipt claiming that every message in the store was read.
    fn everything_read(&mut self, server: &CourseServer, head: u64) -> Receipt {
        let mut seen = BTreeMap::new();
        for (_, slot) in self.slots(server) {
            if let Slot::Message(d, s) = slot {
                let n = seen.entry(d).or_insert(0);
                *n = (*n).max(s + self.rng.below(3));
            }
        }
        Receipt {
            revision: 1 << 40,
            head,
            seen,
            lost: Vec::new(),
        }
    }

    /// Makes a record claim more than its writers saw.
    fn raise(&mut self, server: &mut CourseServer) {
        let side = self.rng.below(2) as usize;
        let record_key = self.key_of(&Slot::Record(side));
        let Some(value) = server.value(record_key.as_bytes()).map(<[u8]>::to_vec) else {
            return;
        };
        let raised = if self.v2 {
            self.raise_v2(server, side, &value)
        } else {
            self.raise_v1(server, &value)
        };
        if let Some(raised) = raised {
            self.put(server, record_key.as_bytes(), raised, false);
            self.tally.raised += 1;
        }
    }

    fn raise_v1(&mut self, server: &CourseServer, value: &[u8]) -> Option<Vec<u8>> {
        let mut record = Record::decode(value)?;
        let readers: Vec<DeviceId> = record.heads.keys().cloned().collect();
        let reader = self.pick(&readers)?;
        let senders = self.real_devices(server);
        let sender = self.pick(&senders)?;
        let bump = 1 + self.rng.below(3);
        let seen = record.seen.get_or_insert_with(reader, Default::default);
        let n = seen.get_or_insert_with(sender, || 0);
        *n += bump;
        Some(record.encode())
    }

    fn raise_v2(
        &mut self,
        server: &mut CourseServer,
        side: usize,
        value: &[u8],
    ) -> Option<Vec<u8>> {
        let mut record: BTreeMap<String, String> = serde_json::from_slice(value).ok()?;
        let entries: Vec<String> = record.keys().cloned().collect();
        let device = self.pick(&entries)?;
        let device_id = DeviceId::parse(&device)?;
        match self.rng.below(5) {
            // A plain version 1 record in its place, claiming everything
            // read by one of the side's devices.
            4 => {
                let receipt = self.everything_read(server, 0);
                let mut plain = Record::default();
                plain
                    .heads
                    .insert(device_id.clone(), self.head_of(server, &device_id));
                let seen = plain.seen.get_or_insert_with(device_id, Default::default);
                for (sender, n) in receipt.seen {
                    seen.insert(sender, n);
                }
                return Some(plain.encode());
            }
            // The attacker's own receipt under a real device.
            0 => {
                let head = self.head_of(server, &device_id);
                let receipt = self.everything_read(server, head);
                let key = self.sender_key.clone();
                let sealed = receipt
                    .seal(
                        &self.conversation,
                        &device_id,
                        &key,
                        &self.identities[side],
                        &mut self.entropy,
                        &mut RustCrypto,
                    )
                    .ok()?;
                record.insert(device, sealed);
            }
            // Another device's entry, from this record or the other one.
            1 => {
                let other_key = self.key_of(&Slot::Record(1 - side));
                let other: BTreeMap<String, String> = server
                    .value(other_key.as_bytes())
                    .and_then(|v| serde_json::from_slice(v).ok())
                    .unwrap_or_default();
                let mut pool: Vec<String> = record.values().cloned().collect();
                pool.extend(other.values().cloned());
                let entry = self.pick(&pool)?;
                record.insert(device, entry);
            }
            // An older entry of the same device.
            2 => {
                let record_key = self.key_of(&Slot::Record(side));
                let older: Vec<String> = self
                    .history
                    .get(record_key.as_bytes())
                    .into_iter()
                    .flatten()
                    .filter_map(|v| serde_json::from_slice::<BTreeMap<String, String>>(v).ok())
                    .filter_map(|r| r.get(&device).cloned())
                    .collect();
                let entry = self.pick(&older)?;
                record.insert(device, entry);
            }
            // One character of the entry changed.
            _ => {
                let mut entry = record.get(&device)?.clone().into_bytes();
                if entry.len() < 12 {
                    return None;
                }
                let at = 8 + self.rng.below(entry.len() as u64 - 8) as usize;
                entry[at] = if entry[at] == b'A' { b'B' } else { b'A' };
                record.insert(device, String::from_utf8(entry).ok()?);
            }
        }
        Some(serde_json::to_vec(&record).expect("JSON of strings"))
    }
}
