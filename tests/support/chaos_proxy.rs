//! A misbehaving HTTP proxy for the chaos tests: the browser talks only to
//! it, it forwards every path (the app's files and `IMserver.php`) to a
//! `php -S` upstream, and on `IMserver.php` requests it injects the faults
//! the course server shows in the wild, following a seeded schedule:
//!
//! - the answer delayed by up to a few seconds (before or after forwarding);
//! - HTTP 500 without forwarding;
//! - the connection dropped before forwarding (nothing landed);
//! - the connection dropped after forwarding (the write may have landed);
//! - the final `"\n"` stripped from the body;
//! - **stale replays**: the proxy remembers every value it forwarded for a
//!   `set`, per key, and now and then writes an older value of a recently
//!   written key back to the upstream (or unsets it, if it had none before),
//!   exactly like the course server's lost updates that rewrite a stale copy
//!   of the store after having answered 200 for the newer write.
//!
//! It can also take the upstream down (stop the PHP server, or refuse the
//! `IMserver.php` requests itself, at once or right after a given request)
//! and bring it back. It logs every request it saw and
//! counts the faults by kind, for the tests' assertions and summary lines.
//!
//! The same seed gives the same fault decisions in the same order: one
//! decision per `IMserver.php` request, in arrival order, drawn from a
//! splitmix64 generator. Which request gets which decision still depends on
//! the browsers' timing, so a seed reproduces a run's fault mix, not its
//! interleaving.
//!
//! It binds only 127.0.0.1, runs on its own thread with its own
//! single-threaded Tokio runtime (so it works under any test harness, async
//! or not), bounds every wait, and stops (with its upstream) on drop.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

use super::PhpServer;

/// How many recently written keys a stale replay picks from.
const RECENT_KEYS: usize = 8;
/// How long one exchange with the upstream may take.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one browser connection may live (it serves one request).
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// The largest request or answer body the proxy passes on.
const MAX_BODY_BYTES: usize = 64 << 20;

// ---------------------------------------------------------------------------
// Random numbers

/// splitmix64: tiny, fast, and good enough to pick faults.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A seed for this run: `BLEEP_CHAOS_SEED` if set (decimal or `0x` hex),
/// else one made from the clock and the process id.
pub fn seed_from_env_or_clock() -> u64 {
    if let Ok(text) = std::env::var("BLEEP_CHAOS_SEED") {
        let text = text.trim();
        let parsed = match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse(),
        };
        return parsed.unwrap_or_else(|_| panic!("BLEEP_CHAOS_SEED={text:?} is not a number"));
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    SplitMix64::new(nanos ^ (u64::from(std::process::id()) << 32)).next_u64()
}

// ---------------------------------------------------------------------------
// The fault schedule

/// Per `IMserver.php` request, the probability of each fault. The first five
/// exclude each other (their sum must not exceed 1); a stale replay is
/// decided independently, before the request is handled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultRates {
    pub delay: f64,
    pub error_500: f64,
    pub drop_before: f64,
    pub drop_after: f64,
    pub strip_newline: f64,
    pub stale_replay: f64,
}

impl FaultRates {
    /// No faults at all: a transparent proxy.
    pub const NONE: FaultRates = FaultRates {
        delay: 0.0,
        error_500: 0.0,
        drop_before: 0.0,
        drop_after: 0.0,
        strip_newline: 0.0,
        stale_replay: 0.0,
    };

    /// Every fault, `total` of the requests in all, shared evenly.
    pub fn every_fault(total: f64) -> FaultRates {
        let each = total / 6.0;
        FaultRates {
            delay: each,
            error_500: each,
            drop_before: each,
            drop_after: each,
            strip_newline: each,
            stale_replay: each,
        }
    }

    fn check(&self) {
        let all = [
            self.delay,
            self.error_500,
            self.drop_before,
            self.drop_after,
            self.strip_newline,
            self.stale_replay,
        ];
        assert!(
            all.iter().all(|r| (0.0..=1.0).contains(r)),
            "fault rates must be in [0, 1]: {self:?}"
        );
        let exclusive = all[..5].iter().sum::<f64>();
        assert!(
            exclusive <= 1.0 + 1e-9,
            "the exclusive fault rates add up to {exclusive} > 1: {self:?}"
        );
    }
}

