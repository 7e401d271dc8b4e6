//! The inbox (issue 17, `bleep::core::inbox`) in the simulation: three to
//! five people, one or two devices each, starting and answering
//! conversations on the model course server of `mod.rs`, which loses
//! updates, answers 500 and times out until the faults stop. Each device
//! is the core's own [`Inbox`], and each conversation a device takes part
//! in is the core's own [`Session`] (the app's sending, read-back and
//! repair), both run through the real IMserver client; a device rings the
//! recipient's doorbell once its session has read a message back, as the
//! app is to do. No browser, no driver: the inbox is not in the app yet.
//!
//! [`poll_cost`] measures a steady inbox poll on a store of 50
//! conversations, 100,000 messages and 10,000 other programs' keys.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use bleep::core::envelope::Envelope;
use bleep::core::inbox::keys::{doorbell_key, message_key, tag_between};
use bleep::core::inbox::page::rows_from_page;
use bleep::core::inbox::recipient::PRUNE_AFTER_MS;
use bleep::core::inbox::{Inbox, RowTurn, Rows};
use bleep::core::{Delivery, DeviceId, Name, Pair, Session, Settings, Turn};
use bleep::imserver::client::{HttpAnswer, ImClient, Transport, TransportError};

use super::{CourseServer, Faults, Rng, SERVER};

/// How often an inbox polls (the app's idle interval).
pub const INBOX_POLL_MS: u64 = 3_000;

/// How long after the faults stop every device's backoff from earlier
/// failures is over (the inbox waits at most 30 s after a failure): rings
/// from then on count as started on a quiet server.
const BACKOFF_OVER_MS: u64 = 30_000;

/// The simulation's tick.
const TICK_MS: u64 = 100;

/// Each request and the bytes it cost: the query string sent and the
/// answer's body.
type Log = Rc<RefCell<Option<Vec<(String, usize)>>>>;

/// Requests straight to the model server, answered at once.
#[derive(Clone)]
struct Direct {
    server: Rc<RefCell<CourseServer>>,
    log: Log,
}

impl Transport for Direct {
    async fn fetch(&self, url: &str) -> Result<HttpAnswer, TransportError> {
        let answer = self.server.borrow_mut().handle(url);
        if let (Some(log), Ok(answer)) = (&mut *self.log.borrow_mut(), &answer) {
            let query = url.split_once('?').map_or("", |(_, q)| q);
            log.push((query.to_owned(), query.len() + answer.body.len()));
        }
        answer
    }
}

type Client = ImClient<Direct>;

fn client(server: &Rc<RefCell<CourseServer>>) -> (Client, Log) {
    let log = Log::default();
    let direct = Direct {
        server: Rc::clone(server),
        log: Rc::clone(&log),
    };
    (ImClient::new(SERVER, direct), log)
}

/// Runs every request `inbox` wants at `now`.
fn run_inbox(inbox: &mut Inbox, client: &Client, now: u64) {
    while let Some(out) = inbox.poll_request(now) {
        let answer = pollster::block_on(client.run(&out.request));
        inbox.handle_answer(out.id, answer, now);
    }
}

fn run_session(session: &mut Session, client: &Client, now: u64) {
    while let Some(out) = session.poll_request(now) {
        let answer = pollster::block_on(client.run(&out.request));
        session.handle_answer(out.id, answer, now);
    }
    session.transcript_saved();
}

/// One conversation open on a device.
struct Open {
    peer: usize,
    session: Session,
    /// Own message numbers already rung.
    rung: BTreeSet<u64>,
}

/// One device of one person: its inbox, and the conversations it opened.
struct Device {
    person: usize,
    id: DeviceId,
    inbox: Inbox,
    open: Vec<Open>,
}

const NAMES: [&str; 5] = [
    "Nurse Jo",
    "Dr Patel",
    "Carol",
    "Bed Manager",
    "Night Sister",
];

