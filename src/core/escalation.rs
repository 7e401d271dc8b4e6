//! Escalation (issue 18; PROTOCOL.md, "Escalation"): when an urgent
//! message of yours has waited for a reply for a while (five minutes unless
//! the user chose otherwise), Bleep offers to forward it to a backup
//! colleague. The forward is an urgent message in the conversation with
//! the backup, its text the original's, marked in its envelope ([`Escalated`])
//! with who did not reply and when the original was sent; the original
//! conversation keeps a [`Note`] of it on this device.
//!
//! Plain logic: which message is waited on, when the offer is due, whom
//! it may go to, and the stored forms.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::participants::{Name, NameError, Pair};
use super::types::Millis;

/// How long an urgent message waits for a reply before the offer, unless
/// the user chose otherwise.
pub const DEFAULT_ESCALATE_MS: Millis = 300_000;

/// The shortest and longest waits a user may choose in the settings: 1 to
/// 60 minutes.
pub const ESCALATE_MS: (Millis, Millis) = (60_000, 3_600_000);

/// What marks a message as escalated (in its envelope, `"e"` and `"o"`):
/// who did not reply to the original, and when the original was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Escalated {
    /// The colleague who did not reply, as typed.
    pub unanswered: String,
    /// When the original was sent (the sender's clock, ms).
    pub sent_at: Millis,
}

/// Of a transcript in agreed order, each message given as (mine, urgent):
/// the position of the urgent message whose reply is awaited, the earliest
/// urgent message of yours after the colleague's last message (`None` if
/// the colleague wrote last or none of yours since is urgent).
pub fn awaited(
    messages: impl DoubleEndedIterator<Item = (bool, bool)> + ExactSizeIterator,
) -> Option<usize> {
    let count = messages.len();
    messages
        .rev()
        .take_while(|(mine, _)| *mine)
        .enumerate()
        .filter(|(_, (_, urgent))| *urgent)
        .last()
        .map(|(from_end, _)| count - 1 - from_end)
}

/// Whether a message sent at `sent_at` and still unanswered at `now` is to
/// be offered for escalation, `after` ms being the wait the user chose.
pub fn is_due(sent_at: Millis, now: Millis, after: Millis) -> bool {
    now.saturating_sub(sent_at) >= after
}

/// Why a message cannot be escalated to the name typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupError {
    Name(NameError),
    /// The colleague who did not reply.
    Unanswered,
    Yourself,
}

impl fmt::Display for BackupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackupError::Name(e) => e.fmt(f),
            BackupError::Unanswered => {
                f.write_str("That is who has not replied: choose a backup colleague.")
            }
            BackupError::Yourself => f.write_str("Choose a colleague other than yourself."),
        }
    }
}

/// The backup colleague named `typed`, while talking in `pair`: anyone but
/// the two of you.
pub fn backup(typed: &str, pair: &Pair) -> Result<Name, BackupError> {
    let name = Name::parse(typed).map_err(BackupError::Name)?;
    if name.normal() == pair.peer.normal() {
        Err(BackupError::Unanswered)
    } else if name.normal() == pair.me.normal() {
        Err(BackupError::Yourself)
    } else {
        Ok(name)
    }
}

/// What the original conversation keeps, on this device, of one
/// escalation. Stored as a list under the conversation, each note as an
/// array: `[message, backup, at, waited]`, all required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredNote", into = "StoredNote")]
pub struct Note {
    /// The escalated message: its device and number, `device.seq`.
    pub message: String,
    /// The backup colleague, as typed.
    pub to: String,
    /// When it was escalated.
    pub at: Millis,
    /// How long the message had waited for a reply by then.
    pub waited: Millis,
}

/// A [`Note`] as stored.
type StoredNote = (String, String, Millis, Millis);

impl From<StoredNote> for Note {
    fn from((message, to, at, waited): StoredNote) -> Note {
        Note {
            message,
            to,
            at,
            waited,
        }
    }
}

impl From<Note> for StoredNote {
    fn from(note: Note) -> StoredNote {
        (note.message, note.to, note.at, note.waited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::codec;

    #[test]
    fn the_awaited_message_is_your_first_urgent_one_since_the_colleague_wrote() {
        let awaited_in = |rows: &[(bool, bool)]| awaited(rows.iter().copied());
        assert_eq!(awaited_in(&[]), None);
        // Colleague last, or nothing urgent of yours since.
        assert_eq!(awaited_in(&[(true, true), (false, false)]), None);
        assert_eq!(
            awaited_in(&[(true, true), (false, false), (true, false)]),
            None
        );
        assert_eq!(awaited_in(&[(false, false), (true, true)]), Some(1));
        // A follow-up does not restart the wait: the first urgent counts.
        assert_eq!(
            awaited_in(&[(false, true), (true, false), (true, true), (true, true)]),
            Some(2)
        );
        assert_eq!(awaited_in(&[(true, true), (true, false)]), Some(0));
    }

    #[test]
    fn the_offer_is_due_once_the_wait_is_over() {
        assert!(!is_due(1_000, 300_999, DEFAULT_ESCALATE_MS));
        assert!(is_due(1_000, 301_000, DEFAULT_ESCALATE_MS));
        // A clock set back does not make it due.
        assert!(!is_due(5_000, 1_000, 1));
    }

    #[test]
    fn the_backup_is_anyone_but_the_two_of_you() {
        let pair = Pair::parse("Alice", "Dr Bob").unwrap();
        assert_eq!(backup(" Carol ", &pair).unwrap().typed(), "Carol");
        assert_eq!(backup("dr  BOB", &pair), Err(BackupError::Unanswered));
        assert_eq!(backup("alice", &pair), Err(BackupError::Yourself));
        let empty = backup("  ", &pair).unwrap_err();
        assert!(matches!(empty, BackupError::Name(_)));
        for e in [empty, BackupError::Unanswered, BackupError::Yourself] {
            assert!(e.to_string().ends_with('.'), "{e}");
        }
    }

    #[test]
    fn notes_are_stored_as_arrays_and_a_short_one_does_not_read() {
        let notes = vec![Note {
            message: "abcdefghij.3".into(),
            to: "Dr Carol <Reg> & co".into(),
            at: 1_764_325_300_000,
            waited: 300_000,
        }];
        let text = codec::to_string(&notes);
        assert_eq!(
            text,
            r#"[["abcdefghij.3","Dr Carol <Reg> & co",1764325300000,300000]]"#
        );
        assert_eq!(codec::from_str::<Vec<Note>>(&text).ok(), Some(notes));
        for junk in [r#"[["a.1","Dave",1]]"#, r#"[["a.1","Dave","1",0]]"#, "x"] {
            assert!(codec::from_str::<Vec<Note>>(junk).is_err(), "{junk}");
        }
    }
}