/// What the proxy does to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Passed on untouched.
    None,
    /// Answered `ms` late; the wait comes before or after forwarding.
    Delay { ms: u64, before_forwarding: bool },
    /// HTTP 500, not forwarded.
    Error500,
    /// Connection closed without an answer, not forwarded.
    DropBeforeForwarding,
    /// Forwarded (the write may have landed), then the connection closed
    /// without an answer.
    DropAfterForwarding,
    /// Forwarded; the final `"\n"` of the body removed.
    StripFinalNewline,
    /// Not a browser request: the proxy itself wrote an older value of
    /// `key` back upstream (`None`: unset it, it had no value before).
    StaleReplay { key: String, value: Option<String> },
    /// The upstream was stopped or refused: connection closed, no answer.
    UpstreamDown,
}

impl Fault {
    pub fn kind(&self) -> Option<FaultKind> {
        Some(match self {
            Fault::None => return None,
            Fault::Delay { .. } => FaultKind::Delay,
            Fault::Error500 => FaultKind::Error500,
            Fault::DropBeforeForwarding => FaultKind::DropBefore,
            Fault::DropAfterForwarding => FaultKind::DropAfter,
            Fault::StripFinalNewline => FaultKind::StripNewline,
            Fault::StaleReplay { .. } => FaultKind::StaleReplay,
            Fault::UpstreamDown => FaultKind::UpstreamDown,
        })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::None => write!(f, "-"),
            Fault::Delay {
                ms,
                before_forwarding: true,
            } => write!(f, "delay {ms} ms, then forward"),
            Fault::Delay { ms, .. } => write!(f, "forward, then delay {ms} ms"),
            Fault::Error500 => write!(f, "500"),
            Fault::DropBeforeForwarding => write!(f, "drop before forwarding"),
            Fault::DropAfterForwarding => write!(f, "forward, then drop"),
            Fault::StripFinalNewline => write!(f, "strip final newline"),
            Fault::StaleReplay { key, value: None } => write!(f, "stale replay: unset {key}"),
            Fault::StaleReplay {
                key,
                value: Some(v),
            } => write!(f, "stale replay: {key} = {}", shorten(v, 60)),
            Fault::UpstreamDown => write!(f, "upstream down"),
        }
    }
}

/// The kinds of fault, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    Delay,
    Error500,
    DropBefore,
    DropAfter,
    StripNewline,
    StaleReplay,
    UpstreamDown,
}

impl FaultKind {
    pub const ALL: [FaultKind; 7] = [
        FaultKind::Delay,
        FaultKind::Error500,
        FaultKind::DropBefore,
        FaultKind::DropAfter,
        FaultKind::StripNewline,
        FaultKind::StaleReplay,
        FaultKind::UpstreamDown,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Delay => "delay",
            FaultKind::Error500 => "500",
            FaultKind::DropBefore => "drop-before",
            FaultKind::DropAfter => "drop-after",
            FaultKind::StripNewline => "strip-newline",
            FaultKind::StaleReplay => "stale-replay",
            FaultKind::UpstreamDown => "upstream-down",
        }
    }
}

/// Faults injected so far, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    counts: HashMap<FaultKind, u64>,
}

impl FaultCounts {
    pub fn get(&self, kind: FaultKind) -> u64 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Adds `other`'s counts to these (for a run's totals).
    pub fn absorb(&mut self, other: &FaultCounts) {
        for (&kind, &n) in &other.counts {
            *self.counts.entry(kind).or_insert(0) += n;
        }
    }

    fn add(&mut self, kind: FaultKind) {
        *self.counts.entry(kind).or_insert(0) += 1;
    }
}

impl fmt::Display for FaultCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = FaultKind::ALL
            .iter()
            .map(|&kind| format!("{} {}", kind.name(), self.get(kind)))
            .collect();
        write!(f, "{}", parts.join(", "))
    }
}

/// One decision of the schedule, for one `IMserver.php` request.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// What happens to the request itself.
    pub fault: Fault,
    /// Whether a stale write is replayed first, and if so the two draws in
    /// `[0, 1)` that pick the key and its older value.
    pub replay: Option<(f64, f64)>,
}

