//! The benchmarks that need the app running in headless Chromium:
//! budget 3 (delivery latency), 4 (rendering), 6 (memory) and 7 (start-up).
//!
//! Every page gets a probe before its own scripts run ([`PROBE`]). It records,
//! without touching the app's code:
//! - when each message text first appears in the DOM (`seen`, epoch ms);
//! - the main-thread cost of every task that runs app code: each fetch answer
//!   handed to the app and each timer callback, measured from the moment the
//!   app's code starts until the next macrotask (so the microtasks it queued,
//!   Leptos' effects and DOM updates, count), with a forced layout at the end;
//! - long tasks (PerformanceObserver) and milestones of the start-up.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use bleep::core::envelope::{Record, ENVELOPE_VERSION};
use bleep::core::participants::{DeviceId, KeyLayout};
use bleep::core::small_map::SmallMap;
use bleep::core::Envelope;
use bleep::display::SHOWN_AT_FIRST;
use bleep::imserver::wire::{self, Request};

use crate::data::{self, ALICE, BOB, BOB_DEVICE};
use crate::http;
use crate::php::Store;
use crate::report::Row;
use crate::util::{self, Result, Rng};
use crate::webdriver::{Browser, Driver};

/// Runs in every document before the app.
const PROBE: &str = r#"
(() => {
  const B = window.__bench = { seen: {}, tasks: [], longTasks: [], marks: {}, target: __SHOWN__,
                               setTimeout: window.setTimeout.bind(window) };
  const now = () => performance.now();
  const measure = (kind, detail, t0, at) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      void (document.body && document.body.offsetHeight);
      B.tasks.push({ kind, detail, at, ms: now() - t0 });
    };
    ch.port2.postMessage(0);
  };
  for (const name of ['arrayBuffer', 'text', 'bytes', 'blob', 'json']) {
    const original = Response.prototype[name];
    if (!original) continue;
    Response.prototype[name] = function (...args) {
      const url = this.url;
      return original.apply(this, args).then(value => {
        measure('answer', url, now(), Date.now());
        return value;
      });
    };
  }
  const wrapTimer = (name) => {
    const original = window[name];
    window[name] = function (fn, delay, ...rest) {
      if (typeof fn !== 'function') return original.call(window, fn, delay, ...rest);
      return original.call(window, function (...a) {
        const t0 = now();
        measure(name, delay || 0, t0, Date.now());
        return fn.apply(this, a);
      }, delay, ...rest);
    };
  };
  wrapTimer('setTimeout');
  wrapTimer('setInterval');
  try {
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) B.longTasks.push({ start: e.startTime, ms: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) {}
  addEventListener('TrunkApplicationStarted', e => { B.wasm = e.detail && e.detail.wasm; });
  const note = (el, at) => {
    const text = el.textContent;
    if (text && !(text in B.seen)) B.seen[text] = at;
  };
  new MutationObserver(mutations => {
    const at = Date.now();
    for (const m of mutations) {
      for (const n of m.addedNodes) {
        if (n.nodeType === 3) {
          if (n.parentElement && n.parentElement.matches('[data-testid=message-text]')) note(n.parentElement, at);
          continue;
        }
        if (n.nodeType !== 1) continue;
        if (n.matches('[data-testid=message-text]')) note(n, at);
        for (const el of n.querySelectorAll('[data-testid=message-text]')) note(el, at);
      }
    }
    const t = now();
    if (!B.marks.signIn && document.querySelector('[data-testid=sign-in] [data-testid=join]')) B.marks.signIn = t;
    if (!B.marks.conversation && document.querySelector('[data-testid=composer]')
        && document.querySelector('[data-testid=turn][data-state]')) B.marks.conversation = t;
    if (!B.marks.full && document.querySelectorAll('[data-testid=message]').length >= B.target) B.marks.full = t;
  }).observe(document, { childList: true, subtree: true });
})();
"#;

/// Sets the composer's text the way typing does (one input event).
const TYPE: &str = r#"
const [text] = arguments;
const area = document.querySelector('[data-testid=composer]');
Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(area, text);
area.dispatchEvent(new Event('input', { bubbles: true }));
return true;
"#;

