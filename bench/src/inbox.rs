//! Budget 2 for the inbox (issue 17; PROTOCOL.md, "The inbox", "Polling
//! and its cost"): the core's sans-I/O [`Inbox`], the state machine the app
//! drives, run natively against our real IMserver.php served by `php -S`,
//! counting every request and every byte.
//!
//! The store holds Jo's 50 conversations (100,000 messages among them, a
//! record of each side and `__waiting__` in each), a directory entry per
//! person, Jo's doorbell as it stands between rings (empty) and 10,000
//! unrelated keys, seeded straight into SQLite (`data::inbox_store`,
//! `bench/seed.php`). Each device is an [`Inbox`] whose requests go through
//! the real IMserver client over the bench's std HTTP transport
//! (`poll::Counting`), on the virtual clock of `poll.rs` (timers fire at
//! once; the time requests take is added to it).
//!
//! 1. A new device of Jo's reads the page once and takes its rows from it.
//! 2. It polls at the app's idle interval (3 s): after 10 s of warm-up,
//!    five minutes of steady polls are measured.
//! 3. Three colleagues write to Jo one after another: each stores a
//!    message and rings Jo's doorbell (a read and a write).
//! 4. Three more write at the same instant: all three read the doorbell
//!    before any writes it back, so the store keeps only the last writer's
//!    part (the store has no compare-and-set: two lost updates), and the
//!    other two writers find their part missing in a later check and ring
//!    again.
//!
//! After each change every device runs four more minutes, long enough for
//! the rings to linger and the doorbell to be cleared. A poll of Jo's is a
//! read of her doorbell with what follows it before the next read (the
//! fetches, the check); its bytes are the query strings sent plus the
//! answers' bodies, as the simulation counts them
//! (`a_steady_inbox_poll_is_two_small_requests_with_fifty_conversations`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Instant;

use bleep::core::envelope::ENVELOPE_VERSION;
use bleep::core::inbox::keys::{doorbell_key, message_key, tag_between};
use bleep::core::inbox::page::rows_from_page;
use bleep::core::inbox::{Inbox, Rows};
use bleep::core::{Envelope, Name};
use bleep::imserver::client::{Answer, ImClient, ImError};
use bleep::imserver::wire::Request;

use crate::data::{self, JO};
use crate::inbox_polls::{megabytes, polls, reads_everything, shapes, thousands, Labels, Poll};
use crate::php::{Flavour, Store};
use crate::poll::{block_on, Counting, Sent, Virtual};
use crate::report::Row;
use crate::util::{self, Result};

/// Jo's conversations, the messages among them, the other keys.
pub const CONVERSATIONS: usize = 50;
pub const MESSAGES: u64 = 100_000;
pub const UNRELATED: u64 = 10_000;
/// How many colleagues write at once in each change.
pub const CHANGED: usize = 3;

/// The requirement (issue 17): a steady poll is at most this many requests
/// and bytes (query strings sent and answers), plus at most one request per
/// conversation that changed.
pub const MAX_REQUESTS: usize = 2;
pub const MAX_BYTES: usize = 400;

/// The app's idle poll interval.
const INTERVAL_MS: u64 = 3_000;
const WARM_MS: u64 = 10_000;
const STEADY_MS: u64 = 300_000;
/// How long every device runs after a change.
const SETTLE_MS: u64 = 240_000;
/// How often the settling is looked at (virtual time).
const LOOK_MS: u64 = 250;
/// The clock's step when a device asks to be woken at once and asks
/// nothing.
const TICK_MS: u64 = 100;
/// More requests than this at one instant is a runaway inbox.
const MAX_AT_ONCE: usize = 1_000;

/// The virtual clock starts here (ms since the epoch).
const START_MS: u64 = 1_800_000_000_000;

/// One device: its inbox, its client and the requests it made, each with
/// the virtual time it was made at.
struct Device {
    inbox: Inbox,
    client: ImClient<Counting>,
    log: Rc<RefCell<Vec<Sent>>>,
    times: Vec<u64>,
}

/// A client of the store at `port` that logs into a log of its own.
fn client(
    server: &str,
    port: u16,
    clock: &Virtual,
) -> (ImClient<Counting>, Rc<RefCell<Vec<Sent>>>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let transport = Counting {
        port,
        log: Rc::clone(&log),
        clock: clock.clone(),
    };
    (ImClient::new(server, transport), log)
}