fn name(person: usize) -> Name {
    Name::parse(NAMES[person]).expect("a valid name")
}

/// What one schedule found.
#[derive(Debug, Default)]
pub struct InboxReport {
    /// For conversations started once the faults stopped and every
    /// backoff after them was over: the longest wait, in the recipient's
    /// polls, from the ring to the row.
    pub worst_quiet_polls: f64,
    /// For conversations started while the server lost updates: the
    /// longest wait after the faults stopped until every recipient's row
    /// showed them (ms).
    pub worst_lossy_ms: u64,
    pub conversations: usize,
    pub messages: usize,
}

/// Runs one schedule: people start and answer conversations in random
/// order, under `faults` until `faults_end`, then on a quiet server until
/// everything settles. `repair: false` turns the rings' repair off.
pub fn run_inbox_schedule(seed: u64, faults: Faults, repair: bool) -> Result<InboxReport, String> {
    let mut rng = Rng::new(seed);
    let server = Rc::new(RefCell::new(CourseServer::new(
        Faults {
            reload: 0,
            ..faults
        },
        seed,
    )));
    let (client, _) = client(&server);
    let people = 3 + rng.below(3) as usize;
    let mut devices = Vec::new();
    for person in 0..people {
        for _ in 0..1 + rng.below(2) {
            let id = DeviceId::from_random(|| rng.next() as u32);
            let mut inbox = Inbox::new(Rows::new(name(person)));
            inbox.set_interval(INBOX_POLL_MS, 0);
            if !repair {
                inbox.disable_repair();
            }
            devices.push(Device {
                person,
                id,
                inbox,
                open: Vec::new(),
            });
        }
    }
    let faults_end = 60_000;
    let end = faults_end + PRUNE_AFTER_MS + 240_000;
    let mut report = InboxReport::default();
    // (tag, sender) -> when the sender's first message was rung.
    let mut first_rung: BTreeMap<(String, usize), u64> = BTreeMap::new();
    // (tag, device index) -> when the row appeared.
    let mut appeared: BTreeMap<(String, usize), u64> = BTreeMap::new();
    let mut now = 0;
    while now < end {
        if now == faults_end {
            server.borrow_mut().faults = Faults::none();
        }
        let starting = now < faults_end + 60_000;
        for (d, device) in devices.iter_mut().enumerate() {
            // Someone starts a conversation.
            if starting && rng.chance(2) {
                let peer = rng.below(people as u64) as usize;
                if peer != device.person && !device.open.iter().any(|o| o.peer == peer) {
                    let pair = Pair {
                        me: name(device.person),
                        peer: name(peer),
                    };
                    let settings = Settings::default();
                    let session =
                        Session::new(pair, device.id.clone(), SERVER, settings, rng.next());
                    device.open.push(Open {
                        peer,
                        session,
                        rung: BTreeSet::new(),
                    });
                    device.inbox.start(&name(peer));
                }
            }
            // Someone answers a conversation their inbox shows.
            if rng.chance(30) {
                let yours: Vec<Name> = device
                    .inbox
                    .rows()
                    .newest_first()
                    .into_iter()
                    .filter(|(_, r)| r.turn() == RowTurn::Yours)
                    .map(|(_, r)| r.peer.clone())
                    .collect();
                if let Some(peer_name) = yours.first() {
                    let peer = (0..people).find(|&p| peer_name.is(NAMES[p]));
                    if let Some(peer) = peer {
                        if !device.open.iter().any(|o| o.peer == peer) {
                            let pair = Pair {
                                me: name(device.person),
                                peer: name(peer),
                            };
                            let session = Session::new(
                                pair,
                                device.id.clone(),
                                SERVER,
                                Settings::default(),
                                rng.next(),
                            );
                            device.open.push(Open {
                                peer,
                                session,
                                rung: BTreeSet::new(),
                            });
                        }
                        device.inbox.read_all(&name(peer));
                    }
                }
            }
            for open in &mut device.open {
                let session = &mut open.session;
                if starting
                    && session.turn() == Turn::Idle
                    && !session.is_loading_history()
                    && session.message_count() < 6
                    && rng.chance(20)
                {
                    let text = format!("{} to {} at {now}", NAMES[device.person], NAMES[open.peer]);
                    let _ = session.send(&text, now);
                }
                run_session(session, &client, now);
                let newly: Vec<Envelope> = session
                    .messages()
                    .filter(|m| m.mine && m.envelope.device == device.id)
                    .filter(|m| matches!(m.delivery, Some(Delivery::Sent | Delivery::Read)))
                    .filter(|m| !open.rung.contains(&m.envelope.seq))
                    .map(|m| m.envelope.clone())
                    .collect();
                for envelope in newly {
                    open.rung.insert(envelope.seq);
                    device.inbox.sent(&name(open.peer), &envelope, now);
                    let tag =
                        tag_between(&name(device.person), &name(open.peer)).expect("two people");
                    first_rung.entry((tag, device.person)).or_insert(now);
                }
            }
            run_inbox(&mut device.inbox, &client, now);
            for (tag, _) in device.inbox.rows().newest_first() {
                appeared.entry((tag.to_owned(), d)).or_insert(now);
            }
        }
        now += TICK_MS;
    }
    // Every message each device sent, by conversation and device.
    let mut sent: BTreeMap<(String, usize), Vec<Envelope>> = BTreeMap::new();
    for device in &devices {
        for open in &device.open {
            let tag = tag_between(&name(device.person), &name(open.peer)).expect("two people");
            for m in open
                .session
                .messages()
                .filter(|m| m.mine && m.envelope.device == device.id)
            {
                if m.delivery == Some(Delivery::Pending) {
                    return Err(format!(
                        "{} still has a pending message to {}",
                        NAMES[device.person], NAMES[open.peer]
                    ));
                }
                sent.entry((tag.clone(), device.person))
                    .or_default()
                    .push(m.envelope.clone());
            }
        }
    }
    check_settled(&devices, &sent, &server.borrow(), people)?;
    for ((tag, sender), envelopes) in &sent {
        report.messages += envelopes.len();
        report.conversations += 1;
        let rung = first_rung
            .get(&(tag.clone(), *sender))
            .copied()
            .unwrap_or(0);
        for (d, device) in devices.iter().enumerate() {
            let recipient = NAMES.iter().position(|n| {
                tag_between(&name(*sender), &Name::parse(n).expect("a name")).as_deref()
                    == Some(tag.as_str())
            });
            if recipient != Some(device.person) {
                continue;
            }
            let at = appeared.get(&(tag.clone(), d)).copied().unwrap_or(u64::MAX);
            if rung >= faults_end + BACKOFF_OVER_MS {
                let polls = at.saturating_sub(rung) as f64 / INBOX_POLL_MS as f64;
                report.worst_quiet_polls = report.worst_quiet_polls.max(polls);
            } else {
                report.worst_lossy_ms = report.worst_lossy_ms.max(at.saturating_sub(faults_end));
            }
        }
    }
    Ok(report)
}

