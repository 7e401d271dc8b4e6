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
    let stored = before.log.get(&before.device, 1).unwrap().encode();
    let key = before.keys.message(&before.device, 1).into_bytes();

    // Same device id, nothing saved: the history load finds message 1.
    let mut after = session("Alice", "Bob", device);
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
    let key = alice.keys.message(&alice.device, 1).into_bytes();
    for now in 2..40 {
        let Some(out) = alice.poll_request(now) else {
            continue;
        };
        let answer = match &out.request {
            Request::Get { key: k } if *k == key => Answer::Value(Some(theirs.encode())),
            Request::Get { .. } => Answer::Value(None),
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
    // Written, then read back: the message is sent, and Alice waits.
    let mut stored = None;
    for now in 2..4 {
        let out = alice.poll_request(now).unwrap();
        let answer = match out.request {
            Request::Set { value, .. } => {
                stored = Some(value);
                Answer::Done
            }
            _ => Answer::Value(stored.clone()),
        };
        alice.handle_answer(out.id, Ok(answer), now);
    }
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

/// Runs `session` against `store` from `from` to `to` ms, answering every
/// request it makes.
fn run_until(
    session: &mut Session,
    store: &mut std::collections::HashMap<Vec<u8>, Vec<u8>>,
    from: Millis,
    to: Millis,
) {
    for now in (from..to).step_by(100) {
        while let Some(out) = session.poll_request(now) {
            let answer = serve(store, out.request);
            session.handle_answer(out.id, Ok(answer), now);
        }
    }
}

#[test]
fn an_urgent_message_goes_on_your_turn_and_as_a_follow_up_while_you_wait() {
    let mut store = std::collections::HashMap::new();
    let mut alice = session("Alice", "Bob", "aaaaaaaaaa");
    let mut bob = session("Bob", "Alice", "bbbbbbbbbb");
    alice.history_pending = false;
    bob.history_pending = false;
    alice.send("Fluids running, will update", 1).unwrap();
    run_until(&mut alice, &mut store, 1, 2_000);
    assert_eq!(alice.turn(), Turn::Waiting { since: 1 });

    // A routine second message waits; an urgent follow-up goes, and Alice
    // still waits for Bob's reply.
    assert_eq!(
        alice.send("and another thing", 2_000),
        Err(SendError::NotYourTurn)
    );
    alice
        .send_urgent("Patient now unresponsive, GCS 8, 2222 called", 2_000)
        .unwrap();
    assert_eq!(alice.turn(), Turn::Sending);
    run_until(&mut alice, &mut store, 2_000, 4_000);
    assert_eq!(alice.turn(), Turn::Waiting { since: 2_000 });
    let waiting = alice.keys.waiting().into_bytes();
    assert_eq!(store.get(&waiting).map(Vec::as_slice), Some(&b"p0"[..]));
    let stored = store
        .get(&alice.keys.message(&alice.device, 2).into_bytes())
        .expect("the follow-up is stored");
    assert!(
        String::from_utf8_lossy(stored).ends_with(r#","u":true}"#),
        "{}",
        String::from_utf8_lossy(stored)
    );
    let first = store
        .get(&alice.keys.message(&alice.device, 1).into_bytes())
        .unwrap();
    assert!(!String::from_utf8_lossy(first).contains(r#""u""#));

    // Bob sees both, in order, the second marked urgent; it is his turn, and
    // his urgent reply goes as any message would, after which he waits.
    run_until(&mut bob, &mut store, 4_000, 20_000);
    let seen: Vec<_> = bob
        .messages()
        .map(|m| (m.envelope.text.clone(), m.urgent()))
        .collect();
    assert_eq!(
        seen,
        [
            ("Fluids running, will update".to_owned(), false),
            (
                "Patient now unresponsive, GCS 8, 2222 called".to_owned(),
                true
            ),
        ]
    );
    assert_eq!(bob.turn(), Turn::Idle);
    bob.send_urgent("On my way", 20_000).unwrap();
    run_until(&mut bob, &mut store, 20_000, 22_000);
    assert_eq!(bob.turn(), Turn::Waiting { since: 20_000 });
    assert_eq!(
        bob.send("and a routine one", 22_000),
        Err(SendError::NotYourTurn)
    );
    run_until(&mut alice, &mut store, 22_000, 40_000);
    assert_eq!(alice.turn(), Turn::Idle);
    assert_eq!(alice.message_count(), 3);
    assert!(alice
        .messages()
        .last()
        .is_some_and(|m| m.urgent() && !m.mine));
}

#[test]
fn an_urgent_message_stays_unseen_until_a_device_of_the_recipient_shows_it() {
    let mut store = std::collections::HashMap::new();
    let mut alice = session("Alice", "Bob", "aaaaaaaaaa");
    let mut bob = session("Bob", "Alice", "bbbbbbbbbb");
    let mut bobs_phone = session("Bob", "Alice", "cccccccccc");
    for s in [&mut alice, &mut bob, &mut bobs_phone] {
        s.history_pending = false;
    }
    bob.set_visible(false, 0);
    bobs_phone.set_visible(false, 0);
    alice
        .send_urgent("Bed 4 desaturating, come now", 1)
        .unwrap();
    run_until(&mut alice, &mut store, 1, 2_000);
    run_until(&mut bob, &mut store, 2_000, 40_000);
    run_until(&mut bobs_phone, &mut store, 2_000, 40_000);
    for s in [&bob, &bobs_phone] {
        assert_eq!((s.unread(), s.urgent_unseen()), (1, 1));
    }
    while bob.poll_event().is_some() {}

    // The phone shows it (and saves it): there at once, and on Bob's other
    // device once it reads Bob's record, the message is no longer unseen,
    // though still unread on that screen.
    bobs_phone.set_visible(true, 40_000);
    assert_eq!(bobs_phone.urgent_unseen(), 0);
    bobs_phone.transcript_saved();
    run_until(&mut bobs_phone, &mut store, 40_000, 42_000);
    assert_eq!(bob.urgent_unseen(), 1);
    // Hidden, Bob's device polls every 15 s, and while an urgent message
    // is unseen every other poll reads his record: two polls, not the
    // five of a whole rotation.
    run_until(&mut bob, &mut store, 42_000, 73_000);
    assert_eq!((bob.unread(), bob.urgent_unseen()), (1, 0));
    assert!(
        std::iter::from_fn(|| bob.poll_event()).any(|e| e == Event::UnreadChanged),
        "the screen learns that it is seen elsewhere"
    );

    // A routine reply is unread by hidden Alice, but never unseen urgent.
    alice.set_visible(false, 120_000);
    bobs_phone.send("On my way", 120_000).unwrap();
    run_until(&mut bobs_phone, &mut store, 120_000, 122_000);
    run_until(&mut alice, &mut store, 122_000, 200_000);
    assert_eq!((alice.unread(), alice.urgent_unseen()), (1, 0));
}

#[test]
fn an_escalation_goes_out_of_turn_marked_and_reaches_the_backup() {
    use crate::core::escalation::Escalated;
    let mut store = std::collections::HashMap::new();
    let mut alice = session("Alice", "Carol", "aaaaaaaaaa");
    let mut carol = session("Carol", "Alice", "cccccccccc");
    let escalated = Escalated {
        unanswered: "Dr Bob".into(),
        sent_at: 1,
    };
    let text = "Bed 4 desaturating, come now";
    // Not before the history is read, nor while a message is being stored.
    assert_eq!(
        alice.send_escalation(text, escalated.clone(), 300_000),
        Err(SendError::Loading)
    );
    alice.history_pending = false;
    carol.history_pending = false;
    carol.set_visible(false, 0);
    alice.send("Are you on tonight?", 299_000).unwrap();
    assert_eq!(
        alice.send_escalation(text, escalated.clone(), 300_000),
        Err(SendError::StillSending)
    );
    run_until(&mut alice, &mut store, 300_000, 302_000);
    // While Alice waits for Carol's reply, it goes all the same.
    assert!(matches!(alice.turn(), Turn::Waiting { .. }));
    alice
        .send_escalation(text, escalated.clone(), 302_000)
        .unwrap();
    run_until(&mut alice, &mut store, 302_000, 304_000);
    assert_eq!(alice.turn(), Turn::Waiting { since: 302_000 });
    let stored = store
        .get(&alice.keys.message(&alice.device, 2).into_bytes())
        .expect("the escalation is stored");
    assert!(
        String::from_utf8_lossy(stored).ends_with(r#","u":true,"e":"Dr Bob","o":1}"#),
        "{}",
        String::from_utf8_lossy(stored)
    );
    run_until(&mut carol, &mut store, 304_000, 330_000);
    let last = carol
        .messages()
        .last()
        .map(|m| (m.envelope.text.clone(), m.urgent(), m.envelope.escalated()));
    assert_eq!(last, Some((text.to_owned(), true, Some(escalated))));
    assert_eq!(carol.urgent_unseen(), 1);
}