/// Clicks `selector` and measures main-thread time until the next macrotask
/// (with the microtasks, DOM updates and a forced layout).
const CLICK_AND_MEASURE: &str = r#"
const [selector] = arguments;
const done = arguments[arguments.length - 1];
const button = document.querySelector(selector);
if (!button || button.disabled) { done({ error: 'no enabled ' + selector }); return; }
const before = document.querySelectorAll('[data-testid=message]').length;
const at = Date.now();
const t0 = performance.now();
button.click();
const handler = performance.now() - t0;
// Queued after the app's own microtasks (Leptos runs its effects in one).
let micro = 0;
queueMicrotask(() => { micro = performance.now() - t0 - handler; });
const ch = new MessageChannel();
ch.port1.onmessage = () => {
  const t1 = performance.now();
  void document.body.offsetHeight;
  const t2 = performance.now();
  done({ ms: t2 - t0, handler, layout: t2 - t1, micro, tasks: t1 - t0 - handler - micro, at, before,
         after: document.querySelectorAll('[data-testid=message]').length });
};
ch.port2.postMessage(0);
"#;

const READY_TO_SEND: &str = "document.querySelector('[data-testid=turn]')?.dataset.state === 'idle' \
     && !!document.querySelector('[data-testid=send]') && !document.querySelector('[data-testid=send]').disabled";

const DESCRIBE: &str = "({ turn: document.querySelector('[data-testid=turn]')?.dataset.state, \
     messages: document.querySelectorAll('[data-testid=message]').length, \
     error: document.querySelector('[data-testid=composer-error]')?.textContent, \
     visibility: document.visibilityState })";

fn conversation_url(store: &Store, me: &str, peer: &str) -> String {
    store
        .server
        .url(&format!("/index.html?me={me}&peer={peer}"))
}

fn open_with_probe<'d>(driver: &'d Driver, label: &str) -> Result<Browser<'d>> {
    let browser = driver.open(label)?;
    browser.on_new_document(&PROBE.replace("__SHOWN__", &SHOWN_AT_FIRST.to_string()))?;
    Ok(browser)
}

/// One message sent by clicking: main-thread times in ms, and when (epoch ms).
struct Sent {
    /// Click → the page updated and laid out, before the next task.
    ms: f64,
    /// Of which the click's own handlers (the app's send).
    handler_ms: f64,
    /// Of which the microtasks they queued: the app's reactive updates.
    micro_ms: f64,
    /// Of which the tasks that ran before the measuring one: the app's
    /// timers queued ahead of it (a sent message's request) and the hop.
    tasks_ms: f64,
    /// Of which style and layout, forced at the end.
    layout_ms: f64,
    at: f64,
}

/// Types `text` and presses send.
fn send(browser: &Browser, text: &str) -> Result<Sent> {
    browser.wait_for(READY_TO_SEND, DESCRIBE, 20_000)?;
    browser.exec(TYPE, json!([text]))?;
    let result = browser.exec_async(CLICK_AND_MEASURE, json!(["[data-testid=send]"]))?;
    if let Some(error) = result.get("error") {
        return Err(format!("{}: {error}", browser.label));
    }
    let (before, after) = (
        result["before"].as_u64().unwrap_or(0),
        result["after"].as_u64().unwrap_or(0),
    );
    if after <= before && before < SHOWN_AT_FIRST as u64 {
        let state = browser.exec(&format!("return {DESCRIBE};"), json!([]))?;
        return Err(format!(
            "{}: the message did not appear on sending ({state})",
            browser.label
        ));
    }
    let ms = |field: &str| result[field].as_f64().unwrap_or(f64::NAN);
    Ok(Sent {
        ms: ms("ms"),
        handler_ms: ms("handler"),
        micro_ms: ms("micro"),
        tasks_ms: ms("tasks"),
        layout_ms: ms("layout"),
        at: ms("at"),
    })
}

/// Waits until `text` is on `browser`'s screen; the epoch ms it appeared.
fn seen(browser: &Browser, text: &str, timeout_ms: u64) -> Result<f64> {
    let condition = format!("window.__bench && window.__bench.seen[{}]", json!(text));
    let value = browser.wait_for(&condition, DESCRIBE, timeout_ms)?;
    value.as_f64().ok_or_else(|| "no time".into())
}

// ---------------------------------------------------------------------------
// 3. Delivery latency

pub const LATENCY_MESSAGES: usize = 100;

