//! Chaos in real browsers: the app, driven through headless Chromium, keeps
//! every message exactly once and in the same order on every screen while
//! the server misbehaves.
//!
//! Every browser window talks only to a [`ChaosProxy`], which forwards all
//! paths (the app's files and `IMserver.php`) to `php -S` and injects faults
//! into `IMserver.php` requests following a seeded schedule (set
//! `BLEEP_CHAOS_SEED` to replay a run's fault decisions).
//!
//! The proxy's own tests (first below) need only PHP and run with the native
//! tests; the scenarios need the built app, PHP and Chromium and are
//! `#[ignore]`d: run them with `scripts/test`, or
//! `BLEEP_DIST=$PWD/dist cargo test --test browser_chaos -- --ignored --test-threads=1`.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use support::browser::{
    dist_dir, run, screenshot_path, ChromeDriver, Snapshot, Window, WindowOptions, ENTER, WAIT,
};
use support::chaos_proxy::{
    seed_from_env_or_clock, ChaosConfig, ChaosProxy, Fault, FaultCounts, FaultKind, FaultRates,
    FaultSchedule,
};
use support::{
    encode_query_value, http_request, im_path, our_server_source, show, PhpServer, TempDir,
};

// ---------------------------------------------------------------------------
// The proxy on its own (PHP only, no browser)

/// Our server under `php -S`, with a static file beside it.
fn our_upstream(dir: &TempDir) -> PhpServer {
    support::require_php_module("pdo_sqlite");
    let docroot = dir.subdir("www");
    dir.copy_in(&our_server_source(), "www/IMserver.php");
    fs::write(docroot.join("hello.txt"), "hello, world\n").expect("write hello.txt");
    let dsn = format!("sqlite:{}", dir.join("store.sqlite").display());
    PhpServer::start(&docroot, &[("BLEEP_IMSERVER_DSN", &dsn)])
}

/// GET through the proxy: `Ok((status, body))`, or `Err` when the
/// connection closed without an answer.
fn via(proxy: &ChaosProxy, path: &str) -> Result<(u16, Vec<u8>), String> {
    http_request(&proxy.url(path), Duration::from_secs(10)).map(|r| (r.status, r.body))
}

/// GET straight from the upstream, bypassing the faults.
fn direct_get(proxy: &ChaosProxy, key: &str) -> Vec<u8> {
    let (status, body) = proxy
        .upstream()
        .get(&im_path("get", &[("key", key.as_bytes())]))
        .expect("direct get");
    assert_eq!(status, 200, "direct get of {key}");
    body
}

fn set_path(key: &str, value: &str) -> String {
    im_path(
        "set",
        &[("key", key.as_bytes()), ("value", value.as_bytes())],
    )
}

#[test]
fn proxy_schedule_is_a_function_of_the_seed() {
    let rates = FaultRates::every_fault(0.6);
    let max = Duration::from_millis(3000);
    let draw = |seed: u64| {
        let mut schedule = FaultSchedule::new(seed, rates, max);
        (0..6000).map(|_| schedule.next()).collect::<Vec<_>>()
    };
    let a = draw(42);
    assert_eq!(a, draw(42), "the same seed must give the same decisions");
    assert_ne!(a, draw(43), "another seed should give other decisions");

    // Each kind near its rate (0.1 of 6000 = 600; allow ±25 %).
    let count = |f: &dyn Fn(&Fault) -> bool| a.iter().filter(|d| f(&d.fault)).count();
    let kinds: [(&str, usize); 5] = [
        ("delay", count(&|f| matches!(f, Fault::Delay { .. }))),
        ("500", count(&|f| *f == Fault::Error500)),
        ("drop-before", count(&|f| *f == Fault::DropBeforeForwarding)),
        ("drop-after", count(&|f| *f == Fault::DropAfterForwarding)),
        ("strip", count(&|f| *f == Fault::StripFinalNewline)),
    ];
    let replays = a.iter().filter(|d| d.replay.is_some()).count();
    for (name, n) in kinds.iter().copied().chain([("replay", replays)]) {
        assert!(
            (450..=750).contains(&n),
            "{name}: {n} of 6000, expected about 600"
        );
    }
    for d in &a {
        if let Fault::Delay { ms, .. } = d.fault {
            assert!(ms <= 3000, "delay {ms} ms beyond the maximum");
        }
    }
    let before = a
        .iter()
        .filter(|d| {
            matches!(
                d.fault,
                Fault::Delay {
                    before_forwarding: true,
                    ..
                }
            )
        })
        .count();
    assert!(
        before > 0 && before < kinds[0].1,
        "delays both before and after forwarding"
    );

    let quiet = {
        let mut schedule = FaultSchedule::new(42, FaultRates::NONE, max);
        (0..1000).map(|_| schedule.next()).collect::<Vec<_>>()
    };
    assert!(quiet
        .iter()
        .all(|d| d.fault == Fault::None && d.replay.is_none()));
}

#[test]
fn proxy_is_transparent_without_faults_and_logs_every_request() {
    let dir = TempDir::new("chaos-proxy");
    let proxy = ChaosProxy::start(our_upstream(&dir), ChaosConfig::new(1, FaultRates::NONE));

    let (status, body) = via(&proxy, "/hello.txt").expect("static file");
    assert_eq!((status, body.as_slice()), (200, &b"hello, world\n"[..]));

    let value = "Bed 4 k55592hr: SpO\u{2082} 88 % <b>&</b> \"quoted\"\nline two";
    let set = set_path("note", value);
    assert_eq!(via(&proxy, &set).expect("set"), (200, b"\n".to_vec()));
    let get = im_path("get", &[("key", b"note")]);
    let (status, body) = via(&proxy, &get).expect("get");
    assert_eq!(status, 200);
    assert_eq!(
        body,
        format!("{value}\n").into_bytes(),
        "values pass unchanged"
    );
    let keys = im_path("keys", &[]);
    assert_eq!(
        via(&proxy, &keys).expect("keys"),
        (200, b"note\n\n".to_vec())
    );
    let (status, _) = via(&proxy, "/missing.css").expect("404 passes through");
    assert_eq!(status, 404);

    assert!(proxy.wait_idle(Duration::from_secs(5)));
    let log = proxy.log();
    let targets: Vec<&str> = log.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "/hello.txt",
            set.as_str(),
            get.as_str(),
            keys.as_str(),
            "/missing.css"
        ]
    );
    assert!(log.iter().all(|e| e.done && e.fault == Fault::None));
    let statuses: Vec<Option<u16>> = log.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [Some(200), Some(200), Some(200), Some(200), Some(404)]
    );
    assert_eq!(proxy.requests_seen(), (5, 3));
    assert_eq!(proxy.counts().total(), 0);
}

