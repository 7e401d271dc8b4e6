//! Budget 2, poll economy: `bleep::core::Session` driven natively against
//! our real IMserver.php, counting every request and every byte answered.
//!
//! The session runs in the app's own driver (`bleep::driver`, with its
//! storage in memory) on a virtual clock (each timer fires at once, so a
//! minute of polling takes a fraction of a second; the time requests take
//! is added to it) but every request goes over HTTP to `php -S`. Two stores are compared: a small one (a
//! ten-message conversation and nothing else) and a large one (100,000
//! messages in the conversation and 10,000 unrelated keys). In each, a new
//! window of Alice's loads the conversation, polls while it is her turn
//! (idle), sends, and polls while she waits for Bob (waiting).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bleep::core::{Settings, Turn};
use bleep::driver::{Clock, Driver, MemoryStorage, Step, Window as Opening};
use bleep::imserver::client::{HttpAnswer, Transport, TransportError};

use crate::data::{self, ALICE, BOB};
use crate::http;
use crate::php::{Flavour, Store};
use crate::report::Row;
use crate::util::{self, Result};

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Sent {
    pub action: String,
    /// The query string sent (after `?`).
    pub query: String,
    pub body_bytes: usize,
    pub wire_bytes: usize,
    pub ms: f64,
}

/// The virtual clock: it moves when the window sleeps until its next
/// timer, and by the time each request takes.
#[derive(Clone)]
pub struct Virtual(pub Rc<Cell<u64>>);

impl Clock for Virtual {
    fn now(&self) -> u64 {
        self.0.get()
    }
}

/// A transport over the std client that logs every request.
pub struct Counting {
    pub port: u16,
    pub log: Rc<RefCell<Vec<Sent>>>,
    pub clock: Virtual,
}

impl Transport for Counting {
    async fn fetch(&self, url: &str) -> std::result::Result<HttpAnswer, TransportError> {
        let target = url
            .strip_prefix(&format!("http://127.0.0.1:{}", self.port))
            .unwrap_or(url);
        let action = target
            .split("action=")
            .nth(1)
            .map(|a| a.split('&').next().unwrap_or("").to_owned())
            .unwrap_or_else(|| "page".into());
        let start = Instant::now();
        let answer = http::get(self.port, target, Duration::from_secs(60))
            .map_err(TransportError::Network)?;
        self.log.borrow_mut().push(Sent {
            action,
            query: target
                .split_once('?')
                .map_or("", |(_, query)| query)
                .to_owned(),
            body_bytes: answer.body.len(),
            wire_bytes: answer.head_bytes + answer.body.len(),
            ms: start.elapsed().as_secs_f64() * 1000.0,
        });
        let clock = &self.clock.0;
        clock.set(clock.get() + start.elapsed().as_millis() as u64);
        Ok(HttpAnswer {
            status: answer.status,
            body: answer.body,
            escaped_page: answer.escaped_page,
        })
    }
}

/// Runs a future whose transport never suspends (ours is blocking).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

/// A window: the app's driver, its request log and its clock.
struct Window {
    driver: Driver<Counting, MemoryStorage, Virtual>,
    log: Rc<RefCell<Vec<Sent>>>,
    clock: Virtual,
}

impl Window {
    /// Runs every request due now; the transcript is saved after each
    /// answer (the app does it half a second later).
    fn run_due(&mut self) -> Vec<Sent> {
        let first = self.log.borrow().len();
        for _ in 0..100_000 {
            let Step::Answered { .. } = block_on(self.driver.step()) else {
                break;
            };
            self.driver.save_transcript();
        }
        self.log.borrow()[first..].to_vec()
    }

    /// Sleeps (virtually) until the session's next timer; false if it has none.
    fn wake(&mut self) -> bool {
        match self.driver.wake_at() {
            Some(at) => {
                self.clock.0.set(at.max(self.clock.now()));
                true
            }
            None => false,
        }
    }

    fn now(&self) -> u64 {
        self.clock.now()
    }
}

/// What the polls of one state cost.
#[derive(Clone, Debug, Default)]
pub struct PollCost {
    pub polls: usize,
    pub max_requests: usize,
    pub max_body: usize,
    pub mean_body: f64,
    pub max_wire: usize,
    pub mean_ms: f64,
    pub interval_ms: f64,
    pub actions: String,
}