pub fn latency(driver: &Driver, dist: &std::path::Path, details: &mut String) -> Result<Row> {
    let store = Store::serve_app(dist, &[], 4)?;
    let alice = open_with_probe(driver, "Alice")?;
    let bob = open_with_probe(driver, "Bob")?;
    alice.goto(&conversation_url(&store, ALICE, BOB))?;
    bob.goto(&conversation_url(&store, BOB, ALICE))?;
    for b in [&alice, &bob] {
        let visibility = b.exec("return document.visibilityState;", json!([]))?;
        if visibility != json!("visible") {
            return Err(format!(
                "{} is {visibility}: polling would be slowed down",
                b.label
            ));
        }
    }
    let mut rng = Rng::new(99);
    let mut latencies = Vec::new();
    // Two messages to start the conversation: the first is read by an idle
    // window (polling every 3 s); from then on the receiver is always waiting.
    let total = LATENCY_MESSAGES + 2;
    let started = Instant::now();
    for i in 0..total {
        let (from, to) = if i % 2 == 0 {
            (&alice, &bob)
        } else {
            (&bob, &alice)
        };
        let text = format!("#{i} {}", data::text(&mut rng));
        // A clinician reads and types before answering: a random moment
        // within one poll interval, so the click falls at any phase of the
        // receiver's polling.
        from.wait_for(READY_TO_SEND, DESCRIBE, 20_000)?;
        std::thread::sleep(Duration::from_millis(rng.below(1000)));
        let sent_at = send(from, &text)?.at;
        let shown_at = seen(to, &text, 20_000)?;
        if i >= 2 {
            latencies.push(shown_at - sent_at);
        }
        if started.elapsed() > Duration::from_secs(300) {
            return Err(format!(
                "latency: only {} messages in 300 s",
                latencies.len()
            ));
        }
    }
    let median = util::median(&latencies);
    let p95 = util::quantile(&latencies, 0.95);
    let budget = 1000.0 / 2.0 + 100.0;
    details.push_str(&format!(
        "{} messages, alternating Alice → Bob and Bob → Alice (after two unmeasured opening messages), each sent at a random moment 0–1000 ms after the sender's turn allowed it (a clinician reading and typing; it puts the click at a random phase of the receiver's polling); latency = first appearance in the receiver's DOM − the click on send (both read from the same machine clock). Waiting poll interval 1000 ms (default).\n\n| median | p95 | min | max |\n|---:|---:|---:|---:|\n| {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms |\n\n",
        latencies.len(),
        median,
        p95,
        latencies.iter().copied().fold(f64::INFINITY, f64::min),
        util::max(&latencies)
    ));
    alice.close();
    bob.close();
    drop(store);
    Ok(Row::new(
        "3. Delivery latency (100 messages)",
        format!("median {median:.0} ms, p95 {p95:.0} ms"),
        format!("median ≤ {budget:.0} ms"),
        Some(median <= budget),
    ))
}

// ---------------------------------------------------------------------------
// 4. Rendering and 6. memory, with 10,000 messages

pub const HISTORY: u64 = 10_000;
pub const APPEND_BUDGET_MS: f64 = 4.0;
pub const INITIAL_BUDGET_MS: f64 = 1000.0;
pub const HEAP_BUDGET_MB: f64 = 50.0;
const APPENDS: usize = 30;

/// Bob, writing his replies straight to the server as his window would.
struct NativeBob {
    port: u16,
    server: String,
    seq: u64,
}

impl NativeBob {
    fn run(&self, request: &Request) -> Result<http::Answer> {
        let url = wire::request_url(&self.server, request);
        let target = url
            .strip_prefix(&format!("http://127.0.0.1:{}", self.port))
            .unwrap_or(&url)
            .to_owned();
        let answer = http::get(self.port, &target, Duration::from_secs(10))?;
        match answer.status {
            200 => Ok(answer),
            status => Err(format!("{target} answered {status}")),
        }
    }

    fn set(&self, key: String, value: Vec<u8>) -> Result<()> {
        let key = key.into_bytes();
        self.run(&Request::Set { key, value }).map(drop)
    }

    /// Alice's heads, from her record on the server: how far Bob's window
    /// has seen her messages once it shows them all.
    fn alice_heads(&self, keys: &KeyLayout) -> Result<SmallMap<DeviceId, u64>> {
        let key = keys.my_record().into_bytes();
        let answer = self.run(&Request::Get { key })?;
        let record = wire::decode_get(&answer.body).and_then(|value| Record::decode(&value));
        Ok(record.map(|r| r.heads).unwrap_or_default())
    }