#[test]
fn proxy_injects_the_scheduled_faults_and_counts_them() {
    let seed = 0x5eed_c4a0_u64;
    let rates = FaultRates::every_fault(0.72);
    let mut config = ChaosConfig::new(seed, rates);
    config.max_delay = Duration::from_millis(120);
    let dir = TempDir::new("chaos-proxy");
    let proxy = ChaosProxy::start(our_upstream(&dir), config.clone());
    // Requests go one at a time, so request n meets decision n.
    let mut expected = FaultSchedule::new(seed, rates, config.max_delay);
    let mut expected_kinds = std::collections::HashMap::<FaultKind, u64>::new();

    for i in 0..150 {
        let key = format!("k{}", i % 4);
        let value = format!("value {i}");
        let writes = i % 2 == 0;
        let path = if writes {
            set_path(&key, &value)
        } else {
            im_path("get", &[("key", key.as_bytes())])
        };
        let decision = expected.next();
        let started = Instant::now();
        let answer = via(&proxy, &path);
        let took = started.elapsed();
        let context = format!("request {i} ({path}), decision {decision:?}, answer {answer:?}");
        if let Some(kind) = decision.fault.kind() {
            *expected_kinds.entry(kind).or_default() += 1;
        }
        match &decision.fault {
            Fault::None => {
                let (status, body) = answer.expect(&context);
                assert_eq!(status, 200, "{context}");
                assert!(body.ends_with(b"\n"), "{context}");
            }
            Fault::Delay { ms, .. } => {
                assert_eq!(answer.expect(&context).0, 200, "{context}");
                assert!(
                    took >= Duration::from_millis(*ms),
                    "{context}: took {took:?}"
                );
            }
            Fault::Error500 => assert_eq!(answer.expect(&context).0, 500, "{context}"),
            Fault::DropBeforeForwarding | Fault::DropAfterForwarding => {
                assert!(answer.is_err(), "{context}")
            }
            Fault::StripFinalNewline => {
                let (status, body) = answer.expect(&context);
                assert_eq!(status, 200, "{context}");
                assert!(!body.ends_with(b"\n"), "{context}");
            }
            other => panic!("the schedule never decides {other:?}"),
        }
        if writes {
            let stored = direct_get(&proxy, &key) == format!("{value}\n").into_bytes();
            let forwarded = !matches!(
                decision.fault,
                Fault::Error500 | Fault::DropBeforeForwarding
            );
            assert_eq!(stored, forwarded, "{context}: stored {stored}");
        }
    }

    assert!(proxy.wait_idle(Duration::from_secs(5)));
    let counts = proxy.counts();
    for kind in [
        FaultKind::Delay,
        FaultKind::Error500,
        FaultKind::DropBefore,
        FaultKind::DropAfter,
        FaultKind::StripNewline,
    ] {
        let want = expected_kinds.get(&kind).copied().unwrap_or(0);
        assert!(
            want > 0,
            "seed {seed:#x}: no {} in 150 requests",
            kind.name()
        );
        assert_eq!(counts.get(kind), want, "{}: {counts}", kind.name());
    }
    assert!(counts.get(FaultKind::StaleReplay) > 0, "{counts}");
    assert_eq!(counts.get(FaultKind::UpstreamDown), 0);
    // The log holds every request, and every replay, each finished.
    let log = proxy.log();
    let replays = log
        .iter()
        .filter(|e| matches!(e.fault, Fault::StaleReplay { .. }))
        .count() as u64;
    assert_eq!(log.len() as u64, 150 + replays);
    assert_eq!(replays, counts.get(FaultKind::StaleReplay));
    assert!(log.iter().all(|e| e.done));
    assert_eq!(proxy.requests_seen(), (150, 150));
}

#[test]
fn proxy_stale_replay_writes_back_an_older_value() {
    let dir = TempDir::new("chaos-proxy");
    let proxy = ChaosProxy::start(our_upstream(&dir), ChaosConfig::new(7, FaultRates::NONE));
    for (key, value) in [("a", "one"), ("a", "two"), ("b", "only"), ("a", "three")] {
        assert_eq!(via(&proxy, &set_path(key, value)).expect("set").0, 200);
    }
    assert_eq!(direct_get(&proxy, "a"), b"three\n");

    proxy.set_rates(FaultRates {
        stale_replay: 1.0,
        ..FaultRates::NONE
    });
    let mut reverted_to = std::collections::BTreeSet::new();
    for round in 0..24 {
        let before = proxy.log().len();
        // Any request triggers the replay; this one reads, so it may see it.
        via(&proxy, &im_path("keys", &[])).expect("keys");
        let log = proxy.log();
        let replay = log[before..]
            .iter()
            .find_map(|e| match &e.fault {
                Fault::StaleReplay { key, value } => Some((key.clone(), value.clone(), e.status)),
                _ => None,
            })
            .unwrap_or_else(|| {
                panic!(
                    "round {round}: no replay in\n{}",
                    proxy.log_text(before, 10)
                )
            });
        let (key, value, status) = replay;
        assert_eq!(status, Some(200), "round {round}");
        let now = direct_get(&proxy, &key);
        match value.as_deref() {
            // The key had no value before its first write: it is gone again.
            None => {
                assert_eq!(now, b"\n", "round {round}: {key} should be unset");
                reverted_to.insert(format!("{key}=<none>"));
            }
            Some(v) => {
                assert_eq!(now, format!("{v}\n").into_bytes(), "round {round}");
                assert_ne!(
                    (key.as_str(), v),
                    ("a", "three"),
                    "an older value, never the current one"
                );
                assert_ne!(
                    (key.as_str(), v),
                    ("b", "only"),
                    "an older value, never the current one"
                );
                reverted_to.insert(format!("{key}={v}"));
            }
        }
    }
    let all: Vec<&str> = reverted_to.iter().map(String::as_str).collect();
    assert_eq!(
        all,
        ["a=<none>", "a=one", "a=two", "b=<none>"],
        "every older state is replayed"
    );
    assert_eq!(proxy.counts().get(FaultKind::StaleReplay), 24);
}

