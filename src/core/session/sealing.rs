//! Sealing and opening this session's stored values (protocol version 2)
//! with the keys [`Trust`] holds: messages, key shares, receipts and the
//! records that carry them.
//!
//! Every open says what it found ([`Opened`]): a checked value; a value
//! that cannot be opened *yet* (its writer's announcement or sender key is
//! still to be read); or a value that failed its check, which becomes one
//! tamper notice per key and value and counts as missing. A value already
//! refused is not checked again, and a receipt already opened is taken
//! from the cache: a poll costs no cryptography when nothing changed.
//!
//! With the checks off ([`super::Session::disable_checks`]) a value that is
//! no version 2 value is read as version 1 wrote it (plain JSON), names are
//! not compared with the sides, and record entries are believed whoever
//! wrote them: what a client without these checks would show.

use serde::{Deserialize, Serialize};

use super::super::codec;
use super::super::envelope::{Envelope, Record, ENVELOPE_VERSION};
use super::super::participants::{DeviceId, Pair};
use super::super::small_map::SmallMap;
use super::super::trust::{message, OsEntropy, Receipt, SenderKey};
use super::trust::Trust;

/// What reading one value found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Opened<T> {
    /// Checked and opened.
    Value(T),
    /// Its writer's announcement is still to be read.
    UnknownDevice,
    /// `device`'s sender key of `epoch` is still to be read.
    NeedsKey(DeviceId, u32),
    /// It failed its check (or is not a value of ours at all).
    Refused,
}

/// A message's plaintext: the envelope without what the key and the
/// binding already say (device and number). Fields in this order.
#[derive(Serialize, Deserialize)]
struct Inner {
    n: String,
    c: u64,
    t: u64,
    x: String,
}

/// Characters of the plaintext of `envelope` once sealed.
pub(super) fn sealed_len(envelope: &Envelope) -> usize {
    message::sealed_len(inner(envelope).len())
}

fn inner(envelope: &Envelope) -> String {
    codec::to_string(&Inner {
        n: envelope.from.clone(),
        c: envelope.clock,
        t: envelope.sent_at,
        x: envelope.text.clone(),
    })
}

impl Trust {
    /// Our own message, sealed under our current sender key.
    pub fn seal_message(&self, envelope: &Envelope) -> Option<String> {
        message::seal(
            inner(envelope).as_bytes(),
            &self.conversation,
            &self.id,
            envelope.seq,
            self.device.current()?,
            &self.person.identity,
            &mut OsEntropy,
        )
        .ok()
    }

    /// Checks and opens `text`, read under `key` = `m.<device>.<seq>`.
    pub fn open_message(
        &mut self,
        pair: &Pair,
        key: &str,
        text: &[u8],
        device: &DeviceId,
        seq: u64,
    ) -> Opened<Envelope> {
        if self.was_refused(key, text) {
            return Opened::Refused;
        }
        let opened = self.try_open_message(pair, text, device, seq);
        match opened {
            Opened::Refused if !self.checks() => {
                Envelope::decode(text, device, seq).map_or(Opened::Refused, Opened::Value)
            }
            Opened::Refused => {
                self.refuse(key, text);
                Opened::Refused
            }
            other => other,
        }
    }

    fn try_open_message(
        &self,
        pair: &Pair,
        text: &[u8],
        device: &DeviceId,
        seq: u64,
    ) -> Opened<Envelope> {
        let Ok(text) = std::str::from_utf8(text) else {
            return Opened::Refused;
        };
        let own = *device == self.id;
        let (identity, side) = if own {
            (self.person.identity.public(), self.side)
        } else {
            match self.device.pins.get(device) {
                Some(pin) => (pin.identity, pin.side),
                None => return Opened::UnknownDevice,
            }
        };
        let Ok(epoch) = message::epoch_of(text) else {
            return Opened::Refused;
        };
        let Some(sender_key) = self.device.sender_key(device, own, epoch) else {
            // Worth waiting for its key only if its writer signed it.
            let signed = message::is_signed_by(text, &self.conversation, device, seq, &identity);
            return if own || !signed {
                Opened::Refused
            } else {
                Opened::NeedsKey(device.clone(), epoch)
            };
        };
        let Ok(plain) = message::open(text, &self.conversation, device, seq, sender_key, &identity)
        else {
            return Opened::Refused;
        };
        let Ok(inner) = codec::from_slice::<Inner>(&plain) else {
            return Opened::Refused;
        };
        let owner = if side == self.side {
            &pair.me
        } else {
            &pair.peer
        };
        // The name shown must be the person the device speaks for.
        if inner.c == 0 || (self.checks() && !owner.is(&inner.n)) {
            return Opened::Refused;
        }
        Opened::Value(Envelope {
            version: ENVELOPE_VERSION,
            from: inner.n,
            device: device.clone(),
            seq,
            clock: inner.c,
            sent_at: inner.t,
            text: inner.x,
        })
    }

