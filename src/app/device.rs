//! The device a tab speaks as, held by a lease in local storage (see
//! [`crate::core::claim`] for the rules).

use gloo_timers::callback::Interval;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::chat::now_ms;
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
    _heartbeat: Interval,
    on_pagehide: Closure<dyn FnMut()>,
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
        let on_pagehide = {
            let (device, instance) = (device.clone(), instance.clone());
            Closure::<dyn FnMut()>::new(move || release(&device, &instance))
        };
        if let Some(window) = web_sys::window() {
            let _ = window
                .add_event_listener_with_callback("pagehide", on_pagehide.as_ref().unchecked_ref());
        }
        DeviceClaim {
            device,
            instance,
            _heartbeat: heartbeat,
            on_pagehide,
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
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(
                "pagehide",
                self.on_pagehide.as_ref().unchecked_ref(),
            );
        }
    }
}
