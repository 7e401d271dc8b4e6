//! The words the core and its callers share: the clock's unit, whose turn it
//! is, how far a message got, whether the server answers, why a message was
//! refused, how much of a request a draft takes, and a request to run.
//!
//! Plain data, no behaviour beyond naming itself: every part of
//! [`super::session`] and every shell speaks in these types.

use std::fmt;

use crate::imserver::wire::Request;

/// Milliseconds since 1970 (the caller's clock).
pub type Millis = u64;

/// Whose turn it is, as the clinician sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// You may send.
    Idle,
    /// Your message is being stored.
    Sending,
    /// You sent last (at `since`); your colleague's reply is awaited.
    Waiting { since: Millis },
}

/// How far one of your own messages has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Queued, not yet known to be stored.
    Pending,
    /// Stored: read back from the server.
    Sent,
    /// Your colleague's screen has shown it.
    Read,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Sent => "sent",
            Delivery::Read => "read",
        }
    }
}

/// Whether the server is answering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    Online,
    /// Requests have been failing; `reason` says why, in plain words.
    Offline {
        reason: String,
        since: Millis,
    },
}

/// Why a message was not accepted for sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    Empty,
    /// A new window is still reading the conversation from the server.
    Loading,
    /// The previous message is still being stored.
    StillSending,
    /// You sent last: wait for your colleague's reply.
    NotYourTurn,
    /// The message does not fit in one request to the server.
    TooLong {
        over_by: usize,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Empty => f.write_str("Type a message first."),
            SendError::Loading => f.write_str("Still loading the conversation from the server: try again in a moment."),
            SendError::StillSending => f.write_str("Your previous message is still being sent."),
            SendError::NotYourTurn => f.write_str("It is your colleague's turn: wait for their reply, or send it as an urgent follow-up."),
            SendError::TooLong { over_by } => write!(
                f,
                "This message is too long for the server. Shorten it (by about {over_by} characters) or split it into two."
            ),
        }
    }
}

impl std::error::Error for SendError {}

/// How much of the server's request limit a draft would use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of request line the message would need.
    pub used: usize,
    /// The most a request line may hold.
    pub limit: usize,
}

impl Budget {
    pub fn fits(self) -> bool {
        self.used <= self.limit
    }
}

/// Something the screen shows that has changed, reported by
/// [`super::Session::poll_event`], so that a screen redraws only that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A message was added or removed, or one of ours got further
    /// (pending, sent, read).
    MessagesChanged,
    /// Whose turn it is ([`Turn`]), or since when you wait.
    TurnChanged,
    /// The server started or stopped answering, or why not changed.
    ConnectionChanged,
    /// How many of your colleague's messages are unread, or how many of
    /// their urgent ones no device of yours has shown.
    UnreadChanged,
    /// The first load of the conversation from the server finished.
    LoadingChanged,
    /// A trust notice was added ([`super::Session::notices`]).
    NoticesChanged,
    /// The colleague's directory entry, or our own status, changed
    /// ([`super::Session::colleague`], [`super::Session::my_status`]).
    DirectoryChanged,
}

/// Something about the conversation's trust that the transcript shows, in
/// the order it was learnt ([`super::Session::notices`]). Names are as
/// typed; the wording is the screen's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustNotice {
    /// A value failed its check and was ignored (once per key and value).
    Tampered,
    /// `person`'s identity key changed: a new or reset browser, or someone
    /// posing as them.
    KeyChanged { person: String },
    /// Another device of `person`'s known identity joined.
    NewDevice { person: String },
    /// `count` messages from `from` could not be delivered.
    Gap { from: String, count: u32 },
}

/// A request for the caller to run, and the tag to answer it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub id: u64,
    pub request: Request,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_fits_up_to_its_limit() {
        assert!(Budget {
            used: 10,
            limit: 10
        }
        .fits());
        assert!(!Budget {
            used: 11,
            limit: 10
        }
        .fits());
    }

    #[test]
    fn refusals_say_what_to_do() {
        assert_eq!(
            SendError::TooLong { over_by: 12 }.to_string(),
            "This message is too long for the server. Shorten it (by about 12 characters) or split it into two."
        );
        for error in [
            SendError::Empty,
            SendError::Loading,
            SendError::StillSending,
            SendError::NotYourTurn,
        ] {
            assert!(error.to_string().ends_with('.'), "{error}");
        }
    }

    #[test]
    fn deliveries_name_themselves_as_the_test_hooks_do() {
        let names: Vec<_> = [Delivery::Pending, Delivery::Sent, Delivery::Read]
            .into_iter()
            .map(Delivery::as_str)
            .collect();
        assert_eq!(names, ["pending", "sent", "read"]);
    }
}
