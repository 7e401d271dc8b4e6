//! The conversation protocol, in plain Rust with no I/O.
//!
//! - [`participants`]: names, conversations and the keys they use;
//! - [`envelope`]: what is stored under those keys;
//! - [`log`]: the transcript in the order both sides agree on;
//! - [`journal`]: the transcript as a browser saves it, chunk by chunk;
//! - [`session`]: the turn machine, outbox, polling and repair;
//! - [`quick_replies`]: the answers sent with one tap;
//! - [`escalation`]: forwarding an unanswered urgent message to a backup
//!   colleague;
//! - [`repeat_alert`]: when an urgent message that no device of the
//!   recipient has shown alerts again;
//! - [`unchecked`]: how long alerts went unchecked while a browser paused
//!   the hidden screen;
//! - [`types`]: the words the session and its callers share (turn,
//!   delivery, connection, why a message was refused);
//! - [`settings`]: the intervals it runs on, and the preferences and sign-in
//!   a browser remembers;
//! - [`small_map`]: ordered maps and sets for a handful of entries;
//! - [`claim`]: which device id a browser tab speaks as;
//! - [`trust`]: protocol version 2's encryption and authentication (not
//!   yet wired into the session);
//! - [`directory`]: who uses Bleep here and their on-duty status, one
//!   entry per person;
//! - [`inbox`]: the conversations a person has, learnt through a doorbell
//!   (issue 17; run by the app only when built with the `inbox` feature);
//! - [`codec`]: how all of it is written as JSON (serde_json), on the server
//!   and in the browser.
//!
//! `PROTOCOL.md` at the root of the repository describes the protocol itself.

pub mod claim;
pub mod codec;
pub mod directory;
pub mod envelope;
pub mod escalation;
#[cfg(test)]
mod fixtures;
pub mod inbox;
pub mod journal;
pub mod log;
pub mod participants;
pub mod quick_replies;
pub mod repeat_alert;
pub mod session;
pub mod settings;
pub mod small_map;
pub mod trust;
pub mod types;
pub mod unchecked;

pub use envelope::{Envelope, MessageView};
pub use participants::{DeviceId, Field, KeyLayout, Name, NameError, Pair};
pub use session::{Saved, Session};
pub use settings::Settings;
pub use types::{
    Budget, Connection, Delivery, Event, Millis, Outgoing, SendError, TrustNotice, Turn,
};
