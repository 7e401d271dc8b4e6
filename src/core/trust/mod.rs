//! Protocol version 2, "trust": end-to-end encryption and authentication
//! over a store anyone can write. Plain Rust, no web types.
//!
//! Not yet used on the wire: the session keeps its keys and pins
//! (`core::session`'s `trust` part, saved through the driver's storage),
//! but the client still speaks version 1. PROTOCOL.md ("Version 2: trust")
//! is the design and lists what the integration changes and what is done.
//!
//! - [`conversation`]: the conversation id every value is bound to, its key
//!   prefix, sides, and the optional team key;
//! - [`identity`]: a person's identity key (Ed25519, one per browser and
//!   name) and each device's key agreement key (X25519);
//! - [`weak_keys`]: the Ed25519 public keys no identity may have;
//! - [`announce`]: `k.<device>`, which identity speaks for a device;
//! - [`sender_key`]: each device's random sender key and its sharing with
//!   one recipient device (`x.<sender>.<recipient>.<epoch>`);
//! - [`message`]: sealing and opening `m.<device>.<seq>`;
//! - [`receipt`]: a device's signed, encrypted heads and read receipts;
//! - [`sealed`]: the one encrypted-and-signed form behind the last three,
//!   and what each is bound to;
//! - [`safety`]: the safety number compared in person;
//! - [`known_keys`]: trust on first use, and key-change news;
//! - [`keyring`]: the keys and pins a browser keeps, and their stored forms;
//! - [`primitives`]: the cryptographic primitives as a port, which the
//!   crates ([`rust_crypto`]) implement at once, and [`deferred`] as jobs
//!   carried out later (by the browser's WebCrypto);
//! - [`encoding`]: base64url text of every value;
//! - [`random`]: the platform's CSPRNG (and a seeded source for tests);
//! - [`error`]: why a value was refused, in a clinician's words;
//! - `primitive_vectors` and `vectors` (tests and the probe build): each
//!   primitive's known answers, and every stored form's, which the
//!   browser's WebCrypto must give too.
//!
//! Primitives are the audited RustCrypto crates (`ed25519-dalek`,
//! `x25519-dalek`, `aes-gcm`, `hkdf`, `sha2`), the first three only behind
//! the port, so that the browser can carry them out with WebCrypto
//! instead; AES-256-GCM rather than
//! ChaCha20-Poly1305 so that the browser can move to WebCrypto's
//! non-extractable keys without a format change (the vectors in
//! `vectors.rs` are what a second implementation must reproduce).

pub mod announce;
pub mod conversation;
pub mod deferred;
pub mod encoding;
pub mod error;
pub mod identity;
pub mod keyring;
pub mod known_keys;
pub mod message;
#[cfg(any(test, feature = "bench-probe"))]
pub mod primitive_vectors;
pub mod primitives;
pub mod random;
pub mod receipt;
pub mod rust_crypto;
pub mod safety;
pub(crate) mod sealed;
pub mod sender_key;
pub mod weak_keys;

#[cfg(any(test, feature = "bench-probe"))]
pub mod vectors;
#[cfg(test)]
mod walkthrough;

pub use announce::Announcement;
pub use conversation::{Conversation, Side, TeamKey, VERSION};
pub use error::{TrustError, ValueKind};
pub use identity::{DeviceKey, DevicePublic, IdentityKey, IdentityPublic};
pub use keyring::{DeviceKeys, PersonKeys};
pub use known_keys::{DeviceNews, DevicePins, KeyNews, KnownKeys};
pub use primitives::Primitives;
pub use random::{Entropy, OsEntropy, SeededEntropy};
pub use receipt::Receipt;
pub use rust_crypto::RustCrypto;
pub use safety::SafetyNumber;
pub use sealed::OVERHEAD;
pub use sender_key::SenderKey;
