//! The two records on the server (protocol version 2): each is one sealed
//! receipt per device of its person. Reading one takes in only the
//! receipts that check as written by a device pinned for that person's
//! side (a stranger's, a moved or a forged entry is refused and noticed);
//! a device not known yet is learnt first (its announcement, then its
//! sender key). Writing ours puts our own receipt, sealed again only when
//! it changed, beside the newest checked entry of each of our other
//! devices.

use crate::core::small_map::SmallMap;

use super::super::envelope::Record;
use super::super::participants::DeviceId;
use super::super::trust::Receipt;
use super::super::types::{Event, Millis};
use super::follows::Owner;
use super::learning::Wanted;
use super::sealing::{self, Opened};
use super::Session;

impl Session {
    /// A record read from the server: the colleague's (`peer`) or ours.
    pub(super) fn read_record(&mut self, value: Option<&[u8]>, peer: bool, now: Millis) {
        let key = if peer {
            self.keys.peer_record()
        } else {
            self.keys.my_record()
        };
        let Some(value) = value else {
            if !peer {
                // Ours is gone: written again.
                self.receipts.mark_dirty();
            }
            return;
        };
        let Some(entries) = sealing::record_entries(value) else {
            if !self.checks() {
                // Without checks, a plain record is believed as it says.
                if let Some(record) = sealing::plain_record(value) {
                    self.take_record(&record, peer, now);
                }
            } else if let Some(trust) = self.trust.as_mut() {
                trust.refuse(&key, value);
            }
            if !peer {
                self.receipts.mark_dirty();
            }
            return;
        };
        let mut merged = Record::default();
        let mut our_entry_current = false;
        let mut siblings_current = true;
        let mut seen_siblings = SmallMap::new();
        for (id, text) in &entries {
            let Some(trust) = self.trust.as_mut() else {
                return;
            };
            let Some(device) = DeviceId::parse(id) else {
                trust.refuse(&key, id.as_bytes());
                continue;
            };
            if device == self.device {
                if peer {
                    trust.refuse(&format!("{key}#{device}"), text.as_bytes());
                } else {
                    our_entry_current = self.take_own_entry(&key, text);
                }
                continue;
            }
            match trust.open_receipt(&key, text, &device) {
                Opened::Value(mut receipt) => {
                    let pin = trust.device.pins.get(&device).copied();
                    let right_side = pin.is_some_and(|a| (a.side == trust.side) != peer);
                    if !right_side && trust.checks() {
                        // A device of the other person's, moved here.
                        trust.refuse(&format!("{key}#{device}"), text.as_bytes());
                        continue;
                    }
                    // *Read* only from the colleague's first known identity:
                    // a changed one (a new browser, or someone posing as
                    // one, shown as a key change) may send, but its
                    // receipts never make a message read.
                    let first = trust.person.known.keys_of(&self.pair.peer).first().copied();
                    if peer && trust.checks() && pin.map(|a| a.identity) != first {
                        receipt.seen.clear();
                    }
                    if receipt.lost.is_empty() {
                        self.gaps.lost.remove(&device);
                    } else {
                        self.gaps.lost.insert(device.clone(), receipt.lost.clone());
                    }
                    if !peer {
                        seen_siblings.insert(device.clone(), receipt.revision);
                        self.receipts.sibling(&device, receipt.revision, text);
                    }
                    merged.merge(&sealing::as_record(&device, &receipt));
                }
                Opened::UnknownDevice => {
                    self.learning
                        .want(Wanted::Announcement(device.clone()), now);
                    if let Ok(epoch) = Receipt::epoch_of(text) {
                        self.learning.want(Wanted::Share(device, epoch), now);
                    }
                }
                Opened::NeedsKey(device, epoch) => {
                    self.learning.want(Wanted::Share(device, epoch), now)
                }
                Opened::Refused => {}
            }
        }
        if !peer {
            // Entries of our other devices that the record lacks are put back.
            for (device, _) in self.receipts.siblings() {
                let held = self.receipts.sibling_revision(device);
                if seen_siblings.get(device).copied() < held {
                    siblings_current = false;
                }
            }
            if !our_entry_current || !siblings_current {
                self.receipts.mark_dirty();
            }
        }
        self.take_record(&merged, peer, now);
    }

    /// Our own entry of our record: whether it is our current receipt. One
    /// from an earlier life of this device makes ours newer than it, and
    /// gives back the head it knew.
    fn take_own_entry(&mut self, key: &str, text: &str) -> bool {
        if self.receipts.our_text() == Some(text) {
            return true;
        }
        let Some(trust) = self.trust.as_mut() else {
            return false;
        };
        if let Opened::Value(receipt) = trust.open_receipt(key, text, &self.device) {
            self.receipts.outgrow(receipt.revision);
            self.adopt_own_head(receipt.head);
        }
        false
    }

    /// Takes in the checked receipts of a record, merged.
    fn take_record(&mut self, record: &Record, peer: bool, now: Millis) {
        let owner = if peer { Owner::Peer } else { Owner::Me };
        self.follows.learn_heads(&self.device, record, owner, now);
        if peer {
            if self.receipts.learn_peer(record) {
                // Read marks may have changed.
                self.events.push(Event::MessagesChanged);
                self.changed();
            }
        } else {
            if let Some(&head) = record.heads.get(&self.device) {
                self.adopt_own_head(head);
            }
            self.receipts.learn_own(&self.device, record);
        }
    }

    /// Our record's value: our receipt (sealed again if it changed) and
    /// our other devices' newest checked entries. `None` without keys.
    pub(super) fn record_value(&mut self) -> Option<Vec<u8>> {
        let receipt = self.receipts.receipt(&self.device);
        let text = match self.receipts.sealed_text(&receipt) {
            Some(text) => text.to_owned(),
            None => {
                let revision = self.receipts.next_revision();
                let receipt = Receipt {
                    revision,
                    ..receipt
                };
                let text = self.trust.as_ref()?.seal_receipt(&receipt)?;
                self.receipts.sealed_as(receipt, text.clone());
                text
            }
        };
        let mut entries = SmallMap::new();
        entries.insert(self.device.as_str().to_owned(), text);
        for (device, sibling) in self.receipts.siblings() {
            entries.insert(device.as_str().to_owned(), sibling.to_owned());
        }
        Some(sealing::record_value(&entries))
    }
}