#[test]
fn proxy_takes_the_upstream_down_and_back() {
    let dir = TempDir::new("chaos-proxy");
    let mut proxy = ChaosProxy::start(our_upstream(&dir), ChaosConfig::new(3, FaultRates::NONE));
    assert_eq!(via(&proxy, &set_path("kept", "yes")).expect("set").0, 200);

    proxy.stop_upstream();
    assert!(
        via(&proxy, "/hello.txt").is_err(),
        "no answer while the upstream is down"
    );
    assert!(via(&proxy, &im_path("get", &[("key", b"kept")])).is_err());
    proxy.restart_upstream();
    let (status, body) = via(&proxy, &im_path("get", &[("key", b"kept")])).expect("after restart");
    assert_eq!(
        (status, body),
        (200, b"yes\n".to_vec()),
        "the store survives a restart"
    );

    proxy.set_refusing(true);
    assert!(
        via(&proxy, &im_path("get", &[("key", b"kept")])).is_err(),
        "refused"
    );
    assert_eq!(
        via(&proxy, "/hello.txt").expect("files still served").0,
        200
    );
    proxy.set_refusing(false);
    assert_eq!(
        via(&proxy, &im_path("get", &[("key", b"kept")]))
            .expect("back")
            .0,
        200
    );

    // Refusing right after a given request: it lands, the next one fails.
    proxy.refuse_after(|target| target.contains("action=set") && target.contains("key=trip"));
    assert_eq!(
        via(&proxy, &set_path("other", "x"))
            .expect("not the trip")
            .0,
        200
    );
    assert!(!proxy.is_refusing());
    assert_eq!(
        via(&proxy, &set_path("trip", "landed"))
            .expect("the trip itself")
            .0,
        200
    );
    assert!(proxy.is_refusing());
    assert!(
        via(&proxy, &im_path("get", &[("key", b"trip")])).is_err(),
        "refused after the trip"
    );
    proxy.set_refusing(false);
    assert_eq!(direct_get(&proxy, "trip"), b"landed\n");

    assert!(proxy.wait_idle(Duration::from_secs(5)));
    assert_eq!(proxy.counts().get(FaultKind::UpstreamDown), 4);
    let statuses: Vec<Option<u16>> = proxy.log().iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [
            Some(200),
            None,
            None,
            Some(200),
            None,
            Some(200),
            Some(200),
            Some(200),
            Some(200),
            None
        ]
    );
}

#[test]
fn proxy_closes_the_entry_of_a_client_that_goes_away() {
    let dir = TempDir::new("chaos-proxy");
    let mut config = ChaosConfig::new(
        5,
        FaultRates {
            delay: 1.0,
            ..FaultRates::NONE
        },
    );
    config.max_delay = Duration::from_millis(2000);
    let proxy = ChaosProxy::start(our_upstream(&dir), config);
    // The client gives up after 100 ms, as a reloaded page or an aborted
    // fetch does, while the proxy still holds the request back.
    for _ in 0..6 {
        let _ = http_request(
            &proxy.url(&im_path("keys", &[])),
            Duration::from_millis(100),
        );
    }
    assert!(
        proxy.wait_idle(Duration::from_secs(5)),
        "entries left in flight:\n{}",
        proxy.log_text(0, 10)
    );
    let log = proxy.log();
    assert_eq!(log.len(), 6);
    let abandoned = log.iter().filter(|e| e.abandoned).count();
    assert!(abandoned >= 3, "{}", proxy.log_text(0, 10));
    assert!(log.iter().all(|e| e.abandoned || e.status == Some(200)));
    assert_eq!(
        proxy.counts().get(FaultKind::Delay),
        6,
        "an abandoned delay was still injected"
    );
}

