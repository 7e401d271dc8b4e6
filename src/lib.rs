//! Bleep: a browser messenger for healthcare professionals.
//!
//! - [`imserver`]: talking to IMserver.php (wire format, PHP `serialize()`
//!   parser, the client);
//! - [`core`]: the conversation protocol, with no I/O;
//! - [`driver`]: the loop that runs the core's requests and saves its state,
//!   over any transport, storage and clock (browser, simulation, benchmark);
//! - [`display`]: what the screens say (the turn, the connection check,
//!   delivery marks, the tab's title), tested natively;
//! - [`presence`]: what the screens say about people in the directory
//!   (status lines, a name nobody used, an off-duty colleague);
//! - [`inbox_list`]: what the inbox list says (previews, turns, the unread
//!   total, which conversations notify, what the address asks for);
//! - [`links`]: the web addresses in a message's text, made clickable;
//! - `app` (browser builds only): the Leptos screens and the thin shell that
//!   runs the core with real requests, timers and storage;
//! - `bench_probe` (browser builds with the `bench-probe` feature, for the
//!   benchmark and one browser test): sealing and opening a message, timed
//!   by the page, and the primitives' known answers through WebCrypto.

pub mod core;
pub mod display;
pub mod driver;
pub mod imserver;
pub mod inbox_list;
pub mod links;
pub mod presence;

#[cfg(target_arch = "wasm32")]
pub mod app;

#[cfg(all(target_arch = "wasm32", feature = "bench-probe"))]
pub mod bench_probe;