impl Device {
    fn new(
        rows: Rows,
        (client, log): (ImClient<Counting>, Rc<RefCell<Vec<Sent>>>),
        clock: &Virtual,
    ) -> Device {
        let mut inbox = Inbox::new(rows);
        inbox.set_interval(INTERVAL_MS, clock.0.get());
        let times = vec![clock.0.get(); log.borrow().len()];
        Device {
            inbox,
            client,
            log,
            times,
        }
    }

    /// Sends `request` (the inbox's or the colleague's own), logging when.
    fn send(&mut self, request: &Request, clock: &Virtual) -> std::result::Result<Answer, ImError> {
        let at = clock.0.get();
        let answer = block_on(self.client.run(request));
        let made = self.log.borrow().len();
        self.times.resize(made, at);
        answer
    }

    /// Makes the one request the inbox wants now, if any.
    fn step(&mut self, clock: &Virtual) -> bool {
        let Some(out) = self.inbox.poll_request(clock.0.get()) else {
            return false;
        };
        let answer = self.send(&out.request, clock);
        self.inbox.handle_answer(out.id, answer, clock.0.get());
        true
    }

    /// Makes every request due now; how many.
    fn run_due(&mut self, clock: &Virtual) -> Result<usize> {
        for made in 0..MAX_AT_ONCE {
            if !self.step(clock) {
                return Ok(made);
            }
        }
        Err(format!(
            "an inbox made more than {MAX_AT_ONCE} requests at one instant"
        ))
    }

    /// The requests made from `from` on, with their times.
    fn since(&self, from: usize) -> Vec<(u64, Sent)> {
        let log = self.log.borrow();
        let times = self.times.get(from..).unwrap_or_default();
        let sent = log.get(from..).unwrap_or_default();
        times.iter().copied().zip(sent.iter().cloned()).collect()
    }

    fn made(&self) -> usize {
        self.log.borrow().len()
    }
}

/// Runs every device until the virtual clock reaches `until`.
fn run_until(devices: &mut [Device], clock: &Virtual, until: u64) -> Result<()> {
    let mut passes_at_once = 0;
    loop {
        let mut made = 0;
        for device in devices.iter_mut() {
            made += device.run_due(clock)?;
        }
        let now = clock.0.get();
        let next = devices
            .iter()
            .filter_map(|d| d.inbox.poll_timeout(now))
            .min()
            .unwrap_or(until);
        let next = if next <= now {
            passes_at_once += 1;
            if made == 0 || passes_at_once > MAX_AT_ONCE {
                passes_at_once = 0;
                now + TICK_MS
            } else {
                now
            }
        } else {
            passes_at_once = 0;
            next
        };
        if next >= until {
            clock.0.set(until.max(now));
            return Ok(());
        }
        clock.0.set(next);
    }
}

/// What one change cost Jo.
struct Change {
    label: &'static str,
    /// Jo's polls from the change on.
    polls: Vec<Poll>,
    /// After the change: every changed row shows its new message.
    shown_after_ms: Option<u64>,
    /// After the change: Jo's doorbell read empty and every writer's ring
    /// forgotten (acknowledged and done lingering).
    settled_after_ms: Option<u64>,
    /// Requests of the writers (their messages, rings and repairs).
    writer_requests: usize,
}

impl Change {
    fn fetches(&self) -> usize {
        self.polls.iter().map(|p| p.fetches).sum()
    }
    fn max_requests(&self) -> usize {
        self.polls.iter().map(|p| p.requests).max().unwrap_or(0)
    }
    /// The most requests of a poll besides its fetches.
    fn max_besides_fetches(&self) -> usize {
        self.polls
            .iter()
            .map(|p| p.requests - p.fetches)
            .max()
            .unwrap_or(0)
    }
    fn max_bytes(&self) -> usize {
        self.polls.iter().map(|p| p.bytes).max().unwrap_or(0)
    }
    /// How many polls of one request each ended the run, after the last
    /// busier one.
    fn quiet_at_end(&self) -> usize {
        self.polls
            .iter()
            .rev()
            .take_while(|p| p.requests == 1)
            .count()
    }

