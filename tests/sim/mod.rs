//! The simulator behind `tests/simulation.rs`: a model of the course server,
//! simulated windows, and a virtual clock.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};

use bleep::core::journal::{self, Journal};
use bleep::core::json;
use bleep::core::Delivery;
use bleep::core::{DeviceId, Pair, Session, Settings, Turn};
use bleep::imserver::client::{HttpAnswer, ImClient, Transport, TransportError};
use bleep::imserver::phpser::{serialize_array, PhpKey};
use bleep::imserver::wire::Request;

const SERVER: &str = "http://sim.invalid/IMserver.php";

/// How often each kind of fault happens, out of 1000 requests.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    pub status_500: u32,
    pub timeout_lost: u32,
    pub timeout_landed: u32,
    pub stale_writeback: u32,
    pub no_newline: u32,
    pub warnings: bool,
    pub reload: u32,
}

impl Faults {
    /// Roughly what the course server does under a ward's load.
    pub fn course_server() -> Faults {
        Faults {
            status_500: 60,
            timeout_lost: 30,
            timeout_landed: 30,
            stale_writeback: 80,
            no_newline: 300,
            warnings: true,
            reload: 8,
        }
    }

    pub fn none() -> Faults {
        Faults {
            status_500: 0,
            timeout_lost: 0,
            timeout_landed: 0,
            stale_writeback: 0,
            no_newline: 0,
            warnings: false,
            reload: 0,
        }
    }
}

/// How a schedule ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every invariant held; the number of messages sent.
    Settled(usize),
    Failed(String),
}

/// A small, reproducible random source (splitmix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xdead_beef)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True `per_mille` times in a thousand.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.below(1000) < u64::from(per_mille)
    }
}

/// The course server as observed: one array, rewritten whole by every
/// request, with stale copies written back by concurrent requests.
#[derive(Debug)]
pub struct CourseServer {
    store: Vec<(Vec<u8>, Vec<u8>)>,
    written: bool,
    /// Recent copies of the store, newest last: what a slow concurrent
    /// request may write back.
    history: VecDeque<Vec<(Vec<u8>, Vec<u8>)>>,
    pub faults: Faults,
    pub rng: Rng,
    pub requests: u64,
}

impl CourseServer {
    pub fn new(faults: Faults, seed: u64) -> CourseServer {
        CourseServer {
            store: Vec::new(),
            written: false,
            history: VecDeque::new(),
            faults,
            rng: Rng::new(seed),
            requests: 0,
        }
    }

    pub fn value(&self, key: &[u8]) -> Option<&[u8]> {
        self.store
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| &v[..])
    }

    pub fn values(&self) -> impl Iterator<Item = &[u8]> {
        self.store.iter().flat_map(|(k, v)| [&k[..], &v[..]])
    }

    /// Runs one request, as the PHP script would, faults included.
    pub fn handle(&mut self, url: &str) -> Result<HttpAnswer, TransportError> {
        self.requests += 1;
        let f = self.faults;
        if self.rng.chance(f.status_500) {
            return Ok(HttpAnswer {
                status: 500,
                body: Vec::new(),
            });
        }
        if self.rng.chance(f.timeout_lost) {
            return Err(TransportError::Timeout);
        }
        let landed_then_timed_out = self.rng.chance(f.timeout_landed);
        let query = parse_query(url);
        let action = query
            .get("action")
            .map(|a| a.as_slice())
            .unwrap_or_default();
        let key = query.get("key").cloned().unwrap_or_default();
        let mut body = match action {
            b"set" => {
                let value = query.get("value").cloned().unwrap_or_default();
                match self.store.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = value,
                    None => self.store.push((key, value)),
                }
                self.written = true;
                Vec::new()
            }
            b"unset" => {
                self.store.retain(|(k, _)| *k != key);
                Vec::new()
            }
            b"clear" => {
                self.store.clear();
                Vec::new()
            }
            b"get" => match self.value(&key) {
                Some(v) => v.to_vec(),
                None if f.warnings => format!(
                    "<br />\n<b>Warning</b>:  Undefined array key \"{}\" in /home/course/IMserver.php on line 31<br />\n",
                    String::from_utf8_lossy(&key)
                )
                .into_bytes(),
                None => Vec::new(),
            },
            b"keys" => self.store.iter().flat_map(|(k, _)| k.iter().copied().chain([b'\n'])).collect(),
            _ => {
                let mut page = b"<html><body><h1>COMP28112 Server: Messaging System for Healthcare Professionals</h1>".to_vec();
                if self.written {
                    let entries: Vec<(PhpKey, Vec<u8>)> =
                        self.store.iter().map(|(k, v)| (PhpKey::from_bytes(k.clone()), v.clone())).collect();
                    page.extend(serialize_array(&entries));
                }
                page.extend_from_slice(b"</body></html>");
                page
            }
        };
        // Every request rewrites the store: a slow one may write back a copy
        // taken before other requests changed it, erasing their updates.
        self.history.push_back(self.store.clone());
        if self.history.len() > 6 {
            self.history.pop_front();
        }
        if self.rng.chance(f.stale_writeback) && self.history.len() > 1 {
            let back = 1 + self.rng.below(self.history.len() as u64 - 1) as usize;
            self.store = self.history[self.history.len() - 1 - back].clone();
        }
        if landed_then_timed_out {
            return Err(TransportError::Timeout);
        }
        if !self.rng.chance(f.no_newline) {
            body.push(b'\n');
        }
        Ok(HttpAnswer { status: 200, body })
    }
}

