//! Checks that [`super::json`] reads and writes what Bleep wrote with serde
//! and serde_json before it had a codec of its own: the derived types of
//! those versions are copied here, field for field, and serde_json writes
//! and reads them.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::claim::Lease;
use super::envelope::{Envelope, Record};
use super::json::{self, FromJson, ToJson};
use super::participants::{DeviceId, Pair};
use super::session::Saved;
use super::settings::Settings;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct OldEnvelope {
    #[serde(rename = "v")]
    version: u32,
    #[serde(rename = "n")]
    from: String,
    #[serde(rename = "d")]
    device: String,
    #[serde(rename = "s")]
    seq: u64,
    #[serde(rename = "c")]
    clock: u64,
    #[serde(rename = "t")]
    sent_at: u64,
    #[serde(rename = "x")]
    text: String,
}

type Heads = BTreeMap<String, u64>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct OldRecord {
    #[serde(rename = "h", default)]
    heads: Heads,
    #[serde(rename = "s", default)]
    seen: BTreeMap<String, Heads>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct OldName {
    typed: String,
    normal: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct OldPair {
    me: OldName,
    peer: OldName,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
enum OldOwner {
    Me,
    Peer,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct OldFollow {
    owner: OldOwner,
    head: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct OldSaved {
    version: u32,
    pair: OldPair,
    device: String,
    next_seq: u64,
    sent_head: u64,
    recent_own: Vec<OldEnvelope>,
    outbox: Vec<u64>,
    #[serde(default)]
    history_pending: bool,
    follows: BTreeMap<String, OldFollow>,
    peer_record: OldRecord,
    record: OldRecord,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct OldSettings {
    waiting_poll_ms: u64,
    idle_poll_ms: u64,
    hidden_poll_ms: u64,
    backoff_first_ms: u64,
    backoff_max_ms: u64,
    request_timeout_ms: u64,
}

impl Default for OldSettings {
    fn default() -> OldSettings {
        let d = Settings::default();
        OldSettings {
            waiting_poll_ms: d.waiting_poll_ms,
            idle_poll_ms: d.idle_poll_ms,
            hidden_poll_ms: d.hidden_poll_ms,
            backoff_first_ms: d.backoff_first_ms,
            backoff_max_ms: d.backoff_max_ms,
            request_timeout_ms: d.request_timeout_ms,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct OldLease {
    instance: String,
    renewed_at: u64,
}

/// What the envelope and record writers did to serde_json's output.
fn html_safe(json: &str) -> Vec<u8> {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .into_bytes()
}

/// serde_json's text of `old` is read by our codec and written back the same.
fn same_text<Old: Serialize, New: ToJson + FromJson>(old: &Old) -> Result<(), TestCaseError> {
    let text = serde_json::to_string(old).unwrap();
    let new: New =
        json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
    prop_assert_eq!(json::to_string(&new), text);
    Ok(())
}

/// Our text of `new` is read by serde_json and written back the same.
fn read_by_serde<Old: Serialize + for<'de> Deserialize<'de>, New: ToJson>(
    new: &New,
) -> Result<(), TestCaseError> {
    let text = json::to_string(new);
    let old: Old = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(serde_json::to_string(&old).unwrap(), text);
    Ok(())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[ -~<>&\"\\\\\n\t\u{0}-\u{1f}é😀]{0,20}"]
}

fn device() -> impl Strategy<Value = String> {
    "[a-z]{10}"
}

fn number() -> impl Strategy<Value = u64> {
    prop_oneof![0..100u64, any::<u64>()]
}

prop_compose! {
    fn envelope()(version in any::<u32>(), from in text(), device in device(), seq in number(),
                  clock in number(), sent_at in number(), text in text()) -> OldEnvelope {
        OldEnvelope { version, from, device, seq, clock, sent_at, text }
    }
}

fn heads() -> impl Strategy<Value = Heads> {
    proptest::collection::btree_map(device(), number(), 0..4)
}

prop_compose! {
    fn record()(heads in heads(),
                seen in proptest::collection::btree_map(device(), heads(), 0..3)) -> OldRecord {
        OldRecord { heads, seen }
    }
}

prop_compose! {
    fn name()(typed in text(), normal in text()) -> OldName {
        OldName { typed, normal }
    }
}

prop_compose! {
    fn follow()(peer in any::<bool>(), head in number()) -> OldFollow {
        OldFollow { owner: if peer { OldOwner::Peer } else { OldOwner::Me }, head }
    }
}

prop_compose! {
    fn saved()(version in any::<u32>(), me in name(), peer in name(), device in device(),
               next_seq in number(), sent_head in number(),
               recent_own in proptest::collection::vec(envelope(), 0..3),
               outbox in proptest::collection::vec(number(), 0..3),
               history_pending in any::<bool>(),
               follows in proptest::collection::btree_map(device(), follow(), 0..3),
               peer_record in record(), record in record()) -> OldSaved {
        OldSaved {
            version, pair: OldPair { me, peer }, device, next_seq, sent_head, recent_own,
            outbox, history_pending, follows, peer_record, record,
        }
    }
}

prop_compose! {
    fn settings()(n in proptest::array::uniform6(number())) -> OldSettings {
        OldSettings {
            waiting_poll_ms: n[0], idle_poll_ms: n[1], hidden_poll_ms: n[2],
            backoff_first_ms: n[3], backoff_max_ms: n[4], request_timeout_ms: n[5],
        }
    }
}

/// `old`'s JSON object with the fields `drop` picks left out.
fn without_fields(old: &impl Serialize, drop: &[bool]) -> String {
    let mut value = serde_json::to_value(old).unwrap();
    let object = value.as_object_mut().unwrap();
    let names: Vec<String> = object.keys().cloned().collect();
    for (name, &gone) in names.iter().zip(drop) {
        if gone {
            object.remove(name);
        }
    }
    value.to_string()
}

/// Both codecs read `text` alike: both refuse it, or both read values that
/// serde_json writes the same.
fn read_alike<Old: Serialize + for<'de> Deserialize<'de>, New: ToJson + FromJson>(
    text: &str,
) -> Result<(), TestCaseError> {
    let old = serde_json::from_str::<Old>(text).ok();
    let new = json::from_str::<New>(text).ok();
    prop_assert_eq!(old.is_some(), new.is_some(), "{}", text);
    if let (Some(old), Some(new)) = (old, new) {
        prop_assert_eq!(serde_json::to_string(&old).unwrap(), json::to_string(&new));
    }
    Ok(())
}

proptest! {
    #[test]
    fn envelopes_are_written_and_read_as_before(old in envelope()) {
        same_text::<_, Envelope>(&old)?;
        let text = serde_json::to_string(&old).unwrap();
        let new: Envelope = json::from_str(&text).unwrap();
        prop_assert_eq!(new.encode(), html_safe(&text));
        let back: OldEnvelope = serde_json::from_slice(&new.encode()).unwrap();
        prop_assert_eq!(back, old);
    }

    #[test]
    fn records_are_written_and_read_as_before(old in record(), drop in any::<[bool; 2]>()) {
        same_text::<_, Record>(&old)?;
        let text = serde_json::to_string(&old).unwrap();
        let new = Record::decode(&html_safe(&text)).unwrap();
        prop_assert_eq!(new.encode(), html_safe(&text));
        read_alike::<OldRecord, Record>(&without_fields(&old, &drop))?;
    }

    #[test]
    fn saved_states_are_written_and_read_as_before(old in saved(), drop in any::<[bool; 11]>()) {
        same_text::<_, Saved>(&old)?;
        read_alike::<OldSaved, Saved>(&without_fields(&old, &drop))?;
    }

    #[test]
    fn transcripts_are_written_and_read_as_before(
        old in proptest::collection::vec(envelope(), 0..4)
    ) {
        same_text::<_, Vec<Envelope>>(&old)?;
    }

    #[test]
    fn settings_are_written_and_read_as_before(old in settings(), drop in any::<[bool; 6]>()) {
        same_text::<_, Settings>(&old)?;
        read_by_serde::<OldSettings, _>(&Settings::default())?;
        read_alike::<OldSettings, Settings>(&without_fields(&old, &drop))?;
    }

    #[test]
    fn leases_are_written_and_read_as_before(instance in text(), renewed_at in number()) {
        same_text::<_, Lease>(&OldLease { instance, renewed_at })?;
    }

    #[test]
    fn reading_mutated_saved_states_never_panics(
        old in saved(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()
    ) {
        let mut bytes = serde_json::to_vec(&old).unwrap();
        let i = at.index(bytes.len());
        if cut {
            bytes.truncate(i);
        } else {
            bytes[i] = byte;
        }
        let _ = json::from_slice::<Saved>(&bytes);
        let _ = Record::decode(&bytes);
    }

    #[test]
    fn reading_any_text_never_panics(text in any::<String>()) {
        let _ = json::from_str::<Saved>(&text);
        let _ = json::from_str::<Vec<Envelope>>(&text);
        let _ = Record::decode(text.as_bytes());
    }
}

#[test]
fn fields_keep_their_names() {
    let device = DeviceId::parse("abcdefghij").unwrap();
    let envelope = Envelope {
        version: 1,
        from: "Nurse Jo".into(),
        device: device.clone(),
        seq: 2,
        clock: 3,
        sent_at: 4,
        text: "<b>".into(),
    };
    let old: OldEnvelope = serde_json::from_slice(&envelope.encode()).unwrap();
    assert_eq!(
        old,
        OldEnvelope {
            version: 1,
            from: "Nurse Jo".into(),
            device: "abcdefghij".into(),
            seq: 2,
            clock: 3,
            sent_at: 4,
            text: "<b>".into(),
        }
    );
    let pair = Pair::parse("Alice", "Dr Bob").unwrap();
    let old: OldPair = serde_json::from_str(&json::to_string(&pair)).unwrap();
    assert_eq!(
        (old.me.typed.as_str(), old.peer.normal.as_str()),
        ("Alice", "dr bob")
    );
    read_by_serde::<OldPair, _>(&pair).unwrap();
}

#[test]
fn device_ids_that_were_never_written_are_refused() {
    assert!(Record::decode(b"{\"h\":{\"abcdefghij\":1}}").is_some());
    assert!(Record::decode(b"{\"h\":{\"ABCDEFGHIJ\":1}}").is_none());
    assert!(Record::decode(b"{\"h\":{\"abc\":1}}").is_none());
}
