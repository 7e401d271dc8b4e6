//! Why a value of protocol version 2 was refused, in words a clinician
//! understands.
//!
//! Every check in [`super`] returns one of these as a value; nothing panics
//! on bytes from the server, an attacker or a damaged local store. The
//! screens show [`TrustError::Rejected`] as a notice in the transcript
//! ("a message that failed its check was ignored") and never the refused
//! content.

use std::fmt;

/// What a refused value was meant to be, so the notice can say so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A message (`m.<device>.<seq>`).
    Message,
    /// A device's read receipts and heads (its entry in a record).
    Receipt,
    /// A device key announcement (`k.<device>`).
    DeviceKey,
    /// A sender key shared with one device (`x.<sender>.<recipient>.<epoch>`).
    KeyShare,
}

/// Why a cryptographic step did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrustError {
    /// The value failed its check: changed, truncated, forged, replayed
    /// under another key, moved from another conversation, or written by
    /// someone who does not hold the writer's keys. Its content is never
    /// shown.
    Rejected(ValueKind),
    /// The platform has no secure random number source, so nothing can be
    /// encrypted.
    NoRandomness,
    /// A key saved in this browser is damaged.
    DamagedSavedKey,
    /// A team invitation link does not hold a complete team key.
    DamagedTeamLink,
    /// The value would not fit in one request to the server.
    TooLong,
    /// An asynchronous implementation of the primitives (WebCrypto) has
    /// started on what was asked: run the same step again once it is done
    /// (`primitives`). Never shown: the step runs again at once.
    Later,
    /// The browser cannot do the cryptography (no WebCrypto: the page is
    /// not in a secure context, or the browser is too old).
    NoCrypto,
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::Rejected(ValueKind::Message) => {
                f.write_str("A message that failed its check was ignored.")
            }
            TrustError::Rejected(ValueKind::Receipt) => {
                f.write_str("A read receipt that failed its check was ignored.")
            }
            TrustError::Rejected(ValueKind::DeviceKey) => {
                f.write_str("A device key that failed its check was ignored.")
            }
            TrustError::Rejected(ValueKind::KeyShare) => {
                f.write_str("An encryption key that failed its check was ignored.")
            }
            TrustError::NoRandomness => f.write_str(
                "This browser cannot make the secure random numbers encryption needs: \
                 use an up-to-date browser.",
            ),
            TrustError::DamagedSavedKey => f.write_str(
                "A key saved in this browser is damaged: sign in again to make a new one \
                 (your colleague will see that your key changed).",
            ),
            TrustError::DamagedTeamLink => {
                f.write_str("This team invitation link is damaged or incomplete: ask for it again.")
            }
            TrustError::TooLong => {
                f.write_str("This message is too long for the server: shorten it or split it.")
            }
            TrustError::Later => f.write_str("Encryption is still at work: a moment, please."),
            TrustError::NoCrypto => f.write_str(
                "This browser cannot encrypt on this page: open Bleep over HTTPS, \
                 in an up-to-date browser.",
            ),
        }
    }
}

impl TrustError {
    /// Whether this is a verdict on the value (it failed its check), as
    /// opposed to a check that could not be made yet or here
    /// ([`TrustError::Later`], [`TrustError::NoCrypto`], ...): only a
    /// verdict may become a tamper notice.
    pub fn is_rejection(self) -> bool {
        matches!(self, TrustError::Rejected(_))
    }
}

impl std::error::Error for TrustError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_reads_as_a_sentence_without_jargon() {
        let all = [
            TrustError::Rejected(ValueKind::Message),
            TrustError::Rejected(ValueKind::Receipt),
            TrustError::Rejected(ValueKind::DeviceKey),
            TrustError::Rejected(ValueKind::KeyShare),
            TrustError::NoRandomness,
            TrustError::DamagedSavedKey,
            TrustError::DamagedTeamLink,
            TrustError::TooLong,
            TrustError::Later,
            TrustError::NoCrypto,
        ];
        for e in all {
            let text = e.to_string();
            assert!(text.ends_with('.'), "{text}");
            assert!(
                text.chars().next().is_some_and(char::is_uppercase),
                "{text}"
            );
            for jargon in ["AEAD", "Ed25519", "signature", "nonce", "base64"] {
                assert!(!text.contains(jargon), "{text}");
            }
        }
        assert_eq!(
            TrustError::Rejected(ValueKind::Message).to_string(),
            "A message that failed its check was ignored."
        );
    }
}