fn parse_query(url: &str) -> BTreeMap<String, Vec<u8>> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.to_owned(), percent_decode(value)))
        .collect()
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// A transport that hands requests to the simulated server.
struct SimTransport<'a>(&'a RefCell<CourseServer>);

impl Transport for SimTransport<'_> {
    async fn fetch(&self, url: &str) -> Result<HttpAnswer, TransportError> {
        self.0.borrow_mut().handle(url)
    }
}

/// One browser window in the simulation.
struct Window {
    name: &'static str,
    session: Session,
    /// The request under way and when its answer arrives.
    in_flight: Option<(u64, Request, u64)>,
    /// How many more messages the user will type.
    to_send: u32,
    next_typing_at: u64,
    /// The transcript as last saved (it lags behind the session).
    saved_transcript: SavedTranscript,
}

/// A window's saved transcript: the journal chunks, as the browser keeps them.
#[derive(Default)]
struct SavedTranscript {
    journal: Journal,
    chunks: Vec<String>,
}

impl SavedTranscript {
    /// Appends what changed since the last save, as the browser does.
    fn save(&mut self, session: &mut Session) {
        let (journal, writes) = self.journal.record(session.unsaved_transcript());
        for (index, text) in writes {
            if index == self.chunks.len() {
                self.chunks.push(text);
            } else {
                self.chunks[index] = text;
            }
        }
        self.journal = journal;
        session.transcript_saved();
    }

    fn transcript(&self) -> bleep::core::log::MessageLog {
        journal::replay(self.chunks.iter().map(String::as_str))
    }
}

/// The settings every simulated window uses: the defaults, a bit faster.
fn settings() -> Settings {
    Settings {
        waiting_poll_ms: 500,
        idle_poll_ms: 1_500,
        backoff_first_ms: 300,
        backoff_max_ms: 4_000,
        ..Settings::default()
    }
}

fn device(rng: &mut Rng) -> DeviceId {
    DeviceId::from_random(|| rng.next() as u32)
}

