//! How long alerts went unchecked while the screen was hidden.
//!
//! A browser may pause a hidden tab altogether (a phone freezes it, a
//! computer puts it to sleep); then no poll runs and no alert can come. The
//! shell tells [`Unchecked`] when the screen is hidden or shown and each
//! time the session checks the server; when the screen is shown again it
//! says whether, and for how long, checks stopped for much longer than the
//! hidden poll interval, so the screen can say so instead of leaving the
//! clinician to believe nothing came in.

use super::types::Millis;

/// A stretch of time in which the server was not checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    pub from: Millis,
    pub to: Millis,
}

impl Gap {
    pub fn minutes(&self) -> u64 {
        self.to.saturating_sub(self.from) / 60_000
    }
}

#[derive(Clone, Debug, Default)]
pub struct Unchecked {
    /// When the server was last checked (a request ended).
    last_check: Option<Millis>,
    /// Since when the screen is hidden, if it is.
    hidden_since: Option<Millis>,
    /// The longest stretch without a check since the screen was hidden.
    longest: Option<Gap>,
}

impl Unchecked {
    /// The slack on top of the hidden poll interval before a stretch counts:
    /// a retry's backoff (up to 30 s) or a slow answer is no pause.
    pub const SLACK_MS: Millis = 45_000;

    /// A request of the session to the server ended (answered or failed)
    /// at `now`.
    pub fn checked(&mut self, now: Millis) {
        if self.hidden_since.is_some() {
            if let Some(last) = self.last_check {
                self.note(Gap {
                    from: last,
                    to: now,
                });
            }
        }
        self.last_check = Some(now);
    }

    /// The screen was hidden at `now`.
    pub fn hidden(&mut self, now: Millis) {
        if self.hidden_since.is_none() {
            self.hidden_since = Some(now);
            self.longest = None;
        }
    }

    /// The screen is shown again at `now`: the longest stretch without a
    /// check while it was hidden, if it was over `hidden_poll_ms` plus
    /// [`Unchecked::SLACK_MS`].
    pub fn shown(&mut self, now: Millis, hidden_poll_ms: Millis) -> Option<Gap> {
        self.hidden_since.take()?;
        if let Some(last) = self.last_check {
            self.note(Gap {
                from: last,
                to: now,
            });
        }
        let longest = self.longest.take()?;
        (longest.to.saturating_sub(longest.from) > hidden_poll_ms + Self::SLACK_MS)
            .then_some(longest)
    }

    fn note(&mut self, gap: Gap) {
        let length = |g: &Gap| g.to.saturating_sub(g.from);
        if self
            .longest
            .as_ref()
            .is_none_or(|l| length(&gap) > length(l))
        {
            self.longest = Some(gap);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLL: Millis = 15_000;

    #[test]
    fn regular_polls_while_hidden_are_no_pause() {
        let mut u = Unchecked::default();
        u.checked(0);
        u.hidden(1_000);
        for at in (15_000..600_000).step_by(15_000) {
            u.checked(at);
        }
        assert_eq!(u.shown(601_000, POLL), None);
    }

    #[test]
    fn a_frozen_tab_reports_its_longest_stretch_without_a_check() {
        let mut u = Unchecked::default();
        u.checked(0);
        u.hidden(1_000);
        u.checked(15_000);
        // Frozen from 15 s to 8 min 15 s; then polls again.
        u.checked(495_000);
        u.checked(510_000);
        let gap = u.shown(512_000, POLL).expect("a pause");
        assert_eq!(
            gap,
            Gap {
                from: 15_000,
                to: 495_000
            }
        );
        assert_eq!(gap.minutes(), 8);
        // Said once.
        assert_eq!(u.shown(513_000, POLL), None);
    }

    #[test]
    fn a_pause_right_up_to_the_moment_it_is_shown_counts() {
        let mut u = Unchecked::default();
        u.checked(0);
        u.hidden(1_000);
        assert_eq!(
            u.shown(200_000, POLL),
            Some(Gap {
                from: 0,
                to: 200_000
            })
        );
    }

    #[test]
    fn a_pause_while_visible_or_before_it_was_hidden_is_not_reported() {
        let mut u = Unchecked::default();
        u.checked(0);
        u.checked(300_000); // visible: the screen itself shows what came
        u.hidden(301_000);
        u.checked(310_000);
        assert_eq!(u.shown(312_000, POLL), None);
        // Shown without having been hidden: nothing to say.
        assert_eq!(u.shown(900_000, POLL), None);
    }

    #[test]
    fn the_threshold_follows_the_hidden_poll_interval() {
        let mut u = Unchecked::default();
        u.checked(0);
        u.hidden(0);
        u.checked(100_000);
        assert_eq!(
            u.shown(100_000, 60_000),
            None,
            "100 s is within 60 s + slack"
        );
        u.hidden(100_000);
        u.checked(200_000);
        assert!(
            u.shown(200_000, POLL).is_some(),
            "100 s is over 15 s + slack"
        );
    }
}
