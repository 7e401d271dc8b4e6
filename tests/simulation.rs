//! Deterministic simulation of whole conversations against a faulty server.
//!
//! Two clinicians (and, in some schedules, a second window of the first one)
//! run the real protocol core through the real IMserver client against an
//! in-memory model of the course server that loses updates (a concurrent
//! request writes back a stale copy of the store, reads included), answers
//! 500, times out before or after a write lands, drops the final newline,
//! prints PHP warnings for missing keys, and sees clients reload at random
//! points. After the faults stop and the store settles, every schedule must
//! end with both transcripts complete, identical, in the same order, free of
//! duplicates, every message read, and the turn agreed.
//!
//! Every schedule is a seed: a failure prints it, and
//! `BLEEP_SIM_SEED=<seed> cargo test --test simulation` replays it alone.

mod sim;

use sim::{run_schedule, Faults, Outcome};

/// How many random schedules one `cargo test` runs.
const SCHEDULES: u64 = 10_000;

/// The seeds to run: `BLEEP_SIM_SEED` alone, or `BLEEP_SIM_SCHEDULES` of them
/// (default 10,000) from `BLEEP_SIM_FIRST` (default 1), for longer soaks.
fn seeds() -> Vec<u64> {
    let number = |name: &str, default: u64| {
        std::env::var(name).map_or(default, |v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name} must be a number"))
        })
    };
    if std::env::var_os("BLEEP_SIM_SEED").is_some() {
        return vec![number("BLEEP_SIM_SEED", 0)];
    }
    let first = number("BLEEP_SIM_FIRST", 1);
    (first..first + number("BLEEP_SIM_SCHEDULES", SCHEDULES)).collect()
}

/// Runs `seeds` on every core, returning the failures as (seed, reason).
fn run_all(seeds: &[u64], faults: Faults, repair: bool) -> Vec<(u64, String)> {
    run_counting(seeds, faults, repair).0
}

/// Like [`run_all`], also counting the messages the settled schedules sent.
fn run_counting(seeds: &[u64], faults: Faults, repair: bool) -> (Vec<(u64, String)>, usize) {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let chunks: Vec<Vec<u64>> = (0..threads)
        .map(|t| seeds.iter().copied().skip(t).step_by(threads).collect())
        .collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                let mut messages = 0;
                for seed in chunk {
                    match run_schedule(seed, faults, repair) {
                        Outcome::Settled(sent) => messages += sent,
                        Outcome::Failed(reason) => failures.push((seed, reason)),
                    }
                }
                (failures, messages)
            })
        })
        .collect();
    let mut failures = Vec::new();
    let mut messages = 0;
    for handle in handles {
        let (f, m) = handle.join().expect("simulation thread panicked");
        failures.extend(f);
        messages += m;
    }
    failures.sort();
    (failures, messages)
}

#[test]
fn ten_thousand_faulty_schedules_lose_nothing() {
    let seeds = seeds();
    let started = std::time::Instant::now();
    let (failures, messages) = run_counting(&seeds, Faults::course_server(), true);
    eprintln!(
        "{} schedules ({messages} messages) in {:.1} s",
        seeds.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some((seed, reason)) = failures.first() {
        panic!(
            "{} of {} schedules failed; first: seed {seed}: {reason}\nreplay: BLEEP_SIM_SEED={seed} cargo test --test simulation",
            failures.len(),
            seeds.len()
        );
    }
}

#[test]
fn a_fault_free_server_settles_every_schedule_quickly() {
    let seeds: Vec<u64> = (1..=200).collect();
    let failures = run_all(&seeds, Faults::none(), true);
    assert!(
        failures.is_empty(),
        "fault-free schedules failed: {failures:?}"
    );
}

#[test]
fn the_simulation_catches_a_client_without_repair() {
    // With repair turned off, lost updates must lose messages: if this test
    // ever passes with no failure, the simulation has stopped testing anything.
    let seeds: Vec<u64> = (1..=300).collect();
    let failures = run_all(&seeds, Faults::course_server(), false);
    assert!(
        !failures.is_empty(),
        "300 faulty schedules without repair all passed: the simulation is blind"
    );
    eprintln!(
        "without repair, {} of 300 schedules failed, e.g. seed {}: {}",
        failures.len(),
        failures[0].0,
        failures[0].1
    );
}

#[test]
fn a_new_window_rebuilds_the_transcript_from_the_server() {
    let outcome = sim::run_new_window_schedule(7);
    assert!(matches!(outcome, Outcome::Settled(_)), "{outcome:?}");
}

#[test]
fn a_steady_poll_costs_two_small_requests_whatever_the_history() {
    let small = sim::poll_cost(4, 10);
    let large = sim::poll_cost(300, 2_000);
    for cost in [&small, &large] {
        assert_eq!(cost.whole_store_reads, 0, "{cost:?}");
        assert!(cost.requests_per_poll <= 2, "{cost:?}");
        assert!(cost.bytes_per_poll <= 300, "{cost:?}");
    }
    assert_eq!(small.requests_per_poll, large.requests_per_poll);
    eprintln!("steady poll: {small:?} with 4 messages, {large:?} with 300 and 2,000 other keys");
}

#[test]
#[ignore = "a diagnostic: lists every failing seed of the faulty run"]
fn list_failures() {
    for (seed, reason) in run_all(&seeds(), Faults::course_server(), true) {
        eprintln!(
            "seed {seed}: {}",
            reason.chars().take(300).collect::<String>()
        );
    }
}
