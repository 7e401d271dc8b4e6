//! The simulator behind `tests/simulation.rs`: a model of the course server,
//! simulated windows, and a virtual clock. Each window is the app's own
//! [`Driver`] (the code the browser runs), with its storage in memory and
//! its requests carried to the model server after a simulated delay.
//! [`run_attacked_schedule`] adds the attacker of `attacker.rs` and checks
//! the invariants of `invariants.rs`.

pub mod attacker;
pub mod inbox;
mod invariants;

use std::cell::{Cell, Ref, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bleep::core::directory::{entry_key, Colleague, Entry};
use bleep::core::{Delivery, DeviceId, Pair, Session, Settings, Turn};
use bleep::driver::{Clock, Driver, MemoryStorage, Step, Window as Opening};
use bleep::imserver::client::{HttpAnswer, Transport, TransportError};
use bleep::imserver::phpser::{serialize_array, PhpKey};
use bleep::imserver::wire::{self, Request};

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
    /// (key, value) pairs the attacker wrote that no check may accept.
    pub tainted: BTreeSet<(Vec<u8>, Vec<u8>)>,
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
            tainted: BTreeSet::new(),
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
                escaped_page: false,
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
        Ok(HttpAnswer {
            status: 200,
            body,
            escaped_page: false,
        })
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

/// The virtual clock every window of a schedule reads.
#[derive(Clone, Default)]
struct SimClock(Rc<Cell<u64>>);

impl Clock for SimClock {
    fn now(&self) -> u64 {
        self.0.get()
    }
}

/// A window's request on its way: its URL, and when it reaches the server
/// (the schedule decides, once it sees the request).
#[derive(Default)]
struct Wire {
    url: Option<String>,
    arrives_at: Option<u64>,
}

/// What a window's requests cost, while counted: each URL and the bytes of
/// its answer.
type Sent = Rc<RefCell<Option<Vec<(String, usize)>>>>;

/// A window's connection to the simulated server: a request waits on its
/// wire until the virtual clock reaches its arrival, then the server
/// handles it and answers at once.
#[derive(Clone)]
struct SimTransport {
    server: Rc<RefCell<CourseServer>>,
    wire: Rc<RefCell<Wire>>,
    clock: SimClock,
    sent: Sent,
    /// Keys whose tainted value this window read.
    tainted: Rc<RefCell<BTreeSet<Vec<u8>>>>,
}

impl Transport for SimTransport {
    async fn fetch(&self, url: &str) -> Result<HttpAnswer, TransportError> {
        *self.wire.borrow_mut() = Wire {
            url: Some(url.to_owned()),
            arrives_at: None,
        };
        std::future::poll_fn(|_| match self.wire.borrow().arrives_at {
            Some(at) if at <= self.clock.now() => Poll::Ready(()),
            _ => Poll::Pending,
        })
        .await;
        *self.wire.borrow_mut() = Wire::default();
        let answer = self.server.borrow_mut().handle(url);
        self.note_tainted(url, &answer);
        if let (Some(sent), Ok(answer)) = (&mut *self.sent.borrow_mut(), &answer) {
            sent.push((url.to_owned(), answer.body.len()));
        }
        answer
    }
}

impl SimTransport {
    /// Remembers the key if `answer` gave a value the attacker tainted.
    fn note_tainted(&self, url: &str, answer: &Result<HttpAnswer, TransportError>) {
        let server = self.server.borrow();
        let Ok(answer) = answer else { return };
        if server.tainted.is_empty() || !url.contains("action=get") {
            return;
        }
        let key = parse_query(url).remove("key").unwrap_or_default();
        let body = answer.body.strip_suffix(b"\n").unwrap_or(&answer.body);
        if server.tainted.contains(&(key.clone(), body.to_vec())) {
            self.tainted.borrow_mut().insert(key);
        }
    }
}

type SimDriver = Driver<SimTransport, MemoryStorage, SimClock>;

/// One browser window in the simulation: the app's driver, with its
/// storage in memory, over the simulated network.
struct Window {
    name: &'static str,
    /// `None` only while the window reloads.
    driver: Option<Rc<SimDriver>>,
    /// The driver's step under way: a request on the wire.
    step: Option<Pin<Box<dyn Future<Output = Step>>>>,
    transport: SimTransport,
    opening: Opening,
    /// How many more messages the user will type.
    to_send: u32,
    next_typing_at: u64,
}

impl Window {
    fn open(
        name: &'static str,
        opening: Opening,
        server: &Rc<RefCell<CourseServer>>,
        clock: &SimClock,
    ) -> Window {
        let transport = SimTransport {
            server: Rc::clone(server),
            wire: Rc::default(),
            clock: clock.clone(),
            sent: Sent::default(),
            tainted: Rc::default(),
        };
        let driver = Driver::open(
            opening.clone(),
            transport.clone(),
            MemoryStorage::new(),
            clock.clone(),
        );
        Window {
            name,
            driver: Some(Rc::new(driver)),
            step: None,
            transport,
            opening,
            to_send: 0,
            next_typing_at: 0,
        }
    }

    fn driver(&self) -> &SimDriver {
        self.driver.as_ref().expect("a window is open")
    }

    fn session(&self) -> Ref<'_, Session> {
        self.driver().session()
    }

    /// Starts a step if none is under way, and moves it on: a request it
    /// makes goes on the wire, to arrive `latency()` later.
    fn run(&mut self, now: u64, latency: impl FnOnce() -> u64) {
        let step = self.step.get_or_insert_with(|| {
            let driver = Rc::clone(self.driver.as_ref().expect("a window is open"));
            Box::pin(async move { driver.step().await })
        });
        let mut cx = Context::from_waker(Waker::noop());
        if step.as_mut().poll(&mut cx).is_ready() {
            self.step = None;
            return;
        }
        let mut wire = self.transport.wire.borrow_mut();
        if wire.url.is_some() && wire.arrives_at.is_none() {
            wire.arrives_at = Some(now + latency());
        }
    }

    /// Runs one step to its end, the request answered at once.
    fn run_now(&mut self, now: u64) {
        self.run(now, || 0);
        if self.step.is_some() {
            self.run(now, || 0);
        }
    }

    /// When the request on the wire arrives, if one is.
    fn arrives_at(&self) -> Option<u64> {
        self.transport.wire.borrow().arrives_at
    }

    /// Reloads the window from what it saved. The step under way is
    /// abandoned; its request, if on the wire, is returned (it may still
    /// reach the server).
    fn reload(&mut self, seed: u64) -> Option<String> {
        self.step = None;
        let on_wire = std::mem::take(&mut *self.transport.wire.borrow_mut()).url;
        let driver = self.driver.take().expect("a window is open");
        let storage = Rc::try_unwrap(driver)
            .ok()
            .expect("no step holds the driver")
            .into_storage();
        let opening = Opening {
            seed,
            ..self.opening.clone()
        };
        let clock = self.transport.clock.clone();
        let driver = Driver::open(opening, self.transport.clone(), storage, clock);
        self.driver = Some(Rc::new(driver));
        on_wire
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

/// Who opens a window, with what device and seed, on the simulated server.
fn opening(pair: Pair, device: DeviceId, seed: u64) -> Opening {
    Opening {
        pair,
        device,
        server: SERVER.to_owned(),
        settings: settings(),
        seed,
    }
}

fn tracing() -> bool {
    std::env::var_os("BLEEP_SIM_TRACE").is_some()
}

/// Runs one schedule from its seed.
pub fn run_schedule(seed: u64, faults: Faults, repair: bool) -> Outcome {
    run(seed, faults, repair, None).0
}

/// What the attacker did in one schedule, and what the screens made of it.
#[derive(Clone, Copy, Debug, Default)]
pub struct AttackReport {
    pub tally: attacker::Tally,
    /// Forged messages shown after a key-change or new-device notice
    /// (trust on first use's limit), counted per window.
    pub tofu: usize,
    /// Windows that showed a tamper notice.
    pub noticed: usize,
}

/// Runs one schedule from its seed with the attacker of `attacker.rs`
/// acting until the faults stop, checking the invariants of
/// `invariants.rs` after every step. With `checks` off, every window skips
/// its trust checks (`Session::disable_checks`).
pub fn run_attacked_schedule(seed: u64, faults: Faults, checks: bool) -> (Outcome, AttackReport) {
    let (outcome, report) = run(seed, faults, true, Some(checks));
    (outcome, report.unwrap_or_default())
}

/// A client without its trust checks. Protocol version 1, which main's
/// client still speaks, has none to turn off.
fn disable_checks(_w: &Window) {}

fn run(
    seed: u64,
    faults: Faults,
    repair: bool,
    attack: Option<bool>,
) -> (Outcome, Option<AttackReport>) {
    let mut rng = Rng::new(seed);
    let server = Rc::new(RefCell::new(CourseServer::new(faults, seed ^ 0x5eed)));
    let clock = SimClock::default();
    let alice = Pair::parse("Alice", "Dr Bob").unwrap();
    let bob = Pair::parse("dr bob", "ALICE").unwrap();
    let mut windows = Vec::new();
    for (name, pair) in [("alice", alice.clone()), ("bob", bob)] {
        let opening = opening(pair, device(&mut rng), rng.next());
        let mut w = Window::open(name, opening, &server, &clock);
        w.to_send = 1 + rng.below(5) as u32;
        w.next_typing_at = rng.below(500);
        windows.push(w);
    }
    if rng.chance(300) {
        let opening = opening(alice, device(&mut rng), rng.next());
        let mut w = Window::open("alice-2", opening, &server, &clock);
        w.to_send = rng.below(3) as u32;
        w.next_typing_at = rng.below(3_000);
        windows.push(w);
    }
    if !repair {
        for w in &windows {
            w.driver().disable_repair();
        }
    }
    let checks = attack.unwrap_or(true);
    if !checks {
        for w in &windows {
            disable_checks(w);
        }
    }
    let mut ledger = attack.map(|_| invariants::Ledger::new(&windows));
    let mut attacker = attack.map(|_| {
        let pair = &windows[0].opening.pair;
        let layout = windows[0].session().keys().clone();
        attacker::Attacker::new(seed, &layout, [&pair.me, &pair.peer])
    });
    let report = |ledger: &Option<invariants::Ledger>, attacker: &Option<attacker::Attacker>| {
        let (ledger, attacker) = (ledger.as_ref()?, attacker.as_ref()?);
        Some(AttackReport {
            tally: attacker.tally,
            tofu: ledger.tofu.len(),
            noticed: ledger.noticed.len(),
        })
    };
    // Sometimes everybody types at the same instant.
    if rng.chance(300) {
        let at = 1_000 + rng.below(1_000);
        for w in &mut windows {
            w.next_typing_at = at;
        }
    }
    let mut sent: Vec<String> = Vec::new();
    // The texts sent as urgent.
    let mut sent_urgent: BTreeSet<String> = BTreeSet::new();
    let mut now = 0u64;
    let chaos_until = 60_000;
    let give_up_at = chaos_until + 240_000;
    let mut step = 0u32;
    loop {
        clock.0.set(now);
        step += 1;
        if step > 200_000 {
            return (
                Outcome::Failed(format!("no progress after {step} steps at t={now} ms")),
                report(&ledger, &attacker),
            );
        }
        let real = ledger.as_ref().map(invariants::Ledger::real_devices);
        if now >= chaos_until {
            server.borrow_mut().faults = Faults::none();
            if windows
                .iter()
                .all(|w| w.to_send == 0 || w.session().turn() != Turn::Idle)
            {
                if let Ok(()) = check_settled(
                    &windows,
                    &server.borrow(),
                    &sent,
                    &sent_urgent,
                    real.as_ref(),
                ) {
                    let noticed = match &ledger {
                        Some(ledger) => ledger.check_noticed(&windows),
                        None => Ok(()),
                    };
                    let outcome = match noticed {
                        Ok(()) => Outcome::Settled(sent.len()),
                        Err(reason) => Outcome::Failed(reason),
                    };
                    return (outcome, report(&ledger, &attacker));
                }
            }
            if now >= give_up_at {
                let reason = check_settled(
                    &windows,
                    &server.borrow(),
                    &sent,
                    &sent_urgent,
                    real.as_ref(),
                )
                .unwrap_err();
                if tracing() {
                    for w in &windows {
                        eprintln!("=== {}: {:#?}", w.name, *w.session());
                    }
                    for (k, v) in &server.borrow().store {
                        eprintln!(
                            "{} = {}",
                            String::from_utf8_lossy(k),
                            String::from_utf8_lossy(v)
                        );
                    }
                }
                return (
                    Outcome::Failed(format!(
                        "(c) not settled 240 s after the faults stopped: {reason}"
                    )),
                    report(&ledger, &attacker),
                );
            }
        }
        // Users type when it is their turn, and mark one message in six
        // urgent; now and then one who waits for a reply sends an urgent
        // follow-up instead of waiting.
        for (i, w) in windows.iter_mut().enumerate() {
            let turn = w.session().turn();
            let loading = w.session().is_loading_history();
            let follow_up = matches!(turn, Turn::Waiting { .. }) && rng.below(8) == 0;
            let urgent = follow_up || (turn == Turn::Idle && rng.below(6) == 0);
            let ready = (turn == Turn::Idle || follow_up) && !loading;
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
                if tracing() {
                    eprintln!("{now} {} sends {text:?}", w.name);
                }
                let done = if urgent {
                    w.driver().send_urgent(&text)
                } else {
                    w.driver().send(&text)
                };
                // As the browser does once the frame showing it is drawn (a
                // page closed before then saves it as it goes).
                w.driver().save_state();
                if done.is_ok() {
                    if let Some(ledger) = &mut ledger {
                        ledger.sent(w, &text);
                    }
                    if urgent {
                        sent_urgent.insert(text.clone());
                    }
                    sent.push(text);
                    w.to_send -= 1;
                }
                w.next_typing_at = now + rng.below(2_000);
            }
        }
        // Each window's driver steps: a request goes on the wire, or the
        // answer to one that has arrived is taken in.
        for w in &mut windows {
            w.run(now, || 5 + rng.below(300));
            if tracing() && now < 5_000 {
                eprintln!(
                    "{now} {}: {:?}, on the wire {:?}",
                    w.name,
                    w.session().turn(),
                    w.transport.wire.borrow().url
                );
            }
        }
        // What the screens show must hold after every step.
        if let Some(ledger) = &mut ledger {
            if let Err(reason) = ledger.check(&windows) {
                return (
                    Outcome::Failed(format!("at t={now} ms: {reason}")),
                    report(&Some(std::mem::take(ledger)), &attacker),
                );
            }
        }
        // The attacker acts between requests until the faults stop.
        if let (Some(attacker), Some(ledger)) = (&mut attacker, &ledger) {
            if now < chaos_until {
                let mut server = server.borrow_mut();
                attacker.observe(&server);
                if now >= attacker.next_at {
                    let context = attacker::Context {
                        pinned_everywhere: &ledger.pinned_everywhere,
                        side_known: ledger.side_known,
                    };
                    attacker.act(now, &mut server, &context);
                }
            }
        }
        // Reloads: the window is rebuilt from what it saved; a request under
        // way may still land on the server, but its answer is lost.
        if server.borrow().faults.reload > 0 && rng.chance(server.borrow().faults.reload) {
            let i = rng.below(windows.len() as u64) as usize;
            let w = &mut windows[i];
            let seed = rng.next();
            if let Some(url) = w.reload(seed) {
                if rng.chance(500) {
                    let _ = server.borrow_mut().handle(&url);
                }
            }
            if tracing() {
                eprintln!(
                    "{now} {} reloads with {} messages",
                    w.name,
                    w.session().message_count()
                );
            }
            if !repair {
                w.driver().disable_repair();
            }
            if !checks {
                disable_checks(w);
            }
        }
        // The browser saves the transcript now and then.
        for w in &windows {
            if rng.chance(300) {
                w.driver().save_transcript();
            }
        }
        // Advance the clock to the next thing that happens.
        let mut next = now + 1_000;
        for w in &windows {
            if let Some(at) = w.arrives_at() {
                next = next.min(at);
            } else if let Some(at) = w.driver().wake_at() {
                next = next.min(at);
            }
            if w.to_send > 0 && w.session().turn() == Turn::Idle {
                next = next.min(w.next_typing_at.max(now + 1));
            }
        }
        if now < chaos_until {
            next = next.min(chaos_until);
            if let Some(attacker) = &attacker {
                next = next.min(attacker.next_at);
            }
        }
        now = next.max(now + 1);
    }
}

/// Checks the end state of a schedule. With `real`, only the messages of
/// those devices count: an attacker's device accepted on first use (which
/// the invariants of `invariants.rs` allow and count) is not the
/// clinicians' conversation, and the turn is then not checked.
fn check_settled(
    windows: &[Window],
    server: &CourseServer,
    sent: &[String],
    sent_urgent: &BTreeSet<String>,
    real: Option<&BTreeSet<DeviceId>>,
) -> Result<(), String> {
    let counts = |m: &bleep::core::MessageView| real.is_none_or(|r| r.contains(&m.envelope.device));
    let first = windows[0].session();
    let reference: Vec<(String, String)> = first
        .messages()
        .filter(counts)
        .map(|m| (m.envelope.from.clone(), m.envelope.text.clone()))
        .collect();
    let forged_shown = windows
        .iter()
        .any(|w| w.session().messages().any(|m| !counts(&m)));
    for w in windows {
        let transcript: Vec<(String, String)> = w
            .session()
            .messages()
            .filter(counts)
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
        // Each message is as urgent on every screen as its sender chose.
        if let Some(m) = w
            .session()
            .messages()
            .filter(counts)
            .find(|m| m.urgent() != sent_urgent.contains(&m.envelope.text))
        {
            return Err(format!(
                "{} shows {:?} as {}",
                w.name,
                m.envelope.text,
                if m.urgent() { "urgent" } else { "routine" }
            ));
        }
        // Everything was read, so no urgent message still calls for an
        // alert (an attacker's made-up devices may hold unread ones).
        let unseen = w.session().urgent_unseen();
        if real.is_none() && unseen != 0 {
            return Err(format!(
                "{} still counts {unseen} urgent messages unseen",
                w.name
            ));
        }
        for m in w.session().messages().filter(|m| m.mine && counts(m)) {
            if m.delivery != Some(Delivery::Read) {
                return Err(format!(
                    "{}: {:?} is {:?}, not read",
                    w.name, m.envelope.text, m.delivery
                ));
            }
        }
    }
    if let Some(last) = first.messages().next_back().filter(|_| !forged_shown) {
        for w in windows {
            let expected = if w.session().pair().me.is(&last.envelope.from) {
                "waiting"
            } else {
                "idle"
            };
            let turn = match w.session().turn() {
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
        // The side of the last sender, never a name.
        let keys = first.keys();
        let expected = keys.waiting_value(first.pair().me.is(&last.envelope.from));
        let waiting = server.value(keys.waiting().as_bytes());
        if waiting != Some(&expected[..]) {
            return Err(format!(
                "__waiting__ holds {:?}, expected {:?} (after {:?})",
                waiting.map(String::from_utf8_lossy),
                String::from_utf8_lossy(&expected),
                last.envelope.from
            ));
        }
    }
    if server.values().any(|v| v.windows(2).any(|w| w == b"<?")) {
        return Err("a stored key or value contains <?".into());
    }
    // The directory: every person's entry is on the server (repaired when
    // it was lost), and every window has read its colleague's.
    for w in windows {
        let session = w.session();
        let pair = session.pair();
        let stored = server
            .value(entry_key(&pair.me).as_bytes())
            .and_then(|v| Entry::decode(v, &pair.me));
        if stored.is_none() {
            return Err(format!("{}: no directory entry for {}", w.name, pair.me));
        }
        match session.colleague() {
            Colleague::Listed(entry) if pair.peer.is(&entry.name) => {}
            other => return Err(format!("{} sees {other:?} for {}", w.name, pair.peer)),
        }
    }
    Ok(())
}

/// A conversation on a fault-free server, then a brand-new window (nothing
/// saved) that must rebuild the same transcript from the server alone.
pub fn run_new_window_schedule(seed: u64) -> Outcome {
    let mut rng = Rng::new(seed);
    let server = Rc::new(RefCell::new(CourseServer::new(Faults::none(), seed)));
    let clock = SimClock::default();
    let alice = Pair::parse("Alice", "Bob").unwrap();
    let bob = Pair::parse("Bob", "Alice").unwrap();
    let mut first = Window::open(
        "alice",
        opening(alice.clone(), device(&mut rng), 1),
        &server,
        &clock,
    );
    first.to_send = 5;
    let mut second = Window::open("bob", opening(bob, device(&mut rng), 2), &server, &clock);
    second.to_send = 5;
    second.next_typing_at = 100;
    let mut windows = vec![first, second];
    let mut sent = Vec::new();
    let mut now = 0;
    while now < 120_000 {
        clock.0.set(now);
        if now == 60_000 {
            let opening = opening(alice.clone(), device(&mut rng), 3);
            windows.push(Window::open("alice-new", opening, &server, &clock));
        }
        for w in &mut windows {
            if w.to_send > 0 && w.session().turn() == Turn::Idle && now >= w.next_typing_at {
                let text = format!("{} says {}", w.name, sent.len());
                if w.driver().send(&text).is_ok() {
                    sent.push(text);
                    w.to_send -= 1;
                }
            }
            w.driver().save_transcript();
            w.run_now(now);
        }
        now += 50;
    }
    let result = check_settled(&windows, &server.borrow(), &sent, &BTreeSet::new(), None);
    match result {
        Ok(()) if windows[2].session().message_count() == 10 => Outcome::Settled(sent.len()),
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
    let server = Rc::new(RefCell::new(CourseServer::new(Faults::none(), 1)));
    for i in 0..junk {
        server
            .borrow_mut()
            .handle(&format!(
                "{SERVER}?action=set&key=junk{i}&value=course%20client%20{i}"
            ))
            .unwrap();
    }
    let clock = SimClock::default();
    let mut rng = Rng::new(9);
    let (alice, bob) = (
        Pair::parse("Alice", "Bob").unwrap(),
        Pair::parse("Bob", "Alice").unwrap(),
    );
    // At the app's own pace.
    let (alice, bob) = (
        Opening {
            settings: Settings::default(),
            ..opening(alice, device(&mut rng), 1)
        },
        Opening {
            settings: Settings::default(),
            ..opening(bob, device(&mut rng), 2)
        },
    );
    let mut alice = Window::open("alice", alice, &server, &clock);
    let mut bob = Window::open("bob", bob, &server, &clock);
    let mut now = 0;
    let step = |w: &mut Window, now: u64| {
        w.driver().save_transcript();
        w.run_now(now);
    };
    // Build the history: each side answers as soon as it is its turn.
    let mut sent = 0;
    while sent < history {
        clock.0.set(now);
        for (i, w) in [&mut alice, &mut bob].into_iter().enumerate() {
            if sent < history
                && w.session().turn() == Turn::Idle
                && !w.session().is_loading_history()
                && w.driver().send(&format!("message {sent} from {i}")).is_ok()
            {
                sent += 1;
            }
            step(w, now);
        }
        now += 50;
    }
    // Let it settle, then watch Alice poll: first waiting (she sent last or
    // not), then the other way round.
    for _ in 0..2_000 {
        clock.0.set(now);
        step(&mut alice, now);
        step(&mut bob, now);
        now += 50;
    }
    *alice.transport.sent.borrow_mut() = Some(Vec::new());
    for _ in 0..2_400 {
        clock.0.set(now);
        step(&mut alice, now);
        step(&mut bob, now);
        now += 50;
    }
    let peer_record = Request::Get {
        key: alice.session().keys().peer_record().into_bytes(),
    };
    let peer_record = wire::request_url(SERVER, &peer_record);
    let mut cost = PollCost {
        requests_per_poll: 0,
        bytes_per_poll: 0,
        whole_store_reads: 0,
    };
    let log = alice.transport.sent.take().unwrap_or_default();
    assert!(!log.is_empty(), "Alice made no request in two minutes");
    let mut current = (0, 0);
    for (url, bytes) in &log {
        if url == SERVER || url.ends_with("?action=keys") {
            cost.whole_store_reads += 1;
        }
        if *url == peer_record {
            current = (0, 0);
        }
        current = (current.0 + 1, current.1 + bytes);
        cost.requests_per_poll = cost.requests_per_poll.max(current.0);
        cost.bytes_per_poll = cost.bytes_per_poll.max(current.1);
    }
    cost
}