/// After the store settled: every conversation is in both people's
/// inboxes on every device, with the colleague's every message counted,
/// unread right where nothing was read, the turn and preview right; no
/// ring outstanding, every doorbell cleared.
fn check_settled(
    devices: &[Device],
    sent: &BTreeMap<(String, usize), Vec<Envelope>>,
    server: &CourseServer,
    people: usize,
) -> Result<(), String> {
    for device in devices {
        let me = NAMES[device.person];
        if device.inbox.kept_rings() > 0 {
            return Err(format!(
                "{me} still keeps {} rings",
                device.inbox.kept_rings()
            ));
        }
        for peer in (0..people).filter(|&p| p != device.person) {
            let tag = tag_between(&name(device.person), &name(peer)).expect("two people");
            let theirs = sent.get(&(tag.clone(), peer));
            let Some(theirs) = theirs.filter(|t| !t.is_empty()) else {
                continue;
            };
            let Some(row) = device.inbox.rows().get(&tag) else {
                return Err(format!(
                    "{me}'s device {} never saw the conversation {} started",
                    device.id, NAMES[peer]
                ));
            };
            let mut heads: BTreeMap<&DeviceId, u64> = BTreeMap::new();
            for e in theirs {
                let head = heads.entry(&e.device).or_default();
                *head = (*head).max(e.seq);
            }
            for (d, head) in &heads {
                if row.written(d) != *head {
                    return Err(format!(
                        "{me}'s device {} counts {} of {}'s device {d}'s messages, not {head}",
                        device.id,
                        row.written(d),
                        NAMES[peer]
                    ));
                }
            }
            let opened = device.open.iter().any(|o| o.peer == peer);
            if !opened && row.unread() != theirs.len() as u64 {
                return Err(format!(
                    "{me}'s device {} shows {} unread from {}, not {}",
                    device.id,
                    row.unread(),
                    NAMES[peer],
                    theirs.len()
                ));
            }
            // The colleague's last message, in the agreed order, where this
            // device has not written since.
            let last = theirs
                .iter()
                .max_by_key(|e| (e.clock, e.device.clone(), e.seq))
                .expect("not empty");
            let shown = row.last.as_ref().map(|l| l.preview.as_str());
            if !opened && (shown != Some(last.text.as_str()) || row.turn() != RowTurn::Yours) {
                return Err(format!(
                    "{me}'s device {} shows {shown:?} ({:?}) from {}, not {:?}",
                    device.id,
                    row.turn(),
                    NAMES[peer],
                    last.text
                ));
            }
        }
    }
    for (person, who) in NAMES.iter().enumerate().take(people) {
        let key = doorbell_key(&name(person));
        if let Some(value) = server.value(key.as_bytes()) {
            if value != br#"{"v":1,"r":{}}"# {
                return Err(format!(
                    "{who}'s doorbell was never cleared: {}",
                    String::from_utf8_lossy(value)
                ));
            }
        }
    }
    Ok(())
}

