//! When an urgent message alerts again: every `every` milliseconds (two
//! minutes unless the user chose otherwise) for as long as some urgent
//! message of the colleague has not been shown on a visible screen of any
//! of the recipient's devices (PROTOCOL.md, "Repeat alerts"). A routine
//! message alerts once, when it arrives; so does an urgent one, and this
//! schedule adds the repeats.
//!
//! Plain logic: the browser calls [`RepeatAlert::tick`] from a timer and
//! plays the alert when it says so.

use super::types::Millis;

/// The repeat interval unless the user chose another.
pub const DEFAULT_REPEAT_MS: Millis = 120_000;

/// The shortest and longest repeat intervals a user may choose.
pub const REPEAT_RANGE_MS: (Millis, Millis) = (1_000, 3_600_000);

/// The next repeat alert, if one is due at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RepeatAlert {
    /// When to alert again; `None` while nothing urgent is unseen.
    due: Option<Millis>,
    /// How many urgent messages were unseen at the last tick.
    unseen: usize,
}

impl RepeatAlert {
    /// At `now`, `unseen` urgent messages of the colleague have been shown
    /// on none of the recipient's devices; says whether to alert again now.
    ///
    /// A newly unseen message has just alerted on arrival: its first
    /// repeat is one interval later. Once none is unseen, nothing is due.
    pub fn tick(&mut self, now: Millis, unseen: usize, every: Millis) -> bool {
        let every = every.clamp(REPEAT_RANGE_MS.0, REPEAT_RANGE_MS.1);
        let arrived = unseen > self.unseen;
        self.unseen = unseen;
        match self.due {
            _ if unseen == 0 => {
                self.due = None;
                false
            }
            Some(due) if now >= due && !arrived => {
                self.due = Some(now + every);
                true
            }
            Some(_) if !arrived => false,
            _ => {
                self.due = Some(now + every);
                false
            }
        }
    }

    /// When the next repeat is due, if any.
    pub fn due(&self) -> Option<Millis> {
        self.due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The times in `0..until`, one tick a second, at which it alerts.
    fn alerts(
        schedule: &mut RepeatAlert,
        from: Millis,
        until: Millis,
        unseen: usize,
    ) -> Vec<Millis> {
        (from / 1_000..until / 1_000)
            .map(|s| s * 1_000)
            .filter(|&now| schedule.tick(now, unseen, 5_000))
            .collect()
    }

    #[test]
    fn an_unseen_urgent_message_alerts_again_every_interval_until_seen() {
        let mut schedule = RepeatAlert::default();
        assert!(alerts(&mut schedule, 0, 3_000, 0).is_empty());
        assert_eq!(schedule.due(), None);
        // It arrives at 3 s (and alerts then, as any message): repeats at
        // 8, 13 and 18 s.
        assert_eq!(
            alerts(&mut schedule, 3_000, 20_000, 1),
            [8_000, 13_000, 18_000]
        );
        assert_eq!(schedule.due(), Some(23_000));
        // A device of the recipient shows it: no more alerts.
        assert!(alerts(&mut schedule, 20_000, 60_000, 0).is_empty());
        assert_eq!(schedule.due(), None);
    }

    #[test]
    fn a_second_urgent_message_starts_the_interval_again() {
        let mut schedule = RepeatAlert::default();
        assert!(!schedule.tick(0, 1, 5_000));
        assert!(
            !schedule.tick(4_000, 2, 5_000),
            "it just alerted on arrival"
        );
        assert!(!schedule.tick(5_000, 2, 5_000));
        assert!(schedule.tick(9_000, 2, 5_000));
        // One of the two is shown: the other still repeats.
        assert!(!schedule.tick(10_000, 1, 5_000));
        assert!(schedule.tick(14_000, 1, 5_000));
    }

    #[test]
    fn the_interval_is_kept_within_reason() {
        let mut schedule = RepeatAlert::default();
        schedule.tick(0, 1, 0);
        assert_eq!(schedule.due(), Some(REPEAT_RANGE_MS.0));
        let mut schedule = RepeatAlert::default();
        schedule.tick(0, 1, Millis::MAX);
        assert_eq!(schedule.due(), Some(REPEAT_RANGE_MS.1));
    }
}
