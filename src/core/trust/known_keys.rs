//! Trust on first use: which identity keys a browser has accepted for each
//! person, and which announcement for each device.
//!
//! - [`KnownKeys`] (saved per browser, across conversations) pins the first
//!   identity key seen for a person ([`KeyNews::New`], first contact) and
//!   reports every later, different one as [`KeyNews::Changed`]: a new
//!   browser of theirs, a reset one, or someone posing as them. The
//!   transcript announces it and the safety number changes; the key is then
//!   known, so the notice comes once. A key already accepted for someone
//!   else is refused ([`KeyNews::SomeoneElses`]).
//! - [`DevicePins`] (saved with a conversation) keeps the first checked
//!   announcement of each device. A device's keys never change: a different
//!   announcement under the same device id is a [`DeviceNews::Conflict`],
//!   shown as a value that failed its check, and the first one stays.
//!
//! For each checked announcement: refuse it if its device is pinned to
//! another one, then ask [`KnownKeys::observe`] about the person of its side
//! (refuse on [`KeyNews::SomeoneElses`]), and only then pin the device.
//!
//! Both are plain maps with a line-based saved form (names in normal form
//! hold no control characters; keys are base64url).

use std::collections::BTreeMap;

use super::announce::Announcement;
use super::conversation::Side;
use super::encoding;
use super::error::TrustError;
use super::identity::{DevicePublic, IdentityPublic};
use crate::core::participants::{DeviceId, Name};

/// What one more sighting of a person's identity key means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyNews {
    /// The first key seen for this person: trusted on first use.
    New,
    /// A key already known for this person.
    Same,
    /// A different key for a person who already had one: announce it.
    Changed,
    /// A key already accepted for someone else. Identity keys are per
    /// browser *and name*, so no honest client ever makes one key speak for
    /// two people: refused as a value that failed its check, and not kept.
    SomeoneElses,
}

/// Identity keys accepted per person (normal name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownKeys {
    people: BTreeMap<String, Vec<IdentityPublic>>,
}

impl KnownKeys {
    pub fn new() -> KnownKeys {
        KnownKeys::default()
    }

    /// Records that `key` speaks for `person`, and says what that means.
    pub fn observe(&mut self, person: &Name, key: IdentityPublic) -> KeyNews {
        let elsewhere = self
            .people
            .iter()
            .any(|(name, keys)| name != person.normal() && keys.contains(&key));
        if elsewhere {
            return KeyNews::SomeoneElses;
        }
        let keys = self.people.entry(person.normal().to_owned()).or_default();
        if keys.contains(&key) {
            return KeyNews::Same;
        }
        keys.push(key);
        if keys.len() == 1 {
            KeyNews::New
        } else {
            KeyNews::Changed
        }
    }

    /// Every key accepted for `person`, in the order first seen.
    pub fn keys_of(&self, person: &Name) -> &[IdentityPublic] {
        self.people.get(person.normal()).map_or(&[], Vec::as_slice)
    }

    /// One line per person: the keys separated by commas, a space, the
    /// normal name.
    pub fn to_stored(&self) -> String {
        let mut out = String::new();
        for (name, keys) in &self.people {
            let keys: Vec<String> = keys.iter().map(IdentityPublic::to_text).collect();
            out.push_str(&keys.join(","));
            out.push(' ');
            out.push_str(name);
            out.push('\n');
        }
        out
    }

    pub fn from_stored(text: &str) -> Result<KnownKeys, TrustError> {
        let mut people = BTreeMap::new();
        for line in text.lines() {
            let (keys, name) = line.split_once(' ').ok_or(TrustError::DamagedSavedKey)?;
            let keys = keys
                .split(',')
                .map(IdentityPublic::from_text)
                .collect::<Option<Vec<_>>>()
                .ok_or(TrustError::DamagedSavedKey)?;
            people.insert(name.to_owned(), keys);
        }
        Ok(KnownKeys { people })
    }
}

/// What one more sighting of a device's announcement means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceNews {
    /// A device not seen before: its announcement is now pinned.
    New,
    /// The announcement already pinned for it.
    Same,
    /// A different announcement under a pinned device id: refused.
    Conflict,
}

/// The announcement accepted for each device of one conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DevicePins {
    devices: BTreeMap<DeviceId, Announcement>,
}

impl DevicePins {
    pub fn new() -> DevicePins {
        DevicePins::default()
    }

    pub fn observe(&mut self, device: &DeviceId, announcement: Announcement) -> DeviceNews {
        match self.devices.get(device) {
            None => {
                self.devices.insert(device.clone(), announcement);
                DeviceNews::New
            }
            Some(pinned) if *pinned == announcement => DeviceNews::Same,
            Some(_) => DeviceNews::Conflict,
        }
    }

    pub fn get(&self, device: &DeviceId) -> Option<&Announcement> {
        self.devices.get(device)
    }

