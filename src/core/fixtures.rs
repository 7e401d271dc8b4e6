//! Checks that what earlier releases stored still reads, and that it is
//! written again byte for byte: `tests/fixtures/` holds each stored format
//! as the release before serde wrote it (envelopes and records as on the
//! server, the rest as in local storage, the journal chunk as one storage
//! value). Each test here builds the values those files were written from,
//! reads the file back to the same values and writes them to the same
//! bytes.
//!
//! `BLEEP_WRITE_FIXTURES=1 cargo test --lib fixtures` writes the files
//! afresh from these values instead; the saved state's file is checked in
//! `session/saved.rs`, as only the session can build a `Saved`.

use std::path::PathBuf;

use super::claim::Lease;
use super::envelope::{Envelope, Record, ENVELOPE_VERSION};
use super::journal::{replay, Change, Journal};
use super::json;
use super::participants::DeviceId;
use super::settings::{Preferences, Settings, SignIn};
use super::small_map::SmallMap;

/// Compares `written` with the fixture `name` (or, with
/// `BLEEP_WRITE_FIXTURES` set, stores it there), and returns the fixture.
pub(crate) fn fixture(name: &str, written: &[u8]) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    if std::env::var_os("BLEEP_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, written).unwrap();
    }
    let stored = std::fs::read(&path).unwrap();
    assert_eq!(
        String::from_utf8_lossy(written),
        String::from_utf8_lossy(&stored),
        "{name} is no longer written as before"
    );
    stored
}

pub(crate) fn device(id: &str) -> DeviceId {
    DeviceId::parse(id).unwrap()
}

/// A message holding every kind of character the codec treats specially:
/// markup and `<?`, quotes, backslashes, control characters, non-ASCII
/// (two-byte, astral, and the line separator JavaScript once refused).
pub(crate) fn awkward_envelope() -> Envelope {
    Envelope {
        version: ENVELOPE_VERSION,
        from: "Nurse <Jo> & \"Co\"".into(),
        device: device("qhxvbnmkaz"),
        seq: 4,
        clock: 17,
        sent_at: 1_764_325_000_000,
        text: "Bed 4 <?php echo 1; ?> & </script> \"sats\" 88%\nback\\slash\ttab\r\u{0}\u{1}\u{8}\u{c}\u{1f}\u{7f} é ß 😀 \u{2028}\u{2029} /"
            .into(),
    }
}

pub(crate) fn plain_envelope(seq: u64, text: &str) -> Envelope {
    Envelope {
        version: ENVELOPE_VERSION,
        from: "Dr Bob".into(),
        device: device("ptrewqasdf"),
        seq,
        clock: 20 + seq,
        sent_at: 1_764_325_100_000 + seq,
        text: text.into(),
    }
}

pub(crate) fn record() -> Record {
    let mut record = Record::default();
    record.heads.insert(device("qhxvbnmkaz"), 4);
    record.heads.insert(device("bbbbbbbbbb"), 12_345_678_901);
    let mut seen = SmallMap::new();
    seen.insert(device("ptrewqasdf"), 3);
    seen.insert(device("qhxvbnmkaz"), 4);
    record.seen.insert(device("qhxvbnmkaz"), seen);
    record.seen.insert(device("bbbbbbbbbb"), SmallMap::new());
    record
}

fn settings() -> Settings {
    Settings {
        waiting_poll_ms: 1_500,
        idle_poll_ms: 4_000,
        hidden_poll_ms: 20_000,
        backoff_first_ms: 750,
        backoff_max_ms: 45_000,
        request_timeout_ms: 9_000,
    }
}

#[test]
fn envelopes_read_and_write_as_before() {
    let envelopes = [
        awkward_envelope(),
        plain_envelope(1, "ok"),
        plain_envelope(2, ""),
    ];
    let written: Vec<u8> = envelopes
        .iter()
        .flat_map(|e| [e.encode(), b"\n".to_vec()].concat())
        .collect();
    let stored = fixture("envelopes.txt", &written);
    let read: Vec<Option<Envelope>> = stored
        .split(|&b| b == b'\n')
        .zip(&envelopes)
        .map(|(bytes, e)| Envelope::decode(bytes, &e.device, e.seq))
        .collect();
    let expected: Vec<Option<Envelope>> = envelopes.iter().cloned().map(Some).collect();
    assert_eq!(read, expected);
}

#[test]
fn records_read_and_write_as_before() {
    let records = [record(), Record::default()];
    let written: Vec<u8> = records
        .iter()
        .flat_map(|r| [r.encode(), b"\n".to_vec()].concat())
        .collect();
    let stored = fixture("records.txt", &written);
    let read: Vec<Option<Record>> = stored
        .split(|&b| b == b'\n')
        .take(records.len())
        .map(Record::decode)
        .collect();
    assert_eq!(read, records.map(Some));
}

#[test]
fn journal_chunks_read_and_write_as_before() {
    let changes = [
        Change::Added(awkward_envelope()),
        Change::Added(plain_envelope(1, "ok")),
        Change::Added(plain_envelope(2, "taken back")),
        Change::Removed(device("ptrewqasdf"), 2),
        Change::Added(plain_envelope(3, "line\nbreak\tand tab")),
    ];
    let (journal, writes) = Journal::default().record(&changes);
    assert_eq!(writes.len(), 1);
    let stored = fixture("journal-chunk.txt", writes[0].1.as_bytes());
    let chunk = String::from_utf8(stored).unwrap();
    assert_eq!(Journal::resume(std::slice::from_ref(&chunk)), journal);
    let transcript: Vec<Envelope> = replay([chunk.as_str()]).iter().cloned().collect();
    assert_eq!(
        transcript,
        [
            awkward_envelope(),
            plain_envelope(1, "ok"),
            plain_envelope(3, "line\nbreak\tand tab"),
        ]
    );
}

/// Releases before the journal kept the transcript as one JSON array.
#[test]
fn old_transcripts_read_and_write_as_before() {
    let transcript = vec![awkward_envelope(), plain_envelope(1, "ok")];
    let stored = fixture("transcript.json", json::to_string(&transcript).as_bytes());
    assert_eq!(json::from_slice::<Vec<Envelope>>(&stored), Ok(transcript));
}

#[test]
fn preferences_read_and_write_as_before() {
    let preferences = Preferences {
        timing: settings(),
        sound: true,
        notifications: false,
    };
    let stored = fixture("preferences.json", json::to_string(&preferences).as_bytes());
    assert_eq!(json::from_slice(&stored), Ok(preferences));
    let stored = fixture(
        "preferences-default.json",
        json::to_string(&Preferences::default()).as_bytes(),
    );
    assert_eq!(json::from_slice(&stored), Ok(Preferences::default()));
}

#[test]
fn sign_ins_read_and_write_as_before() {
    let sign_in = SignIn {
        me: "Alice <RN> & co".into(),
        peer: "Dr  Bob é".into(),
        server: "https://example.org/IMserver.php?a=1&b=\"2\"".into(),
    };
    let stored = fixture("sign-in.json", json::to_string(&sign_in).as_bytes());
    assert_eq!(json::from_slice(&stored), Ok(sign_in));
}

#[test]
fn leases_read_and_write_as_before() {
    let lease = Lease {
        instance: "k3j4h5g6x9".into(),
        renewed_at: 1_764_325_000_123,
    };
    let stored = fixture("lease.json", json::to_string(&lease).as_bytes());
    assert_eq!(json::from_slice(&stored), Ok(lease));
}
