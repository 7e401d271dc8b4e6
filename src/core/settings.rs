//! What a user chooses and the browser remembers between visits: the
//! protocol's timing (with defaults suited to a ward), other preferences, and
//! the last sign-in. Plain data, so that their stored form is tested natively.

use serde::{Deserialize, Serialize};

use super::escalation::DEFAULT_ESCALATE_MS;
use super::repeat_alert::DEFAULT_REPEAT_MS;

/// How often Bleep asks the server for news, and how it backs off.
///
/// All times are in milliseconds. Stored as an object with the field names
/// below, in this order; any left out take their default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Between polls while you wait for a reply.
    pub waiting_poll_ms: u64,
    /// Between polls while it is your turn.
    pub idle_poll_ms: u64,
    /// Between polls while the tab is hidden, whatever the turn.
    pub hidden_poll_ms: u64,
    /// The first delay after a failed request; it doubles on each failure.
    pub backoff_first_ms: u64,
    /// The longest delay between retries while the server fails.
    pub backoff_max_ms: u64,
    /// How long a request may take before it counts as failed.
    pub request_timeout_ms: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            waiting_poll_ms: 1_000,
            idle_poll_ms: 3_000,
            hidden_poll_ms: 15_000,
            backoff_first_ms: 1_000,
            backoff_max_ms: 30_000,
            request_timeout_ms: 8_000,
        }
    }
}

impl Settings {
    /// Brings every interval into a range that neither floods the server nor
    /// leaves a clinician waiting for minutes.
    pub fn clamped(mut self) -> Settings {
        let clamp = |v: &mut u64, lo: u64, hi: u64| *v = (*v).clamp(lo, hi);
        clamp(&mut self.waiting_poll_ms, 200, 60_000);
        clamp(&mut self.idle_poll_ms, 200, 300_000);
        clamp(&mut self.hidden_poll_ms, 200, 600_000);
        clamp(&mut self.backoff_first_ms, 100, 60_000);
        clamp(&mut self.backoff_max_ms, self.backoff_first_ms, 600_000);
        clamp(&mut self.request_timeout_ms, 500, 120_000);
        self
    }
}

/// Preferences that are not part of the protocol.
/// Any field left out of the JSON takes its default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    pub timing: Settings,
    /// A short sound when a reply arrives in a hidden tab: on unless turned
    /// off (a reply nobody notices is the worse failure on a ward).
    pub sound: bool,
    pub notifications: bool,
    /// Whether Bleep has asked once whether to show desktop notifications;
    /// it never asks again. Left out of the JSON until then, so that what
    /// earlier releases stored is written as they wrote it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub asked_notifications: bool,
    /// How often, in ms, an urgent message that no device of yours has
    /// shown alerts again. Left out of the JSON while it is the default.
    #[serde(skip_serializing_if = "is_default_repeat")]
    pub urgent_repeat_ms: u64,
    /// The user's own quick replies, after the standard ones, one a line.
    /// Left out of the JSON while there are none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub quick_replies: String,
    /// How long, in ms, an urgent message of yours waits for a reply
    /// before Bleep offers to escalate it. Left out of the JSON while it is
    /// the default.
    #[serde(skip_serializing_if = "is_default_escalate")]
    pub escalate_after_ms: u64,
    /// The backup colleague last escalated to, as typed, to suggest next
    /// time. Left out of the JSON while there is none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub backup: String,
}

fn is_default_repeat(ms: &u64) -> bool {
    *ms == DEFAULT_REPEAT_MS
}

fn is_default_escalate(ms: &u64) -> bool {
    *ms == DEFAULT_ESCALATE_MS
}

impl Default for Preferences {
    fn default() -> Preferences {
        Preferences {
            timing: Settings::default(),
            sound: true,
            notifications: false,
            asked_notifications: false,
            urgent_repeat_ms: DEFAULT_REPEAT_MS,
            quick_replies: String::new(),
            escalate_after_ms: DEFAULT_ESCALATE_MS,
            backup: String::new(),
        }
    }
}

/// The last sign-in, to fill the form next time; every field is required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignIn {
    pub me: String,
    pub peer: String,
    pub server: String,
}