/// Runs one schedule from its seed.
pub fn run_schedule(seed: u64, faults: Faults, repair: bool) -> Outcome {
    let mut rng = Rng::new(seed);
    let server = RefCell::new(CourseServer::new(faults, seed ^ 0x5eed));
    let alice = Pair::parse("Alice", "Dr Bob").unwrap();
    let bob = Pair::parse("dr bob", "ALICE").unwrap();
    let mut windows = vec![
        Window {
            name: "alice",
            session: Session::new(
                alice.clone(),
                device(&mut rng),
                SERVER,
                settings(),
                rng.next(),
            ),
            in_flight: None,
            to_send: 1 + rng.below(5) as u32,
            next_typing_at: rng.below(500),
            saved_transcript: SavedTranscript::default(),
        },
        Window {
            name: "bob",
            session: Session::new(bob, device(&mut rng), SERVER, settings(), rng.next()),
            in_flight: None,
            to_send: 1 + rng.below(5) as u32,
            next_typing_at: rng.below(500),
            saved_transcript: SavedTranscript::default(),
        },
    ];
    if rng.chance(300) {
        windows.push(Window {
            name: "alice-2",
            session: Session::new(alice, device(&mut rng), SERVER, settings(), rng.next()),
            in_flight: None,
            to_send: rng.below(3) as u32,
            next_typing_at: rng.below(3_000),
            saved_transcript: SavedTranscript::default(),
        });
    }
    if !repair {
        for w in &mut windows {
            w.session.disable_repair();
        }
    }
    // Sometimes everybody types at the same instant.
    if rng.chance(300) {
        let at = 1_000 + rng.below(1_000);
        for w in &mut windows {
            w.next_typing_at = at;
        }
    }
    let mut sent: Vec<String> = Vec::new();
    let mut now = 0u64;
    let chaos_until = 60_000;
    let give_up_at = chaos_until + 240_000;
    let mut step = 0u32;
    loop {
        step += 1;
        if step > 200_000 {
            return Outcome::Failed(format!("no progress after {step} steps at t={now} ms"));
        }
        if now >= chaos_until {
            server.borrow_mut().faults = Faults::none();
            if windows
                .iter()
                .all(|w| w.to_send == 0 || w.session.turn() != Turn::Idle)
            {
                if let Ok(()) = check_settled(&windows, &server.borrow(), &sent) {
                    return Outcome::Settled(sent.len());
                }
            }
            if now >= give_up_at {
                let reason = check_settled(&windows, &server.borrow(), &sent).unwrap_err();
                if std::env::var_os("BLEEP_SIM_TRACE").is_some() {
                    for w in &windows {
                        eprintln!("=== {}: {:#?}", w.name, w.session);
                    }
                    for (k, v) in &server.borrow().store {
                        eprintln!(
                            "{} = {}",
                            String::from_utf8_lossy(k),
                            String::from_utf8_lossy(v)
                        );
                    }
                }
                return Outcome::Failed(format!(
                    "not settled 240 s after the faults stopped: {reason}"
                ));
            }
        }
        // Users type when it is their turn.
        for (i, w) in windows.iter_mut().enumerate() {
            let ready = w.session.turn() == Turn::Idle && !w.session.is_loading_history();
            if w.to_send > 0 && now >= w.next_typing_at && ready {
                let text = match rng.below(4) {
                    0 => format!(
                        "{} #{} <?php echo 'x'; ?> & \"sats\" 88%",
                        w.name,
                        sent.len()
                    ),
                    1 => format!("{} #{} k55592hr bed 4\nsecond line ✓", w.name, sent.len()),
                    _ => format!("{} #{} window {i}", w.name, sent.len()),
                };
                if std::env::var_os("BLEEP_SIM_TRACE").is_some() {
                    eprintln!("{now} {} sends {text:?}", w.name);
                }
                if w.session.send(&text, now).is_ok() {
                    sent.push(text);
                    w.to_send -= 1;
                }
                w.next_typing_at = now + rng.below(2_000);
            }
        }
        // Start requests, and answer those whose time has come.
        for w in &mut windows {
            if w.in_flight.is_none() {
                if let Some(out) = w.session.poll_request(now) {
                    let latency = 5 + rng.below(300);
                    w.in_flight = Some((out.id, out.request, now + latency));
                }
            }
            if let Some((id, request, at)) = w.in_flight.clone() {
                if at <= now {
                    w.in_flight = None;
                    let client = ImClient::new(SERVER, SimTransport(&server));
                    let answer = pollster::block_on(client.run(&request));
                    if std::env::var_os("BLEEP_SIM_TRACE").is_some() && now < 5_000 {
                        eprintln!("{now} {}: {:?} -> {:?}", w.name, request, answer);
                    }
                    w.session.handle_answer(id, answer, now);
                    if std::env::var_os("BLEEP_SIM_TRACE").is_some() && now < 5_000 {
                        eprintln!(
                            "     {} now {:?}, {:?}",
                            w.name,
                            w.session.turn(),
                            w.session
                                .messages()
                                .map(|m| m.envelope.text.clone())
                                .collect::<Vec<_>>()
                        );
                    }
                }
            }
        }
        // Reloads: the window is rebuilt from what it saved; a request under
        // way may still land on the server, but its answer is lost.
        if server.borrow().faults.reload > 0 && rng.chance(server.borrow().faults.reload) {
            let i = rng.below(windows.len() as u64) as usize;
            let w = &mut windows[i];
            if let Some((_, request, _)) = w.in_flight.take() {
                if rng.chance(500) {
                    let client = ImClient::new(SERVER, SimTransport(&server));
                    let _ = pollster::block_on(client.run(&request));
                }
            }
            // The small state is saved on every change; the transcript
            // lazily, so it may be older.
            if std::env::var_os("BLEEP_SIM_TRACE").is_some() {
                eprintln!(
                    "{now} {} reloads with {} saved messages",
                    w.name,
                    w.saved_transcript.transcript().len()
                );
            }
            let saved = w.session.saved();
            // Through JSON, as the browser's local storage does it.
            let saved = json::from_str(&json::to_string(&saved)).unwrap();
            let transcript = w.saved_transcript.transcript();
            w.session = Session::restore(saved, transcript, SERVER, settings(), rng.next());
            if !repair {
                w.session.disable_repair();
            }
        }
        // The browser saves the transcript now and then.
        for w in &mut windows {
            if rng.chance(300) {
                w.saved_transcript.save(&mut w.session);
            }
        }
        // Advance the clock to the next thing that happens.
        let mut next = now + 1_000;
        for w in &windows {
            if let Some((_, _, at)) = &w.in_flight {
                next = next.min(*at);
            } else if let Some(at) = w.session.poll_timeout(now) {
                next = next.min(at);
            }
            if w.to_send > 0 && w.session.turn() == Turn::Idle {
                next = next.min(w.next_typing_at.max(now + 1));
            }
        }
        if now < chaos_until {
            next = next.min(chaos_until);
        }
        now = next.max(now + 1);
    }
}