/// The seeded sequence of decisions: the n-th call to [`FaultSchedule::next`]
/// gives the same answer for the same seed and rates.
#[derive(Clone, Debug)]
pub struct FaultSchedule {
    rng: SplitMix64,
    rates: FaultRates,
    max_delay: Duration,
    /// The shortest injected delay (zero unless a test asks for more).
    min_delay: Duration,
}

impl FaultSchedule {
    pub fn new(seed: u64, rates: FaultRates, max_delay: Duration) -> FaultSchedule {
        rates.check();
        FaultSchedule {
            rng: SplitMix64::new(seed),
            rates,
            max_delay,
            min_delay: Duration::ZERO,
        }
    }

    /// Injected delays last at least `min` from the next decision on (at
    /// most the longest delay). A test that must see a request still on its
    /// way asks for this, so that how short a uniform draw happens to be
    /// cannot race its look at the screen.
    pub fn set_min_delay(&mut self, min: Duration) {
        self.min_delay = min.min(self.max_delay);
    }

    pub fn set_rates(&mut self, rates: FaultRates) {
        rates.check();
        self.rates = rates;
    }

    pub fn rates(&self) -> FaultRates {
        self.rates
    }

    /// The next decision. Always draws the same number of random values,
    /// whatever is decided, so that the stream never shifts.
    pub fn next(&mut self) -> Decision {
        let pick = self.rng.unit();
        let delay_draw = self.rng.next_u64();
        let replay_draw = self.rng.unit();
        let replay_key = self.rng.unit();
        let replay_value = self.rng.unit();

        let r = self.rates;
        let max_ms = self.max_delay.as_millis() as u64;
        let min_ms = (self.min_delay.as_millis() as u64).min(max_ms);
        let mut edge = 0.0;
        let mut hit = |rate: f64| {
            let lower = edge;
            edge += rate;
            pick >= lower && pick < edge
        };
        let fault = if hit(r.delay) {
            Fault::Delay {
                ms: min_ms + (delay_draw >> 1) % (max_ms - min_ms + 1),
                before_forwarding: delay_draw & 1 == 0,
            }
        } else if hit(r.error_500) {
            Fault::Error500
        } else if hit(r.drop_before) {
            Fault::DropBeforeForwarding
        } else if hit(r.drop_after) {
            Fault::DropAfterForwarding
        } else if hit(r.strip_newline) {
            Fault::StripFinalNewline
        } else {
            Fault::None
        };
        let replay = (replay_draw < r.stale_replay).then_some((replay_key, replay_value));
        Decision { fault, replay }
    }
}

// ---------------------------------------------------------------------------
// The request log

/// One request the proxy saw (or, for a stale replay, made).
#[derive(Clone, Debug)]
pub struct LogEntry {
    /// Position in the log, from 0.
    pub n: usize,
    /// When it arrived, since the proxy started.
    pub at: Duration,
    /// Path and query, as received (or as sent, for a replay).
    pub target: String,
    /// What was done to it.
    pub fault: Fault,
    /// The status the client got; `None` while in flight or when the
    /// connection was dropped.
    pub status: Option<u16>,
    /// Whether the handling has finished.
    pub done: bool,
    /// Whether the client went away (a reload, a time-out) before its answer.
    pub abandoned: bool,
    /// How long the handling took.
    pub took: Duration,
}

impl fmt::Display for LogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match (self.done, self.status) {
            (false, _) => "in flight".to_string(),
            (true, _) if self.abandoned => "abandoned by the client".to_string(),
            (true, Some(s)) => s.to_string(),
            (true, None) => "dropped".to_string(),
        };
        write!(
            f,
            "#{} +{:.3}s {} [{}] -> {} ({} ms)",
            self.n,
            self.at.as_secs_f64(),
            shorten(&self.target, 140),
            self.fault,
            status,
            self.took.as_millis()
        )
    }
}

// ---------------------------------------------------------------------------
// The proxy

/// Settings of a [`ChaosProxy`].
#[derive(Clone, Debug)]
pub struct ChaosConfig {
    pub seed: u64,
    pub rates: FaultRates,
    /// The longest injected delay (default 3 s).
    pub max_delay: Duration,
}

