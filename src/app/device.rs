//! The device a tab speaks as, held by a lease in local storage (see
//! [`crate::core::claim`] for the rules).

use gloo_events::EventListener;
use gloo_timers::callback::Interval;

use super::clock::now_ms;
use super::storage;
use crate::core::claim::{choose, Claim, Lease, LEASE_RENEW_MS};
use crate::core::DeviceId;

fn random() -> u32 {
    (js_sys::Math::random() * f64::from(u32::MAX)) as u32
}

/// A device held by this tab until dropped.
pub struct DeviceClaim {
    device: DeviceId,
    instance: String,
    /// Renews the lease; stops when dropped.
    _heartbeat: Interval,
    /// Frees the device when the tab closes; removed when dropped.
    _on_pagehide: Option<EventListener>,
}

impl DeviceClaim {
    /// Claims a device for the conversation stored under `conversation`:
    /// this tab's own from before a reload, else one left by a closed tab,
    /// else a new one.
    pub fn claim(conversation: &str) -> DeviceClaim {
        let now = now_ms();
        let saved: Vec<(DeviceId, Option<Lease>)> = storage::saved_devices(conversation)
            .into_iter()
            .map(|d| (d.clone(), storage::lease(&d)))
            .collect();
        let device = match choose(storage::tab_device(conversation).as_ref(), &saved, now) {
            Claim::Resume(device) | Claim::Adopt(device) => device,
            Claim::New => DeviceId::from_random(random),
        };
        storage::set_tab_device(conversation, &device);
        let instance = DeviceId::from_random(random).to_string();
        let renew = {
            let (device, instance) = (device.clone(), instance.clone());
            move || {
                storage::set_lease(
                    &device,
                    &Lease {
                        instance: instance.clone(),
                        renewed_at: now_ms(),
                    },
                )
            }
        };
        renew();
        let heartbeat = Interval::new(LEASE_RENEW_MS as u32, renew);
        // A tab that closes or reloads frees its device at once.
        let on_pagehide = web_sys::window().map(|window| {
            let (device, instance) = (device.clone(), instance.clone());
            EventListener::new(&window, "pagehide", move |_| release(&device, &instance))
        });
        DeviceClaim {
            device,
            instance,
            _heartbeat: heartbeat,
            _on_pagehide: on_pagehide,
        }
    }

    pub fn device(&self) -> &DeviceId {
        &self.device
    }
}

fn release(device: &DeviceId, instance: &str) {
    if storage::lease(device).is_some_and(|lease| lease.instance == instance) {
        storage::drop_lease(device);
    }
}

impl Drop for DeviceClaim {
    fn drop(&mut self) {
        release(&self.device, &self.instance);
    }
}
