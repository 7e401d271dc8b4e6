//! The browser's clock: milliseconds since 1970, for the driver and for the
//! device lease; and a time as the screens show it ("14:05", local).

use crate::core::Millis;
use crate::driver::Clock;

/// Milliseconds since 1970, from the browser's clock.
pub fn now_ms() -> Millis {
    js_sys::Date::now() as Millis
}

/// The browser's clock, as the driver reads it.
pub struct BrowserClock;

impl Clock for BrowserClock {
    fn now(&self) -> Millis {
        now_ms()
    }
}

/// "14:05", in local time.
pub fn clock_time(ms: Millis) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}