    /// Our current sender key, sealed for `recipient` (a pinned device):
    /// the same bytes every time it is asked for again.
    pub fn share_for(&mut self, recipient: &DeviceId) -> Option<&str> {
        if !self.shares.contains_key(recipient) {
            let pin = self.device.pins.get(recipient)?;
            let text = self
                .device
                .current()?
                .share(
                    &self.conversation,
                    &self.id,
                    &self.person.identity,
                    &self.device.device_key,
                    recipient,
                    &pin.device_key,
                    &mut OsEntropy,
                )
                .ok()?;
            self.shares.insert(recipient.clone(), text);
        }
        self.shares.get(recipient).map(String::as_str)
    }

    /// Checks and opens `sender`'s share of its key of `epoch` with us,
    /// read under `key`; keeps the sender key. Says whether it opened.
    pub fn open_share(&mut self, key: &str, text: &[u8], sender: &DeviceId, epoch: u32) -> bool {
        if self.was_refused(key, text) {
            return false;
        }
        let Some(pin) = self.device.pins.get(sender) else {
            return false;
        };
        let opened = std::str::from_utf8(text).ok().and_then(|t| {
            SenderKey::open_share(
                t,
                &self.conversation,
                sender,
                pin,
                &self.id,
                &self.device.device_key,
            )
            .ok()
        });
        match opened {
            Some(sender_key) if sender_key.epoch() == epoch => {
                let slot = (sender.clone(), epoch);
                if self.device.received.get(&slot) != Some(&sender_key) {
                    self.device.received.insert(slot, sender_key);
                    self.receipts.remove(sender);
                    self.revision += 1;
                }
                true
            }
            _ => {
                self.refuse(key, text);
                false
            }
        }
    }

    /// Our receipt, sealed under our current sender key.
    pub fn seal_receipt(&self, receipt: &Receipt) -> Option<String> {
        receipt
            .seal(
                &self.conversation,
                &self.id,
                self.device.current()?,
                &self.person.identity,
                &mut OsEntropy,
            )
            .ok()
    }

    /// Checks and opens `device`'s entry of a record read under `key`.
    /// Our own entries open with our own keys.
    pub fn open_receipt(&mut self, key: &str, text: &str, device: &DeviceId) -> Opened<Receipt> {
        if let Some((cached, receipt)) = self.receipts.get(device) {
            if cached == text {
                return Opened::Value(receipt.clone());
            }
        }
        let entry_key = format!("{key}#{device}");
        if self.was_refused(&entry_key, text.as_bytes()) {
            return Opened::Refused;
        }
        let own = *device == self.id;
        let identity = if own {
            self.person.identity.public()
        } else {
            match self.device.pins.get(device) {
                Some(pin) => pin.identity,
                None => return Opened::UnknownDevice,
            }
        };
        let Ok(epoch) = Receipt::epoch_of(text) else {
            self.refuse(&entry_key, text.as_bytes());
            return Opened::Refused;
        };
        let Some(sender_key) = self.device.sender_key(device, own, epoch) else {
            // Worth waiting for its key only if its writer signed it.
            if own || !Receipt::is_signed_by(text, &self.conversation, device, &identity) {
                self.refuse(&entry_key, text.as_bytes());
                return Opened::Refused;
            }
            return Opened::NeedsKey(device.clone(), epoch);
        };
        match Receipt::open(text, &self.conversation, device, sender_key, &identity) {
            Ok(receipt) => {
                self.receipts
                    .insert(device.clone(), (text.to_owned(), receipt.clone()));
                Opened::Value(receipt)
            }
            Err(_) => {
                self.refuse(&entry_key, text.as_bytes());
                Opened::Refused
            }
        }
    }
}

/// A record's entries: device id to its sealed receipt. `None` for a value
/// that is no record at all.
pub(super) fn record_entries(value: &[u8]) -> Option<SmallMap<String, String>> {
    codec::from_slice(value).ok()
}

/// A record's value from its entries.
pub(super) fn record_value(entries: &SmallMap<String, String>) -> Vec<u8> {
    codec::to_html_safe(entries)
}

/// A version 1 record (plain JSON), as a client without checks reads it.
pub(super) fn plain_record(value: &[u8]) -> Option<Record> {
    Record::decode(value)
}

/// A receipt as the merged records hold it: `device`'s head and what it has
/// shown.
pub(super) fn as_record(device: &DeviceId, receipt: &Receipt) -> Record {
    let mut record = Record::default();
    record.heads.insert(device.clone(), receipt.head);
    let seen: SmallMap<DeviceId, u64> = receipt.seen.iter().map(|(d, n)| (d.clone(), *n)).collect();
    record.seen.insert(device.clone(), seen);
    record
}
