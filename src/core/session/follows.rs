//! The other windows we follow (the colleague's, and our own other tabs),
//! how far each has written and how far the transcript has their messages,
//! and when a missing message may be asked for again.
//!
//! A device is learnt from a record (its head) or from the history; its
//! messages are fetched one after the other, from the first one missing.

use serde::{Deserialize, Serialize};

use super::super::envelope::Record;
use super::super::log::MessageLog;
use super::super::participants::DeviceId;
use super::super::small_map::SmallMap;
use super::super::types::Millis;

/// Who a followed device belongs to. Stored as `"Me"` or `"Peer"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Owner {
    /// Another window of yours.
    Me,
    Peer,
}

/// What is known of another window's messages. Stored as
/// `{"owner":…,"head":…}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Follow {
    pub owner: Owner,
    /// The highest number known to exist.
    pub head: u64,
    /// Messages 1..=have are in the log (or known lost for good).
    /// Not saved: recounted on restore.
    #[serde(skip)]
    pub have: u64,
    /// Do not ask again for a missing message before this time. Not saved.
    #[serde(skip)]
    pub retry_at: Millis,
}

impl Follow {
    /// Whether messages are known to exist that the transcript lacks.
    pub fn is_behind(&self) -> bool {
        self.have < self.head
    }
}

/// Every followed device, in device order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Follows {
    devices: SmallMap<DeviceId, Follow>,
}

impl Follows {
    /// Resumes from saved entries: what the transcript holds is recounted by
    /// [`Follows::advance_all`].
    pub fn restore(mut devices: SmallMap<DeviceId, Follow>) -> Follows {
        for follow in devices.values_mut() {
            follow.have = 0;
            follow.retry_at = 0;
        }
        Follows { devices }
    }

    /// What to save.
    pub fn saved(&self) -> SmallMap<DeviceId, Follow> {
        self.devices.clone()
    }

    pub fn get(&self, device: &DeviceId) -> Option<&Follow> {
        self.devices.get(device)
    }

    pub fn get_mut(&mut self, device: &DeviceId) -> Option<&mut Follow> {
        self.devices.get_mut(device)
    }

    /// Follows `device` for `owner`, unless it is ours (`own`) or already
    /// followed for the other participant: a device is followed for
    /// whoever first claimed it.
    pub fn follow(
        &mut self,
        own: &DeviceId,
        device: &DeviceId,
        owner: Owner,
    ) -> Option<&mut Follow> {
        if device == own {
            return None;
        }
        let follow = self.devices.get_or_insert_with(device.clone(), || Follow {
            owner,
            head: 0,
            have: 0,
            retry_at: 0,
        });
        (follow.owner == owner).then_some(follow)
    }

    /// Follows the devices a record lists, up to the heads it gives.
    pub fn learn_heads(&mut self, own: &DeviceId, record: &Record, owner: Owner, now: Millis) {
        for (device, &head) in &record.heads {
            if let Some(follow) = self.follow(own, device, owner) {
                if head > follow.head {
                    follow.head = head;
                    follow.retry_at = now;
                }
            }
        }
    }

    /// Moves `have` past every message of `device` already in the log.
    pub fn advance(&mut self, device: &DeviceId, log: &MessageLog) {
        if let Some(follow) = self.devices.get_mut(device) {
            while log.contains(device, follow.have + 1) {
                follow.have += 1;
            }
            follow.head = follow.head.max(follow.have);
        }
    }

    /// [`Follows::advance`] for every device.
    pub fn advance_all(&mut self, log: &MessageLog) {
        let devices: Vec<DeviceId> = self.devices.keys().cloned().collect();
        for device in devices {
            self.advance(&device, log);
        }
    }

    /// The first missing message that may be asked for now.
    pub fn next_fetch(&self, now: Millis) -> Option<(DeviceId, u64)> {
        self.devices
            .iter()
            .find(|(_, f)| f.is_behind() && f.retry_at <= now)
            .map(|(device, f)| (device.clone(), f.have + 1))
    }

    /// When a missing message may next be asked for, if any is missing.
    pub fn next_retry(&self) -> Option<Millis> {
        self.devices
            .values()
            .filter(|f| f.is_behind())
            .map(|f| f.retry_at)
            .min()
    }

    /// Ask for every missing message again from `now`.
    pub fn retry_all(&mut self, now: Millis) {
        for follow in self.devices.values_mut() {
            follow.retry_at = now;
        }
    }

    /// The next message of the device after `after` (in device order,
    /// wrapping round): whether it exists yet is what a probe finds out.
    pub fn probe_after(&self, after: Option<&DeviceId>) -> Option<(DeviceId, u64)> {
        self.devices
            .iter()
            .find(|(d, _)| after.is_none_or(|a| *d > a))
            .or_else(|| self.devices.iter().next())
            .map(|(device, f)| (device.clone(), f.have + 1))
    }