    /// The pinned devices that speak for `side`.
    pub fn on_side(&self, side: Side) -> impl Iterator<Item = (&DeviceId, &Announcement)> + '_ {
        self.devices.iter().filter(move |(_, a)| a.side == side)
    }

    /// One line per device: id, side (0 or 1), identity key, device key.
    pub fn to_stored(&self) -> String {
        let mut out = String::new();
        for (device, a) in &self.devices {
            out.push_str(&format!(
                "{device} {} {} {}\n",
                a.side.byte(),
                a.identity.to_text(),
                a.device_key.to_text()
            ));
        }
        out
    }

    pub fn from_stored(text: &str) -> Result<DevicePins, TrustError> {
        let mut devices = BTreeMap::new();
        for line in text.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            let parsed = match fields.as_slice() {
                [device, side, identity, key] => (|| {
                    let side = Side::from_byte(side.parse().ok()?)?;
                    let key: [u8; 32] = encoding::decode(key)?.try_into().ok()?;
                    Some((
                        DeviceId::parse(device)?,
                        Announcement {
                            side,
                            identity: IdentityPublic::from_text(identity)?,
                            device_key: DevicePublic::from_bytes(key),
                        },
                    ))
                })(),
                _ => None,
            };
            let (device, announcement) = parsed.ok_or(TrustError::DamagedSavedKey)?;
            devices.insert(device, announcement);
        }
        Ok(DevicePins { devices })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::trust::identity::{DeviceKey, IdentityKey};
    use crate::core::trust::random::SeededEntropy;
    use crate::core::trust::RustCrypto;

    fn name(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    #[test]
    fn first_contact_is_trusted_and_a_different_key_is_announced_once() {
        let mut rng = SeededEntropy::new(71);
        let (k1, k2) = (
            IdentityKey::generate(&mut rng, &mut RustCrypto)
                .unwrap()
                .public(),
            IdentityKey::generate(&mut rng, &mut RustCrypto)
                .unwrap()
                .public(),
        );
        let mut known = KnownKeys::new();
        assert_eq!(known.observe(&name("Dr Patel"), k1), KeyNews::New);
        assert_eq!(known.observe(&name("dr  patel"), k1), KeyNews::Same);
        assert_eq!(known.observe(&name("Dr Patel"), k2), KeyNews::Changed);
        assert_eq!(known.observe(&name("Dr Patel"), k2), KeyNews::Same);
        // Another person's first key is their own first contact, but a key
        // of Dr Patel's never speaks for Nurse Jo.
        let k3 = IdentityKey::generate(&mut rng, &mut RustCrypto)
            .unwrap()
            .public();
        assert_eq!(known.observe(&name("Nurse Jo"), k2), KeyNews::SomeoneElses);
        assert_eq!(known.observe(&name("Nurse Jo"), k3), KeyNews::New);
        assert_eq!(known.observe(&name("Dr Patel"), k3), KeyNews::SomeoneElses);
        assert_eq!(known.keys_of(&name("Nurse Jo")), &[k3]);
        assert_eq!(known.keys_of(&name("DR PATEL")), &[k1, k2]);
        assert_eq!(known.keys_of(&name("Dr Smith")), &[]);

        let stored = known.to_stored();
        assert_eq!(KnownKeys::from_stored(&stored), Ok(known.clone()));
        assert_eq!(KnownKeys::from_stored(""), Ok(KnownKeys::new()));
        for junk in ["dr patel", "AAAA dr patel", &stored.replace(',', ",x")] {
            assert_eq!(
                KnownKeys::from_stored(junk),
                Err(TrustError::DamagedSavedKey)
            );
        }
    }

    #[test]
    fn a_device_keeps_its_first_announcement() {
        let mut rng = SeededEntropy::new(72);
        let announcement = |rng: &mut SeededEntropy, side| Announcement {
            side,
            identity: IdentityKey::generate(rng, &mut RustCrypto)
                .unwrap()
                .public(),
            device_key: DeviceKey::generate(rng, &mut RustCrypto).unwrap().public(),
        };
        let first = announcement(&mut rng, Side::First);
        let impostor = announcement(&mut rng, Side::First);
        let other = announcement(&mut rng, Side::Second);
        let (d1, d2) = (
            DeviceId::parse("aaaaaaaaaa").unwrap(),
            DeviceId::parse("bbbbbbbbbb").unwrap(),
        );
        let mut pins = DevicePins::new();
        assert_eq!(pins.observe(&d1, first), DeviceNews::New);
        assert_eq!(pins.observe(&d1, first), DeviceNews::Same);
        assert_eq!(pins.observe(&d1, impostor), DeviceNews::Conflict);
        assert_eq!(pins.get(&d1), Some(&first));
        assert_eq!(pins.observe(&d2, other), DeviceNews::New);
        assert_eq!(
            pins.on_side(Side::Second)
                .map(|(d, _)| d.clone())
                .collect::<Vec<_>>(),
            vec![d2]
        );

        let stored = pins.to_stored();
        assert_eq!(DevicePins::from_stored(&stored), Ok(pins));
        assert!(DevicePins::from_stored("aaaaaaaaaa 2 x y").is_err());
        assert!(DevicePins::from_stored(&stored.replace(" 0 ", " 3 ")).is_err());
    }
}