impl ChaosConfig {
    pub fn new(seed: u64, rates: FaultRates) -> ChaosConfig {
        ChaosConfig {
            seed,
            rates,
            max_delay: Duration::from_secs(3),
        }
    }
}

/// What a key's history records: the raw (still percent-encoded) values the
/// proxy forwarded for `set`, oldest first, after the state before the
/// first one (`None`: the key had no value; the proxy assumes it saw the
/// store from its creation on).
#[derive(Debug, Default)]
struct KeyHistory {
    shown: String,
    raw_key: String,
    states: Vec<Option<String>>,
}

/// Says whether a request target (path and query) is the one after which
/// the proxy starts refusing.
type Trip = Box<dyn Fn(&str) -> bool + Send>;

struct Shared {
    schedule: FaultSchedule,
    refusing: bool,
    trip: Option<Trip>,
    started: Instant,
    log: Vec<LogEntry>,
    counts: FaultCounts,
    history: HashMap<Vec<u8>, KeyHistory>,
    recent: VecDeque<Vec<u8>>,
    imserver_requests: u64,
}

impl Shared {
    fn push_log(&mut self, target: String, fault: Fault) -> usize {
        let n = self.log.len();
        self.log.push(LogEntry {
            n,
            at: self.started.elapsed(),
            target,
            fault,
            status: None,
            done: false,
            abandoned: false,
            took: Duration::ZERO,
        });
        n
    }

    fn finish_log(&mut self, n: usize, fault: Fault, status: Option<u16>) {
        let now = self.started.elapsed();
        let entry = &mut self.log[n];
        if let Some(kind) = fault.kind() {
            // A stale replay that never reached the upstream reverted nothing.
            let landed = kind != FaultKind::StaleReplay || status.is_some_and(|s| s < 300);
            if landed {
                self.counts.add(kind);
            }
        }
        entry.fault = fault;
        entry.status = status;
        entry.done = true;
        entry.took = now.saturating_sub(entry.at);
    }

    /// Records a `set` or `unset` about to be forwarded.
    fn record_write(&mut self, query: &Query) {
        let Some(key) = query.key.clone() else {
            return;
        };
        let value = match query.action.as_deref() {
            Some("set") => Some(query.raw_value.clone().unwrap_or_default()),
            Some("unset") => None,
            _ => return,
        };
        let history = self
            .history
            .entry(key.clone())
            .or_insert_with(|| KeyHistory {
                shown: String::from_utf8_lossy(&key).into_owned(),
                raw_key: query.raw_key.clone().unwrap_or_default(),
                states: vec![None],
            });
        history.states.push(value);
        self.recent.retain(|k| *k != key);
        self.recent.push_back(key);
        while self.recent.len() > RECENT_KEYS {
            self.recent.pop_front();
        }
    }

    /// The stale write picked by the draws: an older state of a recently
    /// written key that differs from its current one. `None` when there is
    /// no such key yet.
    fn pick_stale(
        &self,
        key_draw: f64,
        value_draw: f64,
    ) -> Option<(String, String, Option<String>)> {
        let keys = self.recent.len();
        let start = ((key_draw * keys as f64) as usize).min(keys.saturating_sub(1));
        for i in 0..keys {
            let key = &self.recent[(start + i) % keys];
            let history = &self.history[key];
            let current = history.states.last().cloned().flatten();
            let older: Vec<&Option<String>> = history.states[..history.states.len() - 1]
                .iter()
                .filter(|state| **state != current)
                .collect();
            if older.is_empty() {
                continue;
            }
            let which = ((value_draw * older.len() as f64) as usize).min(older.len() - 1);
            return Some((
                history.shown.clone(),
                history.raw_key.clone(),
                older[which].clone(),
            ));
        }
        None
    }
}

/// The parts of an `IMserver.php` query the proxy cares about.
#[derive(Debug, Default)]
struct Query {
    action: Option<String>,
    key: Option<Vec<u8>>,
    raw_key: Option<String>,
    raw_value: Option<String>,
}