    /// Writes a reply, with a record saying Bob has seen all of Alice's
    /// messages (her window then marks them read), as his window would.
    fn reply(&mut self, text: &str, clock: u64) -> Result<()> {
        let keys = data::pair(ALICE, BOB).keys();
        let bob = data::device(BOB_DEVICE);
        self.seq += 1;
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            from: BOB.into(),
            device: bob.clone(),
            seq: self.seq,
            clock,
            sent_at: util::epoch_ms() as u64,
            text: text.into(),
            urgent: false,
            unanswered: None,
            original_at: None,
        };
        self.set(keys.message(&bob, self.seq), envelope.encode())?;
        let mut record = Record::default();
        record.heads.insert(bob.clone(), self.seq);
        record.seen.insert(bob, self.alice_heads(&keys)?);
        self.set(keys.peer_record(), record.encode())?;
        // Bob, the colleague of these keys (Alice's), sent last.
        self.set(keys.waiting(), keys.waiting_value(false))
    }
}

struct LoadTimes {
    full_ms: f64,
    long_tasks: usize,
    longest_task_ms: f64,
    page_kb: f64,
}

fn load_times(browser: &Browser) -> Result<LoadTimes> {
    let full = browser.wait_for(
        "window.__bench && window.__bench.marks.full",
        DESCRIBE,
        30_000,
    )?;
    let info = browser.exec(
        "const B = window.__bench;
         const pages = performance.getEntriesByType('resource').filter(e => /IMserver\\.php$/.test(e.name));
         return { long: B.longTasks.length, longest: Math.max(0, ...B.longTasks.map(t => t.ms)),
                  page: pages.length ? pages[0].encodedBodySize : 0 };",
        json!([]),
    )?;
    Ok(LoadTimes {
        full_ms: full.as_f64().unwrap_or(f64::NAN),
        long_tasks: info["long"].as_u64().unwrap_or(0) as usize,
        longest_task_ms: info["longest"].as_f64().unwrap_or(0.0),
        page_kb: info["page"].as_f64().unwrap_or(0.0) / 1000.0,
    })
}

/// Scrolls the transcript from top to bottom over 120 frames; frame intervals.
const SCROLL: &str = r#"
const done = arguments[arguments.length - 1];
let el = document.querySelector('[data-testid=transcript]');
while (el && !(el.scrollHeight > el.clientHeight + 10 && /(auto|scroll)/.test(getComputedStyle(el).overflowY))) el = el.parentElement;
if (!el) { done({ error: 'no scrollable transcript' }); return; }
const frames = 120, height = el.scrollHeight - el.clientHeight;
el.scrollTop = 0;
const longBefore = window.__bench.longTasks.length;
const times = [];
let i = 0;
const step = (t) => {
  times.push(t);
  if (i > frames) {
    const gaps = times.slice(2).map((t, k) => t - times[k + 1]);
    done({ gaps, height, long: window.__bench.longTasks.length - longBefore });
    return;
  }
  el.scrollTop = Math.round(height * i / frames);
  i += 1;
  requestAnimationFrame(step);
};
requestAnimationFrame(step);
"#;

pub struct RenderOutcome {
    pub render: Row,
    pub memory: Row,
}

