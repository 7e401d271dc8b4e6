//! Talking to IMserver.php, the key-value store Bleep keeps its messages in.
//!
//! - [`wire`]: the request URLs and the meaning of each answer, pure;
//! - [`answer`]: what a request gives, an [`Answer`] or an [`ImError`],
//!   pure: with [`wire`], all the protocol core knows of this module;
//! - [`phpser`]: the PHP `serialize()` dump on the server's no-action page;
//! - [`client`]: [`ImClient`], which runs requests over any [`Transport`]
//!   and turns failures into an [`ImError`] worded for clinicians.
//!
//! Everything here is plain Rust; the browser's transport lives in the app.

pub mod answer;
pub mod client;
pub mod phpser;
pub mod wire;

pub use answer::{Answer, ImError};
pub use client::{HttpAnswer, ImClient, Transport, TransportError};
pub use phpser::{ParseError, PhpKey, StoreEntries, ESCAPED_PAGE_HEADER};
pub use wire::{Request, MAX_REQUEST_LINE};
