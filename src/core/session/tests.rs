//! Tests of the whole session: several parts working together, through
//! its public calls and the requests it hands out.

use super::*;
use crate::core::codec;
use crate::imserver::answer::{Answer, ImError};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn session(me: &str, peer: &str, device: &str) -> Session {
    let pair = Pair::parse(me, peer).unwrap();
    Session::new(
        pair,
        DeviceId::parse(device).unwrap(),
        "IMserver.php",
        Settings::default(),
        7,
    )
}

fn through_json<T: Serialize + DeserializeOwned>(value: &T) -> T {
    codec::from_str(&codec::to_string(value)).unwrap()
}

#[test]
fn a_pending_message_survives_a_reload_without_a_saved_transcript() {
    let mut alice = session("Alice", "Bob", "aaaaaaaaaa");
    alice.history_pending = false;
    alice.send("bed 4 desaturating", 1_000).unwrap();
    assert_eq!(alice.turn(), Turn::Sending);
    // Reloaded twice, the transcript never saved in between.
    for seed in [8, 9] {
        alice = Session::restore(
            through_json(&alice.saved()),
            MessageLog::new(),
            "IMserver.php",
            Settings::default(),
            seed,
        );
    }
    let texts: Vec<_> = alice
        .messages()
        .map(|m| (m.envelope.text.clone(), m.delivery))
        .collect();
    assert_eq!(
        texts,
        vec![("bed 4 desaturating".to_owned(), Some(Delivery::Pending))]
    );
    assert_eq!(alice.turn(), Turn::Sending);
}

#[test]
fn a_window_that_lost_its_state_never_reuses_a_message_number() {
    let device = "aaaaaaaaaa";
    let mut before = session("Alice", "Bob", device);
    before.history_pending = false;
    before.send("first", 1).unwrap();
    let stored = before.sealed[&1].clone().into_bytes();
    let key = before.keys.message(&before.device, 1).into_bytes();

    // Same device id and keys, nothing saved: the history load finds
    // message 1.
    let mut after = session("Alice", "Bob", device);
    after.use_keys(
        before.person_keys().unwrap().clone(),
        before.device_keys().unwrap().clone(),
    );
    assert_eq!(after.send("too early", 2), Err(SendError::Loading));
    let out = after.poll_request(2).unwrap();
    assert_eq!(out.request, Request::Page);
    after.handle_answer(out.id, Ok(Answer::Store(vec![(key, stored)])), 3);
    assert_eq!(after.message_count(), 1);
    after.send("second", 4).unwrap_err(); // it is Bob's turn now
    assert_eq!(after.turn(), Turn::Waiting { since: 1 });
    assert_eq!(after.outbox.next_seq(), 2);
}

#[test]
fn a_send_tells_the_colleague_until_its_record_and_turn_are_written() {
    let mut alice = session("Alice", "Bob", "aaaaaaaaaa");
    alice.history_pending = false;
    assert!(!alice.is_telling_peer());
    alice.send("bed 4 desaturating", 1).unwrap();
    let mut store = std::collections::HashMap::new();
    let waiting = alice.keys.waiting().into_bytes();
    let record = alice.keys.my_record().into_bytes();
    for now in 2..20 {
        assert_eq!(
            alice.is_telling_peer(),
            !store.contains_key(&waiting),
            "told the colleague exactly once __waiting__ is written"
        );
        let Some(out) = alice.poll_request(now) else {
            break;
        };
        let answer = match out.request {
            Request::Set { key, value } => {
                if key == waiting {
                    assert!(store.contains_key(&record), "the record goes first");
                }
                store.insert(key, value);
                Answer::Done
            }
            Request::Get { key } => Answer::Value(store.get(&key).cloned()),
            _ => Answer::Done,
        };
        alice.handle_answer(out.id, Ok(answer), now);
    }
    assert!(!alice.is_telling_peer());
    // Alice's side ("alice" sorts first), not her name.
    assert_eq!(store.get(&waiting).map(Vec::as_slice), Some(&b"p0"[..]));
}

