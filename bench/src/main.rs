//! Bleep's benchmarks: the seven budgets of the performance issue (budget 2
//! also for the inbox of issue 17: 50 conversations), the
//! cost of sealing a message (issue 15, budget 8) and how many clinicians
//! one machine's server holds (issue 16, budget 9), measured and printed as
//! one table (see BENCHMARKS.md). Run through `scripts/bench`, which builds
//! the release app first (and for budget 8 a second one with the
//! `bench-probe` feature):
//!
//! ```text
//! bleep-bench --dist DIR [--probe-dist DIR] [--rustc-wasm FILE] [--markdown FILE] [--only 1,2,...]
//! ```
//!
//! Everything listens on 127.0.0.1 only, every process started here is killed
//! when its benchmark ends, and a benchmark that fails to run gives an ERROR
//! row instead of stopping the others.

mod browser;
mod bundle;
mod data;
mod http;
mod inbox;
mod inbox_polls;
mod load;
mod php;
mod poll;
mod report;
mod sealing;
mod server;
mod util;
mod webdriver;

use std::path::PathBuf;
use std::time::Instant;

use report::Row;

struct Options {
    dist: PathBuf,
    /// The app built with `--features bench-probe`, for budget 8.
    probe_dist: PathBuf,
    rustc_wasm: Option<PathBuf>,
    markdown: Option<PathBuf>,
    only: Vec<u32>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        dist: util::repo_root().join("dist"),
        probe_dist: util::repo_root().join("bench/target/dist-probe"),
        rustc_wasm: None,
        markdown: None,
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--dist" => options.dist = PathBuf::from(value()?),
            "--probe-dist" => options.probe_dist = PathBuf::from(value()?),
            "--rustc-wasm" => options.rustc_wasm = Some(PathBuf::from(value()?)),
            "--markdown" => options.markdown = Some(PathBuf::from(value()?)),
            "--only" => {
                options.only = value()?
                    .split(',')
                    .map(|n| {
                        n.trim()
                            .parse()
                            .map_err(|_| format!("bad budget number {n}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "-h" | "--help" => {
                println!(
                    "bleep-bench --dist DIR [--probe-dist DIR] [--rustc-wasm FILE] [--markdown FILE] [--only 1,2,...]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

fn wanted(options: &Options, n: u32) -> bool {
    options.only.is_empty() || options.only.contains(&n)
}

/// Runs one benchmark, turning an error or a panic into an ERROR row.
fn attempt(
    name: &str,
    sections: &mut Vec<(String, String)>,
    run: impl FnOnce(&mut String) -> Result<Vec<Row>, String>,
) -> Vec<Row> {
    let start = Instant::now();
    eprintln!("bench: {name} ...");
    let mut details = String::new();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&mut details)));
    let rows = match outcome {
        Ok(Ok(rows)) => rows,
        Ok(Err(error)) => {
            details.push_str(&format!("\nDid not run: {error}\n"));
            vec![Row::failed_to_run(name, &error)]
        }
        Err(panic) => {
            let error = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            details.push_str(&format!("\nDid not run: {error}\n"));
            vec![Row::failed_to_run(name, &error)]
        }
    };
    eprintln!("bench: {name}: {:.1} s", start.elapsed().as_secs_f64());
    sections.push((name.to_owned(), details));
    rows
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let version = |program: &str, arg: &str| {
        std::process::Command::new(program)
            .arg(arg)
            .output()
            .ok()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default()
    };
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!(
        "{cores} cores (nproc), {cpu}, {memory} memory, load average {load} at the start; {}; {}; {}",
        version("php", "--version").split(" (").next().unwrap_or(""),
        version(&std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()), "--version"),
        version("rustc", "--version"),
    )
}

fn main() {
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bleep-bench: {e}");
            std::process::exit(2);
        }
    };
    let machine = machine();
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut sections = Vec::new();

    if wanted(&options, 1) {
        rows.extend(attempt("1. Bundle", &mut sections, |d| {
            Ok(vec![bundle::run(
                &options.dist,
                options.rustc_wasm.as_deref(),
                d,
            )?])
        }));
    }
    if wanted(&options, 2) {
        rows.extend(attempt("2. Poll economy", &mut sections, |d| {
            Ok(vec![poll::run(d)?])
        }));
        rows.extend(attempt(
            "2. Poll economy, inbox (50 conversations)",
            &mut sections,
            |d| Ok(vec![inbox::run(d)?]),
        ));
    }
    if wanted(&options, 5) {
        rows.extend(attempt("5. Server", &mut sections, |d| {
            Ok(vec![server::run(d)?])
        }));
    }
    if wanted(&options, 9) {
        rows.extend(attempt("9. Load", &mut sections, load::run));
    }
    let browser_budgets = [3, 4, 6, 7, 8];
    if browser_budgets.iter().any(|n| wanted(&options, *n)) {
        match webdriver::Driver::start() {
            Ok(mut driver) => {
                if wanted(&options, 7) {
                    rows.extend(attempt("7. Start-up", &mut sections, |d| {
                        Ok(vec![browser::startup(&driver, &options.dist, d)?])
                    }));
                }
                if wanted(&options, 4) || wanted(&options, 6) {
                    let mut got = attempt("4. Rendering and 6. memory", &mut sections, |d| {
                        let outcome = browser::render_and_memory(&driver, &options.dist, d)?;
                        Ok(vec![outcome.render, outcome.memory])
                    });
                    if got.len() == 1 {
                        // Both budgets share the run that failed.
                        got.push(Row {
                            budget: "6. Memory".into(),
                            ..got[0].clone()
                        });
                    }
                    rows.extend(got);
                }
                if wanted(&options, 3) {
                    rows.extend(attempt("3. Delivery latency", &mut sections, |d| {
                        Ok(vec![browser::latency(&driver, &options.dist, d)?])
                    }));
                }
                if wanted(&options, 8) {
                    rows.extend(attempt("8. Sealing", &mut sections, |d| {
                        Ok(vec![sealing::run(&driver, &options.probe_dist, d)?])
                    }));
                }
                driver.kill();
            }
            Err(e) => {
                for n in browser_budgets.iter().filter(|n| wanted(&options, **n)) {
                    rows.push(Row::failed_to_run(&format!("{n}. (browser)"), &e));
                }
            }
        }
    }
    rows.sort_by_key(|r| {
        r.budget
            .split('.')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(99)
    });

    let elapsed = started.elapsed().as_secs_f64();
    println!("\n{}", report::text_table(&rows));
    println!("Machine: {machine}\nTook {elapsed:.0} s.");
    if let Some(path) = &options.markdown {
        let mut text = format!(
            "Machine: {machine}\n\nTook {elapsed:.0} s.\n\n{}\n",
            report::markdown_table(&rows)
        );
        for (name, details) in &sections {
            text.push_str(&format!("### {name}\n\n{details}\n"));
        }
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("bleep-bench: cannot write {}: {e}", path.display());
        }
    }
    let all_met = rows.iter().all(|r| r.pass == Some(true));
    std::process::exit(if all_met { 0 } else { 1 });
}
