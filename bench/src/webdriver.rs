//! Headless Chromium through ChromeDriver, spoken to in plain WebDriver JSON
//! over the std client (no async runtime). Each [`Browser`] has a fresh
//! profile: one Bleep device. Chrome DevTools commands go through
//! ChromeDriver's `goog/cdp/execute`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::http;
use crate::util::{self, free_port, Group, Result, TempDir};

const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--enable-precise-memory-info",
    "--hide-scrollbars",
    "--lang=en-GB",
    "--window-size=1280,900",
];

/// ChromeDriver on a free port of 127.0.0.1; dropping it kills it and every
/// browser it started (they share its process group).
pub struct Driver {
    group: Group,
    port: u16,
    log: PathBuf,
    dir: TempDir,
}

impl Driver {
    pub fn start() -> Result<Driver> {
        let dir = TempDir::new("chromedriver");
        let port = free_port();
        let log = dir.join("chromedriver.log");
        let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let mut command = Command::new(&program);
        command
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!("--log-path={}", log.display()));
        let mut group = Group::spawn("chromedriver", &mut command, &dir.join("stdout.log"))?;
        let ready = util::wait_until(Duration::from_secs(15), || {
            group.exited().is_some()
                || http::json(port, "GET", "/status", None, Duration::from_secs(2))
                    .map(|a| String::from_utf8_lossy(&a.body).contains("\"ready\":true"))
                    .unwrap_or(false)
        });
        if !ready || group.exited().is_some() {
            return Err(format!(
                "chromedriver did not start: {}",
                util::tail(&log, 10)
            ));
        }
        Ok(Driver {
            group,
            port,
            log,
            dir,
        })
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        timeout: Duration,
    ) -> Result<Value> {
        let text = body.map(|b| b.to_string());
        let answer = http::json(self.port, method, path, text.as_deref(), timeout)?;
        let value: Value = serde_json::from_slice(&answer.body).map_err(|e| {
            format!(
                "{method} {path}: bad JSON from chromedriver ({e}): {}",
                String::from_utf8_lossy(&answer.body)
            )
        })?;
        if answer.status != 200 {
            let message = value["value"]["message"].as_str().unwrap_or("?");
            return Err(format!(
                "{method} {path}: HTTP {}: {}",
                answer.status,
                message.lines().next().unwrap_or("")
            ));
        }
        Ok(value["value"].clone())
    }

    /// A new headless Chromium with a fresh profile.
    pub fn open(&self, label: &str) -> Result<Browser<'_>> {
        let profile = TempDir::new(&format!("profile-{label}"));
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        if let Ok(extra) = std::env::var("BLEEP_BENCH_CHROMIUM_ARGS") {
            args.extend(extra.split_whitespace().map(str::to_owned));
        }
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "unhandledPromptBehavior": "ignore",
                "timeouts": { "script": 120_000, "pageLoad": 30_000, "implicit": 0 },
                "goog:chromeOptions": { "binary": binary, "args": args },
            }}
        });
        let value = self
            .call(
                "POST",
                "/session",
                Some(capabilities),
                Duration::from_secs(60),
            )
            .map_err(|e| {
                format!(
                    "cannot open Chromium: {e}; chromedriver log: {}",
                    util::tail(&self.log, 5)
                )
            })?;
        let id = value["sessionId"]
            .as_str()
            .ok_or("no sessionId")?
            .to_owned();
        Ok(Browser {
            driver: self,
            id,
            label: label.to_owned(),
            _profile: profile,
        })
    }

    pub fn kill(&mut self) {
        self.group.kill();
        let _ = &self.dir;
    }
}

/// One browser window (one Bleep device).
pub struct Browser<'d> {
    driver: &'d Driver,
    id: String,
    pub label: String,
    _profile: TempDir,
}

impl Browser<'_> {
    fn call(
        &self,
        method: &str,
        what: &str,
        body: Option<Value>,
        timeout: Duration,
    ) -> Result<Value> {
        self.driver
            .call(
                method,
                &format!("/session/{}/{what}", self.id),
                body,
                timeout,
            )
            .map_err(|e| format!("{}: {e}", self.label))
    }

    pub fn goto(&self, url: &str) -> Result<()> {
        self.call(
            "POST",
            "url",
            Some(json!({ "url": url })),
            Duration::from_secs(60),
        )
        .map(|_| ())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn exec(&self, script: &str, args: Value) -> Result<Value> {
        self.call(
            "POST",
            "execute/sync",
            Some(json!({ "script": script, "args": args })),
            Duration::from_secs(120),
        )
    }

    /// Runs `script` whose last argument is a callback to call with the result.
    pub fn exec_async(&self, script: &str, args: Value) -> Result<Value> {
        self.call(
            "POST",
            "execute/async",
            Some(json!({ "script": script, "args": args })),
            Duration::from_secs(150),
        )
    }

    /// A Chrome DevTools Protocol command.
    pub fn cdp(&self, cmd: &str, params: Value) -> Result<Value> {
        self.call(
            "POST",
            "goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
            Duration::from_secs(60),
        )
    }

    /// Runs `source` in every new document before its own scripts.
    pub fn on_new_document(&self, source: &str) -> Result<()> {
        self.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": source }),
        )
        .map(|_| ())
    }

    /// Waits (in the page, up to `timeout_ms`) until `condition` (a JS
    /// expression) is truthy; returns its value, or an error saying what
    /// `describe` (a JS expression) showed last.
    pub fn wait_for(&self, condition: &str, describe: &str, timeout_ms: u64) -> Result<Value> {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             const deadline = Date.now() + {timeout_ms};
             const check = () => {{
                 let value = null;
                 try {{ value = ({condition}); }} catch (e) {{ value = null; }}
                 if (value) {{ done({{ ok: value }}); return; }}
                 if (Date.now() > deadline) {{ let d = null; try {{ d = ({describe}); }} catch (e) {{ d = String(e); }} done({{ timeout: d }}); return; }}
                 ((window.__bench && window.__bench.setTimeout) || setTimeout)(check, 10);
             }};
             check();"
        );
        let value = self.exec_async(&script, json!([]))?;
        if value.get("ok").is_some() {
            Ok(value["ok"].clone())
        } else {
            Err(format!(
                "{}: waited {timeout_ms} ms for `{condition}`; saw {}",
                self.label, value["timeout"]
            ))
        }
    }

    pub fn close(self) {
        let _ = self.driver.call(
            "DELETE",
            &format!("/session/{}", self.id),
            None,
            Duration::from_secs(20),
        );
    }
}
