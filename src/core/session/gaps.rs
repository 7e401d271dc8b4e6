//! Gaps (protocol version 2): a message known to exist (a receipt's head,
//! or a later message of its device) that stays missing for the gap time,
//! or that its sender's receipt lists as lost, is shown as a gap, "1
//! message from Dr Patel could not be delivered" ([`TrustNotice::Gap`]),
//! instead of a silent hole. It is no longer fetched, only probed now and
//! then; should it arrive after all, it takes the gap's place: it is shown,
//! and the gap notice counts one message fewer (or goes).
//!
//! Our own side: a message of ours that neither this device (its saved
//! state was lost) nor the server holds any more is listed as lost in our
//! receipt, so the readers show its gap at once.

use super::super::participants::DeviceId;
use super::super::types::{Millis, TrustNotice};
use super::Session;

/// How long a message known to exist may stay missing before its gap is
/// shown: a sender that is online repairs within a few polls; one whose
/// tab is closed may never come back.
pub(super) const GAP_MS: Millis = 120_000;

/// How far past what it holds of a device a sweep looks, so that a sweep
/// costs little however far behind a window is.
const SPAN: u64 = 256;

/// How often the missing messages are looked at.
const SWEEP_MS: Millis = 1_000;

impl Session {
    /// Looks for messages that have become gaps.
    pub(super) fn sweep_gaps(&mut self, now: Millis) {
        if now < self.gaps.next_sweep {
            return;
        }
        self.gaps.next_sweep = now + SWEEP_MS;
        let mut found: Vec<(DeviceId, u64)> = Vec::new();
        for (device, follow) in self.follows.iter() {
            let lost = self.gaps.lost.get(device);
            for k in follow.have + 1..=follow.head.min(follow.have + SPAN) {
                let slot = (device.clone(), k);
                if follow.gaps.contains(&k) || self.log.contains(device, k) {
                    self.gaps.missing.remove(&slot);
                    continue;
                }
                let since = *self.gaps.missing.get_or_insert_with(slot, || now);
                let listed = lost.is_some_and(|r| r.iter().any(|&(a, b)| (a..=b).contains(&k)));
                if listed || now >= since + GAP_MS {
                    found.push((device.clone(), k));
                }
            }
        }
        let mut i = 0;
        while i < found.len() {
            let device = found[i].0.clone();
            let count = found[i..].iter().take_while(|(d, _)| *d == device).count();
            let Some(follow) = self.follows.get_mut(&device) else {
                break;
            };
            for (_, k) in &found[i..i + count] {
                // Kept in order (new here: not in `gaps` before).
                let at = follow.gaps.partition_point(|g| g < k);
                follow.gaps.insert(at, *k);
                self.gaps.missing.remove(&(device.clone(), *k));
            }
            let owner = follow.owner;
            let from = self.owner_name(owner).typed().to_owned();
            if let Some(trust) = self.trust.as_mut() {
                trust.notice(TrustNotice::Gap {
                    from,
                    count: count as u32,
                });
            }
            i += count;
        }
    }

    /// `device`'s message `seq` arrived: if it was a gap, it takes the
    /// gap's place.
    pub(super) fn gap_filled(&mut self, device: &DeviceId, seq: u64) {
        let Some(follow) = self.follows.get_mut(device) else {
            return;
        };
        let Some(at) = follow.gaps.iter().position(|k| *k == seq) else {
            return;
        };
        follow.gaps.remove(at);
        let owner = follow.owner;
        let from = self.owner_name(owner).typed().to_owned();
        if let Some(trust) = self.trust.as_mut() {
            trust.gap_filled(&from);
        }
    }
}
