//! Budget 9, load (issue 16): how many clinicians one machine holds.
//!
//! Each simulated clinician runs the protocol's steady state against the
//! real server: a poll every 3 s (the app's idle interval) of two small
//! GETs one after the other (the colleague's record, then one check), and
//! one conversation turn a minute (write the message, read it back, write
//! the record, write `__waiting__`). The load is open-loop: every request is
//! due at a fixed time and its latency counts from then, so a server that
//! falls behind shows it. Run for SQLite on `php -S` and for nginx + two
//! PHP-FPM nodes + PostgreSQL (the shape of `deploy/`), each on loopback
//! ports and temp folders, stopped at the end. N grows step by step while
//! p99 < 250 ms with no error; bounded in N ([`MAX_CLINICIANS`]) and time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::http;
use crate::php::PhpServer;
use crate::report::Row;
use crate::util::{self, free_port, port_is_open, Group, Result, Rng, TempDir};

const POLL: Duration = Duration::from_millis(3_000);
const TURN: Duration = Duration::from_secs(60);
const WARM_UP: Duration = Duration::from_secs(3);
const MEASURE: Duration = Duration::from_secs(8);
const STEPS: &[usize] = &[250, 500, 1_000, 1_500, 2_000, 2_500, 3_000, 4_000];
pub const MAX_CLINICIANS: usize = 4_000;
const P99_LIMIT_MS: f64 = 250.0;
const GOAL: usize = 2_000;
const WORKERS: usize = 96;

/// One step's figures.
#[derive(Clone, Debug, Default)]
struct Step {
    clinicians: usize,
    requests: usize,
    errors: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU time of the server's processes per request, in ms.
    cpu_ms: f64,
}

impl Step {
    fn held(&self) -> bool {
        self.errors == 0 && self.p99_ms < P99_LIMIT_MS && self.requests > 0
    }
}

/// A running server stack: its port and the process groups it is made of.
struct Stack {
    port: u16,
    /// Whether simulated browsers keep their connections open. `php -S`
    /// gives each open connection one of its few workers until it closes, so
    /// against it every request has a connection of its own.
    keep_alive: bool,
    groups: Vec<Group>,
    _dir: TempDir,
}

pub fn run(details: &mut String) -> Result<Vec<Row>> {
    details.push_str(&format!(
        "Each clinician: 2 GETs every {} s, a turn (2 sets, a get, a set) every {} s, over kept-alive connections; \
         open-loop, latency counted from when each request was due. {} s warm-up, {} s measured per step.\n\n",
        POLL.as_secs(),
        TURN.as_secs(),
        WARM_UP.as_secs(),
        MEASURE.as_secs()
    ));
    let mut rows = Vec::new();
    for (name, start) in [
        (
            "SQLite on php -S (8 workers)",
            start_php_s as fn() -> Result<Stack>,
        ),
        ("nginx + 2 PHP-FPM nodes + PostgreSQL", start_deployed),
    ] {
        let stack = start()?;
        let steps = climb(&stack);
        drop(stack);
        details.push_str(&format!(
            "{name}:\n\n| clinicians | requests/s | p50 ms | p99 ms | errors | server CPU ms/request |\n|---|---|---|---|---|---|\n"
        ));
        for s in &steps {
            details.push_str(&format!(
                "| {} | {:.0} | {:.1} | {:.1} | {} | {:.2} |\n",
                s.clinicians, s.rps, s.p50_ms, s.p99_ms, s.errors, s.cpu_ms
            ));
        }
        details.push('\n');
        let best = steps.iter().rfind(|s| s.held()).cloned();
        let measured = match &best {
            Some(s) => format!(
                "{} clinicians ({:.0} req/s, p99 {:.0} ms, {:.2} ms CPU/req)",
                s.clinicians, s.rps, s.p99_ms, s.cpu_ms
            ),
            None => "not even 250 clinicians".into(),
        };
        let deployed = name.starts_with("nginx");
        let limit = if deployed {
            format!(">= {GOAL} clinicians, p99 < 250 ms, 0 errors")
        } else {
            "reported (p99 < 250 ms, 0 errors)".into()
        };
        let pass = Some(match &best {
            Some(s) => !deployed || s.clinicians >= GOAL,
            None => false,
        });
        rows.push(Row::new(&format!("9. Load: {name}"), measured, limit, pass));
    }
    Ok(rows)
}