/// Checks the end state of a schedule.
fn check_settled(windows: &[Window], server: &CourseServer, sent: &[String]) -> Result<(), String> {
    let first = &windows[0].session;
    let reference: Vec<(String, String)> = first
        .messages()
        .map(|m| (m.envelope.from.clone(), m.envelope.text.clone()))
        .collect();
    for w in windows {
        let transcript: Vec<(String, String)> = w
            .session
            .messages()
            .map(|m| (m.envelope.from.clone(), m.envelope.text.clone()))
            .collect();
        for text in sent {
            let copies = transcript.iter().filter(|(_, t)| t == text).count();
            if copies != 1 {
                return Err(format!(
                    "{} has {copies} copies of {text:?} (transcript: {transcript:?})",
                    w.name
                ));
            }
        }
        if transcript.len() != sent.len() {
            return Err(format!(
                "{} shows {} messages, {} were sent",
                w.name,
                transcript.len(),
                sent.len()
            ));
        }
        if transcript != reference {
            return Err(format!(
                "{} and {} disagree on the order:\n{transcript:?}\n{reference:?}",
                w.name, windows[0].name
            ));
        }
        for m in w.session.messages().filter(|m| m.mine) {
            if m.delivery != Some(Delivery::Read) {
                return Err(format!(
                    "{}: {:?} is {:?}, not read",
                    w.name, m.envelope.text, m.delivery
                ));
            }
        }
    }
    if let Some(last) = first.messages().next_back() {
        for w in windows {
            let expected = if w.session.pair().me.is(&last.envelope.from) {
                "waiting"
            } else {
                "idle"
            };
            let turn = match w.session.turn() {
                Turn::Idle => "idle",
                Turn::Sending => "sending",
                Turn::Waiting { .. } => "waiting",
            };
            if turn != expected {
                return Err(format!(
                    "{} is {turn}, expected {expected} after {:?}",
                    w.name, last.envelope.text
                ));
            }
        }
        let waiting = server.value(first.keys().waiting().as_bytes());
        if waiting != Some(last.envelope.from.as_bytes()) {
            return Err(format!(
                "__waiting__ holds {:?}, expected {:?}",
                waiting.map(String::from_utf8_lossy),
                last.envelope.from
            ));
        }
    }
    if server.values().any(|v| v.windows(2).any(|w| w == b"<?")) {
        return Err("a stored key or value contains <?".into());
    }
    Ok(())
}

/// A conversation on a fault-free server, then a brand-new window (nothing
/// saved) that must rebuild the same transcript from the server alone.
pub fn run_new_window_schedule(seed: u64) -> Outcome {
    let mut rng = Rng::new(seed);
    let server = RefCell::new(CourseServer::new(Faults::none(), seed));
    let alice = Pair::parse("Alice", "Bob").unwrap();
    let bob = Pair::parse("Bob", "Alice").unwrap();
    let mut windows = vec![
        Window {
            name: "alice",
            session: Session::new(alice.clone(), device(&mut rng), SERVER, settings(), 1),
            in_flight: None,
            to_send: 5,
            next_typing_at: 0,
            saved_transcript: SavedTranscript::default(),
        },
        Window {
            name: "bob",
            session: Session::new(bob, device(&mut rng), SERVER, settings(), 2),
            in_flight: None,
            to_send: 5,
            next_typing_at: 100,
            saved_transcript: SavedTranscript::default(),
        },
    ];
    let mut sent = Vec::new();
    let mut now = 0;
    while now < 120_000 {
        if now == 60_000 {
            windows.push(Window {
                name: "alice-new",
                session: Session::new(alice.clone(), device(&mut rng), SERVER, settings(), 3),
                in_flight: None,
                to_send: 0,
                next_typing_at: 0,
                saved_transcript: SavedTranscript::default(),
            });
        }
        for w in &mut windows {
            if w.to_send > 0 && w.session.turn() == Turn::Idle && now >= w.next_typing_at {
                let text = format!("{} says {}", w.name, sent.len());
                if w.session.send(&text, now).is_ok() {
                    sent.push(text);
                    w.to_send -= 1;
                }
            }
            w.session.transcript_saved();
            if let Some(out) = w.session.poll_request(now) {
                let client = ImClient::new(SERVER, SimTransport(&server));
                let answer = pollster::block_on(client.run(&out.request));
                w.session.handle_answer(out.id, answer, now);
            }
        }
        now += 50;
    }
    let result = check_settled(&windows, &server.borrow(), &sent);
    match result {
        Ok(()) if windows[2].session.message_count() == 10 => Outcome::Settled(sent.len()),
        Ok(()) => Outcome::Failed("the new window did not load the history".into()),
        Err(reason) => Outcome::Failed(reason),
    }
}

