//! The browser's clock: milliseconds since 1970, for the driver and for the
//! device lease.

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
