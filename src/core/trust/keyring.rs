//! The secrets and pins a browser keeps for protocol version 2, and their
//! stored forms.
//!
//! - [`PersonKeys`], per browser and person (normal name): the identity key
//!   that signs everything this person's devices in this browser write, and
//!   the [`KnownKeys`] accepted for everyone (trust on first use).
//! - [`DeviceKeys`], per device (one tab's identity in one conversation):
//!   its key agreement key, its own sender keys by epoch, the sender keys
//!   other devices shared with it, and the announcement pinned for each
//!   device of the conversation.
//!
//! Both are stored as JSON objects written by [`crate::core::codec`], each
//! field a string in the line or base64url form its type defines; a damaged
//! one reads as [`TrustError::DamagedSavedKey`], never a panic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::TrustError;
use super::identity::{DeviceKey, IdentityKey};
use super::known_keys::{DevicePins, KnownKeys};
use super::primitives::Primitives;
use super::random::{self, Entropy};
use super::sender_key::SenderKey;
use crate::core::codec;
use crate::core::participants::DeviceId;

/// The version of both stored forms written by this code.
const STORED_VERSION: u32 = 1;

/// One person's keys in one browser. See the module documentation.
#[derive(Clone, Debug)]
pub struct PersonKeys {
    pub identity: IdentityKey,
    pub known: KnownKeys,
}

#[derive(Serialize, Deserialize)]
struct StoredPerson {
    version: u32,
    identity: String,
    known: String,
}

impl PersonKeys {
    /// A new identity made from `seed`, 32 random bytes drawn once, knowing
    /// nobody yet. Its public half comes from `crypto`: with a port that
    /// answers later, this runs again with the same seed until it is done.
    pub fn new(seed: [u8; 32], crypto: &mut dyn Primitives) -> Result<PersonKeys, TrustError> {
        Ok(PersonKeys {
            identity: IdentityKey::from_seed(seed, crypto)?,
            known: KnownKeys::new(),
        })
    }

    /// [`Self::new`] with a seed drawn from `rng`, for a port that answers
    /// at once (drawn again on every run, it would never finish over one
    /// that answers later).
    pub fn generate(
        rng: &mut dyn Entropy,
        crypto: &mut dyn Primitives,
    ) -> Result<PersonKeys, TrustError> {
        PersonKeys::new(random::bytes(rng)?, crypto)
    }

    pub fn to_stored(&self) -> String {
        let stored = StoredPerson {
            version: STORED_VERSION,
            identity: self.identity.to_stored(),
            known: self.known.to_stored(),
        };
        codec::to_string(&stored)
    }

    pub fn from_stored(text: &str, crypto: &mut dyn Primitives) -> Result<PersonKeys, TrustError> {
        let stored: StoredPerson =
            codec::from_str(text).map_err(|_| TrustError::DamagedSavedKey)?;
        if stored.version != STORED_VERSION {
            return Err(TrustError::DamagedSavedKey);
        }
        Ok(PersonKeys {
            identity: IdentityKey::from_stored(&stored.identity, crypto)?,
            known: KnownKeys::from_stored(&stored.known)?,
        })
    }
}

/// One device's keys and pins. See the module documentation.
#[derive(Clone, Debug)]
pub struct DeviceKeys {
    pub device_key: DeviceKey,
    /// Own sender keys, oldest epoch first; the last is the current one.
    pub sender_keys: Vec<SenderKey>,
    /// Sender keys shared with this device, by sending device and epoch.
    pub received: BTreeMap<(DeviceId, u32), SenderKey>,
    /// The announcement accepted for each device of the conversation.
    pub pins: DevicePins,
}

#[derive(Serialize, Deserialize)]
struct StoredDevice {
    version: u32,
    device_key: String,
    sender_keys: Vec<String>,
    /// Pairs of the sending device and the key (its epoch is inside).
    received: Vec<(String, String)>,
    pins: String,
}