pub fn render_and_memory(
    driver: &Driver,
    dist: &std::path::Path,
    details: &mut String,
) -> Result<RenderOutcome> {
    let entries = data::conversation(HISTORY, 21, 1_764_000_000_000 - HISTORY * 60_000);
    let store = Store::serve_app(dist, &entries, 4)?;
    let mut bob = NativeBob {
        port: store.server.port,
        server: store.server.url("/IMserver.php"),
        seq: HISTORY / 2,
    };
    let alice = open_with_probe(driver, "Alice")?;
    let url = conversation_url(&store, ALICE, BOB);

    // A new device: the whole history comes from the server's page.
    alice.goto(&url)?;
    let fresh = load_times(&alice)?;
    // Let the transcript be saved, then come back as a returning device.
    std::thread::sleep(Duration::from_millis(2000));
    alice.goto(&url)?;
    let back = load_times(&alice)?;
    alice.wait_for(READY_TO_SEND, DESCRIBE, 20_000)?;

    // Appending: Alice sends (measured on the click), Bob answers (measured
    // on the answer that brings his message), ten times.
    // With BLEEP_BENCH_PROFILE=FILE, the appends run under the DevTools CPU
    // profiler: FILE gets the profile (open it in Chromium's DevTools) and
    // the report the functions with the most self time.
    let profile = std::env::var_os("BLEEP_BENCH_PROFILE").map(std::path::PathBuf::from);
    if profile.is_some() {
        alice.cdp("Profiler.enable", json!({}))?;
        alice.cdp("Profiler.setSamplingInterval", json!({ "interval": 100 }))?;
        alice.cdp("Profiler.start", json!({}))?;
    }
    let mut clock = HISTORY;
    let mut rng = Rng::new(5);
    let (mut sends, mut receives, mut receipts) = (Vec::new(), Vec::new(), Vec::new());
    let mut split: [Vec<f64>; 4] = Default::default();
    for i in 0..APPENDS {
        let text = format!("append {i}: {}", data::text(&mut rng));
        let sent = send(&alice, &text)?;
        sends.push(sent.ms);
        for (parts, ms) in split.iter_mut().zip([
            sent.handler_ms,
            sent.micro_ms,
            sent.tasks_ms,
            sent.layout_ms,
        ]) {
            parts.push(ms);
        }
        clock += 1;
        alice.wait_for(
            "document.querySelector('[data-testid=turn]')?.dataset.state === 'waiting'",
            DESCRIBE,
            20_000,
        )?;
        std::thread::sleep(Duration::from_millis(300));
        let reply = format!("reply {i}: {}", data::text(&mut rng));
        clock += 1;
        let from = util::epoch_ms();
        bob.reply(&reply, clock)?;
        let at = seen(&alice, &reply, 20_000)?;
        // The task in which the reply reached the DOM; and, apart, the
        // other answers since Bob wrote (the poll that found his record,
        // which marks Alice's message read).
        let cost = alice.exec(
            "const [at, from] = arguments;
             const T = window.__bench.tasks;
             const hit = (t) => t.at <= at + 1 && at <= t.at + t.ms + 1;
             const shown = T.filter(hit).map(t => t.ms);
             const others = T.filter(t => t.kind === 'answer' && t.at >= from && t.at < at && !hit(t)).map(t => t.ms);
             return { shown: shown.length ? Math.max(...shown) : null,
                      others: others.length ? Math.max(...others) : null };",
            json!([at, from]),
        )?;
        receives.push(cost["shown"].as_f64().unwrap_or(f64::NAN));
        if let Some(ms) = cost["others"].as_f64() {
            receipts.push(ms);
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    if let Some(path) = &profile {
        let result = alice.cdp("Profiler.stop", json!({}))?;
        let _ = std::fs::write(path, result["profile"].to_string());
        details.push_str(&profile_summary(&result["profile"]));
    }
    let tasks = alice.exec(
        "const T = window.__bench.tasks;
         const of = (f) => T.filter(f).map(t => t.ms);
         return { saves: of(t => t.kind === 'setTimeout' && t.detail === 500),
                  ticks: of(t => t.kind === 'setInterval'),
                  answers: of(t => t.kind === 'answer'),
                  long: window.__bench.longTasks.length };",
        json!([]),
    )?;
    let floats = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let (saves, ticks, answers) = (
        floats(&tasks["saves"]),
        floats(&tasks["ticks"]),
        floats(&tasks["answers"]),
    );

    // Scrolling through what is shown, then one "show earlier".
    let scroll = alice.exec_async(SCROLL, json!([]))?;
    if let Some(error) = scroll.get("error") {
        return Err(format!("scrolling: {error}"));
    }
    let gaps = floats(&scroll["gaps"]);
    let scroll_long = scroll["long"].as_u64().unwrap_or(0);
    let earlier = alice.exec_async(CLICK_AND_MEASURE, json!(["button.earlier"]))?;
    let earlier_ms = earlier["ms"].as_f64();

    // Memory, after a garbage collection.
    let _ = alice.cdp("HeapProfiler.collectGarbage", json!({}));
    std::thread::sleep(Duration::from_millis(300));
    let memory = alice.exec(
        "const B = window.__bench;
         // The wasm's linear memory, whatever name it is exported under.
         const memory = B.wasm && Object.values(B.wasm).find(v => v instanceof WebAssembly.Memory);
         const wasm = memory ? memory.buffer.byteLength : null;
         return { used: performance.memory.usedJSHeapSize, total: performance.memory.totalJSHeapSize, wasm,
                  nodes: document.getElementsByTagName('*').length,
                  storage: Object.keys(localStorage).reduce((n, k) => n + k.length + localStorage.getItem(k).length, 0) };",
        json!([]),
    )?;
    alice.close();
    drop(store);

    let heap_mb = memory["used"].as_f64().unwrap_or(f64::NAN) / 1e6;
    let wasm_mb = memory["wasm"].as_f64().map(|b| b / 1e6);
    let (send_median, receive_median) = (util::median(&sends), util::median(&receives));
    let append = send_median.max(receive_median);
    let initial = fresh.full_ms.max(back.full_ms);
    let p95_gap = util::quantile(&gaps, 0.95);
    let max_gap = util::max(&gaps);
    let smooth = p95_gap <= 20.0 && max_gap < 50.0 && scroll_long == 0;

    details.push_str(&format!(
        "History of {HISTORY} messages (Alice ↔ Bob) seeded on the server; the app shows the newest {SHOWN_AT_FIRST}.\n\n\
| measurement | value |\n|---|---:|\n\
| initial render, new device (navigation → {SHOWN_AT_FIRST} messages in the DOM; history read from the page, {:.0} KB) | {:.0} ms ({} long tasks, longest {:.0} ms) |\n\
| initial render, returning device (transcript from localStorage) | {:.0} ms ({} long tasks, longest {:.0} ms) |\n\
| append by sending: click → DOM updated and laid out (max / median of {APPENDS}) | {:.1} / {:.1} ms |\n\
| of which the click's handlers / their microtasks (the app's reactive updates) / tasks queued ahead of the measuring one / style and layout (medians) | {:.1} / {:.1} / {:.1} / {:.1} ms |\n\
| append by receiving: the answer task that shows the reply (max / median of {APPENDS}) | {:.1} / {:.1} ms |\n\
| not an append: the costliest other answer task since Bob wrote, in a frame before the reply's (the read mark of Alice's message redrawn) (max / median of {}) | {:.1} / {:.1} ms |\n\
| deferred transcript save, 500 ms after a change (max / median, {} saves) | {:.1} / {:.1} ms |\n\
| any fetch answer handled (median / max, {} answers) | {:.1} / {:.1} ms |\n\
| clock tick, once a second (median / max, {} ticks) | {:.1} / {:.1} ms |\n\
| scrolling the transcript top → bottom in 120 frames: frame interval p95 / max | {:.1} / {:.1} ms ({} long tasks) |\n\
| \"show earlier\" ({} → {} messages) | {} |\n\n",
        fresh.page_kb,
        fresh.full_ms,
        fresh.long_tasks,
        fresh.longest_task_ms,
        back.full_ms,
        back.long_tasks.saturating_sub(0),
        back.longest_task_ms,
        util::max(&sends),
        util::median(&sends),
        util::median(&split[0]),
        util::median(&split[1]),
        util::median(&split[2]),
        util::median(&split[3]),
        util::max(&receives),
        util::median(&receives),
        receipts.len(),
        util::max(&receipts),
        util::median(&receipts),
        saves.len(),
        util::max(&saves),
        util::median(&saves),
        answers.len(),
        util::median(&answers),
        util::max(&answers),
        ticks.len(),
        util::median(&ticks),
        util::max(&ticks),
        p95_gap,
        max_gap,
        scroll_long,
        earlier["before"].as_u64().unwrap_or(0),
        earlier["after"].as_u64().unwrap_or(0),
        earlier_ms.map(|ms| format!("{ms:.0} ms")).unwrap_or_else(|| "not offered".into()),
    ));
    details.push_str(&format!(
        "Memory after the history, the appends and the scrolling, after a forced garbage collection: JS heap {:.1} MB used ({:.1} MB allocated); WebAssembly linear memory {}; {} DOM elements; {:.1} MB of localStorage.\n\n",
        heap_mb,
        memory["total"].as_f64().unwrap_or(f64::NAN) / 1e6,
        wasm_mb.map(|m| format!("{m:.1} MB")).unwrap_or_else(|| "unknown".into()),
        memory["nodes"],
        memory["storage"].as_f64().unwrap_or(0.0) * 2.0 / 1e6,
    ));
    let render = Row::new(
        "4. Rendering, 10,000 messages",
        format!(
            "append {send_median:.1} ms sent / {receive_median:.1} ms received (median), first render {initial:.0} ms, scroll p95 {p95_gap:.1} ms"
        ),
        format!("append < {APPEND_BUDGET_MS} ms, first render < {INITIAL_BUDGET_MS:.0} ms, smooth"),
        Some(append < APPEND_BUDGET_MS && initial < INITIAL_BUDGET_MS && smooth),
    );
    let memory = Row::new(
        "6. Memory after 10,000 messages",
        format!(
            "JS heap {heap_mb:.1} MB (+ wasm {})",
            wasm_mb
                .map(|m| format!("{m:.1} MB"))
                .unwrap_or_else(|| "?".into())
        ),
        format!("< {HEAP_BUDGET_MB:.0} MB JS heap"),
        Some(heap_mb < HEAP_BUDGET_MB),
    );
    Ok(RenderOutcome { render, memory })
}

// ---------------------------------------------------------------------------
// 7. Start-up

pub const STARTUP_LOADS: usize = 10;
pub const STARTUP_BUDGET_MS: f64 = 300.0;
/// Issue 18: a repeat start, from what the service worker kept.
pub const REPEAT_START_BUDGET_MS: f64 = 150.0;

/// Navigation start → the probe's milestone `name` (`signIn`: the form with
/// its button in the DOM; `conversation`: composer and turn indicator).
fn milestone(browser: &Browser, name: &str) -> Result<f64> {
    let t = browser.wait_for(
        &format!("window.__bench && window.__bench.marks.{name}"),
        DESCRIBE,
        20_000,
    )?;
    Ok(t.as_f64().unwrap_or(f64::NAN))
}

/// A new device's conversation: navigation start → interactive (the
/// conversation milestone, and the history page's answer handled), and
/// → that answer handled alone.
fn conversation_start(browser: &Browser) -> Result<(f64, f64)> {
    let shown = milestone(browser, "conversation")?;
    // The history must be read before anything can be sent.
    let loaded = browser.wait_for(
        "(() => { const a = window.__bench.tasks.find(t => t.kind === 'answer' && /IMserver\\.php$/.test(t.detail));
                  return a ? a.at - performance.timeOrigin + a.ms : null; })()",
        DESCRIBE,
        20_000,
    )?;
    let loaded = loaded.as_f64().unwrap_or(f64::NAN);
    Ok((shown.max(loaded), loaded))
}

