//! What the session must read before it can open other devices' values
//! (protocol version 2): the announcement `k.<device>` of a device seen in
//! a record, and a sender key share `x.<sender>.<us>.<epoch>` that a value
//! needs. Each is asked for at once, and again after a while if it was
//! missing or failed its check (its writer repairs it).

use crate::core::small_map::SmallMap;

use super::super::participants::DeviceId;
use super::super::types::Millis;

/// One thing to read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Wanted {
    Announcement(DeviceId),
    /// A sender's key of an epoch, shared with us.
    Share(DeviceId, u32),
}

/// Everything still to read, with when it may next be asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Learning {
    wanted: SmallMap<Wanted, Millis>,
}

impl Learning {
    /// Reads `wanted` as soon as it is due, unless it is already waiting.
    pub fn want(&mut self, wanted: Wanted, now: Millis) {
        self.wanted.get_or_insert_with(wanted, || now);
    }

    /// What to read now, announcements first (a share opens only with its
    /// sender's announcement).
    pub fn next(&self, now: Millis) -> Option<Wanted> {
        self.wanted
            .iter()
            .find(|(_, at)| **at <= now)
            .map(|(wanted, _)| wanted.clone())
    }

    /// When something may next be read, if anything is wanted.
    pub fn next_retry(&self) -> Option<Millis> {
        self.wanted.values().min().copied()
    }

    /// `wanted` was not there yet (or failed its check): ask again at `at`.
    pub fn retry(&mut self, wanted: &Wanted, at: Millis) {
        if let Some(slot) = self.wanted.get_mut(wanted) {
            *slot = at;
        }
    }

    pub fn done(&mut self, wanted: &Wanted) {
        self.wanted.remove(wanted);
    }

    /// Asks again for everything from `now`.
    pub fn retry_all(&mut self, now: Millis) {
        for at in self.wanted.values_mut() {
            *at = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_come_first_and_misses_wait() {
        let d = DeviceId::parse("bbbbbbbbbb").unwrap();
        let mut learning = Learning::default();
        learning.want(Wanted::Share(d.clone(), 1), 5);
        learning.want(Wanted::Announcement(d.clone()), 5);
        assert_eq!(learning.next(4), None);
        assert_eq!(learning.next(5), Some(Wanted::Announcement(d.clone())));
        learning.retry(&Wanted::Announcement(d.clone()), 100);
        assert_eq!(learning.next(5), Some(Wanted::Share(d.clone(), 1)));
        learning.done(&Wanted::Share(d.clone(), 1));
        assert_eq!(learning.next_retry(), Some(100));
        learning.retry_all(6);
        assert_eq!(learning.next(6), Some(Wanted::Announcement(d)));
    }
}
