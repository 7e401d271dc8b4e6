//! Which device a browser tab speaks as.
//!
//! Every tab that opens a conversation must write under a device id no other
//! open tab uses, or two tabs of one person would number their messages
//! alike. Yet a tab that reloads, or a tab opened after another crashed or
//! was closed, should resume that device's saved outbox and transcript.
//! Open tabs therefore hold a lease on their device in local storage, renew
//! it every [`LEASE_RENEW_MS`], and drop it when the page goes away; a device
//! whose lease is missing or older than [`LEASE_TTL_MS`] is free.

use serde::{Deserialize, Serialize};

use super::participants::DeviceId;
use super::types::Millis;

/// How often an open tab renews its lease.
pub const LEASE_RENEW_MS: u64 = 2_000;

/// After this long without renewal, a lease is abandoned.
pub const LEASE_TTL_MS: u64 = 6_000;

/// An open tab's hold on a device. Stored as
/// `{"instance":…,"renewed_at":…}`, both required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Random per page load: tells one tab from another, and a duplicated
    /// tab (which copies its original's session storage) from its original.
    pub instance: String,
    pub renewed_at: Millis,
}

impl Lease {
    pub fn is_live(&self, now: Millis) -> bool {
        now < self.renewed_at.saturating_add(LEASE_TTL_MS)
    }
}

/// What a tab should do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Keep the device this tab had before it reloaded.
    Resume(DeviceId),
    /// Take over a device whose tab was closed or crashed.
    Adopt(DeviceId),
    /// Every saved device is in use (or there is none): start a new one.
    New,
}

/// Chooses a device for a tab that had `tab_device` before (from its
/// session storage), given the devices saved for this conversation in this
/// browser and their leases.
pub fn choose(
    tab_device: Option<&DeviceId>,
    saved: &[(DeviceId, Option<Lease>)],
    now: Millis,
) -> Claim {
    let is_free = |device: &DeviceId| {
        saved
            .iter()
            .find(|(d, _)| d == device)
            .is_none_or(|(_, lease)| !lease.as_ref().is_some_and(|l| l.is_live(now)))
    };
    if let Some(device) = tab_device {
        if is_free(device) {
            return Claim::Resume(device.clone());
        }
    }
    saved
        .iter()
        .map(|(device, _)| device)
        .find(|device| is_free(device))
        .map_or(Claim::New, |device| Claim::Adopt(device.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(c: char) -> DeviceId {
        DeviceId::parse(&c.to_string().repeat(DeviceId::LEN)).unwrap()
    }

    fn lease(at: Millis) -> Option<Lease> {
        Some(Lease {
            instance: "x".into(),
            renewed_at: at,
        })
    }

    #[test]
    fn a_reloaded_tab_resumes_its_device() {
        // Its lease was dropped when the page went away.
        let saved = [(device('a'), None), (device('b'), lease(9_000))];
        assert_eq!(
            choose(Some(&device('a')), &saved, 10_000),
            Claim::Resume(device('a'))
        );
    }

    #[test]
    fn a_duplicated_tab_does_not_share_its_originals_device() {
        let saved = [(device('a'), lease(9_000))];
        assert_eq!(choose(Some(&device('a')), &saved, 10_000), Claim::New);
    }

    #[test]
    fn a_new_tab_adopts_the_device_of_a_crashed_one() {
        let saved = [(device('a'), lease(9_000)), (device('b'), lease(1_000))];
        assert_eq!(choose(None, &saved, 10_000), Claim::Adopt(device('b')));
    }

    #[test]
    fn a_second_open_tab_gets_a_device_of_its_own() {
        let saved = [(device('a'), lease(9_500))];
        assert_eq!(choose(None, &saved, 10_000), Claim::New);
        assert_eq!(choose(None, &[], 10_000), Claim::New);
    }
}