/// Steps N up while the stack holds it; stops at the first step it does not.
fn climb(stack: &Stack) -> Vec<Step> {
    let mut steps = Vec::new();
    for &clinicians in STEPS.iter().filter(|&&n| n <= MAX_CLINICIANS) {
        let step = measure(stack, clinicians);
        eprintln!(
            "bench: load {clinicians}: {:.0} req/s, p99 {:.1} ms, {} errors, {:.2} ms CPU/req",
            step.rps, step.p99_ms, step.errors, step.cpu_ms
        );
        let held = step.held();
        steps.push(step);
        if !held {
            break;
        }
    }
    steps
}

/// What a clinician does when its time comes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Job {
    Poll,
    Turn,
}

fn key(parts: &str) -> String {
    bleep::imserver::wire::encode_component(parts.as_bytes())
}

/// The requests of one job of clinician `c` (pairs: c and c ^ 1).
fn requests(c: usize, job: Job, turn: u64, rng: &mut Rng) -> Vec<String> {
    let pair = c / 2;
    let peer = c ^ 1;
    let get = |k: String| format!("/IMserver.php?action=get&key={}", key(&k));
    let set =
        |k: String, v: &str| format!("/IMserver.php?action=set&key={}&value={}", key(&k), key(v));
    match job {
        Job::Poll => {
            let check = if rng.below(2) == 0 {
                format!("load/{pair}/__waiting__")
            } else {
                format!("load/{pair}/record/{c}")
            };
            vec![get(format!("load/{pair}/record/{peer}")), get(check)]
        }
        Job::Turn => {
            let message = format!("load/{pair}/m/{c}/{turn}");
            let text = "x".repeat(400);
            let record = format!(
                "{{\"head\":{turn},\"read\":{turn},\"pad\":\"{}\"}}",
                "r".repeat(120)
            );
            vec![
                set(message.clone(), &text),
                get(message),
                set(format!("load/{pair}/record/{c}"), &record),
                set(
                    format!("load/{pair}/__waiting__"),
                    if c.is_multiple_of(2) { "p0" } else { "p1" },
                ),
            ]
        }
    }
}

