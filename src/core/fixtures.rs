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
//!
//! The tests at the end take the fixtures apart: which fields may be left
//! out and what they then read as, that unknown fields are skipped, and that
//! a field named twice, a device id that is not one, or nesting too deep
//! make the whole value junk.

use std::path::PathBuf;

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::claim::Lease;
use super::codec;
use super::envelope::{Envelope, Record, ENVELOPE_VERSION};
use super::escalation::{Escalated, Note};
use super::journal::{replay, Change, Journal};
use super::participants::DeviceId;
use super::session::Saved;
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
            urgent: false,
            unanswered: None,
            original_at: None,
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
        urgent: false,
        unanswered: None,
        original_at: None,
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
    // The last one as the release of urgent follow-ups wrote them; it
    // reads as an urgent message now.
    let envelopes = [
        awkward_envelope(),
        plain_envelope(1, "ok"),
        plain_envelope(2, ""),
        Envelope {
            urgent: true,
            unanswered: None,
            original_at: None,
            ..plain_envelope(3, "Patient now unresponsive, GCS 8, 2222 called")
        },
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
    let stored = fixture("transcript.json", codec::to_string(&transcript).as_bytes());
    assert_eq!(
        codec::from_slice::<Vec<Envelope>>(&stored).ok(),
        Some(transcript)
    );
}

#[test]
fn preferences_read_and_write_as_before() {
    let preferences = Preferences {
        timing: settings(),
        sound: true,
        notifications: false,
        asked_notifications: false,
        urgent_repeat_ms: super::repeat_alert::DEFAULT_REPEAT_MS,
        quick_replies: String::new(),
        escalate_after_ms: super::escalation::DEFAULT_ESCALATE_MS,
        backup: String::new(),
    };
    let stored = fixture(
        "preferences.json",
        codec::to_string(&preferences).as_bytes(),
    );
    assert_eq!(codec::from_slice(&stored).ok(), Some(preferences));
    // The defaults of the release before: sound off (it is on now).
    let before = Preferences {
        sound: false,
        ..Preferences::default()
    };
    let stored = fixture(
        "preferences-default.json",
        codec::to_string(&before).as_bytes(),
    );
    assert_eq!(codec::from_slice(&stored).ok(), Some(before));
    // Once asked about notifications, that is kept too.
    let asked = Preferences {
        asked_notifications: true,
        ..Preferences::default()
    };
    let written = codec::to_string(&asked);
    assert!(
        written.ends_with(r#""sound":true,"notifications":false,"asked_notifications":true}"#),
        "{written}"
    );
    assert_eq!(codec::from_str(&written).ok(), Some(asked));
    // An urgent alert repeated every 30 s instead of 2 min, and quick
    // replies of one's own, too.
    let sooner = Preferences {
        urgent_repeat_ms: 30_000,
        quick_replies: "Bleep the registrar\nBack in 5".into(),
        ..Preferences::default()
    };
    let written = codec::to_string(&sooner);
    assert!(
        written.ends_with(
            r#""notifications":false,"urgent_repeat_ms":30000,"quick_replies":"Bleep the registrar\nBack in 5"}"#
        ),
        "{written}"
    );
    assert_eq!(codec::from_str(&written).ok(), Some(sooner));
    // Escalation after 2 min instead of 5, to a backup colleague kept for
    // next time.
    let escalating = Preferences {
        escalate_after_ms: 120_000,
        backup: "Dr Carol <Reg>".into(),
        ..Preferences::default()
    };
    let stored = fixture(
        "preferences-escalation.json",
        codec::to_string(&escalating).as_bytes(),
    );
    assert_eq!(codec::from_slice(&stored).ok(), Some(escalating));
}

/// An escalated message (`"e"` and `"o"` after `"u"`), and the notes the original
/// conversation keeps of escalations.
#[test]
fn escalations_read_and_write_as_before() {
    let escalated = Envelope {
        urgent: true,
        unanswered: Some("Dr Patel".into()),
        original_at: Some(1_764_325_000_000),
        ..plain_envelope(5, "Bed 4 desaturating to 85%, please come now")
    };
    let stored = fixture("envelope-escalated.txt", &escalated.encode());
    let read = Envelope::decode(&stored, &escalated.device, 5);
    assert_eq!(
        read.as_ref().and_then(Envelope::escalated),
        Some(Escalated {
            unanswered: "Dr Patel".into(),
            sent_at: 1_764_325_000_000
        })
    );
    assert_eq!(read, Some(escalated));
    // One of the two alone does not mark a message escalated.
    let half = Envelope {
        original_at: None,
        ..read.unwrap()
    };
    assert_eq!(half.escalated(), None);
    let notes = vec![Note {
        message: "ptrewqasdf.5".into(),
        to: "Dr Carol".into(),
        at: 1_764_325_300_000,
        waited: 300_000,
    }];
    let stored = fixture("escalation-notes.json", codec::to_string(&notes).as_bytes());
    assert_eq!(codec::from_slice(&stored).ok(), Some(notes));
}

#[test]
fn sign_ins_read_and_write_as_before() {
    let sign_in = SignIn {
        me: "Alice <RN> & co".into(),
        peer: "Dr  Bob é".into(),
        server: "https://example.org/IMserver.php?a=1&b=\"2\"".into(),
    };
    let stored = fixture("sign-in.json", codec::to_string(&sign_in).as_bytes());
    assert_eq!(codec::from_slice(&stored).ok(), Some(sign_in));
}

#[test]
fn leases_read_and_write_as_before() {
    let lease = Lease {
        instance: "k3j4h5g6x9".into(),
        renewed_at: 1_764_325_000_123,
    };
    let stored = fixture("lease.json", codec::to_string(&lease).as_bytes());
    assert_eq!(codec::from_slice(&stored).ok(), Some(lease));
}

fn read_fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(path).unwrap()
}

