//! The inbox's state machine ([`super::Inbox`]) against a store in memory
//! that loses what the test tells it to: the whole cycle of a ring, from
//! the sender's write to the recipient's row and the doorbell cleared.

use super::super::envelope::Envelope;
use super::super::participants::{DeviceId, Name};
use super::super::types::Millis;
use super::bell::Doorbell;
use super::keys::{doorbell_key, message_key, tag_between};
use super::recipient::PRUNE_AFTER_MS;
use super::rows::RowTurn;
use super::{Inbox, Rows};
use crate::imserver::answer::{Answer, ImError};
use crate::imserver::wire::Request;

type Store = Vec<(Vec<u8>, Vec<u8>)>;

fn name(text: &str) -> Name {
    Name::parse(text).unwrap()
}

fn inbox(me: &str) -> Inbox {
    Inbox::new(Rows::new(name(me)))
}

fn get(store: &Store, key: &[u8]) -> Option<Vec<u8>> {
    store.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

fn set(store: &mut Store, key: &[u8], value: &[u8]) {
    store.retain(|(k, _)| k != key);
    store.push((key.to_vec(), value.to_vec()));
}

/// Runs every request `inbox` wants at `now`; writes to keys for which
/// `lose` says so are answered but not stored. Returns the requests.
fn run(
    inbox: &mut Inbox,
    store: &mut Store,
    now: Millis,
    lose: &mut dyn FnMut(&[u8]) -> bool,
) -> Vec<Request> {
    let mut made = Vec::new();
    while let Some(out) = inbox.poll_request(now) {
        let answer = match &out.request {
            Request::Get { key } => Answer::Value(get(store, key)),
            Request::Set { key, value } => {
                if !lose(key) {
                    set(store, key, value);
                }
                Answer::Done
            }
            _ => Answer::Done,
        };
        inbox.handle_answer(out.id, Ok(answer), now);
        made.push(out.request);
        assert!(made.len() < 100, "runaway requests: {made:?}");
    }
    made
}

/// Sends a message from `device` of `from` to `to`: stored, then rung.
fn send(
    inbox: &mut Inbox,
    store: &mut Store,
    (from, device, to): (&str, char, &str),
    seq: u64,
    now: Millis,
) -> Envelope {
    let envelope = Envelope {
        version: 1,
        from: from.into(),
        device: DeviceId::parse(&device.to_string().repeat(10)).unwrap(),
        seq,
        clock: now + 1,
        sent_at: now,
        text: format!("message {seq}"),
        urgent: false,
        unanswered: None,
        original_at: None,
    };
    let tag = tag_between(&name(from), &name(to)).unwrap();
    set(
        store,
        message_key(&tag, &envelope.device, seq).as_bytes(),
        &envelope.encode(),
    );
    inbox.sent(&name(to), &envelope, now);
    envelope
}

fn keep_all(_: &[u8]) -> bool {
    false
}

#[test]
fn a_conversation_someone_else_starts_appears_at_the_next_poll() {
    let mut store = Store::new();
    let (mut jo, mut patel) = (inbox("Nurse Jo"), inbox("Dr Patel"));
    run(&mut jo, &mut store, 0, &mut keep_all);
    run(&mut patel, &mut store, 0, &mut keep_all);
    send(&mut jo, &mut store, ("Nurse Jo", 'j', "Dr Patel"), 1, 100);
    // The ring goes at once with the send: read and write of the doorbell.
    let rung = run(&mut jo, &mut store, 100, &mut keep_all);
    assert_eq!(rung.len(), 2, "{rung:?}");
    assert_eq!(jo.outstanding_rings(), 1);
    let row = jo.rows().newest_first()[0].1.clone();
    assert_eq!(
        (row.peer.typed(), row.turn()),
        ("Dr Patel", RowTurn::Waiting)
    );
    // Dr Patel's next poll: the doorbell, the message, the acknowledgement.
    let made = run(&mut patel, &mut store, 3_000, &mut keep_all);
    assert_eq!(made.len(), 3, "{made:?}");
    let rows = patel.rows().newest_first();
    assert_eq!(rows.len(), 1);
    let row = rows[0].1;
    assert_eq!(
        (row.peer.typed(), row.unread(), row.turn()),
        ("Nurse Jo", 1, RowTurn::Yours)
    );
    assert_eq!(row.last.as_ref().unwrap().preview, "message 1");
    assert_eq!(patel.rows().total_unread(), 1);
    // Jo's poll checks the acknowledgement: the ring is done.
    run(&mut jo, &mut store, 3_000, &mut keep_all);
    assert_eq!(jo.outstanding_rings(), 0);
    // Reading the conversation clears the count.
    patel.read_all(&name("nurse jo"));
    assert_eq!(patel.rows().total_unread(), 0);
    // After the delay the doorbell is cleared, and polls are one read again.
    let bell = doorbell_key(&name("Dr Patel"));
    let mut now = 3_000;
    while now < 3_000 + PRUNE_AFTER_MS + 6_000 {
        now += 3_000;
        run(&mut patel, &mut store, now, &mut keep_all);
    }
    assert_eq!(get(&store, bell.as_bytes()).unwrap(), br#"{"v":1,"r":{}}"#);
    let steady = run(&mut patel, &mut store, now + 3_000, &mut keep_all);
    assert_eq!(
        steady,
        [Request::Get {
            key: bell.into_bytes()
        }]
    );
}

#[test]
fn two_writers_ringing_the_same_doorbell_both_get_through_lost_updates() {
    let mut store = Store::new();
    let mut patel = inbox("Dr Patel");
    let mut jo = inbox("Nurse Jo");
    let mut carol = inbox("Carol");
    let bell = doorbell_key(&name("Dr Patel")).into_bytes();
    // Both read the empty doorbell before either writes: Carol's write
    // erases Jo's part (a lost update, as on the course server).
    send(&mut jo, &mut store, ("Nurse Jo", 'j', "Dr Patel"), 1, 0);
    send(&mut carol, &mut store, ("Carol", 'c', "Dr Patel"), 1, 0);
    let (jo_read, carol_read) = (jo.poll_request(0).unwrap(), carol.poll_request(0).unwrap());
    jo.handle_answer(jo_read.id, Ok(Answer::Value(get(&store, &bell))), 0);
    carol.handle_answer(carol_read.id, Ok(Answer::Value(get(&store, &bell))), 0);
    run(&mut jo, &mut store, 0, &mut keep_all);
    run(&mut carol, &mut store, 0, &mut keep_all);
    assert_eq!(Doorbell::decode(&get(&store, &bell).unwrap()).len(), 1);
    // And the server drops every other write to the doorbell for a while.
    let mut flip = false;
    let mut lossy = |key: &[u8]| {
        flip = !flip;
        key == bell.as_slice() && flip
    };
    let mut now = 0;
    while now < 60_000 && patel.rows().len() < 2 {
        now += 1_000;
        run(&mut jo, &mut store, now, &mut lossy);
        run(&mut carol, &mut store, now, &mut lossy);
        run(&mut patel, &mut store, now, &mut lossy);
    }
    assert_eq!(patel.rows().len(), 2, "after {now} ms");
    assert!(now <= 15_000, "both got through, but only after {now} ms");
    while now < 60_000 && jo.outstanding_rings() + carol.outstanding_rings() > 0 {
        now += 1_000;
        run(&mut jo, &mut store, now, &mut keep_all);
        run(&mut carol, &mut store, now, &mut keep_all);
        run(&mut patel, &mut store, now, &mut keep_all);
    }
    assert_eq!((jo.outstanding_rings(), carol.outstanding_rings()), (0, 0));
    assert_eq!(patel.rows().total_unread(), 2);
}

#[test]
fn failures_back_off_and_stale_answers_are_ignored() {
    let mut jo = inbox("Nurse Jo");
    let out = jo.poll_request(0).unwrap();
    assert_eq!(jo.poll_request(0), None, "one request at a time");
    jo.handle_answer(out.id + 1, Ok(Answer::Value(None)), 0);
    assert_eq!(jo.poll_timeout(0), None, "still under way");
    jo.handle_answer(out.id, Err(ImError::Timeout), 0);
    let retry = jo.poll_timeout(0).unwrap();
    assert!(retry >= 1_000, "{retry}");
    assert_eq!(jo.poll_request(retry - 1), None);
    assert!(jo.poll_request(retry).is_some());
}

#[test]
fn hostile_doorbells_cost_a_bounded_number_of_requests_and_change_nothing() {
    let mut store = Store::new();
    let mut jo = inbox("Nurse Jo");
    let bell = doorbell_key(&name("Nurse Jo")).into_bytes();
    // Parts pointing at nothing, at another conversation, at junk.
    let mut flood = Doorbell::new();
    let stranger = DeviceId::parse("ssssssssss").unwrap();
    for i in 0..50u64 {
        flood.ring(&format!("{i:016x}"), &stranger, u64::MAX);
    }
    let tag = tag_between(&name("Nurse Jo"), &name("Dr Patel")).unwrap();
    flood.ring(&tag, &stranger, 1);
    set(
        &mut store,
        message_key(&tag, &stranger, 1).as_bytes(),
        b"{\"v\":1,\"n\":\"Carol\",\"d\":\"ssssssssss\",\"s\":1,\"c\":1,\"t\":1,\"x\":\"forged\"}",
    );
    set(&mut store, &bell, &flood.encode());
    let mut requests = 0;
    let mut now = 0;
    while now < 20 * 60_000 {
        requests += run(&mut jo, &mut store, now, &mut keep_all).len();
        now += 3_000;
    }
    assert!(jo.rows().is_empty());
    // 400 polls, each part looked for a few times, then cleared for good.
    let polls = 400;
    assert!(requests < polls + 33 * 10, "{requests}");
    assert_eq!(get(&store, &bell).unwrap(), br#"{"v":1,"r":{}}"#);
}

proptest::proptest! {
    /// Whatever writes the server loses while three people ring one
    /// doorbell at once, once it stops losing them every ring gets
    /// through, is acknowledged and forgotten, and the doorbell is cleared.
    #[test]
    fn rings_get_through_whatever_the_server_loses(
        losses in proptest::collection::vec(proptest::bool::ANY, 0..60),
        stagger in proptest::collection::vec(0u64..3_000, 3),
    ) {
        let mut store = Store::new();
        let mut patel = inbox("Dr Patel");
        let mut writers = [inbox("Nurse Jo"), inbox("Carol"), inbox("Ann")];
        let names = [("Nurse Jo", 'j'), ("Carol", 'c'), ("Ann", 'a')];
        let mut losses = losses.into_iter();
        let mut lossy = |_: &[u8]| losses.next().unwrap_or(false);
        let mut now = 0;
        let mut sent = [false; 3];
        while now < 600_000 {
            for (i, writer) in writers.iter_mut().enumerate() {
                if !sent[i] && now >= stagger[i] {
                    send(writer, &mut store, (names[i].0, names[i].1, "Dr Patel"), 1, now);
                    sent[i] = true;
                }
                run(writer, &mut store, now, &mut lossy);
            }
            run(&mut patel, &mut store, now, &mut lossy);
            now += 500;
        }
        proptest::prop_assert_eq!(patel.rows().len(), 3);
        proptest::prop_assert_eq!(patel.rows().total_unread(), 3);
        for writer in &writers {
            proptest::prop_assert_eq!(writer.kept_rings(), 0);
        }
        let bell = get(&store, doorbell_key(&name("Dr Patel")).as_bytes());
        proptest::prop_assert_eq!(bell.as_deref(), Some(&br#"{"v":1,"r":{}}"#[..]));
    }
}
