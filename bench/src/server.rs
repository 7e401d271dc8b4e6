//! Budget 5, server: `get` under load from 50 concurrent clients on
//! 127.0.0.1, on a 10-key and a 100,000-key store, for our IMserver.php and
//! for the course-like one side by side in the same run. Each client is a
//! thread that sends one GET after the other (a new connection each, as the
//! PHP built-in server closes them) for a fixed time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::data::{self, Entries};
use crate::http;
use crate::php::{Flavour, Store};
use crate::report::Row;
use crate::util::{self, Result, Rng};

pub const CLIENTS: usize = 50;
const WORKERS: u32 = 4;
const WARM_UP: Duration = Duration::from_millis(700);
const MEASURE: Duration = Duration::from_secs(4);
/// How much slower ours may answer with 100,000 keys than with 10.
pub const MAX_DEGRADATION: f64 = 2.0;

#[derive(Clone, Debug, Default)]
pub struct Load {
    pub errors: usize,
    pub rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

/// 50 clients GETting random keys of `keys` for [`MEASURE`].
fn hammer(port: u16, keys: &[Vec<u8>]) -> Load {
    let keys = Arc::new(keys.to_vec());
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::new(CLIENTS + 1));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (keys, stop, measuring, barrier) = (keys.clone(), stop.clone(), measuring.clone(), barrier.clone());
            thread::spawn(move || {
                let mut rng = Rng::new(1000 + i as u64);
                let (mut latencies, mut errors) = (Vec::new(), 0usize);
                barrier.wait();
                while !stop.load(Ordering::Relaxed) {
                    let key = &keys[rng.below(keys.len() as u64) as usize];
                    let target = format!("/IMserver.php?action=get&key={}", bleep::imserver::wire::encode_component(key));
                    let start = Instant::now();
                    let ok = matches!(http::get(port, &target, Duration::from_secs(10)), Ok(a) if a.status == 200);
                    let ms = start.elapsed().as_secs_f64() * 1000.0;
                    if measuring.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                        if ok {
                            latencies.push(ms);
                        } else {
                            errors += 1;
                        }
                    }
                    if !ok {
                        // Do not spin on a refused connection.
                        thread::sleep(Duration::from_millis(5));
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    barrier.wait();
    thread::sleep(WARM_UP);
    measuring.store(true, Ordering::Relaxed);
    let start = Instant::now();
    thread::sleep(MEASURE);
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    let mut all = Vec::new();
    let mut errors = 0;
    for handle in handles {
        let (latencies, e) = handle.join().unwrap_or_default();
        all.extend(latencies);
        errors += e;
    }
    Load {
        errors,
        rps: all.len() as f64 / elapsed,
        p50_ms: util::median(&all),
        p95_ms: util::quantile(&all, 0.95),
    }
}

fn store_of(size: usize) -> Entries {
    let mut entries = data::conversation(10.min(size as u64), 3, 1_764_000_000_000);
    if size > entries.len() {
        entries.extend(data::unrelated((size - entries.len()) as u64, 5));
    }
    entries.truncate(size);
    entries
}

pub struct Case {
    pub flavour: Flavour,
    pub keys: usize,
    pub load: Load,
}

pub fn run(details: &mut String) -> Result<Row> {
    let small = store_of(10);
    let large = store_of(100_000);
    let mut cases = Vec::new();
    for flavour in [Flavour::Ours, Flavour::Course] {
        for entries in [&small, &large] {
            let store = Store::start(flavour, entries, WORKERS)?;
            // The keys the clients ask for: those of Alice and Bob's conversation.
            let keys: Vec<Vec<u8>> = entries.iter().take(10).map(|(k, _)| k.clone()).collect();
            store.server.get_ok(&format!(
                "/IMserver.php?action=get&key={}",
                bleep::imserver::wire::encode_component(&keys[0])
            ))?;
            let load = hammer(store.server.port, &keys);
            cases.push(Case {
                flavour,
                keys: entries.len(),
                load,
            });
        }
    }
    details.push_str(&format!(
        "{CLIENTS} client threads, `php -S` with PHP_CLI_SERVER_WORKERS={WORKERS}, {:.1} s warm-up then {} s measured per case; each request is `?action=get` of one of the conversation's keys.\n\n",
        WARM_UP.as_secs_f64(),
        MEASURE.as_secs()
    ));
    details.push_str("| server | keys | answers/s | median | p95 | failed requests |\n|---|---:|---:|---:|---:|---:|\n");
    for c in &cases {
        details.push_str(&format!(
            "| {} | {} | {:.0} | {:.1} ms | {:.1} ms | {} |\n",
            match c.flavour {
                Flavour::Ours => "ours (server/IMserver.php)",
                Flavour::Course => "course-like (tests/course_server)",
            },
            c.keys,
            c.load.rps,
            c.load.p50_ms,
            c.load.p95_ms,
            c.load.errors
        ));
    }
    let ratio = |flavour: Flavour| {
        let of = |n: usize| {
            cases
                .iter()
                .find(|c| c.flavour == flavour && c.keys == n)
                .map(|c| c.load.clone())
                .unwrap_or_default()
        };
        let (s, l) = (of(small.len()), of(large.len()));
        (
            s.rps / l.rps.max(1e-9),
            l.p50_ms / s.p50_ms.max(1e-9),
            l.errors,
        )
    };
    let (ours_rps, ours_p50, ours_errors) = ratio(Flavour::Ours);
    let (course_rps, course_p50, course_errors) = ratio(Flavour::Course);
    details.push_str(&format!(
        "\nSlow-down from 10 to 100,000 keys: ours {ours_rps:.2}× in answers/s, {ours_p50:.2}× in median latency; course-like {course_rps:.1}× in answers/s, {course_p50:.1}× in median latency ({course_errors} failed requests at 100,000 keys).\n"
    ));
    let worst = ours_rps.max(ours_p50);
    Ok(Row::new(
        "5. Server get, 10 → 100,000 keys, 50 clients",
        format!(
            "ours: 100k keys cost {worst:.2}× the 10-key cost (course-like: {:.0}×)",
            course_rps.max(course_p50)
        ),
        format!("≤ {MAX_DEGRADATION}× (ours), no errors"),
        Some(worst <= MAX_DEGRADATION && ours_errors == 0),
    ))
}