/// The first line of fixture `name` as a JSON object.
fn fixture_object(name: &str) -> Map<String, Value> {
    let bytes = read_fixture(name);
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    serde_json::from_slice(line).unwrap()
}

/// What `text` reads as, as a JSON value (`None` if it is junk).
fn read_as<T: Serialize + DeserializeOwned>(text: &str) -> Option<Value> {
    codec::from_str::<T>(text)
        .ok()
        .map(|value| serde_json::to_value(value).unwrap())
}

/// Takes the object of fixture `name`, read as a `T`, apart: each field left
/// out in turn reads as junk unless `optional` gives the value it then takes;
/// a field added that `T` does not know is skipped (whatever it holds); any
/// field named twice makes it junk.
fn check_fields<T: Serialize + DeserializeOwned>(name: &str, optional: &[(&str, Value)]) {
    let whole = fixture_object(name);
    let text = Value::Object(whole.clone()).to_string();
    assert_eq!(read_as::<T>(&text), Some(Value::Object(whole.clone())));
    for field in whole.keys() {
        let mut without = whole.clone();
        without.remove(field);
        let read = read_as::<T>(&Value::Object(without).to_string());
        match optional.iter().find(|(n, _)| n == field) {
            None => assert_eq!(read, None, "{name}: {field} is required"),
            Some((_, default)) => {
                let mut expected = whole.clone();
                expected.insert(field.clone(), default.clone());
                assert_eq!(read, Some(Value::Object(expected)), "{name}: {field}");
            }
        }
        let value = &whole[field];
        let twice = format!("{{\"{field}\":{value},{}", &text[1..]);
        assert_eq!(read_as::<T>(&twice), None, "{name}: {field} named twice");
    }
    let mut more = whole.clone();
    more.insert(
        "later".into(),
        json!({"a": [1, -2.5e3, {"b": null}], "c": "<?"}),
    );
    assert_eq!(
        read_as::<T>(&Value::Object(more).to_string()),
        Some(Value::Object(whole)),
        "{name}: an unknown field is skipped"
    );
}

#[test]
fn each_format_reads_only_with_its_required_fields() {
    check_fields::<Envelope>("envelopes.txt", &[]);
    check_fields::<Record>("records.txt", &[("h", json!({})), ("s", json!({}))]);
    check_fields::<Saved>("saved.json", &[("history_pending", json!(false))]);
    let timing = serde_json::to_value(Settings::default()).unwrap();
    check_fields::<Preferences>(
        "preferences.json",
        &[
            ("timing", timing.clone()),
            ("sound", json!(true)),
            ("notifications", json!(false)),
        ],
    );
    // Within the preferences, each timing setting may be left out too.
    let stored = fixture_object("preferences.json")["timing"].clone();
    let Value::Object(stored) = stored else {
        panic!("timing is an object")
    };
    for (field, default) in timing.as_object().unwrap() {
        let mut without = stored.clone();
        without.remove(field);
        let mut expected = stored.clone();
        expected.insert(field.clone(), default.clone());
        let text = Value::Object(without).to_string();
        assert_eq!(read_as::<Settings>(&text), Some(Value::Object(expected)));
    }
    check_fields::<SignIn>("sign-in.json", &[]);
    check_fields::<Lease>("lease.json", &[]);
}