/// N clinicians for WARM_UP + MEASURE; figures of the measured part.
fn measure(stack: &Stack, clinicians: usize) -> Step {
    let port = stack.port;
    let keep_alive = stack.keep_alive;
    let (tx, rx) = mpsc::channel::<(Instant, Vec<String>)>();
    let rx = Arc::new(Mutex::new(rx));
    let start = Instant::now() + Duration::from_millis(100);
    let measure_from = start + WARM_UP;
    let measure_to = measure_from + MEASURE;
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let rx = Arc::clone(&rx);
            thread::spawn(move || {
                let browser = browser(keep_alive);
                let (mut latencies, mut errors) = (Vec::new(), 0usize);
                loop {
                    let job = rx.lock().map(|r| r.recv()).ok().and_then(|r| r.ok());
                    let Some((due, paths)) = job else { break };
                    let counted = due >= measure_from && due < measure_to;
                    let mut from = due;
                    for path in paths {
                        let ok = fetch(&browser, port, &path);
                        let done = Instant::now();
                        if counted {
                            if ok {
                                latencies.push(done.duration_since(from).as_secs_f64() * 1000.0);
                            } else {
                                errors += 1;
                            }
                        }
                        from = done;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();

    // The schedule: every clinician at a random phase of its poll and turn.
    let mut rng = Rng::new(clinicians as u64);
    let mut due: BinaryHeap<Reverse<(Instant, usize, Job, u64)>> = BinaryHeap::new();
    for c in 0..clinicians {
        let poll_at = start + POLL.mul_f64(rng.below(1_000_000) as f64 / 1e6);
        let turn_at = start + TURN.mul_f64(rng.below(1_000_000) as f64 / 1e6);
        due.push(Reverse((poll_at, c, Job::Poll, 0)));
        due.push(Reverse((turn_at, c, Job::Turn, 1)));
    }
    // The server's CPU time when the measured part begins, read by a thread
    // of its own: this loop must not wait for it, or the jobs due meanwhile
    // would all go at once.
    let groups = stack_groups(stack);
    let cpu_before = {
        let groups = groups.clone();
        thread::spawn(move || cpu_seconds(&groups, measure_from))
    };
    while let Some(Reverse((at, c, job, turn))) = due.pop() {
        if at >= measure_to {
            break;
        }
        let now = Instant::now();
        if at > now {
            thread::sleep(at - now);
        }
        let _ = tx.send((at, requests(c, job, turn, &mut rng)));
        let next = match job {
            Job::Poll => (at + POLL, c, Job::Poll, turn),
            Job::Turn => (at + TURN, c, Job::Turn, turn + 1),
        };
        due.push(Reverse(next));
    }
    let cpu_after = cpu_seconds(&groups, Instant::now());
    let cpu_before = cpu_before.join().unwrap_or(cpu_after);
    drop(tx);
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for worker in workers {
        if let Ok((l, e)) = worker.join() {
            latencies.extend(l);
            errors += e;
        }
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let requests = latencies.len() + errors;
    Step {
        clinicians,
        requests,
        errors,
        rps: requests as f64 / MEASURE.as_secs_f64(),
        p50_ms: util::quantile(&latencies, 0.5),
        p99_ms: util::quantile(&latencies, 0.99),
        cpu_ms: (cpu_after - cpu_before).max(0.0) * 1000.0 / requests.max(1) as f64,
    }
}

/// One simulated browser's HTTP client. With `keep_alive` it keeps its
/// connection to the server open between requests (HTTP/1.1), as a browser
/// that polls every few seconds does; without, a new one per request.
fn browser(keep_alive: bool) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .max_idle_connections_per_host(if keep_alive { 1 } else { 0 })
        .build()
        .into()
}

/// GETs `path` from 127.0.0.1:`port`: whether it answered 200 with the
/// whole body.
fn fetch(browser: &ureq::Agent, port: u16, path: &str) -> bool {
    match browser.get(format!("http://127.0.0.1:{port}{path}")).call() {
        Ok(mut answer) => answer.status() == 200 && answer.body_mut().read_to_vec().is_ok(),
        Err(_) => false,
    }
}

/// The process groups of the stack's processes.
fn stack_groups(stack: &Stack) -> HashSet<i64> {
    stack
        .groups
        .iter()
        .filter_map(|g| g.id())
        .map(i64::from)
        .collect()
}

/// CPU seconds used so far by the stack: every process of these process
/// groups and every descendant of their leaders (PostgreSQL's backends,
/// whatever process group they are in), their own time and that of
/// children they reaped, read once `at` has come.
fn cpu_seconds(groups: &HashSet<i64>, at: Instant) -> f64 {
    let now = Instant::now();
    if at > now {
        thread::sleep(at - now);
    }
    // pid -> (parent, process group, utime + stime + cutime + cstime).
    let mut processes: HashMap<i64, (i64, i64, u64)> = HashMap::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i64>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name, which is in parentheses.
        let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<i64>().ok())
                .unwrap_or(-1)
        };
        // ppid and pgrp are fields 4 and 5 of stat; utime, stime, cutime,
        // cstime 14-17.
        let time = (11..=14).map(|i| field(i).max(0) as u64).sum();
        processes.insert(pid, (field(1), field(2), time));
    }
    let ours = |mut pid: i64| {
        // Up the parents: a process of the stack, or a descendant of one.
        for _ in 0..64 {
            let Some(&(parent, group, _)) = processes.get(&pid) else {
                return false;
            };
            if groups.contains(&group) || groups.contains(&pid) {
                return true;
            }
            pid = parent;
        }
        false
    };
    let ticks = 100.0; // USER_HZ on Linux
    let total: u64 = processes
        .iter()
        .filter(|(&pid, _)| ours(pid))
        .map(|(_, &(_, _, time))| time)
        .sum();
    total as f64 / ticks
}

// ---------------------------------------------------------------------------
// The stacks

fn copy_server(dir: &TempDir) -> Result<PathBuf> {
    let www = dir.join("www");
    fs::create_dir_all(&www).map_err(|e| e.to_string())?;
    fs::copy(
        util::repo_root().join("server/IMserver.php"),
        www.join("IMserver.php"),
    )
    .map_err(|e| e.to_string())?;
    Ok(www)
}

fn start_php_s() -> Result<Stack> {
    let dir = TempDir::new("load-sqlite");
    let www = copy_server(&dir)?;
    let dsn = format!("sqlite:{}", dir.join("store.sqlite").display());
    let server = PhpServer::start(&www, &[("BLEEP_IMSERVER_DSN", dsn)], 8, &dir)?;
    let port = server.port;
    Ok(Stack {
        port,
        keep_alive: false,
        groups: vec![server.into_group()],
        _dir: dir,
    })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn postgres_bin() -> Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "PostgreSQL is not installed (run scripts/setup)".to_string())?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((v, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, b)| b)
        .ok_or_else(|| "no PostgreSQL server binaries".into())
}