/// What steady-state polling costs once a conversation of `history`
/// messages has settled, on a store that also holds `junk` keys of other
/// programs: the most requests and the most answer bytes between two reads
/// of the colleague's record, over a minute of idle and a minute of waiting.
#[derive(Debug, PartialEq, Eq)]
pub struct PollCost {
    pub requests_per_poll: usize,
    pub bytes_per_poll: usize,
    /// Requests whose cost grows with the store (page or keys).
    pub whole_store_reads: usize,
}

pub fn poll_cost(history: usize, junk: usize) -> PollCost {
    let server = RefCell::new(CourseServer::new(Faults::none(), 1));
    for i in 0..junk {
        server
            .borrow_mut()
            .handle(&format!(
                "{SERVER}?action=set&key=junk{i}&value=course%20client%20{i}"
            ))
            .unwrap();
    }
    let mut rng = Rng::new(9);
    let mut alice = Session::new(
        Pair::parse("Alice", "Bob").unwrap(),
        device(&mut rng),
        SERVER,
        Settings::default(),
        1,
    );
    let mut bob = Session::new(
        Pair::parse("Bob", "Alice").unwrap(),
        device(&mut rng),
        SERVER,
        Settings::default(),
        2,
    );
    let client = ImClient::new(SERVER, SimTransport(&server));
    let mut now = 0;
    let step = |session: &mut Session, now: u64, log: Option<&mut Vec<(Request, usize)>>| {
        session.transcript_saved();
        if let Some(out) = session.poll_request(now) {
            let answer = pollster::block_on(client.run(&out.request));
            let bytes = match &answer {
                Ok(bleep::imserver::client::Answer::Value(Some(v))) => v.len() + 1,
                Ok(bleep::imserver::client::Answer::Store(entries)) => {
                    entries.iter().map(|(k, v)| k.len() + v.len()).sum()
                }
                _ => 1,
            };
            if let Some(log) = log {
                log.push((out.request.clone(), bytes));
            }
            session.handle_answer(out.id, answer, now);
        }
    };
    // Build the history: each side answers as soon as it is its turn.
    let mut sent = 0;
    while sent < history {
        for (i, s) in [&mut alice, &mut bob].into_iter().enumerate() {
            if sent < history
                && s.turn() == Turn::Idle
                && !s.is_loading_history()
                && s.send(&format!("message {sent} from {i}"), now).is_ok()
            {
                sent += 1;
            }
            step(s, now, None);
        }
        now += 50;
    }
    // Let it settle, then watch Alice poll: first waiting (she sent last or
    // not), then the other way round.
    for _ in 0..2_000 {
        step(&mut alice, now, None);
        step(&mut bob, now, None);
        now += 50;
    }
    let mut log = Vec::new();
    for _ in 0..2_400 {
        step(&mut alice, now, Some(&mut log));
        step(&mut bob, now, None);
        now += 50;
    }
    let peer_record = alice.keys().peer_record().into_bytes();
    let mut cost = PollCost {
        requests_per_poll: 0,
        bytes_per_poll: 0,
        whole_store_reads: 0,
    };
    let mut current = (0, 0);
    for (request, bytes) in &log {
        if matches!(request, Request::Page | Request::Keys) {
            cost.whole_store_reads += 1;
        }
        if matches!(request, Request::Get { key } if *key == peer_record) {
            current = (0, 0);
        }
        current = (current.0 + 1, current.1 + bytes);
        cost.requests_per_poll = cost.requests_per_poll.max(current.0);
        cost.bytes_per_poll = cost.bytes_per_poll.max(current.1);
    }
    cost
}