#[test]
fn proxy_logs_every_concurrent_request() {
    let dir = TempDir::new("chaos-proxy");
    let mut config = ChaosConfig::new(11, FaultRates::every_fault(0.5));
    config.max_delay = Duration::from_millis(50);
    let proxy = ChaosProxy::start(our_upstream(&dir), config);
    let sent: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..6)
            .map(|w| {
                let proxy = &proxy;
                scope.spawn(move || {
                    (0..20)
                        .map(|i| {
                            let path = set_path(&format!("w{w}"), &format!("{i}"));
                            let _ = via(proxy, &path);
                            path
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    assert!(proxy.wait_idle(Duration::from_secs(5)));
    let log = proxy.log();
    let mut seen: Vec<String> = log
        .iter()
        .filter(|e| !matches!(e.fault, Fault::StaleReplay { .. }))
        .map(|e| e.target.clone())
        .collect();
    let mut sent = sent;
    seen.sort();
    sent.sort();
    assert_eq!(seen, sent, "one log entry per request");
    let faulted = log.iter().filter(|e| e.fault.kind().is_some()).count() as u64;
    let counts = proxy.counts();
    // Replays that found nothing to revert are logged but not counted.
    assert!(counts.total() <= faulted && counts.total() > 20, "{counts}");
}

// ---------------------------------------------------------------------------
// Scenarios in real browsers: the rig

/// Short poll intervals and back-off, so that a scenario takes seconds.
const FAST_TIMING: &str = r#"{"timing":{"waiting_poll_ms":500,"idle_poll_ms":1000,"hidden_poll_ms":2000,"backoff_first_ms":300,"backoff_max_ms":3000,"request_timeout_ms":4000}}"#;

/// How many scenarios a full run has (the run's summary follows the last).
const SCENARIOS: usize = 6;

/// How often the rig reads every window while it waits.
const LOOK: Duration = Duration::from_millis(150);

/// The longest a message may take to reach every screen under faults:
/// a few retries of up to 3 s back-off, 3 s delays and 4 s time-outs.
const DELIVERY: Duration = Duration::from_secs(60);

/// The longest the screens may take to agree once the sending is over.
const SETTLE: Duration = Duration::from_secs(90);

/// Which IMserver.php the proxy stands in front of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Store {
    /// Ours (`server/IMserver.php` as built into dist/), on SQLite.
    Ours,
    /// The course-like fixture with the course server's flaws, warnings shown.
    Course,
}

/// A browser window with the conversation it shows.
struct Win {
    window: Window,
    label: String,
    me: String,
    peer: String,
}

/// A message a window sent, and when each screen of the colleague showed it.
struct Sent {
    from: String,
    to: String,
    text: String,
    at: Instant,
    shown_after: BTreeMap<String, Duration>,
}

/// One scenario: the store, the proxy in front of it, ChromeDriver and the
/// windows, and what has been seen so far.
struct Rig {
    name: &'static str,
    seed: u64,
    store: Store,
    started: Instant,
    /// Declared before the driver: the windows go first.
    windows: Vec<Win>,
    sent: Vec<Sent>,
    /// Per window, the texts on screen at the last look (since its last load).
    on_screen: Vec<HashSet<String>>,
    /// Texts ever shown twice at once in one window, with the window.
    duplicated: BTreeMap<String, String>,
    /// Messages that were on a screen and then were not.
    vanished: Vec<String>,
    last: Vec<Snapshot>,
    driver: ChromeDriver,
    proxy: ChaosProxy,
    course_data: Option<PathBuf>,
    _dir: TempDir,
}

impl Rig {
    /// Starts the store, the proxy and ChromeDriver, and opens one window per
    /// `(label, me, peer)`, each with its own profile and fast timing.
    async fn start(
        name: &'static str,
        store: Store,
        rates: FaultRates,
        windows: &[(&str, &str, &str)],
    ) -> Rig {
        let dist = dist_dir();
        let dir = TempDir::new(&format!("chaos-{name}"));
        let docroot = dir.subdir("www");
        copy_dir(&dist, &docroot);
        let mut course_data = None;
        let php = match store {
            Store::Ours => {
                support::require_php_module("pdo_sqlite");
                let dsn = format!("sqlite:{}", dir.join("store.sqlite").display());
                PhpServer::start(&docroot, &[("BLEEP_IMSERVER_DSN", &dsn)])
            }
            Store::Course => {
                dir.copy_in(&support::course_server_source(), "www/IMserver.php");
                let data = dir.subdir("course-data");
                let php = PhpServer::start(
                    &docroot,
                    &[
                        ("BLEEP_COURSE_DATA_DIR", &data.to_string_lossy()),
                        ("BLEEP_COURSE_DISPLAY_ERRORS", "1"),
                    ],
                );
                course_data = Some(data);
                php
            }
        };
        let seed = seed_from_env_or_clock();
        say(&format!(
            "chaos[{name}]: seed {seed:#x} (BLEEP_CHAOS_SEED={seed:#x} replays these fault decisions)"
        ));
        let proxy = ChaosProxy::start(php, ChaosConfig::new(seed, rates));
        let driver = ChromeDriver::start();
        let mut rig = Rig {
            name,
            seed,
            store,
            started: Instant::now(),
            windows: Vec::new(),
            sent: Vec::new(),
            on_screen: Vec::new(),
            duplicated: BTreeMap::new(),
            vanished: Vec::new(),
            last: Vec::new(),
            driver,
            proxy,
            course_data,
            _dir: dir,
        };
        for &(label, me, peer) in windows {
            let window = rig.driver.open(WindowOptions::new(label)).await;
            window.goto(&rig.proxy.url("/index.html")).await;
            window
                .script(
                    "localStorage.setItem('bleep.preferences', arguments[0]); return true;",
                    vec![json!(FAST_TIMING)],
                )
                .await;
            rig.windows.push(Win {
                window,
                label: label.to_owned(),
                me: String::new(),
                peer: String::new(),
            });
            rig.on_screen.push(HashSet::new());
            rig.open(rig.windows.len() - 1, me, peer).await;
        }
        rig
    }

    /// Makes window `w` open the conversation of `me` with `peer` and waits
    /// until it is loaded.
    async fn open(&mut self, w: usize, me: &str, peer: &str) {
        let url = self.proxy.url(&format!(
            "/index.html?me={}&peer={}",
            encode_query_value(me),
            encode_query_value(peer)
        ));
        self.windows[w].me = me.to_owned();
        self.windows[w].peer = peer.to_owned();
        self.on_screen[w].clear();
        self.windows[w].window.goto(&url).await;
        let label = self.windows[w].label.clone();
        self.wait_for(
            &format!("{label}: the conversation {me} ↔ {peer} loaded"),
            DELIVERY,
            |_, s| s[w].turn.is_some() && s[w].send_disabled.is_some(),
        )
        .await;
    }

    /// Reloads window `w` and waits until the conversation is back.
    async fn reload(&mut self, w: usize) {
        self.on_screen[w].clear();
        self.windows[w].window.reload().await;
        let label = self.windows[w].label.clone();
        self.wait_for(
            &format!("{label}: the conversation back after the reload"),
            DELIVERY,
            |_, s| s[w].turn.is_some() && s[w].send_disabled.is_some(),
        )
        .await;
    }

    /// Reads every window once, and keeps track of duplicates, messages
    /// that vanish and when each message first reached each screen.
    async fn look(&mut self) -> Vec<Snapshot> {
        let mut snaps = Vec::with_capacity(self.windows.len());
        for win in &self.windows {
            snaps.push(win.window.snapshot().await);
        }
        let now = Instant::now();
        for (w, snap) in snaps.iter().enumerate() {
            let win = &self.windows[w];
            let mut copies: HashMap<&str, usize> = HashMap::new();
            for m in &snap.messages {
                *copies.entry(m.text.as_str()).or_default() += 1;
            }
            for (text, n) in &copies {
                if *n > 1 && !self.duplicated.contains_key(*text) {
                    self.duplicated.insert(
                        text.to_string(),
                        format!("{} showed it {n} times", win.label),
                    );
                }
            }
            let texts: HashSet<String> = copies.keys().map(|t| t.to_string()).collect();
            for gone in self.on_screen[w].difference(&texts) {
                self.vanished.push(format!(
                    "{} at +{:.1}s: {gone:?} was on screen, then gone",
                    win.label,
                    self.started.elapsed().as_secs_f64()
                ));
            }
            for sent in &mut self.sent {
                let theirs = sent.to == win.me && sent.from == win.peer;
                if theirs
                    && texts.contains(&sent.text)
                    && !sent.shown_after.contains_key(&win.label)
                {
                    sent.shown_after.insert(win.label.clone(), now - sent.at);
                }
            }
            self.on_screen[w] = texts;
        }
        self.last = snaps.clone();
        snaps
    }

    /// Looks at every window until `ready` holds; fails with everything seen
    /// when it does not within `timeout`.
    async fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        ready: impl Fn(&Rig, &[Snapshot]) -> bool,
    ) -> Vec<Snapshot> {
        let deadline = Instant::now() + timeout;
        loop {
            let snaps = self.look().await;
            if ready(self, &snaps) {
                return snaps;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("waited {timeout:?} for {what}")).await;
            }
            tokio::time::sleep(LOOK).await;
        }
    }

    /// Window `w` sends message number `i` of `scenario`, and every window
    /// shows it; returns its line of the expected transcript.
    async fn exchange(&mut self, w: usize, scenario: &str, i: usize) -> Vec<(String, String)> {
        let from = self.windows[w].me.clone();
        let text = message_text(scenario, i, &from);
        self.send(w, &text).await;
        self.wait_shown_everywhere(&text).await;
        line(&from, &text)
    }

    /// Types `text` into window `w` and presses Enter, once it may send.
    async fn send(&mut self, w: usize, text: &str) {
        let label = self.windows[w].label.clone();
        self.wait_for(
            &format!("{label} to be idle, to send {text:?}"),
            DELIVERY,
            |_, s| s[w].turn_is("idle") && s[w].send_disabled == Some(false),
        )
        .await;
        self.windows[w]
            .window
            .type_message(&format!("{text}{ENTER}"))
            .await;
        self.record_sent(w, text, Instant::now());
        self.wait_for(
            &format!("{label} to show {text:?} it just sent"),
            WAIT,
            |_, s| !s[w].find(text).is_empty() && s[w].composer.as_deref() == Some(""),
        )
        .await;
    }

    /// Types one draft per window, then presses send in all of them at the
    /// same instant (a click scheduled by each page for the same time).
    async fn send_together(&mut self, drafts: &[(usize, &str)]) {
        for &(w, text) in drafts {
            self.windows[w].window.type_message(text).await;
        }
        self.wait_for("every draft typed, every window idle", WAIT, |_, s| {
            drafts.iter().all(|&(w, text)| {
                s[w].composer.as_deref() == Some(text)
                    && s[w].turn_is("idle")
                    && s[w].send_disabled == Some(false)
            })
        })
        .await;
        let lead = Duration::from_millis(300 + 100 * drafts.len() as u64);
        let at = Instant::now() + lead;
        let at_ms = (SystemTime::now() + lead)
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis() as f64;
        let mut in_time = true;
        for &(w, _) in drafts {
            let before = self.windows[w]
                .window
                .script(
                    "const at = arguments[0];
                     setTimeout(() => document.querySelector('[data-testid=\"send\"]').click(),
                                Math.max(0, at - Date.now()));
                     return Date.now() < at;",
                    vec![json!(at_ms)],
                )
                .await;
            in_time &= before == json!(true);
        }
        if !in_time {
            self.fail(
                "a send was scheduled too late to be pressed at the same instant as the others",
            )
            .await;
        }
        for &(w, text) in drafts {
            self.record_sent(w, text, at);
        }
        self.wait_for("every window to show the message it sent", WAIT, |_, s| {
            drafts.iter().all(|&(w, text)| !s[w].find(text).is_empty())
        })
        .await;
    }

    fn record_sent(&mut self, w: usize, text: &str, at: Instant) {
        let win = &self.windows[w];
        self.sent.push(Sent {
            from: win.me.clone(),
            to: win.peer.clone(),
            text: text.to_owned(),
            at,
            shown_after: BTreeMap::new(),
        });
    }

    /// Waits until every window of the message's conversation shows `text`.
    async fn wait_shown_everywhere(&mut self, text: &str) {
        let sent = self
            .sent
            .iter()
            .find(|s| s.text == text)
            .expect("a message sent by the rig");
        let pair = pair_of(&sent.from, &sent.to);
        self.wait_for(
            &format!("every screen to show {text:?}"),
            DELIVERY,
            |rig, s| {
                rig.windows
                    .iter()
                    .zip(s)
                    .filter(|(win, _)| pair_of(&win.me, &win.peer) == pair)
                    .all(|(_, snap)| !snap.find(text).is_empty())
            },
        )
        .await;
    }

    /// Waits until every window shows exactly `expected` (each group in any
    /// order inside, the groups in order), all the same; every message read
    /// on its sender's screens; the last sender's windows waiting, the
    /// others idle. Then checks the store.
    async fn settle(&mut self, expected: &[Vec<(String, String)>]) {
        let deadline = Instant::now() + SETTLE;
        let mut reason;
        loop {
            let snaps = self.look().await;
            reason = self.unsettled(&snaps, expected);
            if reason.is_none() {
                break;
            }
            if Instant::now() >= deadline {
                let why = reason.unwrap_or_default();
                self.fail(&format!(
                    "waited {SETTLE:?} for every screen to agree: {why}"
                ))
                .await;
            }
            tokio::time::sleep(LOOK).await;
        }
        if !self.duplicated.is_empty() || !self.vanished.is_empty() {
            self.fail("a message was duplicated or vanished on a screen on the way")
                .await;
        }
    }

    /// Why the screens do not (yet) agree, or `None` when they do.
    fn unsettled(&self, snaps: &[Snapshot], expected: &[Vec<(String, String)>]) -> Option<String> {
        let first = snaps[0].lines();
        for (win, snap) in self.windows.iter().zip(snaps) {
            let lines = snap.lines();
            if lines != first {
                return Some(format!(
                    "{} and {} show different transcripts",
                    self.windows[0].label, win.label
                ));
            }
            if !matches_groups(&lines, expected) {
                return Some(format!(
                    "{} does not show exactly the messages sent, in order",
                    win.label
                ));
            }
            for m in snap.messages.iter().filter(|m| m.from == win.me) {
                if m.status.as_deref() != Some("read") {
                    return Some(format!(
                        "{}: {:?} is {:?}, not read",
                        win.label, m.text, m.status
                    ));
                }
            }
        }
        let last_sender = first.last().map(|(from, _)| from.clone());
        for (win, snap) in self.windows.iter().zip(snaps) {
            let want = if last_sender.as_deref() == Some(win.me.as_str()) {
                "waiting"
            } else {
                "idle"
            };
            if !snap.turn_is(want) {
                return Some(format!(
                    "{} is {:?}, should be {want}",
                    win.label, snap.turn
                ));
            }
        }
        None
    }

    /// Messages sent in the conversation a window shows but missing there.
    fn lost(&self) -> usize {
        self.sent
            .iter()
            .filter(|sent| {
                self.windows.iter().zip(&self.last).any(|(win, snap)| {
                    pair_of(&win.me, &win.peer) == pair_of(&sent.from, &sent.to)
                        && snap.find(&sent.text).is_empty()
                })
            })
            .count()
    }

    fn longest_delay(&self) -> Duration {
        self.sent
            .iter()
            .flat_map(|s| s.shown_after.values().copied())
            .max()
            .unwrap_or_default()
    }

    fn summary(&self) -> String {
        let (all, imserver) = self.proxy.requests_seen();
        format!(
            "chaos summary [{}] seed {:#x}: requests {all} (IMserver.php {imserver}); faults: {}; \
             messages sent {}, lost {}, duplicates {}; longest send-to-display {:.1} s; {:.0} s",
            self.name,
            self.seed,
            self.proxy.counts(),
            self.sent.len(),
            self.lost(),
            self.duplicated.len(),
            self.longest_delay().as_secs_f64(),
            self.started.elapsed().as_secs_f64(),
        )
    }

    /// Fails the scenario with everything a reader needs: the seed, what was
    /// awaited, what every window showed, what was sent, and the proxy's log.
    async fn fail(&self, what: &str) {
        let mut report = format!(
            "chaos scenario {:?} FAILED after {:.1} s (seed {:#x}; rerun with BLEEP_CHAOS_SEED={:#x}): {what}\n",
            self.name,
            self.started.elapsed().as_secs_f64(),
            self.seed,
            self.seed
        );
        for (win, snap) in self.windows.iter().zip(&self.last) {
            report.push_str(&format!(
                "\n{} ({} ↔ {}): turn {:?}, connection {:?}, composer {:?}, {} messages:\n",
                win.label,
                win.me,
                win.peer,
                snap.turn,
                snap.connection,
                snap.composer,
                snap.messages.len()
            ));
            for m in &snap.messages {
                report.push_str(&format!(
                    "    {}: {:?} [{}]\n",
                    m.from,
                    m.text,
                    m.status.as_deref().unwrap_or("-")
                ));
            }
            let shot = screenshot_path(&format!("chaos-{}-{}.png", self.name, slug(&win.label)));
            win.window.screenshot(&shot).await;
            report.push_str(&format!("    screenshot: {}\n", shot.display()));
        }
        report.push_str("\nsent, in order:\n");
        for s in &self.sent {
            report.push_str(&format!(
                "    {} → {}: {:?}, shown after {:?}\n",
                s.from, s.to, s.text, s.shown_after
            ));
        }
        for (text, how) in &self.duplicated {
            report.push_str(&format!("duplicate: {text:?}: {how}\n"));
        }
        for gone in &self.vanished {
            report.push_str(&format!("vanished: {gone}\n"));
        }
        report.push_str(&format!(
            "\nproxy log (last entries):\n{}",
            self.proxy.log_text(0, 60)
        ));
        report.push_str(&format!("\n{}\n", self.summary()));
        panic!("{report}");
    }

    /// The end of a scenario: the store is clean, nothing was diverted; the
    /// summary line, and the run's after the last scenario.
    fn finish(self) {
        assert!(
            self.proxy.wait_idle(Duration::from_secs(10)),
            "the proxy still has requests in flight"
        );
        let problems = self.store_problems();
        assert!(
            problems.is_empty(),
            "chaos scenario {:?} (seed {:#x}): the store is not clean:\n{}\n{}",
            self.name,
            self.seed,
            problems.join("\n"),
            self.summary()
        );
        say(&self.summary());
        let mut run = RUN.lock().unwrap_or_else(|p| p.into_inner());
        let run = run.get_or_insert_with(RunTally::default);
        let (all, imserver) = self.proxy.requests_seen();
        run.scenarios += 1;
        run.requests += all;
        run.imserver += imserver;
        run.faults.absorb(&self.proxy.counts());
        run.sent += self.sent.len();
        run.longest = run.longest.max(self.longest_delay());
        if run.scenarios == SCENARIOS {
            say(&format!(
                "chaos summary [run: {} scenarios]: requests {} (IMserver.php {}); faults: {}; \
                 messages sent {}, lost 0, duplicates 0; longest send-to-display {:.1} s",
                run.scenarios,
                run.requests,
                run.imserver,
                run.faults,
                run.sent,
                run.longest.as_secs_f64()
            ));
        }
    }

    /// What is wrong with the stored data: bytes `<?` anywhere, a request
    /// whose raw URI carries a hospital-number-like id, and for the course
    /// server any data file but the one shared default.
    fn store_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for entry in self.proxy.log() {
            if entry.target.contains("IMserver.php") && has_hospital_number(&entry.target) {
                problems.push(format!(
                    "request #{} would pick another data file: {}",
                    entry.n, entry.target
                ));
            }
        }
        let upstream = self.proxy.upstream();
        let page = upstream
            .get("/IMserver.php")
            .map(|(_, body)| body)
            .unwrap_or_default();
        if contains(&page, b"<?") {
            problems.push(format!("the store's page holds `<?`: {}", show(&page)));
        }
        match self.store {
            Store::Ours => {
                let (_, keys) = upstream.get(&im_path("keys", &[])).expect("keys");
                for key in String::from_utf8_lossy(&keys)
                    .lines()
                    .filter(|k| !k.is_empty())
                {
                    let (_, value) = upstream
                        .get(&im_path("get", &[("key", key.as_bytes())]))
                        .expect("get");
                    if contains(&value, b"<?") {
                        problems.push(format!("{key} holds `<?`: {}", show(&value)));
                    }
                }
            }
            Store::Course => {
                let data = self
                    .course_data
                    .as_ref()
                    .expect("the course server's data folder");
                let files: Vec<String> = fs::read_dir(data)
                    .expect("read the data folder")
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                if files != ["imserver-default"] {
                    problems.push(format!(
                        "the data folder should hold exactly imserver-default, it holds {files:?}"
                    ));
                }
                for file in &files {
                    let bytes = fs::read(data.join(file)).unwrap_or_default();
                    if contains(&bytes, b"<?") {
                        problems.push(format!("{file} holds `<?`: {}", show(&bytes)));
                    }
                }
            }
        }
        problems
    }
}

/// The totals of a run, for its summary line.
#[derive(Default)]
struct RunTally {
    scenarios: usize,
    requests: u64,
    imserver: u64,
    faults: FaultCounts,
    sent: usize,
    longest: Duration,
}

static RUN: Mutex<Option<RunTally>> = Mutex::new(None);

/// Prints a line that shows whether or not the test harness captures output.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The two names of a conversation, in a fixed order.
fn pair_of(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

/// Whether `lines` is the groups one after the other, each in any order.
fn matches_groups(lines: &[(String, String)], groups: &[Vec<(String, String)>]) -> bool {
    let mut rest = lines;
    for group in groups {
        if rest.len() < group.len() {
            return false;
        }
        let (head, tail) = rest.split_at(group.len());
        let mut a = head.to_vec();
        let mut b = group.clone();
        a.sort();
        b.sort();
        if a != b {
            return false;
        }
        rest = tail;
    }
    rest.is_empty()
}

/// Whether `text` holds the course server's data-file pattern
/// `[a-z]\d{5}[a-z]{2}` (on the raw, undecoded text).
fn has_hospital_number(text: &str) -> bool {
    text.as_bytes().windows(8).any(|w| {
        w[0].is_ascii_lowercase()
            && w[1..6].iter().all(u8::is_ascii_digit)
            && w[6].is_ascii_lowercase()
            && w[7].is_ascii_lowercase()
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn slug(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Copies the files of `from` (recursively) into `to`.
fn copy_dir(from: &Path, to: &Path) {
    for entry in
        fs::read_dir(from).unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display()))
    {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            fs::create_dir_all(&target).expect("create a folder");
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", entry.path().display()));
        }
    }
}

/// The text of the `i`-th message of a scenario: unique, and now and then
/// with what stresses the store: a hospital number (the course server's
/// data-file pattern), PHP's opening tag, HTML, quotes and non-ASCII.
fn message_text(scenario: &str, i: usize, from: &str) -> String {
    const EXTRAS: [&str; 8] = [
        "obs stable",
        "patient k55592hr, bed 4",
        "dose <?php echo 5; ?> mg & review",
        "SpO₂ 91 % — recheck ✓",
        "\"NBM\" after 00:00, <b>not</b> before",
        "MRN q12345zz and x99999yy to ward 7",
        "ok",
        "naïve café Ωmega 😀",
    ];
    format!(
        "{scenario} #{:02} {from}: {}",
        i + 1,
        EXTRAS[i % EXTRAS.len()]
    )
}

// ---------------------------------------------------------------------------
// The scenarios

const ALICE: &str = "Alice";
const BOB: &str = "Bob";

/// The two usual windows: Alice's and Bob's, each its own profile.
const ALICE_AND_BOB: [(&str, &str, &str); 2] = [(ALICE, ALICE, BOB), (BOB, BOB, ALICE)];

fn line(from: &str, text: &str) -> Vec<(String, String)> {
    vec![(from.to_owned(), text.to_owned())]
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn chaos_fifty_messages_under_every_fault() {
    run(Duration::from_secs(420), async {
        let mut rig = Rig::start(
            "fifty-messages",
            Store::Ours,
            FaultRates::every_fault(0.2),
            &ALICE_AND_BOB,
        )
        .await;
        let mut expected = Vec::new();
        for i in 0..50 {
            expected.push(rig.exchange(i % 2, "fifty", i).await);
        }
        rig.settle(&expected).await;
        rig.finish();
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn chaos_both_send_at_the_same_instant_twenty_times() {
    run(Duration::from_secs(300), async {
        let mut rig = Rig::start(
            "same-instant",
            Store::Ours,
            FaultRates::every_fault(0.1),
            &ALICE_AND_BOB,
        )
        .await;
        // Once a message is on screen its sender waits for a reply, so both
        // sides are free to send at once only at the start of a
        // conversation: every round is a fresh one. The colleague's name
        // sorts after Alice's in odd rounds and before it in even ones, so
        // that the tie goes either way.
        for round in 1..=20 {
            let peer = if round % 2 == 1 {
                format!("Bob {round:02}")
            } else {
                format!("Aaron {round:02}")
            };
            rig.open(0, ALICE, &peer).await;
            rig.open(1, &peer, ALICE).await;
            let a = message_text(&format!("instant r{round:02}"), round, ALICE);
            let b = message_text(&format!("instant r{round:02}"), round + 3, &peer);
            rig.send_together(&[(0, &a), (1, &b)]).await;
            let both = vec![(ALICE.to_owned(), a.clone()), (peer.clone(), b.clone())];
            rig.settle(&[both]).await;
        }
        rig.finish();
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn chaos_server_down_for_thirty_seconds_while_sending() {
    run(Duration::from_secs(240), async {
        let mut rig = Rig::start(
            "server-down",
            Store::Ours,
            FaultRates::every_fault(0.1),
            &ALICE_AND_BOB,
        )
        .await;
        let mut expected = Vec::new();
        for i in 0..2 {
            expected.push(rig.exchange(i, "down", i).await);
        }

        // The server goes down right after Alice's message was stored,
        // before she could read it back: in the middle of her Sending.
        rig.proxy
            .refuse_after(|target| target.contains("action=set") && target.contains("%2Em%2E"));
        let text = message_text("down", 2, ALICE);
        rig.send(0, &text).await;
        let tripped = Instant::now() + WAIT;
        while !rig.proxy.is_refusing() {
            if Instant::now() >= tripped {
                rig.fail("Alice's message was never written (the outage did not start)")
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        rig.proxy.stop_upstream();
        let down = Instant::now();
        let mut went_offline = false;
        while down.elapsed() < Duration::from_secs(30) {
            let snaps = rig.look().await;
            let alice = &snaps[0];
            let pending = alice
                .find(&text)
                .iter()
                .all(|m| m.status.as_deref() == Some("pending"));
            if !alice.turn_is("sending") || !pending || alice.find(&text).len() != 1 {
                rig.fail("Alice's screen while the server is down: her message should stay pending, and she Sending")
                    .await;
            }
            went_offline |= alice.connection.as_deref() == Some("offline");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        if !went_offline {
            rig.fail("Alice's screen never said offline during 30 s without a server")
                .await;
        }
        rig.proxy.restart_upstream();
        rig.proxy.set_refusing(false);
        rig.wait_shown_everywhere(&text).await;
        expected.push(line(ALICE, &text));

        for i in 3..6 {
            expected.push(rig.exchange(i % 2, "down", i).await);
        }
        rig.settle(&expected).await;
        rig.finish();
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn chaos_reload_while_sending_waiting_and_with_a_full_outbox() {
    run(Duration::from_secs(300), async {
        let background = FaultRates::every_fault(0.1);
        let mut rig = Rig::start("reloads", Store::Ours, background, &ALICE_AND_BOB).await;
        let mut expected = Vec::new();
        let mut n = 0;
        let mut next = |from: &str| {
            n += 1;
            message_text("reload", n - 1, from)
        };
        for w in [0, 1] {
            let text = next(&rig.windows[w].me.clone());
            rig.send(w, &text).await;
            rig.wait_shown_everywhere(&text).await;
            expected.push(line(&rig.windows[w].me, &text));
        }

        // 1. Alice reloads while her message is on its way: every request
        // is held back 2 to 3 s, so the Sending outlasts the look below
        // (with delays from zero, a short write and read-back could both
        // finish before the look on a loaded machine).
        rig.proxy.set_min_delay(Duration::from_secs(2));
        rig.proxy.set_rates(FaultRates {
            delay: 1.0,
            ..FaultRates::NONE
        });
        let text = next(ALICE);
        rig.send(0, &text).await;
        let deadline = Instant::now() + Duration::from_secs(8);
        while !rig
            .proxy
            .log()
            .iter()
            .any(|e| !e.done && e.target.contains("action=set"))
        {
            if Instant::now() >= deadline {
                rig.fail("none of Alice's writes was seen on its way, with every request delayed")
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let snaps = rig.look().await;
        if !snaps[0].turn_is("sending") {
            rig.fail("Alice should still be Sending while her writes are held back")
                .await;
        }
        rig.reload(0).await;
        let snaps = rig.look().await;
        if snaps[0].find(&text).len() != 1 {
            rig.fail(
                "after the reload during Sending, Alice's screen should show her message once",
            )
            .await;
        }
        rig.proxy.set_min_delay(Duration::ZERO);
        rig.proxy.set_rates(background);
        rig.wait_shown_everywhere(&text).await;
        expected.push(line(ALICE, &text));

        // 2. Alice reloads while she waits for Bob's reply; then Bob,
        // while he waits for hers.
        rig.wait_for("Alice waiting, her message read", DELIVERY, |_, s| {
            s[0].turn_is("waiting")
                && s[0]
                    .find(&text)
                    .iter()
                    .all(|m| m.status.as_deref() == Some("read"))
        })
        .await;
        rig.reload(0).await;
        rig.wait_for("Alice still waiting after her reload", WAIT, |_, s| {
            s[0].turn_is("waiting")
        })
        .await;
        let reply = next(BOB);
        rig.send(1, &reply).await;
        rig.wait_shown_everywhere(&reply).await;
        expected.push(line(BOB, &reply));
        rig.wait_for("Bob waiting", DELIVERY, |_, s| s[1].turn_is("waiting"))
            .await;
        rig.reload(1).await;
        rig.wait_for("Bob still waiting after his reload", WAIT, |_, s| {
            s[1].turn_is("waiting")
        })
        .await;
        let text = next(ALICE);
        rig.send(0, &text).await;
        rig.wait_shown_everywhere(&text).await;
        expected.push(line(ALICE, &text));

        // 3. Bob's message cannot leave (IMserver.php refuses; the page
        // still loads): he reloads twice with it in his outbox.
        rig.proxy.set_refusing(true);
        let text = next(BOB);
        rig.send(1, &text).await;
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            rig.reload(1).await;
            let snaps = rig.look().await;
            let bob = &snaps[1];
            let pending = bob
                .find(&text)
                .iter()
                .all(|m| m.status.as_deref() == Some("pending"));
            if bob.find(&text).len() != 1 || !pending || !bob.turn_is("sending") {
                rig.fail("after a reload, Bob's unsent message should be on his screen once, pending, and he Sending")
                    .await;
            }
        }
        rig.proxy.set_refusing(false);
        rig.wait_shown_everywhere(&text).await;
        expected.push(line(BOB, &text));

        let text = next(ALICE);
        rig.send(0, &text).await;
        rig.wait_shown_everywhere(&text).await;
        expected.push(line(ALICE, &text));
        rig.settle(&expected).await;
        rig.finish();
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn chaos_same_name_in_two_windows() {
    run(Duration::from_secs(300), async {
        let windows = [
            ("Alice (ward PC)", ALICE, BOB),
            ("Alice (phone)", ALICE, BOB),
            ("Bob", BOB, ALICE),
        ];
        let mut rig = Rig::start(
            "two-windows",
            Store::Ours,
            FaultRates::every_fault(0.15),
            &windows,
        )
        .await;
        let mut expected = Vec::new();
        // Bob, Alice on her PC, Bob, Alice on her phone, ...
        for i in 0..14 {
            let w = if i % 2 == 0 { 2 } else { (i / 2) % 2 };
            expected.push(rig.exchange(w, "two-windows", i).await);
        }
        rig.settle(&expected).await;
        rig.finish();
    });
}

/// A third program on the course-like server: a bounded loop per thread of
/// sets and gets of its own keys, counting the writes it saw the server
/// lose. Stops when told or after its limit.
struct Noise {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<(u64, u64, u64)>>,
}

impl Noise {
    fn start(base_url: String, threads: usize) -> Noise {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|t| {
                let stop = Arc::clone(&stop);
                let base_url = base_url.clone();
                std::thread::spawn(move || {
                    let (mut requests, mut failures, mut lost) = (0, 0, 0);
                    let deadline = Instant::now() + Duration::from_secs(600);
                    for i in 0..100_000u64 {
                        if stop.load(Ordering::Relaxed) || Instant::now() >= deadline {
                            break;
                        }
                        let key = format!("noise.{t}.{}", i % 5);
                        let value = format!("value {i} of noisy client {t}");
                        let set = set_path(&key, &value);
                        let get = im_path("get", &[("key", key.as_bytes())]);
                        requests += 2;
                        match http_request(&format!("{base_url}{set}"), Duration::from_secs(5)) {
                            Ok(answer) if answer.status == 200 => {
                                match http_request(
                                    &format!("{base_url}{get}"),
                                    Duration::from_secs(5),
                                ) {
                                    Ok(answer) if answer.status == 200 => {
                                        if !answer.body.ends_with(format!("{value}\n").as_bytes()) {
                                            lost += 1;
                                        }
                                    }
                                    _ => failures += 1,
                                }
                            }
                            _ => failures += 1,
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    (requests, failures, lost)
                })
            })
            .collect();
        Noise { stop, threads }
    }

    /// Stops the loops: (requests, failed requests, writes seen lost).
    fn stop(self) -> (u64, u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.threads.into_iter().fold((0, 0, 0), |sum, thread| {
            let (r, f, l) = thread.join().expect("noisy client");
            (sum.0 + r, sum.1 + f, sum.2 + l)
        })
    }
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn chaos_noisy_third_client_on_the_course_server() {
    run(Duration::from_secs(300), async {
        // No injected faults: the course-like server loses writes by itself
        // under the noisy client's load.
        let mut rig = Rig::start(
            "noisy-course-server",
            Store::Course,
            FaultRates::NONE,
            &ALICE_AND_BOB,
        )
        .await;
        let noise = Noise::start(rig.proxy.upstream().base_url(), 2);
        let mut expected = Vec::new();
        for i in 0..16 {
            expected.push(rig.exchange(i % 2, "course", i).await);
        }
        rig.settle(&expected).await;
        let (requests, failures, lost) = noise.stop();
        say(&format!(
            "chaos[noisy-course-server]: the noisy client made {requests} requests, {failures} failed, \
             and could not read back {lost} of its own writes"
        ));
        rig.finish();
    });
}
