//! The directory in a session (PROTOCOL.md, "The directory"): reading the
//! colleague's entry and keeping our person's, folded into the poll
//! rotation. When a conversation opens, both entries are read once (or
//! taken from the page a new window reads anyway); after that each
//! directory check of the rotation reads one of them in turn, or writes
//! ours instead when it needs a repair or a refresh of "last seen", so a
//! steady poll stays at two requests. Only the user's own change of status
//! is written at once.

use super::super::directory::{entry_key, Colleague, Entry, OwnEntry, Status, TextError};
use super::super::participants::Pair;
use super::super::types::{Event, Millis};
use super::schedule::Purpose;
use super::Session;

/// What the session knows of the directory.
#[derive(Clone, Debug)]
pub(super) struct Directory {
    own: OwnEntry,
    /// The colleague's entry: `None` until read, then `Some(None)` while
    /// they have none.
    peer: Option<Option<Entry>>,
    /// Whether the next read in the rotation is of our entry.
    own_next: bool,
}

impl Directory {
    pub fn new(pair: &Pair) -> Directory {
        Directory {
            own: OwnEntry::new(&pair.me, None),
            peer: None,
            own_next: false,
        }
    }
}

impl Session {
    /// What the directory says of the colleague.
    pub fn colleague(&self) -> Colleague {
        match &self.directory.peer {
            None => Colleague::Unknown,
            Some(Some(entry)) => Colleague::Listed(entry.clone()),
            // Someone who wrote here has used Bleep, entry or not.
            Some(None) if self.log.iter().any(|e| !self.is_mine(&e.from)) => Colleague::Unknown,
            Some(None) => Colleague::NeverUsed,
        }
    }

    /// Our person's status and text as this device knows them.
    pub fn my_status(&self) -> &Entry {
        self.directory.own.choice()
    }

    /// Grows whenever [`Session::my_status`] changed and should be kept.
    pub fn status_revision(&self) -> u64 {
        self.directory.own.revision()
    }

    /// The status and text this browser kept for our person, given when
    /// the session opens.
    pub fn use_kept_status(&mut self, kept: Option<Entry>) {
        self.directory.own = OwnEntry::new(&self.pair.me, kept);
    }

    /// The user chose a status and a text: written to our entry at once.
    pub fn set_status(
        &mut self,
        status: Option<Status>,
        text: &str,
        now: Millis,
    ) -> Result<(), TextError> {
        self.directory.own.choose(status, text, now)?;
        self.events.push(Event::DirectoryChanged);
        self.changed();
        Ok(())
    }

    /// What the directory needs before the next poll: our change of status
    /// written, and both entries read once when the conversation opens.
    pub(super) fn directory_now(&self, now: Millis) -> Option<Purpose> {
        let own = &self.directory.own;
        if own.is_urgent() {
            Some(Purpose::WriteEntry(own.to_write(now)))
        } else if self.directory.peer.is_none() {
            Some(Purpose::ReadPeerEntry)
        } else if own.needs_read() {
            Some(Purpose::ReadOwnEntry)
        } else {
            None
        }
    }

    /// The directory's check in the poll rotation.
    pub(super) fn directory_check(&mut self, now: Millis) -> Purpose {
        let directory = &mut self.directory;
        if directory.own.is_due(now, self.visible) {
            return Purpose::WriteEntry(directory.own.to_write(now));
        }
        directory.own_next = !directory.own_next;
        if directory.own_next {
            Purpose::ReadOwnEntry
        } else {
            Purpose::ReadPeerEntry
        }
    }

    /// The answer to a directory purpose.
    pub(super) fn directory_answer(&mut self, purpose: Purpose, value: Option<&[u8]>) {
        match purpose {
            Purpose::ReadPeerEntry => {
                self.learn_peer_entry(value.and_then(|v| Entry::decode(v, &self.pair.peer)))
            }
            Purpose::ReadOwnEntry => {
                self.learn_own_entry(value.and_then(|v| Entry::decode(v, &self.pair.me)))
            }
            Purpose::WriteEntry(entry) => self.directory.own.written(&entry),
            _ => {}
        }
    }