pub fn startup(driver: &Driver, dist: &std::path::Path, details: &mut String) -> Result<Row> {
    let store = Store::serve_app(dist, &[], 4)?;
    let browser = open_with_probe(driver, "start-up")?;
    browser.cdp("Network.enable", json!({}))?;
    browser.cdp("Network.setCacheDisabled", json!({ "cacheDisabled": true }))?;
    // Cold: not from the service worker either.
    browser.cdp("Network.setBypassServiceWorker", json!({ "bypass": true }))?;
    let mut sign_in = Vec::new();
    let mut conversation = Vec::new();
    let mut history = Vec::new();
    let mut from_network = 0;
    for i in 0..STARTUP_LOADS * 2 {
        let is_sign_in = i % 2 == 0;
        browser.goto("about:blank")?;
        let url = if is_sign_in {
            store.server.url("/index.html")
        } else {
            conversation_url(&store, ALICE, BOB)
        };
        browser.goto(&url)?;
        if is_sign_in {
            sign_in.push(milestone(&browser, "signIn")?);
        } else {
            let (interactive, loaded) = conversation_start(&browser)?;
            conversation.push(interactive);
            history.push(loaded);
        }
        let fetched = browser.exec(
            "return performance.getEntriesByType('resource').some(e => /\\.wasm$/.test(e.name) && e.transferSize > 0);",
            json!([]),
        )?;
        if fetched == json!(true) {
            from_network += 1;
        }
        // Every load is a first visit: nothing saved, a new device.
        browser.exec(
            "localStorage.clear(); sessionStorage.clear(); return true;",
            json!([]),
        )?;
    }
    // Repeat starts (issue 18): the same device opens its conversation
    // again, the app's files from the service worker, its saved state kept.
    browser.cdp("Network.setBypassServiceWorker", json!({ "bypass": false }))?;
    let url = conversation_url(&store, ALICE, BOB);
    browser.goto(&url)?;
    milestone(&browser, "conversation")?;
    browser.wait_for(
        "(async () => navigator.serviceWorker.controller && (await caches.keys()).length > 0)()",
        DESCRIBE,
        20_000,
    )?;
    let mut repeat = Vec::new();
    let mut from_worker = 0;
    for _ in 0..STARTUP_LOADS {
        browser.goto("about:blank")?;
        browser.goto(&url)?;
        // A returning device shows its saved conversation and can send at
        // once: composer and turn indicator in the DOM. (It reads no history
        // page; its first requests are the records.)
        repeat.push(milestone(&browser, "conversation")?);
        let served = browser.exec(
            "return !!navigator.serviceWorker.controller && performance.getEntriesByType('navigation')[0].workerStart > 0;",
            json!([]),
        )?;
        if served == json!(true) {
            from_worker += 1;
        }
    }
    browser.close();
    drop(store);
    let (s, c) = (util::median(&sign_in), util::median(&conversation));
    let r = util::median(&repeat);
    details.push_str(&format!(
        "{STARTUP_LOADS} cold loads of each (HTTP cache disabled through DevTools, storage cleared: every load is a first visit), navigation start → interactive. Sign-in: the form with its button in the DOM. Conversation (`?me=Alice&peer=Bob`, empty store): composer and turn indicator in the DOM and the history page answered and handled.\n\n\
| page | median | min | max |\n|---|---:|---:|---:|\n| sign-in | {s:.0} ms | {:.0} ms | {:.0} ms |\n| conversation | {c:.0} ms | {:.0} ms | {:.0} ms |\n| (conversation: history answer handled) | {:.0} ms | | |\n\nThe wasm came over the network (not from a cache) in {from_network} of {} loads.\n\n\
Repeat start (issue 18: the same device opens its conversation again; the page and its files from the service worker, the saved state kept; navigation start → composer and turn indicator in the DOM, from the saved state), {STARTUP_LOADS} loads: median {r:.0} ms, min {:.0} ms, max {:.0} ms; the page came from the service worker in {from_worker} of {STARTUP_LOADS}.\n\n",
        sign_in.iter().copied().fold(f64::INFINITY, f64::min),
        util::max(&sign_in),
        conversation.iter().copied().fold(f64::INFINITY, f64::min),
        util::max(&conversation),
        util::median(&history),
        STARTUP_LOADS * 2,
        repeat.iter().copied().fold(f64::INFINITY, f64::min),
        util::max(&repeat),
    ));
    Ok(Row::new(
        "7. Start-up, median of 10 loads",
        format!("cold: sign-in {s:.0} ms, conversation {c:.0} ms; repeat {r:.0} ms"),
        format!("cold < {STARTUP_BUDGET_MS:.0} ms each, repeat < {REPEAT_START_BUDGET_MS:.0} ms"),
        Some(
            s < STARTUP_BUDGET_MS
                && c < STARTUP_BUDGET_MS
                && r < REPEAT_START_BUDGET_MS
                && from_worker == STARTUP_LOADS,
        ),
    ))
}