fn parse_query(query: &str) -> Query {
    let mut parsed = Query::default();
    for pair in query.split('&') {
        let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "action" if parsed.action.is_none() => {
                parsed.action = Some(String::from_utf8_lossy(&percent_decode(raw)).into_owned())
            }
            "key" if parsed.key.is_none() => {
                parsed.key = Some(percent_decode(raw));
                parsed.raw_key = Some(raw.to_string());
            }
            "value" if parsed.raw_value.is_none() => parsed.raw_value = Some(raw.to_string()),
            _ => {}
        }
    }
    parsed
}

/// Decodes `%XX` and `+` as PHP's `$_GET` does.
pub fn percent_decode(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    out
}

/// The chaos proxy. See the module documentation.
pub struct ChaosProxy {
    addr: SocketAddr,
    seed: u64,
    shared: Arc<Mutex<Shared>>,
    shutdown: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
    // Declared last: dropped after the proxy thread has stopped.
    upstream: PhpServer,
}

impl ChaosProxy {
    /// Starts a proxy on a free port of 127.0.0.1 in front of `upstream`.
    pub fn start(upstream: PhpServer, config: ChaosConfig) -> ChaosProxy {
        let listener =
            StdTcpListener::bind("127.0.0.1:0").expect("chaos proxy: cannot bind 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("chaos proxy: cannot make the listener non-blocking");
        let addr = listener
            .local_addr()
            .expect("chaos proxy: no local address");
        let upstream_addr = SocketAddr::from(([127, 0, 0, 1], upstream.port()));
        let shared = Arc::new(Mutex::new(Shared {
            schedule: FaultSchedule::new(config.seed, config.rates, config.max_delay),
            refusing: false,
            trip: None,
            started: Instant::now(),
            log: Vec::new(),
            counts: FaultCounts::default(),
            history: HashMap::new(),
            recent: VecDeque::new(),
            imserver_requests: 0,
        }));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("chaos-proxy-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("chaos proxy: cannot build a Tokio runtime");
                runtime.block_on(accept_loop(
                    listener,
                    upstream_addr,
                    thread_shared,
                    shutdown_rx,
                ));
                // Connections still open are cut off here.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .expect("chaos proxy: cannot start its thread");
        ChaosProxy {
            addr,
            seed: config.seed,
            shared,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
            upstream,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The absolute URL of `path_and_query` (which starts with `/`).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base_url(), path_and_query)
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn upstream(&self) -> &PhpServer {
        &self.upstream
    }

    /// Changes the fault rates from the next request on (the random stream
    /// goes on where it was).
    pub fn set_rates(&self, rates: FaultRates) {
        self.lock().schedule.set_rates(rates);
    }

    pub fn rates(&self) -> FaultRates {
        self.lock().schedule.rates()
    }

    /// Injected delays last at least `min` from the next request on
    /// ([`FaultSchedule::set_min_delay`]); `Duration::ZERO` undoes it.
    pub fn set_min_delay(&self, min: Duration) {
        self.lock().schedule.set_min_delay(min);
    }

    /// While `true`, every `IMserver.php` request is closed unanswered, as
    /// if the store were down (the app's files are still served, so a page
    /// can load; the PHP server keeps running). Clears a pending trip.
    pub fn set_refusing(&self, refusing: bool) {
        let mut shared = self.lock();
        shared.refusing = refusing;
        shared.trip = None;
    }

    /// Starts refusing (as [`ChaosProxy::set_refusing`]) right after the
    /// first `IMserver.php` request whose target matches has been forwarded
    /// and answered: the request lands, everything after it fails.
    pub fn refuse_after(&self, matches: impl Fn(&str) -> bool + Send + 'static) {
        self.lock().trip = Some(Box::new(matches));
    }

    /// Whether the proxy refuses `IMserver.php` requests now.
    pub fn is_refusing(&self) -> bool {
        self.lock().refusing
    }

    /// Kills the upstream PHP server: requests fail until
    /// [`ChaosProxy::restart_upstream`].
    pub fn stop_upstream(&mut self) {
        self.upstream.stop();
    }

    /// Starts the upstream again on the same port.
    pub fn restart_upstream(&mut self) {
        self.upstream.restart();
    }

    /// A copy of the log so far.
    pub fn log(&self) -> Vec<LogEntry> {
        self.lock().log.clone()
    }

    /// The log from entry `from` on, one line per entry, at most `max`
    /// lines (the last ones), for failure messages.
    pub fn log_text(&self, from: usize, max: usize) -> String {
        let shared = self.lock();
        let entries = &shared.log[from.min(shared.log.len())..];
        let skip = entries.len().saturating_sub(max);
        let mut text = String::new();
        if skip > 0 {
            text.push_str(&format!("({skip} earlier entries left out)\n"));
        }
        for entry in &entries[skip..] {
            text.push_str(&format!("{entry}\n"));
        }
        text
    }

    pub fn counts(&self) -> FaultCounts {
        self.lock().counts.clone()
    }

    /// Requests seen from clients: (all, `IMserver.php` only). Stale
    /// replays are the proxy's own and not counted.
    pub fn requests_seen(&self) -> (u64, u64) {
        let shared = self.lock();
        let all = shared
            .log
            .iter()
            .filter(|e| !matches!(e.fault, Fault::StaleReplay { .. }))
            .count() as u64;
        (all, shared.imserver_requests)
    }

    /// Waits (bounded) until no request is in flight; says whether it got there.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.lock().log.iter().all(|e| e.done) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        lock(&self.shared)
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // `upstream` is dropped (and its PHP server killed) after this.
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panicking test thread must not hide the log from the failure message.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn accept_loop(
    listener: StdTcpListener,
    upstream: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("chaos proxy: cannot use its listener: {e}");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of descriptors, say: do not spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        handle(request, upstream, Arc::clone(&shared))
                    });
                    let connection = hyper::server::conn::http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service);
                    let _ = tokio::time::timeout(CONNECTION_LIFETIME, connection).await;
                });
            }
        }
    }
}