/// What a steady inbox poll costs.
#[derive(Debug)]
pub struct InboxPollCost {
    /// The most requests between two reads of the doorbell, with nothing
    /// new.
    pub steady_requests: usize,
    /// The most bytes (query string sent and answer) of such a poll.
    pub steady_bytes: usize,
    /// With `changed` conversations changing at once: the most requests of
    /// one poll.
    pub changed_requests: usize,
    pub changed: usize,
    pub conversations: usize,
    pub keys: usize,
}

/// Jo, on a new device, with `conversations` colleagues, `messages` messages
/// among them and `junk` keys of other programs: her rows from the page,
/// then two minutes of steady polls, then `changed` colleagues writing at
/// once.
pub fn poll_cost(
    conversations: usize,
    messages: usize,
    junk: usize,
    changed: usize,
) -> InboxPollCost {
    let server = Rc::new(RefCell::new(CourseServer::new(Faults::none(), 1)));
    let jo = Name::parse("Nurse Jo").expect("a name");
    let jo_device = DeviceId::parse("jjjjjjjjjj").expect("a device");
    let peers: Vec<Name> = (0..conversations)
        .map(|i| Name::parse(&format!("Colleague {i}")).expect("a name"))
        .collect();
    let peer_device = |i: usize| {
        DeviceId::from_random({
            let mut rng = Rng::new(i as u64 + 100);
            move || rng.next() as u32
        })
    };
    {
        let mut server = server.borrow_mut();
        server.written = true;
        for i in 0..junk {
            server.store.push((
                format!("junk{i}").into_bytes(),
                format!("course client {i}").into_bytes(),
            ));
        }
        let per = messages / conversations.max(1);
        for (i, peer) in peers.iter().enumerate() {
            let tag = tag_between(&jo, peer).expect("two people");
            let pd = peer_device(i);
            for n in 0..per as u64 {
                let (from, device) = if n % 2 == 0 {
                    (peer, &pd)
                } else {
                    (&jo, &jo_device)
                };
                let seq = n / 2 + 1;
                let envelope = Envelope {
                    version: 1,
                    from: from.typed().to_owned(),
                    device: device.clone(),
                    seq,
                    clock: n + 1,
                    sent_at: 1_764_000_000_000 + n,
                    text: format!("message {n} of a long shift"),
                    urgent: false,
                    unanswered: None,
                    original_at: None,
                };
                server.store.push((
                    message_key(&tag, device, seq).into_bytes(),
                    envelope.encode(),
                ));
            }
        }
    }
    let keys = server.borrow().store.len();
    // A new device: the page, once.
    let rows = rows_from_page(&jo, &server.borrow().store);
    let found = rows.len();
    let (client, log) = client(&server);
    let mut inbox = Inbox::new(rows);
    inbox.set_interval(INBOX_POLL_MS, 0);
    let mut now = 0;
    let watch = |inbox: &mut Inbox, now: &mut u64, until: u64, log: &Log| {
        *log.borrow_mut() = Some(Vec::new());
        while *now < until {
            run_inbox(inbox, &client, *now);
            *now += TICK_MS;
        }
        let made = log.borrow_mut().take().unwrap_or_default();
        let bell = format!(
            "action=get&key={}",
            bleep::imserver::wire::encode_component(doorbell_key(&jo).as_bytes())
        );
        let mut polls: Vec<(usize, usize)> = Vec::new();
        for (query, bytes) in made {
            if query == bell || polls.is_empty() {
                polls.push((0, 0));
            }
            let last = polls.last_mut().expect("a poll");
            *last = (last.0 + 1, last.1 + bytes);
        }
        polls
    };
    watch(&mut inbox, &mut now, 10_000, &log);
    let steady = watch(&mut inbox, &mut now, 130_000, &log);
    // `changed` colleagues write at once: their messages and rings.
    let mut rings = Vec::new();
    for (i, peer) in peers.iter().enumerate().take(changed) {
        let tag = tag_between(&jo, peer).expect("two people");
        let device = peer_device(i);
        let seq = (messages / conversations.max(1)) as u64 / 2 + 1;
        let envelope = Envelope {
            version: 1,
            from: peer.typed().to_owned(),
            device: device.clone(),
            seq,
            clock: 1_000_000,
            sent_at: 1_765_000_000_000,
            text: "Can you review bed 4?".into(),
            urgent: false,
            unanswered: None,
            original_at: None,
        };
        server.borrow_mut().store.push((
            message_key(&tag, &device, seq).into_bytes(),
            envelope.encode(),
        ));
        let mut theirs = Inbox::new(Rows::new(peer.clone()));
        theirs.sent(&jo, &envelope, now);
        run_inbox(&mut theirs, &client, now);
        rings.push(theirs);
    }
    let until = now + 4 * INBOX_POLL_MS;
    let changing = watch(&mut inbox, &mut now, until, &log);
    assert_eq!(
        inbox
            .rows()
            .newest_first()
            .iter()
            .filter(|(_, r)| r.unread() > 0
                && r.last
                    .as_ref()
                    .is_some_and(|l| l.preview == "Can you review bed 4?"))
            .count(),
        changed,
        "every changed conversation shows its new message"
    );
    InboxPollCost {
        steady_requests: steady.iter().map(|p| p.0).max().unwrap_or(0),
        steady_bytes: steady.iter().map(|p| p.1).max().unwrap_or(0),
        changed_requests: changing.iter().map(|p| p.0).max().unwrap_or(0),
        changed,
        conversations: found,
        keys,
    }
}