/// The functions with the most self time in a DevTools CPU profile.
fn profile_summary(profile: &Value) -> String {
    let nodes = profile["nodes"].as_array().cloned().unwrap_or_default();
    let mut name_of = std::collections::HashMap::new();
    for node in &nodes {
        let frame = &node["callFrame"];
        let name = frame["functionName"]
            .as_str()
            .filter(|n| !n.is_empty())
            .unwrap_or("(anonymous)");
        let url = frame["url"]
            .as_str()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_owned();
        name_of.insert(node["id"].as_u64().unwrap_or(0), format!("{name} {url}"));
    }
    let samples = profile["samples"].as_array().cloned().unwrap_or_default();
    let deltas = profile["timeDeltas"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut self_ms: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
    for (i, sample) in samples.iter().enumerate() {
        let ms = deltas.get(i + 1).and_then(Value::as_f64).unwrap_or(0.0) / 1000.0;
        let name = name_of
            .get(&sample.as_u64().unwrap_or(0))
            .cloned()
            .unwrap_or_default();
        *self_ms.entry(name).or_default() += ms;
    }
    let mut ranked: Vec<_> = self_ms
        .into_iter()
        .filter(|(n, _)| !n.starts_with("(idle)"))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut text = String::from(
        "CPU profile of the appends (self time, idle excluded):\n\n| function | ms |\n|---|---:|\n",
    );
    for (name, ms) in ranked.iter().take(30) {
        text.push_str(&format!(
            "| `{}` | {ms:.1} |\n",
            name.chars().take(110).collect::<String>()
        ));
    }
    text.push('\n');
    text
}
