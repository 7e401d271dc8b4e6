//! What a window keeps to resume after a reload or a crash: [`Saved`], the
//! small state written before every request, and the [`Persistence`] of the
//! transcript, which is saved less often (as a [`super::super::journal`]).
//! Whatever the saved transcript lacks on restore is fetched again. How a
//! session is saved and restored is in [`super::restore`].

use serde::{Deserialize, Serialize};

use super::super::envelope::{Envelope, Record};
use super::super::journal::Change;
use super::super::participants::{DeviceId, Pair};
use super::super::small_map::SmallMap;
use super::follows::Follow;

/// The version of [`Saved`] written by this code.
pub(super) const SAVED_VERSION: u32 = 1;

/// What a window must keep to resume after a reload or a crash, apart from
/// the transcript: small, so it can be saved after every change and before
/// every request. The transcript ([`super::Session::unsaved_transcript`], appended
/// to a [`super::super::journal`]) may be saved less often: whatever it lacks
/// on restore is fetched again.
///
/// Stored as an object with the field names below, in this order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub(super) version: u32,
    pub(super) pair: Pair,
    pub(super) device: DeviceId,
    pub(super) next_seq: u64,
    pub(super) sent_head: u64,
    /// Own messages the saved transcript may not hold yet, in full.
    pub(super) recent_own: Vec<Envelope>,
    /// Those of them still in the outbox.
    pub(super) outbox: Vec<u64>,
    /// Whether the first load of the history had not happened yet (may be
    /// left out of the JSON: `false`).
    #[serde(default)]
    pub(super) history_pending: bool,
    pub(super) follows: SmallMap<DeviceId, Follow>,
    pub(super) peer_record: Record,
    pub(super) record: Record,
}

impl Saved {
    pub fn pair(&self) -> &Pair {
        &self.pair
    }

    pub fn device(&self) -> &DeviceId {
        &self.device
    }
}

/// How far the saved transcript goes: what changed since it was saved, and
/// per device how far it holds its messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Persistence {
    /// What happened to the transcript since it was last saved, in order.
    unsaved: Vec<Change>,
    /// Per device, how far the last saved transcript holds its messages.
    durable: SmallMap<DeviceId, u64>,
}

impl Persistence {
    /// Something happened to the transcript.
    pub fn record(&mut self, change: Change) {
        self.unsaved.push(change);
    }

    pub fn unsaved(&self) -> &[Change] {
        &self.unsaved
    }

    /// The transcript was saved, holding `durable` of each device's messages.
    pub fn saved(&mut self, durable: SmallMap<DeviceId, u64>) {
        self.unsaved.clear();
        self.durable = durable;
    }

    pub fn durable(&self) -> &SmallMap<DeviceId, u64> {
        &self.durable
    }

    /// How far the saved transcript holds `device`'s messages.
    pub fn durable_of(&self, device: &DeviceId) -> u64 {
        self.durable.get(device).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::codec;
    use crate::core::session::Session;
    use crate::core::settings::Settings;

    fn device(id: &str) -> DeviceId {
        DeviceId::parse(id).unwrap()
    }

    #[test]
    fn persistence_keeps_changes_until_saved() {
        let bob = device("bbbbbbbbbb");
        let mut persistence = Persistence::default();
        persistence.record(Change::Removed(bob.clone(), 3));
        assert_eq!(persistence.unsaved().len(), 1);
        assert_eq!(persistence.durable_of(&bob), 0);
        persistence.saved([(bob.clone(), 2)].into_iter().collect());
        assert!(persistence.unsaved().is_empty());
        assert_eq!(persistence.durable_of(&bob), 2);
    }

    #[test]
    fn a_saved_state_reads_back_as_written_and_may_leave_out_history_pending() {
        let pair = Pair::parse("Alice", "Bob").unwrap();
        let session = Session::new(
            pair,
            device("aaaaaaaaaa"),
            "IMserver.php",
            Settings::default(),
            1,
        );
        let saved = session.saved();
        let text = codec::to_string(&saved);
        assert!(text.starts_with("{\"version\":1,\"pair\":"), "{text}");
        assert_eq!(codec::from_str::<Saved>(&text).ok(), Some(saved.clone()));
        let without = text.replace("\"history_pending\":true,", "");
        let read: Saved = codec::from_str(&without).unwrap();
        assert!(!read.history_pending);
    }

    /// A saved state with something in every field: an outbox, own and
    /// colleague's followed devices, both records, markup in a message.
    fn saved_example() -> Saved {
        use super::super::follows::{Follow, Owner};
        use crate::core::fixtures::{awkward_envelope, plain_envelope, record};
        let mut second = awkward_envelope();
        second.seq = 5;
        second.clock = 18;
        second.text = "<b>bold?</b> & done".into();
        let mut follows = SmallMap::new();
        let follow = |owner, head| Follow {
            owner,
            head,
            have: 0,
            retry_at: 0,
        };
        follows.insert(device("ptrewqasdf"), follow(Owner::Peer, 9));
        follows.insert(device("bbbbbbbbbb"), follow(Owner::Me, 2));
        let mut peer_record = Record::default();
        peer_record.heads.insert(device("ptrewqasdf"), 9);
        Saved {
            version: SAVED_VERSION,
            pair: Pair::parse("Nurse <Jo> & \"Co\"", "Dr  Bob").unwrap(),
            device: device("qhxvbnmkaz"),
            next_seq: 6,
            sent_head: 3,
            recent_own: vec![awkward_envelope(), second, plain_envelope(1, "not mine")],
            outbox: vec![4, 5],
            history_pending: true,
            follows,
            peer_record,
            record: record(),
        }
    }

    /// What the release before serde saved still reads, and is written the
    /// same (see `crate::core::fixtures`).
    #[test]
    fn saved_states_read_and_write_as_before() {
        use crate::core::fixtures::fixture;
        let saved = saved_example();
        let stored = fixture("saved.json", codec::to_string(&saved).as_bytes());
        assert_eq!(codec::from_slice::<Saved>(&stored).ok(), Some(saved));
    }
}