fn cost(polls: &[(u64, Vec<Sent>)]) -> PollCost {
    let bodies: Vec<usize> = polls
        .iter()
        .map(|(_, p)| p.iter().map(|s| s.body_bytes).sum())
        .collect();
    let times: Vec<f64> = polls
        .iter()
        .map(|(_, p)| p.iter().map(|s| s.ms).sum())
        .collect();
    let mut actions: Vec<String> = polls
        .iter()
        .map(|(_, p)| {
            p.iter()
                .map(|s| s.action.clone())
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    actions.sort();
    actions.dedup();
    let intervals: Vec<f64> = polls.windows(2).map(|w| (w[1].0 - w[0].0) as f64).collect();
    PollCost {
        polls: polls.len(),
        max_requests: polls.iter().map(|(_, p)| p.len()).max().unwrap_or(0),
        max_body: bodies.iter().copied().max().unwrap_or(0),
        mean_body: bodies.iter().sum::<usize>() as f64 / bodies.len().max(1) as f64,
        max_wire: polls
            .iter()
            .map(|(_, p)| p.iter().map(|s| s.wire_bytes).sum::<usize>())
            .max()
            .unwrap_or(0),
        mean_ms: times.iter().sum::<f64>() / times.len().max(1) as f64,
        interval_ms: util::median(&intervals),
        actions: actions.join(", "),
    }
}

/// The cost of one store: first load, idle polls, the send, waiting polls.
pub struct StoreCost {
    pub label: String,
    pub keys: usize,
    pub store_bytes: usize,
    pub first_load_requests: usize,
    pub first_load_bytes: usize,
    pub first_load_ms: f64,
    pub idle: PollCost,
    pub send_requests: usize,
    pub waiting: PollCost,
}

const WARM_POLLS: usize = 8;
const MEASURED_POLLS: usize = 16;

fn measure_polls(window: &mut Window) -> Result<Vec<(u64, Vec<Sent>)>> {
    let mut polls = Vec::new();
    for i in 0..WARM_POLLS + MEASURED_POLLS {
        if !window.wake() {
            return Err("the session stopped asking to be woken".into());
        }
        let at = window.now();
        let sent = window.run_due();
        if i >= WARM_POLLS && !sent.is_empty() {
            polls.push((at, sent));
        }
    }
    Ok(polls)
}

fn run_store(label: &str, messages: u64, unrelated: u64, text: &str) -> Result<StoreCost> {
    let mut entries = data::unrelated(unrelated / 2, 11);
    entries.extend(data::conversation(messages, 7, 1_764_000_000_000));
    entries.extend(
        data::unrelated(unrelated - unrelated / 2, 13)
            .into_iter()
            .map(|(mut k, v)| {
                k.extend_from_slice(b".late");
                (k, v)
            }),
    );
    let store = Store::start(Flavour::Ours, &entries, 4)?;
    let url = store.server.url("/IMserver.php");
    let opening = Opening {
        pair: data::pair(ALICE, BOB),
        device: data::device("cccccccccc"),
        server: url.clone(),
        settings: Settings::default(),
        seed: 42,
    };
    let log = Rc::new(RefCell::new(Vec::new()));
    let clock = Virtual(Rc::new(Cell::new(1_800_000_000_000)));
    let transport = Counting {
        port: store.server.port,
        log: Rc::clone(&log),
        clock: clock.clone(),
    };
    let driver = Driver::open(opening, transport, MemoryStorage::new(), clock.clone());
    let mut window = Window { driver, log, clock };

    // A new window: it reads the whole store once, then publishes its record.
    let start = Instant::now();
    let first = window.run_due();
    let first_load_ms = start.elapsed().as_secs_f64() * 1000.0;
    if window.driver.session().message_count() as u64 != messages {
        return Err(format!(
            "{label}: the new window shows {} of {messages} messages",
            window.driver.session().message_count()
        ));
    }
    if window.driver.session().turn() != Turn::Idle {
        return Err(format!(
            "{label}: expected Alice's turn, got {:?}",
            window.driver.session().turn()
        ));
    }
    let idle = cost(&measure_polls(&mut window)?);
    window.driver.send(text).map_err(|e| e.to_string())?;
    let send_requests = window.run_due().len();
    if !matches!(window.driver.session().turn(), Turn::Waiting { .. }) {
        return Err(format!(
            "{label}: expected Waiting after sending, got {:?}",
            window.driver.session().turn()
        ));
    }
    let waiting = cost(&measure_polls(&mut window)?);
    drop(store);
    Ok(StoreCost {
        label: label.to_owned(),
        keys: entries.len(),
        store_bytes: data::size(&entries),
        first_load_requests: first.len(),
        first_load_bytes: first.iter().map(|s| s.body_bytes).sum(),
        first_load_ms,
        idle,
        send_requests,
        waiting,
    })
}

pub const MAX_REQUESTS: usize = 2;
pub const MAX_BYTES: usize = 300;

pub fn run(details: &mut String) -> Result<Row> {
    let short = "Bed 4: sats 91% on 2L, please review";
    let small = run_store("small: 10 messages, no other keys", 10, 0, short)?;
    let large = run_store(
        "large: 100,000 messages + 10,000 unrelated keys",
        100_000,
        10_000,
        short,
    )?;
    // A handover note: while it is unread, every fourth waiting poll reads it back.
    let note = "Handover bed 4: ".to_owned()
        + &"sats 91% on 2L, NEWS 5, bloods sent, review at 14:00; ".repeat(20);
    let long = run_store(
        "small, waiting after a 1,000-character message",
        10,
        0,
        &note[..1000],
    )?;
    details.push_str(
        "| store | keys | first load of a new window | state | polls | requests/poll (max) | answer bytes/poll (max / mean) | with HTTP headers (max) | server time/poll | interval | requests seen |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for s in [&small, &large] {
        for (state, c) in [("idle", &s.idle), ("waiting", &s.waiting)] {
            details.push_str(&format!(
                "| {} | {} ({}) | {} requests, {} in {:.0} ms | {} | {} | {} | {} / {:.0} | {} | {:.1} ms | {:.0} ms | {} |\n",
                s.label,
                s.keys,
                util::kb(s.store_bytes),
                s.first_load_requests,
                util::kb(s.first_load_bytes),
                s.first_load_ms,
                state,
                c.polls,
                c.max_requests,
                c.max_body,
                c.mean_body,
                c.max_wire,
                c.mean_ms,
                c.interval_ms,
                c.actions
            ));
        }
    }
    details.push_str(&format!(
        "\nWith a 1,000-character message unread by the colleague, a waiting poll answers up to {} bytes ({} requests): the check of one's own unread message reads the whole envelope back. Not counted against the budget above (the history and the store do not matter here, the message's length does); see the proposals in BENCHMARKS.md.\n",
        long.waiting.max_body, long.waiting.max_requests
    ));
    details.push_str(&format!(
        "\nSending one message took {} requests (small store) and {} (large store).\n",
        small.send_requests, large.send_requests
    ));
    let worst_requests = [&large.idle, &large.waiting]
        .iter()
        .map(|c| c.max_requests)
        .max()
        .unwrap_or(0);
    let worst_bytes = [&large.idle, &large.waiting]
        .iter()
        .map(|c| c.max_body)
        .max()
        .unwrap_or(0);
    let small_requests = small.idle.max_requests.max(small.waiting.max_requests);
    let small_bytes = small.idle.max_body.max(small.waiting.max_body);
    details.push_str(&format!(
        "The large store answers {} bytes more per poll at most: its sequence numbers have more digits (the records carry `50000` where the small store has `5`); nothing else grows with the history or the store.\n",
        worst_bytes as i64 - small_bytes as i64
    ));
    // "As with an empty store": the same requests, and within the byte budget.
    let pass = worst_requests <= MAX_REQUESTS
        && worst_bytes <= MAX_BYTES
        && large.idle.max_requests == small.idle.max_requests
        && large.waiting.max_requests == small.waiting.max_requests;
    Ok(Row::new(
        "2. Poll economy (100k msgs + 10k keys)",
        format!("{worst_requests} req, ≤ {worst_bytes} B per poll (small store: {small_requests} req, ≤ {small_bytes} B)"),
        format!("≤ {MAX_REQUESTS} req, ≤ {MAX_BYTES} B"),
        Some(pass),
    ))
}