/// The error that makes hyper close a connection without an answer.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection dropped by the chaos proxy")
    }
}

impl std::error::Error for DropConnection {}

type Answer = Result<Response<Full<Bytes>>, DropConnection>;

/// What the upstream answered.
struct Upstream {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn handle(
    request: Request<Incoming>,
    upstream: SocketAddr,
    shared: Arc<Mutex<Shared>>,
) -> Answer {
    let target = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    let is_imserver = request.uri().path().ends_with("/IMserver.php");
    let query = parse_query(request.uri().query().unwrap_or(""));

    // Decide everything under one lock, in arrival order.
    let (n, fault, refusing, replay) = {
        let mut s = lock(&shared);
        let decision = if is_imserver {
            s.imserver_requests += 1;
            s.schedule.next()
        } else {
            Decision {
                fault: Fault::None,
                replay: None,
            }
        };
        let refusing = s.refusing && is_imserver;
        let replay = match decision.replay {
            Some((k, v)) if !refusing => s.pick_stale(k, v),
            _ => None,
        };
        let fault = if refusing {
            Fault::UpstreamDown
        } else {
            decision.fault
        };
        let n = s.push_log(target.clone(), fault.clone());
        (n, fault, refusing, replay)
    };
    let mut in_flight = InFlight {
        shared: Arc::clone(&shared),
        n,
        fault: Some(fault.clone()),
    };
    let mut finish = |fault: Fault, status: Option<u16>| in_flight.finish(fault, status);

    if refusing {
        finish(Fault::UpstreamDown, None);
        return Err(DropConnection);
    }

    if let Some((shown, raw_key, value)) = replay {
        replay_stale(upstream, &shared, shown, raw_key, value).await;
    }

    let (parts, body) = request.into_parts();
    let body = match tokio::time::timeout(
        UPSTREAM_TIMEOUT,
        http_body_util::Limited::new(body, MAX_BODY_BYTES).collect(),
    )
    .await
    {
        Ok(Ok(collected)) => collected.to_bytes(),
        _ => {
            finish(fault, None);
            return Err(DropConnection);
        }
    };

    match &fault {
        Fault::Error500 => {
            finish(fault, Some(500));
            return Ok(plain(StatusCode::INTERNAL_SERVER_ERROR, Bytes::new()));
        }
        Fault::DropBeforeForwarding => {
            finish(fault, None);
            return Err(DropConnection);
        }
        Fault::Delay {
            ms,
            before_forwarding: true,
        } => tokio::time::sleep(Duration::from_millis(*ms)).await,
        _ => {}
    }

    if is_imserver {
        lock(&shared).record_write(&query);
    }
    let forwarded = forward(upstream, parts.method, &target, &parts.headers, body).await;
    let answer = match forwarded {
        Ok(answer) => {
            let mut s = lock(&shared);
            if is_imserver && s.trip.as_ref().is_some_and(|trip| trip(&target)) {
                s.trip = None;
                s.refusing = true;
            }
            answer
        }
        Err(_) => {
            // Stopped or unreachable upstream: as if the server were down.
            finish(Fault::UpstreamDown, None);
            return Err(DropConnection);
        }
    };

    let mut body = answer.body;
    match &fault {
        Fault::DropAfterForwarding => {
            finish(fault, None);
            return Err(DropConnection);
        }
        Fault::Delay {
            ms,
            before_forwarding: false,
        } => tokio::time::sleep(Duration::from_millis(*ms)).await,
        Fault::StripFinalNewline if body.ends_with(b"\n") => {
            body = body.slice(..body.len() - 1);
        }
        _ => {}
    }
    let status = answer.status.as_u16();
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = answer.status;
    for (name, value) in answer.headers.iter() {
        if !is_hop_by_hop(name) && name != header::CONTENT_LENGTH {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    finish(fault, Some(status));
    Ok(response)
}

/// A logged request not yet answered. Hyper drops the handling when the
/// client goes away (a reload, a fetch aborted on time-out): the entry is
/// then closed as abandoned, with the fault that was being applied.
struct InFlight {
    shared: Arc<Mutex<Shared>>,
    n: usize,
    fault: Option<Fault>,
}

impl InFlight {
    fn finish(&mut self, fault: Fault, status: Option<u16>) {
        self.fault = None;
        lock(&self.shared).finish_log(self.n, fault, status);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(fault) = self.fault.take() {
            let mut shared = lock(&self.shared);
            shared.finish_log(self.n, fault, None);
            shared.log[self.n].abandoned = true;
        }
    }
}

/// Sends the stale write upstream and logs it as its own entry.
async fn replay_stale(
    upstream: SocketAddr,
    shared: &Arc<Mutex<Shared>>,
    shown: String,
    raw_key: String,
    value: Option<String>,
) {
    let target = match &value {
        Some(raw_value) => format!("/IMserver.php?action=set&key={raw_key}&value={raw_value}"),
        None => format!("/IMserver.php?action=unset&key={raw_key}"),
    };
    let shown_value = value
        .as_deref()
        .map(|v| String::from_utf8_lossy(&percent_decode(v)).into_owned());
    let fault = Fault::StaleReplay {
        key: shown,
        value: shown_value,
    };
    let n = lock(shared).push_log(target.clone(), fault.clone());
    let status = forward(
        upstream,
        hyper::Method::GET,
        &target,
        &HeaderMap::new(),
        Bytes::new(),
    )
    .await
    .ok()
    .map(|answer| answer.status.as_u16());
    lock(shared).finish_log(n, fault, status);
}

/// One request to the upstream over a fresh connection, bounded in time.
async fn forward(
    upstream: SocketAddr,
    method: hyper::Method,
    target: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Upstream, String> {
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(upstream)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut request = Request::builder()
            .method(method)
            .uri(target)
            .body(Full::new(body))
            .map_err(|e| format!("request: {e}"))?;
        for (name, value) in headers.iter() {
            if !is_hop_by_hop(name) && name != header::HOST {
                request.headers_mut().append(name.clone(), value.clone());
            }
        }
        let host = HeaderValue::from_str(&upstream.to_string()).map_err(|e| e.to_string())?;
        request.headers_mut().insert(header::HOST, host);
        request
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let (parts, body) = response.into_parts();
        let body = http_body_util::Limited::new(body, MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        Ok(Upstream {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    tokio::time::timeout(UPSTREAM_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {UPSTREAM_TIMEOUT:?}")))
}

fn plain(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    response
}

fn is_hop_by_hop(name: &header::HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}
