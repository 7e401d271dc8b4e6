//! The inbox (issue 17; PROTOCOL.md, "The inbox"): how a device learns of
//! new conversations, and of new messages in conversations that are not
//! open, polling a constant two small requests whatever the number of
//! conversations. Tested natively; the app runs it (`src/app/inbox_runner.rs`)
//! only when built with the `inbox` feature: the download that ships has no
//! room for it yet (Cargo.toml).
//!
//! - [`keys`]: the doorbell's key, the parts' names, the acknowledgements'
//!   keys;
//! - [`bell`]: the stored doorbell and acknowledgement (through `codec`);
//! - [`rows`]: what one device's inbox shows, kept in local storage;
//! - [`ringer`]: a writer's rings and their repair until acknowledged;
//! - [`recipient`]: answering our own doorbell: fetch, acknowledge, clear;
//! - [`poll`]: the sans-I/O state machine tying them to requests;
//! - [`page`]: a new device's rows, rebuilt from the page it reads anyway.

pub mod bell;
pub mod keys;
pub mod page;
pub mod poll;
pub mod recipient;
pub mod ringer;
pub mod rows;
#[cfg(test)]
mod tests;

pub use poll::Inbox;
pub use rows::{Row, RowTurn, Rows};