    /// The polls of more than one request, with their time after `start`;
    /// busy polls of the same shape in a row are given as one run.
    fn busy(&self, start: u64) -> String {
        let busy: Vec<&Poll> = self.polls.iter().filter(|p| p.requests > 1).collect();
        let seconds = |p: &Poll| p.at.saturating_sub(start) as f64 / 1000.0;
        busy.chunk_by(|a, b| a.what == b.what)
            .map(|run| {
                let (first, last) = (run[0], run[run.len() - 1]);
                let least = run.iter().map(|p| p.bytes).min().unwrap_or(0);
                let most = run.iter().map(|p| p.bytes).max().unwrap_or(0);
                let bytes = if least == most {
                    format!("{most} B")
                } else {
                    format!("{least}–{most} B")
                };
                if run.len() == 1 {
                    format!(
                        "+{:.1} s: {} ({}, {bytes})",
                        seconds(first),
                        first.requests,
                        first.what
                    )
                } else {
                    format!(
                        "+{:.1} to +{:.1} s: {} polls of {} ({}, {bytes})",
                        seconds(first),
                        seconds(last),
                        run.len(),
                        first.requests,
                        first.what
                    )
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `colleagues` write to Jo, one after another or all at the same instant,
/// and every device runs [`SETTLE_MS`] after.
fn change(
    label: &'static str,
    devices: &mut Vec<Device>,
    colleagues: std::ops::Range<usize>,
    at_once: bool,
    store: &Store,
    clock: &Virtual,
) -> Result<(Change, u64)> {
    let jo = Name::parse(JO).map_err(|e| e.to_string())?;
    let bell = doorbell_key(&jo).into_bytes();
    let start = clock.0.get();
    let jo_from = devices[0].made();
    let first_writer = devices.len();
    let per_colleague = MESSAGES / CONVERSATIONS as u64 / 2;
    let mut changed = Vec::new();
    for i in colleagues {
        let peer = Name::parse(&data::colleague(i)).map_err(|e| e.to_string())?;
        let tag = tag_between(&jo, &peer).ok_or("a colleague named as Jo")?;
        let id = data::colleague_device(i);
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            from: peer.typed().to_owned(),
            device: id.clone(),
            seq: per_colleague + 1,
            clock: MESSAGES + 1 + i as u64,
            sent_at: clock.0.get(),
            text: format!("Can you review bed {i}?"),
            urgent: false,
            unanswered: None,
            original_at: None,
        };
        let server = store.server.url("/IMserver.php");
        let mut writer = Device::new(
            Rows::new(peer.clone()),
            client(&server, store.server.port, clock),
            clock,
        );
        // The message, as its conversation stores it (and reads it back).
        let key = message_key(&tag, &id, envelope.seq).into_bytes();
        let write = Request::Set {
            key: key.clone(),
            value: envelope.encode(),
        };
        writer.send(&write, clock).map_err(|e| e.to_string())?;
        writer
            .send(&Request::Get { key }, clock)
            .map_err(|e| e.to_string())?;
        writer.inbox.sent(&jo, &envelope, clock.0.get());
        changed.push((tag, envelope.text.clone()));
        devices.push(writer);
    }
    if at_once {
        // Every writer reads the doorbell, then every writer writes it back
        // with its own part: the last write erases the others' parts.
        for expect_set in [false, true] {
            for writer in &mut devices[first_writer..] {
                let now = clock.0.get();
                let out = writer
                    .inbox
                    .poll_request(now)
                    .ok_or("a writer did not ring")?;
                let ringing = match &out.request {
                    Request::Get { key } => !expect_set && *key == bell,
                    Request::Set { key, .. } => expect_set && *key == bell,
                    _ => false,
                };
                if !ringing {
                    return Err(format!(
                        "a writer's ring did not start with a read and a write of Jo's doorbell: {:?}",
                        out.request
                    ));
                }
                let answer = writer.send(&out.request, clock);
                writer.inbox.handle_answer(out.id, answer, clock.0.get());
            }
        }
    } else {
        for writer in &mut devices[first_writer..] {
            writer.run_due(clock)?;
        }
    }
    let mut shown_after_ms = None;
    let mut settled_after_ms = None;
    let end = start + SETTLE_MS;
    while clock.0.get() < end {
        let next = (clock.0.get() + LOOK_MS).min(end);
        run_until(devices, clock, next)?;
        let rows = devices[0].inbox.rows();
        let shown = changed.iter().all(|(tag, text)| {
            rows.get(tag).is_some_and(|r| {
                r.unread() > 0 && r.last.as_ref().is_some_and(|l| l.preview == *text)
            })
        });
        if shown && shown_after_ms.is_none() {
            shown_after_ms = Some(clock.0.get() - start);
        }
        let settled = shown
            && devices[0].inbox.doorbell_parts() == 0
            && devices[first_writer..]
                .iter()
                .all(|d| d.inbox.kept_rings() == 0);
        if settled && settled_after_ms.is_none() {
            settled_after_ms = Some(clock.0.get() - start);
        }
    }
    let labels = Labels::new(&jo);
    let made = devices[0].since(jo_from);
    let writer_requests = devices[first_writer..].iter().map(Device::made).sum();
    Ok((
        Change {
            label,
            polls: polls(&made, &labels),
            shown_after_ms,
            settled_after_ms,
            writer_requests,
        },
        start,
    ))
}

pub fn run(details: &mut String) -> Result<Row> {
    let jo = Name::parse(JO).map_err(|e| e.to_string())?;
    let labels = Labels::new(&jo);

    let seeding = Instant::now();
    let entries = data::inbox_store(CONVERSATIONS, MESSAGES, UNRELATED);
    let store = Store::start(Flavour::Ours, &entries, 4)?;
    let seeding_s = seeding.elapsed().as_secs_f64();
    let server = store.server.url("/IMserver.php");
    let clock = Virtual(Rc::new(Cell::new(START_MS)));

    // 1. A new device: the page, once.
    let (jo_client, jo_log) = client(&server, store.server.port, &clock);
    let page_started = Instant::now();
    let page = match block_on(jo_client.run(&Request::Page)) {
        Ok(Answer::Store(entries)) => entries,
        Ok(other) => return Err(format!("the page answered {other:?}")),
        Err(e) => return Err(format!("the page: {e}")),
    };
    let rows = rows_from_page(&jo, &page);
    let page_ms = page_started.elapsed().as_secs_f64() * 1000.0;
    let page_bytes: usize = jo_log.borrow().iter().map(|s| s.body_bytes).sum();
    if rows.len() != CONVERSATIONS {
        return Err(format!(
            "the page gave Jo {} rows of {CONVERSATIONS} conversations",
            rows.len()
        ));
    }
    let unread = rows.total_unread();
    let mut devices = vec![Device::new(rows, (jo_client, jo_log), &clock)];

    // 2. Steady polls.
    run_until(&mut devices, &clock, START_MS + WARM_MS)?;
    let from = devices[0].made();
    run_until(&mut devices, &clock, START_MS + WARM_MS + STEADY_MS)?;
    let steady_made = devices[0].since(from);
    let steady = polls(&steady_made, &labels);
    let steady_requests = steady.iter().map(|p| p.requests).max().unwrap_or(0);
    let steady_bytes = steady.iter().map(|p| p.bytes).max().unwrap_or(0);
    let steady_mean =
        steady.iter().map(|p| p.bytes).sum::<usize>() as f64 / steady.len().max(1) as f64;
    let steady_answers = steady.iter().map(|p| p.answers).max().unwrap_or(0);
    let steady_wire = steady.iter().map(|p| p.wire).max().unwrap_or(0);
    let intervals: Vec<f64> = steady
        .windows(2)
        .map(|w| w[1].at.saturating_sub(w[0].at) as f64)
        .collect();
    // A poll every interval, or the figures above measure nothing.
    let polled = steady.len() as u64 * INTERVAL_MS >= STEADY_MS * 9 / 10;

    // 3 and 4. Three colleagues write one after another, then three at once.
    let (one_by_one, one_by_one_start) = change(
        "one after another",
        &mut devices,
        0..CHANGED,
        false,
        &store,
        &clock,
    )?;
    let (at_once, at_once_start) = change(
        "at the same instant (two rings lost)",
        &mut devices,
        CHANGED..2 * CHANGED,
        true,
        &store,
        &clock,
    )?;
    drop(store);
    // Jo's first request was the page; nothing after it, and nothing of
    // the writers, may read the whole store.
    let reads_all = reads_everything(&devices[0].since(1))
        || devices[1..].iter().any(|d| reads_everything(&d.since(0)));

    details.push_str(&format!(
        "Jo's store: {CONVERSATIONS} conversations of hers, {} messages among them, {} unrelated keys, a directory entry per person and her doorbell (empty): {} keys, {}; generated and seeded into `server/IMserver.php`'s SQLite in {seeding_s:.1} s. Every request went over HTTP to `php -S` (4 workers) through the IMserver client; the inbox is the core's `Inbox`, polling every {} s (the app's idle interval) on a virtual clock.\n\n",
        thousands(MESSAGES as usize),
        thousands(UNRELATED as usize),
        thousands(entries.len()),
        megabytes(data::size(&entries)),
        INTERVAL_MS / 1000
    ));
    details.push_str(&format!(
        "A new device of Jo's read the page once ({} in {page_ms:.0} ms with `rows_from_page`): {} rows, {unread} unread. `action=keys` or the page after that, by Jo's device or the writers': {}.\n\n",
        megabytes(page_bytes),
        CONVERSATIONS,
        if reads_all {
            "**violated**"
        } else {
            "none was made"
        }
    ));
    details.push_str(
        "| phase | polls | requests/poll (max) | bytes/poll: query + answer (max / mean) | answer alone (max) | with HTTP headers (max) | interval (median) | polls seen |\n|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    details.push_str(&format!(
        "| steady, {} min after 10 s | {} | {steady_requests} | {steady_bytes} / {steady_mean:.0} | {steady_answers} | {steady_wire} | {:.0} ms | {} |\n",
        STEADY_MS / 60_000,
        steady.len(),
        util::median(&intervals),
        shapes(&steady)
    ));
    for c in [&one_by_one, &at_once] {
        let mean =
            c.polls.iter().map(|p| p.bytes).sum::<usize>() as f64 / c.polls.len().max(1) as f64;
        details.push_str(&format!(
            "| {CHANGED} colleagues write {}, then {} min | {} | {} | {} / {mean:.0} | {} | {} | | {} |\n",
            c.label,
            SETTLE_MS / 60_000,
            c.polls.len(),
            c.max_requests(),
            c.max_bytes(),
            c.polls.iter().map(|p| p.answers).max().unwrap_or(0),
            c.polls.iter().map(|p| p.wire).max().unwrap_or(0),
            shapes(&c.polls)
        ));
    }
    details.push('\n');
    for (c, start) in [(&one_by_one, one_by_one_start), (&at_once, at_once_start)] {
        let seconds = |ms: Option<u64>| {
            ms.map_or("not within the run".to_owned(), |ms| {
                format!("{:.1} s", ms as f64 / 1000.0)
            })
        };
        details.push_str(&format!(
            "{CHANGED} colleagues writing {}: every new message in Jo's rows after {}, her doorbell empty and every ring forgotten after {}; {} fetches of a message in all; Jo's polls of more than one request: {}; then {} polls of one request to the end of the run. The writers made {} requests (messages written and read back, rings, their repair and lingering, their own polls).\n\n",
            c.label,
            seconds(c.shown_after_ms),
            seconds(c.settled_after_ms),
            c.fetches(),
            c.busy(start),
            c.quiet_at_end(),
            c.writer_requests
        ));
    }

    let changes_ok = [&one_by_one, &at_once].iter().all(|c| {
        c.shown_after_ms.is_some()
            && c.fetches() <= CHANGED
            && c.max_besides_fetches() <= MAX_REQUESTS
    });
    if !polled {
        details.push_str(&format!(
            "**Jo's device polled {} times in {} s, not every {} s.**\n",
            steady.len(),
            STEADY_MS / 1000,
            INTERVAL_MS / 1000
        ));
    }
    let pass = polled
        && steady_requests <= MAX_REQUESTS
        && steady_bytes <= MAX_BYTES
        && !reads_all
        && changes_ok;
    Ok(Row::new(
        "2. Poll economy, inbox (50 conversations)",
        format!(
            "steady {steady_requests} req, ≤ {steady_bytes} B per poll; {CHANGED} writing at once: ≤ {} req in a poll ({} fetches), ≤ {} with lost rings ({} fetches); page once",
            one_by_one.max_requests(),
            one_by_one.fetches(),
            at_once.max_requests(),
            at_once.fetches(),
        ),
        format!(
            "≤ {MAX_REQUESTS} req, ≤ {MAX_BYTES} B, + 1 per changed conversation; no keys/page per poll"
        ),
        Some(pass),
    ))
}