#[test]
fn a_renumbered_message_is_kept_in_the_saved_state_until_its_transcript_is_saved() {
    let mut alice = session("Alice", "Bob", "aaaaaaaaaa");
    alice.history_pending = false;
    alice.send("bed 4 desaturating", 1).unwrap();
    alice.transcript_saved();
    assert_eq!(alice.saved().recent_own, vec![]);

    // Another tab with the same device id wrote its own message 1.
    let mut theirs = alice.log.get(&alice.device, 1).unwrap().clone();
    theirs.text = "written by another tab".into();
    let theirs = alice.trust.as_ref().unwrap().seal_message(&theirs).unwrap();
    let key = alice.keys.message(&alice.device, 1).into_bytes();
    let mut store = std::collections::HashMap::new();
    for now in 2..40 {
        let Some(out) = alice.poll_request(now) else {
            continue;
        };
        let answer = match out.request {
            Request::Get { key: k } if k == key => Answer::Value(Some(theirs.clone().into_bytes())),
            Request::Get { key } => Answer::Value(store.get(&key).cloned()),
            Request::Set { key, value } => {
                store.insert(key, value);
                Answer::Done
            }
            _ => Answer::Done,
        };
        alice.handle_answer(out.id, Ok(answer), now);
        if alice.log.contains(&alice.device, 2) {
            break;
        }
    }
    let renumbered = alice
        .log
        .get(&alice.device, 2)
        .expect("renumbered as 2")
        .clone();
    assert_eq!(renumbered.text, "bed 4 desaturating");
    assert!(!alice.log.contains(&alice.device, 1));
    // The saved state carries the renumbered message until the
    // transcript with it is saved.
    assert_eq!(alice.saved().recent_own, vec![renumbered]);
    alice.transcript_saved();
    assert_eq!(alice.saved().recent_own, vec![]);
}