impl DeviceKeys {
    /// A new device: its key agreement key made from `secret` (32 random
    /// bytes drawn once) and `first`, its sender key of epoch 1. The key's
    /// public half comes from `crypto`: with a port that answers later,
    /// this runs again with the same bytes until it is done.
    pub fn new(
        secret: [u8; 32],
        first: SenderKey,
        crypto: &mut dyn Primitives,
    ) -> Result<DeviceKeys, TrustError> {
        Ok(DeviceKeys {
            device_key: DeviceKey::from_secret(secret, crypto)?,
            sender_keys: vec![first],
            received: BTreeMap::new(),
            pins: DevicePins::new(),
        })
    }

    /// [`Self::new`] with the bytes drawn from `rng`, for a port that
    /// answers at once (see [`PersonKeys::generate`]).
    pub fn generate(
        rng: &mut dyn Entropy,
        crypto: &mut dyn Primitives,
    ) -> Result<DeviceKeys, TrustError> {
        let secret = random::bytes(rng)?;
        DeviceKeys::new(secret, SenderKey::generate(1, rng)?, crypto)
    }

    /// The sender key new values are sealed under.
    pub fn current(&self) -> Option<&SenderKey> {
        self.sender_keys.last()
    }

    /// Own sender key of `epoch`, or one `sender` shared with this device.
    pub fn sender_key(&self, sender: &DeviceId, own: bool, epoch: u32) -> Option<&SenderKey> {
        if own {
            self.sender_keys.iter().find(|k| k.epoch() == epoch)
        } else {
            self.received.get(&(sender.clone(), epoch))
        }
    }

    pub fn to_stored(&self) -> String {
        let stored = StoredDevice {
            version: STORED_VERSION,
            device_key: self.device_key.to_stored(),
            sender_keys: self.sender_keys.iter().map(SenderKey::to_stored).collect(),
            received: self
                .received
                .iter()
                .map(|((device, _), key)| (device.as_str().to_owned(), key.to_stored()))
                .collect(),
            pins: self.pins.to_stored(),
        };
        codec::to_string(&stored)
    }

