//! Quick replies: the answers a clinician sends with one tap. Four every
//! ward uses, then the user's own saved phrases (kept with the
//! preferences). A quick reply is sent as any message is: it follows the
//! turn and shows pending, sent and read.

use super::participants::lowercase;

/// The replies every user has, in the order shown.
pub const STANDARD: [&str; 4] = [
    "Acknowledged",
    "On my way",
    "Call me",
    "Can't come, ask someone else",
];

/// The most own phrases kept, and the longest one.
pub const MAX_OWN: usize = 8;
pub const MAX_CHARS: usize = 60;

/// Why the user's own phrases were not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhraseError {
    TooLong,
    TooMany,
}

impl PhraseError {
    /// What the settings say about it (the numbers are [`MAX_CHARS`] and
    /// [`MAX_OWN`]).
    pub fn message(self) -> &'static str {
        match self {
            PhraseError::TooLong => {
                "A quick reply has at most 60 characters: shorten the longer one."
            }
            PhraseError::TooMany => "Keep at most 8 quick replies of your own: remove one first.",
        }
    }
}

/// Every quick reply: the standard ones, then the user's own, `own` (one a
/// line, as [`tidy`] wrote them).
pub fn all(own: &str) -> impl Iterator<Item = &str> {
    STANDARD.into_iter().chain(own.lines())
}

/// The user's own phrases from `text`, one a line: spacing tidied, empty
/// lines and repeats (of any reply, ignoring case and spacing) left out.
pub fn tidy(text: &str) -> Result<String, PhraseError> {
    let mut own = String::new();
    let mut count = 0;
    for line in text.lines() {
        let phrase = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if phrase.chars().count() > MAX_CHARS {
            return Err(PhraseError::TooLong);
        }
        let key = lowercase(&phrase);
        if phrase.is_empty() || all(&own).any(|known| lowercase(known) == key) {
            continue;
        }
        if count == MAX_OWN {
            return Err(PhraseError::TooMany);
        }
        if count > 0 {
            own.push('\n');
        }
        own.push_str(&phrase);
        count += 1;
    }
    Ok(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_phrases_follow_the_standard_ones_tidied_and_without_repeats() {
        let text = "  Bleep   the  registrar \n\nbleep the REGISTRAR\non my WAY\r\nBack in 5";
        let own = tidy(text).unwrap();
        assert_eq!(own, "Bleep the registrar\nBack in 5");
        let shown: Vec<&str> = all(&own).collect();
        assert_eq!(shown[..4], STANDARD);
        assert_eq!(shown[4..], ["Bleep the registrar", "Back in 5"]);
        assert_eq!(tidy("\n \n"), Ok(String::new()));
        assert_eq!(all("").count(), 4);
    }

    #[test]
    fn too_long_or_too_many_phrases_are_refused_with_a_reason() {
        let longest = "é".repeat(MAX_CHARS);
        assert_eq!(tidy(&longest).as_deref(), Ok(longest.as_str()));
        assert_eq!(tidy(&format!("ok\n{longest}x")), Err(PhraseError::TooLong));
        let lines: Vec<String> = (0..=MAX_OWN).map(|i| format!("Reply {i}")).collect();
        let most = lines[..MAX_OWN].join("\n");
        assert_eq!(tidy(&most).as_deref(), Ok(most.as_str()));
        assert_eq!(all(&most).count(), 4 + MAX_OWN);
        assert_eq!(tidy(&lines.join("\n")), Err(PhraseError::TooMany));
        // The messages name the limits as they are.
        assert!(PhraseError::TooLong
            .message()
            .contains(&format!(" {MAX_CHARS} ")));
        assert!(PhraseError::TooMany
            .message()
            .contains(&format!(" {MAX_OWN} ")));
    }
}