    /// Takes both entries from the page a new window read (`None` where
    /// the page has none).
    pub(super) fn directory_from_page(&mut self, peer: Option<&[u8]>, own: Option<&[u8]>) {
        self.learn_peer_entry(peer.and_then(|v| Entry::decode(v, &self.pair.peer)));
        self.learn_own_entry(own.and_then(|v| Entry::decode(v, &self.pair.me)));
    }

    /// The keys of both entries, to find them in a page: (colleague's, ours).
    pub(super) fn entry_keys(&self) -> (String, String) {
        (entry_key(&self.pair.peer), entry_key(&self.pair.me))
    }

    fn learn_peer_entry(&mut self, entry: Option<Entry>) {
        if self.directory.peer.as_ref() != Some(&entry) {
            self.directory.peer = Some(entry);
            self.events.push(Event::DirectoryChanged);
            self.changed();
        }
    }

    fn learn_own_entry(&mut self, entry: Option<Entry>) {
        if self.directory.own.learn(entry) {
            self.events.push(Event::DirectoryChanged);
            self.changed();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::directory::REFRESH_MS;
    use super::*;
    use crate::core::{DeviceId, Settings};
    use crate::imserver::answer::Answer;
    use crate::imserver::wire::Request;

    fn session() -> Session {
        let mut session = Session::new(
            Pair::parse("Nurse Jo", "Dr Patel").unwrap(),
            DeviceId::parse("aaaaaaaaaa").unwrap(),
            "IMserver.php",
            Settings::default(),
            7,
        );
        session.history_pending = false;
        session
    }

    /// Runs the next request against `store`; returns it.
    fn step(s: &mut Session, store: &mut Vec<(Vec<u8>, Vec<u8>)>, now: Millis) -> Option<Request> {
        let out = s.poll_request(now)?;
        let answer = match &out.request {
            Request::Get { key } => {
                Answer::Value(store.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
            }
            Request::Set { key, value } => {
                store.retain(|(k, _)| k != key);
                store.push((key.clone(), value.clone()));
                Answer::Done
            }
            _ => Answer::Done,
        };
        s.handle_answer(out.id, Ok(answer), now);
        Some(out.request)
    }

    /// Our entry as stored.
    fn ours(s: &Session, store: &[(Vec<u8>, Vec<u8>)]) -> Entry {
        let (_, value) = store
            .iter()
            .find(|(k, _)| k == b"bleep1.d.nurse jo")
            .expect("our entry is stored");
        Entry::decode(value, &s.pair.me).expect("our entry reads")
    }

    fn key_of(request: &Request) -> String {
        match request {
            Request::Get { key } => format!("get {}", String::from_utf8_lossy(key)),
            Request::Set { key, .. } => format!("set {}", String::from_utf8_lossy(key)),
            other => format!("{other:?}"),
        }
    }

    /// The requests made from `from` until `until`, 100 ms apart.
    fn run(
        s: &mut Session,
        store: &mut Vec<(Vec<u8>, Vec<u8>)>,
        from: Millis,
        until: Millis,
    ) -> Vec<String> {
        let mut made = Vec::new();
        let mut now = from;
        while now < until {
            while let Some(request) = step(s, store, now) {
                made.push(key_of(&request));
            }
            now += 100;
        }
        made
    }

    #[test]
    fn a_conversation_reads_both_entries_once_then_writes_ours_in_the_rotation() {
        let mut s = session();
        let mut store = Vec::new();
        assert!(matches!(s.colleague(), Colleague::Unknown));
        let first = run(&mut s, &mut store, 0, 100);
        assert_eq!(
            first,
            [
                "set bleep1.586796d38ede5e09.p1",
                "get bleep1.d.dr patel",
                "get bleep1.d.nurse jo",
                "get bleep1.586796d38ede5e09.p0",
                "set bleep1.d.nurse jo"
            ]
        );
        // Dr Patel never used Bleep here; our entry was missing: repaired
        // in the first poll's check, not as a request of its own.
        assert!(matches!(s.colleague(), Colleague::NeverUsed));
        let entry = ours(&s, &store);
        assert_eq!(
            (entry.name.as_str(), entry.status(), entry.seen_at),
            ("Nurse Jo", None, 0)
        );
    }

    #[test]
    fn a_steady_poll_stays_at_two_requests_with_the_directory_in_it() {
        let mut s = session();
        let mut store = Vec::new();
        run(&mut s, &mut store, 0, 100);
        let made = run(&mut s, &mut store, 100, 3 * REFRESH_MS);
        let polls: Vec<_> = made.split(|r| r.ends_with(".p0")).skip(1).collect();
        assert!(polls.iter().all(|checks| checks.len() == 1), "{made:?}");
        let count = |what: &str| made.iter().filter(|r| *r == what).count();
        // The directory's checks read both entries in turn, and refresh
        // last seen every five minutes on a visible screen.
        let (peer, own) = (
            count("get bleep1.d.dr patel"),
            count("get bleep1.d.nurse jo"),
        );
        assert!(peer > 10 && peer.abs_diff(own) <= 1, "{peer} {own}");
        assert_eq!(count("set bleep1.d.nurse jo"), 2, "{made:?}");
        // A hidden tab never refreshes it.
        s.set_visible(false, 3 * REFRESH_MS);
        let hidden = run(&mut s, &mut store, 3 * REFRESH_MS, 6 * REFRESH_MS);
        assert!(!hidden.iter().any(|r| r.starts_with("set")), "{hidden:?}");
    }

    #[test]
    fn a_lost_entry_is_repaired_and_a_changed_status_goes_at_once() {
        let mut s = session();
        let mut store = Vec::new();
        run(&mut s, &mut store, 0, 100);
        s.set_status(Some(Status::Busy), "theatre 3", 1_000)
            .unwrap();
        assert_eq!(s.poll_event(), Some(Event::DirectoryChanged));
        assert_eq!(
            run(&mut s, &mut store, 1_000, 1_100),
            ["set bleep1.d.nurse jo"]
        );
        let entry = ours(&s, &store);
        assert_eq!(
            (entry.status(), entry.text.as_str(), entry.chosen_at),
            (Some(Status::Busy), "theatre 3", 1_000)
        );
        // The server loses it: found missing by the rotation, rewritten.
        store.retain(|(k, _)| k != b"bleep1.d.nurse jo");
        run(&mut s, &mut store, 1_100, 60_000);
        assert_eq!(ours(&s, &store).status(), Some(Status::Busy));
    }

    #[test]
    fn the_colleagues_entry_is_shown_and_a_new_window_takes_both_from_the_page() {
        let patel = Entry::decode(
            br#"{"v":1,"n":"Dr Patel","s":"off","x":"back at 8","c":1,"t":2}"#,
            &Pair::parse("a", "dr patel").unwrap().peer,
        )
        .unwrap();
        let mut s = session();
        s.history_pending = true;
        let page = vec![
            (b"bleep1.d.dr patel".to_vec(), patel.encode()),
            (
                b"bleep1.d.nurse jo".to_vec(),
                br#"{"v":1,"n":"Nurse Jo","s":"on","c":5,"t":5}"#.to_vec(),
            ),
        ];
        let out = s.poll_request(0).unwrap();
        assert_eq!(out.request, Request::Page);
        s.handle_answer(out.id, Ok(Answer::Store(page)), 0);
        assert_eq!(s.colleague(), Colleague::Listed(patel));
        // Adopted from our other device, kept, and nothing to read first.
        assert_eq!(s.my_status().status(), Some(Status::OnDuty));
        assert_eq!(s.status_revision(), 1);
        assert_eq!(s.directory_now(9), None);
        // Junk under the colleague's key is no entry.
        s.learn_peer_entry(Entry::decode(b"<?php", &s.pair.peer.clone()));
        assert!(matches!(s.colleague(), Colleague::NeverUsed));
    }
}