    /// Per device, how far the transcript has its messages.
    pub fn haves(&self) -> SmallMap<DeviceId, u64> {
        self.devices
            .iter()
            .map(|(d, f)| (d.clone(), f.have))
            .collect()
    }

    /// The colleague's devices, each with how far the transcript has its
    /// messages.
    pub fn peer_haves(&self) -> impl Iterator<Item = (&DeviceId, u64)> + '_ {
        self.devices
            .iter()
            .filter(|(_, f)| f.owner == Owner::Peer)
            .map(|(device, f)| (device, f.have))
    }

    /// The colleague's messages above what `shown` says was shown.
    pub fn unread(&self, shown: &SmallMap<DeviceId, u64>) -> usize {
        self.peer_haves()
            .map(|(device, have)| {
                have.saturating_sub(shown.get(device).copied().unwrap_or(0)) as usize
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::envelope::{Envelope, ENVELOPE_VERSION};

    fn device(id: &str) -> DeviceId {
        DeviceId::parse(id).unwrap()
    }

    fn envelope(device: &DeviceId, seq: u64) -> Envelope {
        Envelope {
            version: ENVELOPE_VERSION,
            from: "Bob".into(),
            device: device.clone(),
            seq,
            clock: seq,
            sent_at: seq,
            text: format!("message {seq}"),
            urgent: false,
            unanswered: None,
            original_at: None,
        }
    }

    #[test]
    fn a_device_is_followed_for_whoever_claimed_it_first_and_never_our_own() {
        let (own, other) = (device("aaaaaaaaaa"), device("bbbbbbbbbb"));
        let mut follows = Follows::default();
        assert!(follows.follow(&own, &own, Owner::Me).is_none());
        assert!(follows.follow(&own, &other, Owner::Peer).is_some());
        assert!(follows.follow(&own, &other, Owner::Me).is_none());
        assert!(follows.get(&own).is_none());
        assert_eq!(follows.get(&other).map(|f| f.owner), Some(Owner::Peer));
    }

    #[test]
    fn missing_messages_are_fetched_in_order_and_retried_later() {
        let (own, bob) = (device("aaaaaaaaaa"), device("bbbbbbbbbb"));
        let mut follows = Follows::default();
        let mut record = Record::default();
        record.heads.insert(bob.clone(), 3);
        follows.learn_heads(&own, &record, Owner::Peer, 10);
        assert_eq!(follows.next_fetch(10), Some((bob.clone(), 1)));
        let mut log = MessageLog::new();
        log.insert(envelope(&bob, 1));
        log.insert(envelope(&bob, 2));
        follows.advance(&bob, &log);
        assert_eq!(follows.next_fetch(10), Some((bob.clone(), 3)));
        follows.get_mut(&bob).unwrap().retry_at = 500;
        assert_eq!(follows.next_fetch(10), None);
        assert_eq!(follows.next_retry(), Some(500));
        follows.retry_all(20);
        assert_eq!(follows.next_fetch(20), Some((bob.clone(), 3)));
        // Two messages shown of three had: one unread.
        log.insert(envelope(&bob, 3));
        follows.advance_all(&log);
        assert_eq!(follows.next_retry(), None);
        let mut shown = SmallMap::new();
        shown.insert(bob.clone(), 2);
        assert_eq!(follows.unread(&shown), 1);
    }

    #[test]
    fn probes_go_round_the_devices() {
        let own = device("aaaaaaaaaa");
        let (b, c) = (device("bbbbbbbbbb"), device("cccccccccc"));
        let mut follows = Follows::default();
        follows.follow(&own, &b, Owner::Peer);
        follows.follow(&own, &c, Owner::Me);
        assert_eq!(follows.probe_after(None), Some((b.clone(), 1)));
        assert_eq!(follows.probe_after(Some(&b)), Some((c.clone(), 1)));
        assert_eq!(follows.probe_after(Some(&c)), Some((b, 1)));
    }

    #[test]
    fn a_restored_follow_recounts_what_it_has() {
        let (own, bob) = (device("aaaaaaaaaa"), device("bbbbbbbbbb"));
        let mut follows = Follows::default();
        let follow = follows.follow(&own, &bob, Owner::Peer).unwrap();
        follow.head = 4;
        follow.have = 4;
        follow.retry_at = 99;
        let restored = Follows::restore(follows.saved());
        let follow = restored.get(&bob).unwrap();
        assert_eq!((follow.head, follow.have, follow.retry_at), (4, 0, 0));
    }
}
