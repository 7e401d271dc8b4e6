//! A [`Storage`] in memory, for windows that run outside a browser (the
//! simulation, the benchmark). It keeps what a browser's `localStorage`
//! would: the state as JSON text and the transcript as journal chunks, so a
//! reload reads them back through the same formats, and each person's
//! on-duty status.

use crate::core::codec;
use crate::core::directory::Entry;
use crate::core::journal::{self, Change, Journal};
use crate::core::log::MessageLog;
use std::collections::BTreeMap;

use crate::core::{Name, Saved};

use super::ports::Storage;

/// One window's storage, in memory.
#[derive(Clone, Debug, Default)]
pub struct MemoryStorage {
    /// The state, as JSON.
    state: Option<String>,
    /// Where the journal ends, and its chunks.
    journal: Journal,
    chunks: Vec<String>,
    /// Each person's status (a directory entry as stored), by normal name.
    statuses: BTreeMap<String, Vec<u8>>,
}

impl MemoryStorage {
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    /// The transcript as saved.
    pub fn transcript(&self) -> MessageLog {
        journal::replay(self.chunks.iter().map(String::as_str))
    }
}

impl Storage for MemoryStorage {
    fn load(&mut self) -> Option<(Saved, MessageLog)> {
        let saved = codec::from_str(self.state.as_deref()?).ok()?;
        Some((saved, self.transcript()))
    }

    fn forget_transcript(&mut self) {
        self.journal = Journal::default();
        self.chunks.clear();
    }

    fn save_state(&mut self, saved: &Saved) -> bool {
        self.state = Some(codec::to_string(saved));
        true
    }

    fn append_transcript(&mut self, changes: &[Change]) -> bool {
        let (journal, writes) = self.journal.record(changes);
        for (index, text) in writes {
            match self.chunks.get_mut(index) {
                Some(chunk) => *chunk = text,
                None => self.chunks.push(text),
            }
        }
        self.journal = journal;
        true
    }

    fn load_status(&mut self, person: &Name) -> Option<Entry> {
        Entry::decode(self.statuses.get(person.normal())?, person)
    }

    fn save_status(&mut self, person: &Name, status: &Entry) -> bool {
        self.statuses
            .insert(person.normal().to_owned(), status.encode());
        true
    }
}