    pub fn from_stored(text: &str, crypto: &mut dyn Primitives) -> Result<DeviceKeys, TrustError> {
        let damaged = TrustError::DamagedSavedKey;
        let stored: StoredDevice = codec::from_str(text).map_err(|_| damaged)?;
        if stored.version != STORED_VERSION {
            return Err(damaged);
        }
        let sender_keys = stored
            .sender_keys
            .iter()
            .map(|k| SenderKey::from_stored(k))
            .collect::<Result<Vec<_>, _>>()?;
        if sender_keys.is_empty() {
            return Err(damaged);
        }
        let mut received = BTreeMap::new();
        for (device, key) in &stored.received {
            let device = DeviceId::parse(device).ok_or(damaged)?;
            let key = SenderKey::from_stored(key)?;
            received.insert((device, key.epoch()), key);
        }
        Ok(DeviceKeys {
            device_key: DeviceKey::from_stored(&stored.device_key, crypto)?,
            sender_keys,
            received,
            pins: DevicePins::from_stored(&stored.pins)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::participants::Name;
    use crate::core::trust::deferred::{complete, Deferred};
    use crate::core::trust::RustCrypto;
    use crate::core::trust::{Announcement, Conversation, SeededEntropy, Side};

    #[test]
    fn person_keys_read_back_as_written() {
        let mut rng = SeededEntropy::new(7);
        let mut keys = PersonKeys::generate(&mut rng, &mut RustCrypto).unwrap();
        let patel = Name::parse("Dr Patel").unwrap();
        let other = IdentityKey::generate(&mut rng, &mut RustCrypto)
            .unwrap()
            .public();
        keys.known.observe(&patel, other);
        let text = keys.to_stored();
        let back = PersonKeys::from_stored(&text, &mut RustCrypto).unwrap();
        assert_eq!(back.identity.public(), keys.identity.public());
        assert_eq!(back.known, keys.known);
        assert_eq!(back.to_stored(), text);
        // No secret in the debug form.
        assert!(!format!("{back:?}").contains(&keys.identity.to_stored()));
    }

    #[test]
    fn device_keys_read_back_as_written() {
        let mut rng = SeededEntropy::new(8);
        let mut keys = DeviceKeys::generate(&mut rng, &mut RustCrypto).unwrap();
        keys.sender_keys
            .push(SenderKey::generate(2, &mut rng).unwrap());
        let sender = DeviceId::parse("qhxvbnmkaz").unwrap();
        let shared = SenderKey::generate(3, &mut rng).unwrap();
        keys.received.insert((sender.clone(), 3), shared.clone());
        let conversation = Conversation::new(
            &Name::parse("Dr Patel").unwrap(),
            &Name::parse("Nurse Jo").unwrap(),
            None,
        );
        let identity = IdentityKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let device_key = DeviceKey::generate(&mut rng, &mut RustCrypto).unwrap();
        let text = Announcement::write(
            &conversation,
            &sender,
            Side::First,
            &identity,
            &device_key,
            &mut RustCrypto,
        )
        .unwrap();
        let announcement =
            Announcement::read(&text, &conversation, &sender, &mut RustCrypto).unwrap();
        keys.pins.observe(&sender, announcement);

        let stored = keys.to_stored();
        let back = DeviceKeys::from_stored(&stored, &mut RustCrypto).unwrap();
        assert_eq!(back.to_stored(), stored);
        assert_eq!(back.current().map(SenderKey::epoch), Some(2));
        assert!(back.sender_key(&sender, false, 3) == Some(&shared));
        assert!(back.sender_key(&sender, true, 1).is_some());
        assert_eq!(back.pins, keys.pins);
    }

    #[test]
    fn damaged_stored_keys_are_refused() {
        let mut rng = SeededEntropy::new(9);
        let person = PersonKeys::generate(&mut rng, &mut RustCrypto)
            .unwrap()
            .to_stored();
        let device = DeviceKeys::generate(&mut rng, &mut RustCrypto)
            .unwrap()
            .to_stored();
        for text in [
            String::new(),
            "{}".to_owned(),
            person.replace("\"version\":1", "\"version\":9"),
            person[..person.len() / 2].to_owned(),
            device.replace("\"sender_keys\":[\"", "\"sender_keys\":[\"x"),
        ] {
            assert_eq!(
                PersonKeys::from_stored(&text, &mut RustCrypto)
                    .err()
                    .or(DeviceKeys::from_stored(&text, &mut RustCrypto).err()),
                Some(TrustError::DamagedSavedKey),
                "{text}"
            );
        }
        assert!(DeviceKeys::from_stored(&person, &mut RustCrypto).is_err());
        assert!(PersonKeys::from_stored(&device, &mut RustCrypto).is_err());
    }

    /// In the browser every key is made over WebCrypto: from bytes drawn
    /// once, the keys come out as the crates make them, whereas drawing
    /// on every run never finishes (and `complete` stops it).
    #[test]
    fn keys_made_over_a_port_that_answers_later_are_made_from_bytes_drawn_once() {
        let mut rng = SeededEntropy::new(11);
        let seed = random::bytes(&mut rng).unwrap();
        let secret = random::bytes(&mut rng).unwrap();
        let first = SenderKey::generate(1, &mut rng).unwrap();
        let mut port = Deferred::new();
        let person = complete(&mut port, &mut RustCrypto, |p| PersonKeys::new(seed, p)).unwrap();
        let device = complete(&mut port, &mut RustCrypto, |p| {
            DeviceKeys::new(secret, first.clone(), p)
        })
        .unwrap();
        let mut again = SeededEntropy::new(11);
        let at_once = PersonKeys::generate(&mut again, &mut RustCrypto).unwrap();
        assert_eq!(person.to_stored(), at_once.to_stored());
        let at_once = DeviceKeys::generate(&mut again, &mut RustCrypto).unwrap();
        assert_eq!(device.to_stored(), at_once.to_stored());
        assert_eq!(
            device.device_key.public(),
            at_once.device_key.public(),
            "the public half through the port's jobs"
        );

        let mut fresh = SeededEntropy::new(12);
        let drawn_each_run = complete(&mut port, &mut RustCrypto, |p| {
            PersonKeys::generate(&mut fresh, p)
        });
        assert_eq!(drawn_each_run.err(), Some(TrustError::NoCrypto));
    }
}