/// Fixture `name`'s first line with `from` replaced by `to` (once).
fn altered(name: &str, from: &str, to: &str) -> String {
    let bytes = read_fixture(name);
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8(line.to_vec()).unwrap();
    assert!(text.contains(from), "{name} holds {from}");
    text.replacen(from, to, 1)
}

#[test]
fn a_device_id_that_is_not_ten_lower_case_letters_is_junk() {
    for bad in [
        "qhxvbnmkaZ",
        "qhxvbnmka",
        "qhxvbnmkazz",
        "qhxvbnmka1",
        "qhxvbnmkaé",
        "",
    ] {
        let id = format!("\"{bad}\"");
        let envelope = altered("envelopes.txt", "\"qhxvbnmkaz\"", &id);
        assert!(codec::from_str::<Envelope>(&envelope).is_err(), "{bad}");
        // As a key of a record (heads, seen, and who was seen), or of the
        // followed devices of a saved state.
        for from in ["\"bbbbbbbbbb\":1", "\"bbbbbbbbbb\":{", "\"ptrewqasdf\":3"] {
            let to = from
                .replacen("\"bbbbbbbbbb\"", &id, 1)
                .replacen("\"ptrewqasdf\"", &id, 1);
            let record = altered("records.txt", from, &to);
            assert_eq!(Record::decode(record.as_bytes()), None, "{bad} in {from}");
        }
        for from in ["\"device\":\"qhxvbnmkaz\"", "\"bbbbbbbbbb\":{\"owner\""] {
            let to = from
                .replacen("\"qhxvbnmkaz\"", &id, 1)
                .replacen("\"bbbbbbbbbb\"", &id, 1);
            let saved = altered("saved.json", from, &to);
            assert!(codec::from_str::<Saved>(&saved).is_err(), "{bad} in {from}");
        }
    }
    // The same letters written with an escape are the same id.
    let escaped = altered("envelopes.txt", "\"qhxvbnmkaz\"", "\"qhxvbnmka\\u007a\"");
    assert_eq!(
        Envelope::decode(escaped.as_bytes(), &device("qhxvbnmkaz"), 4),
        Some(awkward_envelope())
    );
}

#[test]
fn a_record_naming_a_device_twice_is_junk() {
    let twice = altered(
        "records.txt",
        "\"qhxvbnmkaz\":4",
        "\"qhxvbnmkaz\":4,\"qhxvbnmkaz\":5",
    );
    assert_eq!(Record::decode(twice.as_bytes()), None);
    let twice = altered(
        "records.txt",
        "\"ptrewqasdf\":3",
        "\"ptrewqasdf\":3,\"ptrewqasdf\":3",
    );
    assert_eq!(Record::decode(twice.as_bytes()), None);
}

#[test]
fn nesting_deeper_than_64_is_junk_even_where_skipped() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    // The envelope's object is one level; an unknown field may nest 63 more.
    let ok = altered(
        "envelopes.txt",
        "{\"v\":1,",
        &format!("{{\"z\":{},\"v\":1,", nested(63)),
    );
    assert!(Envelope::decode(ok.as_bytes(), &device("qhxvbnmkaz"), 4).is_some());
    let deep = altered(
        "envelopes.txt",
        "{\"v\":1,",
        &format!("{{\"z\":{},\"v\":1,", nested(64)),
    );
    assert_eq!(
        Envelope::decode(deep.as_bytes(), &device("qhxvbnmkaz"), 4),
        None
    );
}

proptest! {
    #[test]
    fn reading_damaged_stored_values_never_panics(
        which in 0..4usize, at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()
    ) {
        let name = ["saved.json", "records.txt", "envelopes.txt", "preferences.json"][which];
        let mut bytes = read_fixture(name);
        let i = at.index(bytes.len());
        if cut {
            bytes.truncate(i);
        } else {
            bytes[i] = byte;
        }
        let _ = codec::from_slice::<Saved>(&bytes);
        let _ = codec::from_slice::<Preferences>(&bytes);
        let _ = Record::decode(&bytes);
        let _ = Envelope::decode(&bytes, &device("qhxvbnmkaz"), 4);
        let _ = replay([String::from_utf8_lossy(&bytes).as_ref()]);
    }
}