fn as_postgres(program: &Path) -> Command {
    if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn wait_port(group: &mut Group, port: u16, log: &Path) -> Result<()> {
    let up = util::wait_until(Duration::from_secs(20), || {
        port_is_open(port) || group.exited().is_some()
    });
    if !up || group.exited().is_some() {
        return Err(format!("not listening on {port}: {}", util::tail(log, 10)));
    }
    Ok(())
}

/// The template `deploy/NAME` with its `@...@` values filled in.
fn render(name: &str, values: &[(&str, String)]) -> Result<String> {
    let mut text = fs::read_to_string(util::repo_root().join("deploy").join(name))
        .map_err(|e| format!("deploy/{name}: {e}"))?;
    for (k, v) in values {
        text = text.replace(&format!("@{k}@"), v);
    }
    Ok(text)
}

fn start_deployed() -> Result<Stack> {
    let dir = TempDir::new("load-deployed");
    let server = copy_server(&dir)?;
    let mut groups = Vec::new();

    // PostgreSQL, in the foreground as a group of its own.
    let bin = postgres_bin()?;
    let pg = dir.join("pg");
    fs::create_dir_all(&pg).map_err(|e| e.to_string())?;
    if running_as_root() {
        Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(&pg)
            .status()
            .map_err(|e| e.to_string())?;
    }
    let data = pg.join("data");
    let out = as_postgres(&bin.join("initdb"))
        .args([
            "-U",
            "bleep",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "-D",
        ])
        .arg(&data)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("initdb: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let pg_port = free_port();
    let pg_log = pg.join("postgres.log");
    let mut postgres = as_postgres(&bin.join("postgres"));
    postgres
        .arg("-D")
        .arg(&data)
        .args(["-p", &pg_port.to_string(), "-k"])
        .arg(&pg)
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "max_connections=300",
        ]);
    let mut group = Group::spawn("postgres", &mut postgres, &pg_log)?;
    wait_port(&mut group, pg_port, &pg_log)?;
    groups.push(group);
    let dsn = format!("pgsql:host={};port={pg_port};dbname=postgres", pg.display());

    // Two PHP-FPM nodes from deploy/php-fpm-pool.conf.
    let fpm = fs::read_dir("/usr/sbin")
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("php-fpm"))
        })
        .max()
        .ok_or("PHP-FPM is not installed (run scripts/setup)")?;
    let mut nodes = Vec::new();
    for name in ["a", "b"] {
        let port = free_port();
        let folder = dir.join(format!("fpm-{name}"));
        fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        let user = if running_as_root() {
            "www-data".to_string()
        } else {
            std::env::var("USER").unwrap_or_default()
        };
        let pool = render(
            "php-fpm-pool.conf",
            &[
                ("POOL", format!("bleep_{name}")),
                ("LISTEN", format!("127.0.0.1:{port}")),
                ("ALLOWED", "127.0.0.1".into()),
                ("USER", user),
                ("DSN", dsn.clone()),
                ("DB_USER", "bleep".into()),
                ("DB_PASSWORD", "unused".into()),
            ],
        )?;
        fs::write(folder.join("pool.conf"), pool).map_err(|e| e.to_string())?;
        fs::write(
            folder.join("php-fpm.conf"),
            format!(
                "[global]\npid = {0}/fpm.pid\nerror_log = {0}/fpm.log\ndaemonize = no\ninclude = {0}/pool.conf\n",
                folder.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        let mut command = Command::new(&fpm);
        command
            .arg("--nodaemonize")
            .arg("--fpm-config")
            .arg(folder.join("php-fpm.conf"));
        if running_as_root() {
            command.arg("--allow-to-run-as-root");
        }
        let log = folder.join("fpm.log");
        let mut group = Group::spawn(&format!("php-fpm {name}"), &mut command, &log)?;
        wait_port(&mut group, port, &log)?;
        groups.push(group);
        nodes.push(port);
    }

    // nginx with the deploy site over both nodes.
    let ngx = dir.join("nginx");
    let temp = ngx.join("temp");
    fs::create_dir_all(&temp).map_err(|e| e.to_string())?;
    let _ = Command::new("chmod").arg("0777").arg(&temp).status();
    let port = free_port();
    let site = render(
        "nginx-site.conf",
        &[
            ("NAME", "load".into()),
            ("LISTEN", format!("127.0.0.1:{port}")),
            ("DIST", server.display().to_string()),
            ("SERVER", server.display().to_string()),
            (
                "PHP_NODES",
                nodes
                    .iter()
                    .map(|p| format!("server 127.0.0.1:{p}; "))
                    .collect(),
            ),
        ],
    )?;
    fs::write(ngx.join("site.conf"), site).map_err(|e| e.to_string())?;
    let t = temp.display();
    fs::write(
        ngx.join("nginx.conf"),
        format!(
            "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 4096; }}\nhttp {{ include /etc/nginx/mime.types; access_log off;\n\
             client_body_temp_path {t}/b; proxy_temp_path {t}/p; fastcgi_temp_path {t}/f;\n\
             uwsgi_temp_path {t}/u; scgi_temp_path {t}/s;\ninclude {d}/site.conf;\n}}\n",
            d = ngx.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut command = Command::new("/usr/sbin/nginx");
    command
        .arg("-p")
        .arg(&ngx)
        .arg("-c")
        .arg(ngx.join("nginx.conf"));
    let log = ngx.join("stderr.log");
    let mut group = Group::spawn("nginx", &mut command, &log)?;
    wait_port(&mut group, port, &log)?;
    groups.push(group);
    // The table is made by the first request.
    let first = http::get(port, "/IMserver.php?action=keys", Duration::from_secs(10))?;
    if first.status != 200 {
        return Err(format!(
            "the deployed stack answered {}: {}",
            first.status,
            String::from_utf8_lossy(&first.body)
        ));
    }
    Ok(Stack {
        port,
        keep_alive: true,
        groups,
        _dir: dir,
    })
}
