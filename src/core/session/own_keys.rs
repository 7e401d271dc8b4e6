//! Our own keys other than messages and the record (protocol version 2):
//! the announcement `k.<device>` and the shares `x.<device>.<recipient>.<epoch>`
//! of our sender key with every device we trust. Each is written, read
//! back like a message, and then checked in the repair rotation, one at a
//! time, for as long as the conversation is open: a device that comes
//! later still finds them, and a lost write is put back.

use std::collections::VecDeque;

use super::super::participants::DeviceId;
use super::outbox::Stage;

/// One of our own keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum OwnKey {
    Announcement,
    /// Our current sender key, shared with this device.
    Share(DeviceId),
}

/// Which of our keys are still to be written or read back, and which to
/// check next. See the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct OwnKeys {
    /// To write or read back, oldest first.
    queue: VecDeque<(OwnKey, Stage)>,
    /// Every key we keep, in the order the rotation checks them.
    all: Vec<OwnKey>,
    cursor: usize,
}

impl OwnKeys {
    /// Keeps `key` from now on: written at once.
    pub fn add(&mut self, key: OwnKey) {
        if !self.all.contains(&key) {
            self.all.push(key.clone());
            self.queue.push_back((key, Stage::Write));
        }
    }

    /// The key to work on next, and its stage.
    pub fn front(&self) -> Option<&(OwnKey, Stage)> {
        self.queue.front()
    }

    pub fn is_urgent(&self) -> bool {
        !self.queue.is_empty()
    }

    /// `key` was written (or perhaps written): read it back.
    pub fn written(&mut self, key: &OwnKey) {
        if let Some(entry) = self.queue.iter_mut().find(|(k, _)| k == key) {
            entry.1 = Stage::Verify;
        }
    }

    /// `key` was read back: done if it held our value, else written again.
    pub fn read_back(&mut self, key: &OwnKey, ours: bool) {
        let at = self.queue.iter().position(|(k, _)| k == key);
        match (at, ours) {
            (Some(at), true) => {
                self.queue.remove(at);
            }
            (Some(at), false) => self.queue[at].1 = Stage::Write,
            (None, true) => {}
            (None, false) => self.queue.push_back((key.clone(), Stage::Write)),
        }
    }

    /// The next key the repair rotation checks.
    pub fn next_check(&mut self) -> Option<OwnKey> {
        if self.all.is_empty() {
            return None;
        }
        let key = self.all[self.cursor % self.all.len()].clone();
        self.cursor = (self.cursor + 1) % self.all.len();
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_is_written_read_back_and_then_checked_in_turn() {
        let bob = DeviceId::parse("bbbbbbbbbb").unwrap();
        let mut keys = OwnKeys::default();
        assert_eq!(keys.next_check(), None);
        keys.add(OwnKey::Announcement);
        keys.add(OwnKey::Share(bob.clone()));
        keys.add(OwnKey::Announcement);
        assert_eq!(keys.front(), Some(&(OwnKey::Announcement, Stage::Write)));
        keys.written(&OwnKey::Announcement);
        assert_eq!(keys.front(), Some(&(OwnKey::Announcement, Stage::Verify)));
        keys.read_back(&OwnKey::Announcement, false);
        assert_eq!(keys.front(), Some(&(OwnKey::Announcement, Stage::Write)));
        keys.read_back(&OwnKey::Announcement, true);
        keys.read_back(&OwnKey::Share(bob.clone()), true);
        assert!(!keys.is_urgent());
        assert_eq!(keys.next_check(), Some(OwnKey::Announcement));
        assert_eq!(keys.next_check(), Some(OwnKey::Share(bob.clone())));
        assert_eq!(keys.next_check(), Some(OwnKey::Announcement));
        // A check that finds it gone writes it again.
        keys.read_back(&OwnKey::Share(bob.clone()), false);
        assert_eq!(keys.front(), Some(&(OwnKey::Share(bob), Stage::Write)));
    }
}