fn events(session: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

#[test]
fn a_send_and_its_storing_report_what_changed_on_screen() {
    let mut alice = session("Alice", "Bob", "aaaaaaaaaa");
    assert_eq!(events(&mut alice), vec![]);
    alice.history_pending = false;
    assert_eq!(events(&mut alice), vec![Event::LoadingChanged]);
    alice.send("bed 4 desaturating", 1).unwrap();
    assert_eq!(
        events(&mut alice),
        vec![Event::MessagesChanged, Event::TurnChanged]
    );
    // Her announcement first; then the message is written and read back:
    // it is sent, and Alice waits.
    let mut store = std::collections::HashMap::new();
    for now in 2..6 {
        let out = alice.poll_request(now).unwrap();
        let answer = match out.request {
            Request::Set { key, value } => {
                store.insert(key, value);
                Answer::Done
            }
            Request::Get { key } => Answer::Value(store.get(&key).cloned()),
            _ => Answer::Done,
        };
        alice.handle_answer(out.id, Ok(answer), now);
    }
    assert_eq!(store.len(), 2, "the announcement and the message");
    assert_eq!(alice.turn(), Turn::Waiting { since: 1 });
    assert_eq!(
        events(&mut alice),
        vec![Event::MessagesChanged, Event::TurnChanged]
    );
    // Two failures in a row: offline.
    for now in [10_000, 20_000] {
        let out = alice.poll_request(now).unwrap();
        alice.handle_answer(out.id, Err(ImError::Timeout), now);
    }
    assert_eq!(events(&mut alice), vec![Event::ConnectionChanged]);
    assert_eq!(events(&mut alice), vec![]);
}

/// Answers `request` from `store` as IMserver.php would.
fn serve(store: &mut std::collections::HashMap<Vec<u8>, Vec<u8>>, request: Request) -> Answer {
    match request {
        Request::Set { key, value } => {
            store.insert(key, value);
            Answer::Done
        }
        Request::Get { key } => Answer::Value(store.get(&key).cloned()),
        Request::Unset { key } => {
            store.remove(&key);
            Answer::Done
        }
        Request::Clear => {
            store.clear();
            Answer::Done
        }
        Request::Keys => Answer::Keys(store.keys().cloned().collect()),
        Request::Page => Answer::Store(store.clone().into_iter().collect()),
    }
}

#[test]
fn a_new_window_gives_up_on_a_failing_page_and_rebuilds_from_the_records() {
    let mut store = std::collections::HashMap::new();
    let mut bob = session("Bob", "Alice", "bbbbbbbbbb");
    bob.history_pending = false;
    bob.send("bed 4 desaturating", 1).unwrap();
    for now in 2..40 {
        let Some(out) = bob.poll_request(now) else {
            break;
        };
        let answer = serve(&mut store, out.request);
        bob.handle_answer(out.id, Ok(answer), now);
    }

    // Alice on a new device: the page fails every time (a 500, a timeout).
    let mut alice = session("Alice", "Bob", "aaaaaaaaaa");
    let (mut now, mut pages) = (100, 0);
    while now < 600_000 && alice.message_count() == 0 {
        // Bob keeps polling: he shares his sender key with Alice's new
        // device once he reads its announcement (protocol version 2).
        while let Some(out) = bob.poll_request(now) {
            let answer = serve(&mut store, out.request);
            bob.handle_answer(out.id, Ok(answer), now);
        }
        let Some(out) = alice.poll_request(now) else {
            now = alice.poll_timeout(now).unwrap_or(now).max(now + 1);
            continue;
        };
        let answer = match out.request {
            Request::Page => {
                pages += 1;
                if pages % 2 == 0 {
                    Err(ImError::Timeout)
                } else {
                    Err(ImError::Status {
                        code: 500,
                        detail: String::new(),
                    })
                }
            }
            request => Ok(serve(&mut store, request)),
        };
        alice.handle_answer(out.id, answer, now);
    }
    assert_eq!(
        pages,
        answers::PAGE_ATTEMPTS,
        "the page is tried a few times, then given up"
    );
    assert!(!alice.is_loading_history());
    let texts: Vec<_> = alice.messages().map(|m| m.envelope.text.clone()).collect();
    assert_eq!(
        texts,
        vec!["bed 4 desaturating".to_owned()],
        "rebuilt from the records"
    );
}

/// A store in memory that answers every request at once.
type Store = std::collections::BTreeMap<Vec<u8>, Vec<u8>>;

fn step_all(session: &mut Session, store: &mut Store, now: Millis) {
    for _ in 0..50 {
        let Some(out) = session.poll_request(now) else {
            return;
        };
        let answer = match out.request {
            Request::Page => Answer::Store(store.clone().into_iter().collect()),
            Request::Get { key } => Answer::Value(store.get(&key).cloned()),
            Request::Set { key, value } => {
                store.insert(key, value);
                Answer::Done
            }
            _ => Answer::Done,
        };
        session.handle_answer(out.id, Ok(answer), now);
    }
}

/// Alice and Bob, each polling for `millis` from `from`.
fn talk(alice: &mut Session, bob: &mut Session, store: &mut Store, from: Millis, millis: Millis) {
    for now in (from..from + millis).step_by(100) {
        step_all(alice, store, now);
        step_all(bob, store, now);
        alice.transcript_saved();
        bob.transcript_saved();
    }
}

fn texts(session: &Session) -> Vec<String> {
    session
        .messages()
        .map(|m| m.envelope.text.clone())
        .collect()
}

#[test]
fn an_altered_message_is_a_notice_never_shown_and_the_repair_brings_the_genuine_one() {
    let mut alice = session("Nurse Jo", "Dr Patel", "aaaaaaaaaa");
    let mut bob = session("Dr Patel", "Nurse Jo", "bbbbbbbbbb");
    let mut store = Store::new();
    talk(&mut alice, &mut bob, &mut store, 0, 5_000);
    assert!(alice.notices().is_empty() && bob.notices().is_empty());
    assert!(bob.safety_number().is_some());
    assert_eq!(alice.safety_number(), bob.safety_number());
    alice.send("Give 10 mg morphine to bed 7", 5_000).unwrap();
    for now in 5_000..5_010 {
        step_all(&mut alice, &mut store, now);
    }
    let key = alice.keys.message(&alice.device, 1).into_bytes();
    let genuine = store[&key].clone();
    // Nothing of the text is on the server.
    assert!(!store
        .values()
        .any(|v| v.windows(8).any(|w| w == b"morphine")));
    let mut altered = genuine.clone();
    let at = altered.len() / 2;
    altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
    store.insert(key.clone(), altered);
    for now in (5_010..9_000).step_by(100) {
        step_all(&mut bob, &mut store, now);
    }
    assert_eq!(texts(&bob), Vec::<String>::new());
    assert_eq!(bob.notices(), &[TrustNotice::Tampered]);
    // Alice's repair puts hers back; the notice stays.
    talk(&mut alice, &mut bob, &mut store, 6_000, 20_000);
    assert_eq!(texts(&bob), ["Give 10 mg morphine to bed 7"]);
    assert_eq!(store[&key], genuine);
    assert_eq!(bob.notices(), &[TrustNotice::Tampered]);
}

#[test]
fn a_raised_or_moved_receipt_never_marks_a_message_read() {
    use crate::core::trust::{Receipt, SeededEntropy};
    let mut alice = session("Nurse Jo", "Dr Patel", "aaaaaaaaaa");
    let mut bob = session("Dr Patel", "Nurse Jo", "bbbbbbbbbb");
    let mut store = Store::new();
    talk(&mut alice, &mut bob, &mut store, 0, 5_000);
    // Dr Patel's screen is hidden: nothing of Nurse Jo's is read.
    bob.set_visible(false, 5_000);
    alice
        .send("URGENT: bed 4 desaturating, come now", 5_000)
        .unwrap();
    talk(&mut alice, &mut bob, &mut store, 5_000, 10_000);
    let delivery = |s: &Session| s.messages().next().and_then(|m| m.delivery);
    assert_eq!(delivery(&alice), Some(Delivery::Sent));

    // A stranger's receipt for Dr Patel's device, saying it read everything.
    let mut rng = SeededEntropy::new(99);
    let stranger = session("Dr Patel", "Nurse Jo", "bbbbbbbbbb");
    let trust = stranger.trust.as_ref().unwrap();
    let mut raised = Receipt {
        revision: 1_000,
        head: 0,
        ..Receipt::default()
    };
    raised.seen.insert(alice.device.clone(), 99);
    let forged = raised
        .seal(
            &trust.conversation,
            &bob.device,
            trust.device.current().unwrap(),
            &trust.person.identity,
            &mut rng,
        )
        .unwrap();
    let record = alice.keys.peer_record().into_bytes();
    let mut entries = sealing::record_entries(&store[&record]).unwrap();
    entries.insert(bob.device.as_str().to_owned(), forged);
    // And Nurse Jo's own entry, moved into Dr Patel's record.
    let own = sealing::record_entries(&store[&alice.keys.my_record().into_bytes()]).unwrap();
    let moved = own[alice.device.as_str()].clone();
    entries.insert(alice.device.as_str().to_owned(), moved);
    // Under a device nobody announced, it is never even opened.
    entries.insert("cccccccccc".into(), entries[bob.device.as_str()].clone());
    store.insert(record.clone(), sealing::record_value(&entries));
    for now in (15_000..19_000).step_by(100) {
        step_all(&mut alice, &mut store, now);
    }
    assert_eq!(delivery(&alice), Some(Delivery::Sent));
    assert_eq!(
        alice.notices(),
        &[TrustNotice::Tampered, TrustNotice::Tampered]
    );
    // Once Dr Patel looks, it is read.
    bob.set_visible(true, 19_000);
    talk(&mut alice, &mut bob, &mut store, 19_000, 10_000);
    assert_eq!(delivery(&alice), Some(Delivery::Read));
}

#[test]
fn without_checks_a_plain_forged_message_is_shown() {
    let mut alice = session("Nurse Jo", "Dr Patel", "aaaaaaaaaa");
    let mut bob = session("Dr Patel", "Nurse Jo", "bbbbbbbbbb");
    let mut store = Store::new();
    talk(&mut alice, &mut bob, &mut store, 0, 5_000);
    let forged = Envelope {
        version: ENVELOPE_VERSION,
        from: "Nurse Jo".into(),
        device: alice.device.clone(),
        seq: 1,
        clock: 1,
        sent_at: 1,
        text: "bed 4 is fine".into(),
    };
    let key = alice.keys.message(&alice.device, 1).into_bytes();
    store.insert(key, forged.encode());
    let mut careless = session("Dr Patel", "Nurse Jo", "dddddddddd");
    careless.disable_checks();
    for now in (5_000..8_000).step_by(100) {
        step_all(&mut bob, &mut store, now);
        step_all(&mut careless, &mut store, now);
    }
    assert_eq!(texts(&bob), Vec::<String>::new());
    assert_eq!(texts(&careless), ["bed 4 is fine"]);
}

#[test]
fn a_message_missing_for_the_gap_time_is_a_gap_until_it_arrives() {
    let mut alice = session("Nurse Jo", "Dr Patel", "aaaaaaaaaa");
    let mut bob = session("Dr Patel", "Nurse Jo", "bbbbbbbbbb");
    let mut store = Store::new();
    talk(&mut alice, &mut bob, &mut store, 0, 5_000);
    alice.send("bed 7 needs a review", 5_000).unwrap();
    for now in (5_000..6_000).step_by(100) {
        step_all(&mut alice, &mut store, now);
    }
    // The store loses it, and Nurse Jo's tab is closed: no repair comes.
    let key = alice.keys.message(&alice.device, 1).into_bytes();
    let genuine = store.remove(&key).unwrap();
    let gap = TrustNotice::Gap {
        from: "Nurse Jo".into(),
        count: 1,
    };
    for now in (6_000..6_000 + gaps::GAP_MS).step_by(500) {
        step_all(&mut bob, &mut store, now);
    }
    assert!(bob.notices().is_empty(), "not before the gap time");
    for now in (6_000 + gaps::GAP_MS..10_000 + gaps::GAP_MS).step_by(500) {
        step_all(&mut bob, &mut store, now);
    }
    assert_eq!(bob.notices(), &[gap]);
    assert_eq!(texts(&bob), Vec::<String>::new());
    // It comes back after all: it takes the gap's place.
    store.insert(key, genuine);
    for now in (10_000 + gaps::GAP_MS..40_000 + gaps::GAP_MS).step_by(500) {
        step_all(&mut bob, &mut store, now);
    }
    assert_eq!(texts(&bob), ["bed 7 needs a review"]);
    assert!(bob.notices().is_empty());
}
