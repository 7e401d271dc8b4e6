//! The browser tests' harness: headless Chromium driven through ChromeDriver.
//!
//! - [`ChromeDriver`] runs `chromedriver` on a free port and kills it, with
//!   every browser it started, on drop (also when a test panics);
//! - [`Window`] is one browser with its own fresh profile, so one Bleep
//!   device, with waits that poll every [`POLL`] up to a timeout and fail
//!   saying what they saw last, plus typing, keys, screenshots and axe-core;
//! - [`AppHost`] serves the built app and forwards `IMserver.php` to PHP, so
//!   a page still loads while the PHP server is stopped;
//! - [`Stack`] starts our IMserver.php on a fresh store, the [`AppHost`] and
//!   ChromeDriver together;
//! - [`run`] runs an async test body on a Tokio runtime within a time limit.
//!
//! The app is found through `data-testid` hooks only (see README.md). Pages
//! are read with small scripts that return one consistent snapshot per poll.

use std::fs::{self, File};
use std::future::Future;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{encode_query_value, free_port, repo_root, require_php_module, PhpServer, TempDir};

/// What to tell the developer when the browser tests cannot run here.
pub const BROWSER_HINT: &str =
    "run scripts/test: it installs Chromium, ChromeDriver and axe-core, builds the app into dist/ and runs these tests";

/// How often the waits look again.
pub const POLL: Duration = Duration::from_millis(100);

/// The default limit of one wait.
pub const WAIT: Duration = Duration::from_secs(15);

/// The flags Chromium needs here (as root, headless, talking only to 127.0.0.1).
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
    "--hide-scrollbars",
    "--lang=en-GB",
];

/// Desktop notifications allowed, and each one recorded in
/// `window.__notes` (as [title, body, time]) instead of shown: for
/// [`Window::before_each_page`].
pub const RECORD_NOTIFICATIONS: &str = "
window.__notes = [];
window.Notification = class Notification {
  constructor(title, options) { window.__notes.push([title, options && options.body, Date.now()]); }
  static get permission() { return 'granted'; }
  static requestPermission() { return Promise.resolve('granted'); }
  close() {}
};
";

/// Makes `prefers-color-scheme: dark` match, as on a computer set to dark
/// mode (checked: `--blink-settings=preferredColorScheme=0` works too).
const DARK_FLAG: &str = "--force-dark-mode";

// ---------------------------------------------------------------------------
// Running a test

/// Runs `test` on a two-thread Tokio runtime; panics if it takes longer than
/// `limit` (the test, and with it every process it started, is dropped first).
pub fn run<F: Future<Output = ()>>(limit: Duration, test: F) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("cannot start a Tokio runtime");
    runtime.block_on(async {
        if tokio::time::timeout(limit, test).await.is_err() {
            panic!("the test did not finish within {limit:?}");
        }
    });
}

// ---------------------------------------------------------------------------
// Where things are

/// The built app: `$BLEEP_DIST`, else `<repo>/dist`. Panics with a hint when
/// it has not been built.
pub fn dist_dir() -> PathBuf {
    let dir = std::env::var_os("BLEEP_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("dist"));
    let has_wasm = fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().ends_with(".wasm"))
        })
        .unwrap_or(false);
    assert!(
        dir.join("index.html").is_file() && dir.join("IMserver.php").is_file() && has_wasm,
        "the built app is missing in {} (index.html, IMserver.php and a .wasm file are needed): {BROWSER_HINT}",
        dir.display()
    );
    dir
}

/// A second build of the app, with the cargo feature `feature`:
/// `$<variable>`, else `target/<folder>` (where `scripts/test` builds it).
/// Panics with the command that builds it when it is missing.
pub fn feature_dist(variable: &str, folder: &str, feature: &str) -> PathBuf {
    let dir = std::env::var_os(variable)
        .map_or_else(|| repo_root().join("target").join(folder), PathBuf::from);
    assert!(
        dir.join("index.html").is_file() && dir.join("IMserver.php").is_file(),
        "no app built with the `{feature}` feature in {}: run scripts/build --features {feature} --dist target/{folder}",
        dir.display()
    );
    dir
}

/// A copy of the built app ([`dist_dir`]) in a folder of its own, which a
/// test may change (`label` names the folder). Subfolders are copied too,
/// as the service worker lists their files (scripts/offline-shell.mjs).
pub fn dist_copy(label: &str) -> TempDir {
    let copy = TempDir::new(label);
    copy_tree(&copy, &dist_dir(), Path::new(""));
    copy
}

/// Copies every file under `folder` into `copy`, at `relative`.
fn copy_tree(copy: &TempDir, folder: &Path, relative: &Path) {
    for entry in fs::read_dir(folder).expect("a folder of the built app (dist/)") {
        let path = entry.expect("a file of dist/").path();
        let name = relative.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_tree(copy, &path, &name);
        } else if path.is_file() {
            copy.copy_in(&path, &name);
        }
    }
}

/// `$CHROMEDRIVER`, else `chromedriver` from the PATH.
fn chromedriver_program() -> PathBuf {
    std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("chromedriver"))
}

/// `$CHROMIUM`, else Debian's `/usr/bin/chromium`.
fn chromium_program() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// axe-core as installed by `scripts/setup --browser`.
pub fn axe_source_path() -> PathBuf {
    repo_root().join(".bleep/tools/node_modules/axe-core/axe.min.js")
}

/// `<repo>/target/screenshots/<name>`, creating the folder.
pub fn screenshot_path(name: &str) -> PathBuf {
    let dir = repo_root().join("target").join("screenshots");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir.join(name)
}

// ---------------------------------------------------------------------------
// ChromeDriver

/// A `chromedriver` on a free port of 127.0.0.1. Dropping it kills it and
/// every browser it started (they share its process group), then removes
/// the browsers' profiles.
pub struct ChromeDriver {
    child: Option<Child>,
    port: u16,
    log_path: PathBuf,
    /// Declared after `child`: removed only once the browsers are gone.
    profiles: Mutex<Vec<TempDir>>,
    _log_dir: TempDir,
}

impl ChromeDriver {
    /// Starts ChromeDriver and waits until it is ready; panics with its log
    /// when it cannot.
    pub fn start() -> ChromeDriver {
        let log_dir = TempDir::new("chromedriver");
        let log_path = log_dir.join("chromedriver.log");
        let mut driver = ChromeDriver {
            child: None,
            port: 0,
            log_path,
            profiles: Mutex::new(Vec::new()),
            _log_dir: log_dir,
        };
        let mut last_error = String::new();
        for _attempt in 0..3 {
            driver.port = free_port();
            match driver.spawn_and_wait(Duration::from_secs(15)) {
                Ok(()) => return driver,
                Err(e) => {
                    driver.kill();
                    last_error = e;
                }
            }
        }
        panic!("ChromeDriver did not start: {last_error}");
    }

    fn spawn_and_wait(&mut self, timeout: Duration) -> Result<(), String> {
        let program = chromedriver_program();
        let log =
            File::create(&self.log_path).map_err(|e| format!("cannot create the log: {e}"))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(&program)
            .arg(format!("--port={}", self.port))
            .arg(format!("--log-path={}", self.log_path.display()))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run {} ({e}): {BROWSER_HINT}", program.display()))?;
        let child = self.child.insert(child);
        let log_path = &self.log_path;
        wait_until_ready(child, self.port, "chromedriver", timeout, || {
            last_lines(log_path)
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The end of ChromeDriver's log, for failure messages.
    pub fn log(&self) -> String {
        last_lines(&self.log_path)
    }

    /// Opens a browser window with a fresh profile (a new Bleep device).
    pub async fn open(&self, options: WindowOptions) -> Window {
        let profile = TempDir::new("chromium-profile");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!(
            "--window-size={},{}",
            options.width, options.height
        ));
        if options.dark {
            args.push(DARK_FLAG.to_string());
        }
        args.extend(options.flags.iter().cloned());
        self.profiles.lock().unwrap().push(profile);

        let capabilities = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            // Leave alerts open so that a test can see one (none should ever appear).
            "unhandledPromptBehavior": "ignore",
            "timeouts": { "script": 60_000, "pageLoad": 20_000, "implicit": 0 },
            "goog:chromeOptions": {
                "binary": chromium_program().to_string_lossy(),
                "args": args,
                "excludeSwitches": if options.throttled {
                    json!(["disable-background-timer-throttling", "disable-backgrounding-occluded-windows", "disable-renderer-backgrounding"])
                } else {
                    json!([])
                },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot open a Chromium window ({e}): {BROWSER_HINT}\nChromeDriver log:\n{}",
                    self.log()
                )
            });
        let window = Window {
            client,
            label: options.label.clone(),
        };
        window.set_size(options.width, options.height).await;
        window
    }

    fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The browsers are in ChromeDriver's process group: end them all.
        super::kill_process_group(&mut child);
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        self.kill();
        // Give the killed browsers a moment to go before their profiles are removed.
        thread::sleep(Duration::from_millis(100));
    }
}

/// The last 30 lines of the log at `path`, for failure messages.
fn last_lines(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Waits until the WebDriver server `child` (named `name`) says on `port`
/// that it is ready; why not, with `log()`, when it exits or `timeout` passes.
pub(super) fn wait_until_ready(
    child: &mut Child,
    port: u16,
    name: &str,
    timeout: Duration,
    log: impl Fn() -> String,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{name} exited ({status}); log:\n{}", log()));
        }
        if driver_is_ready(port) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{name} was not ready within {timeout:?}; log:\n{}",
                log()
            ));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a WebDriver server's `/status` (ChromeDriver's, geckodriver's)
/// says it is ready. (ChromeDriver refuses HTTP/1.0, so this is not
/// [`super::http_get`].)
pub(super) fn driver_is_ready(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    answer.starts_with("HTTP/1.1 200") && answer.contains("\"ready\":true")
}

// ---------------------------------------------------------------------------
// Windows

/// How to open a window.
#[derive(Clone, Debug)]
pub struct WindowOptions {
    /// Names the window in failure messages ("Alice", "Bob (dark)").
    pub label: String,
    pub width: u32,
    pub height: u32,
    /// Whether the page should see `prefers-color-scheme: dark`.
    pub dark: bool,
    /// More Chromium flags (a feature of the browser to turn on, say).
    pub flags: Vec<String>,
    /// Whether a hidden tab's timers are slowed as in a browser someone
    /// uses (ChromeDriver turns that off unless asked not to).
    pub throttled: bool,
}

impl WindowOptions {
    /// A light 1280×800 window.
    pub fn new(label: &str) -> WindowOptions {
        WindowOptions {
            label: label.to_owned(),
            width: 1280,
            height: 800,
            dark: false,
            flags: Vec::new(),
            throttled: false,
        }
    }

    pub fn size(mut self, width: u32, height: u32) -> WindowOptions {
        self.width = width;
        self.height = height;
        self
    }

    pub fn dark(mut self) -> WindowOptions {
        self.dark = true;
        self
    }

    /// Hidden tabs' timers slowed down as the browser does for its users:
    /// ChromeDriver's own switches that stop that are left out.
    pub fn throttled(mut self) -> WindowOptions {
        self.throttled = true;
        self
    }

    /// Starts Chromium with `flag` as well.
    pub fn flag(mut self, flag: &str) -> WindowOptions {
        self.flags.push(flag.to_owned());
        self
    }
}

/// What a page shows, read at once by one script.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Snapshot {
    pub url: String,
    /// Whether the sign-in form is on screen.
    pub sign_in: bool,
    /// `data-state` of `server-status` (sign-in) and its text.
    pub server_status: Option<String>,
    pub server_status_text: Option<String>,
    /// `data-state` of `turn` and its text.
    pub turn: Option<String>,
    pub turn_text: Option<String>,
    /// `data-state` of `connection` and the text it shows.
    pub connection: Option<String>,
    pub connection_text: Option<String>,
    /// Whether `send` is disabled (`None`: no such button).
    pub send_disabled: Option<bool>,
    /// The value of `composer`.
    pub composer: Option<String>,
    pub composer_error: Option<String>,
    pub messages: Vec<Message>,
    /// Milliseconds since 1970 in the browser when this was taken.
    pub at_ms: f64,
}

impl Snapshot {
    /// `(from, text)` of every message, in display order.
    pub fn lines(&self) -> Vec<(String, String)> {
        self.messages
            .iter()
            .map(|m| (m.from.clone(), m.text.clone()))
            .collect()
    }

    /// The messages whose text is `text`.
    pub fn find(&self, text: &str) -> Vec<&Message> {
        self.messages.iter().filter(|m| m.text == text).collect()
    }

    pub fn turn_is(&self, state: &str) -> bool {
        self.turn.as_deref() == Some(state)
    }

    pub fn online(&self) -> bool {
        self.connection.as_deref() == Some("online")
    }
}

/// One `message` element.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Message {
    /// `data-from`: the sender as typed.
    pub from: String,
    /// `textContent` of `message-text`: exactly what was sent.
    pub text: String,
    /// `innerText` of `message-text`: what is on screen (line breaks only
    /// where they are displayed).
    pub shown: String,
    /// `data-status` (own messages only): pending, sent or read.
    pub status: Option<String>,
    /// Everything the message element says (time, status, retry notes).
    pub all_text: String,
    /// Whether `message-text` holds elements rather than only text.
    pub has_markup: bool,
}

/// One serious or critical accessibility problem found by axe-core.
#[derive(Clone, Debug, Deserialize)]
pub struct AxeViolation {
    pub id: String,
    pub impact: Option<String>,
    pub help: String,
    /// CSS selectors of the offending elements (at most five) and axe's summary.
    pub nodes: Vec<String>,
}

impl std::fmt::Display for AxeViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] {}: {}\n      {}",
            self.impact.as_deref().unwrap_or("?"),
            self.id,
            self.help,
            self.nodes.join("\n      ")
        )
    }
}

/// Defines `snap()`, which reads the whole page state (see [`Snapshot`]).
const SNAPSHOT_FN: &str = r#"
const snap = () => {
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const state = (id) => { const e = q(id); return e ? e.getAttribute('data-state') : null; };
  const text = (id) => { const e = q(id); return e ? e.textContent : null; };
  const send = q('send');
  const composer = q('composer');
  const messages = [...document.querySelectorAll('[data-testid="message"]')].map((m) => {
    const t = m.querySelector('[data-testid="message-text"]');
    return {
      from: m.getAttribute('data-from') ?? '',
      text: t ? t.textContent : '',
      shown: t ? t.innerText : '',
      status: m.getAttribute('data-status'),
      all_text: m.textContent,
      has_markup: t ? t.children.length > 0 : false,
    };
  });
  return {
    url: location.href,
    sign_in: q('sign-in') !== null,
    server_status: state('server-status'),
    server_status_text: text('server-status'),
    turn: state('turn'),
    turn_text: text('turn'),
    connection: state('connection'),
    // What it shows: its parts are hidden, not removed, when they do not apply.
    connection_text: q('connection') ? q('connection').innerText : null,
    send_disabled: send ? send.disabled : null,
    composer: composer ? composer.value : null,
    composer_error: text('composer-error'),
    messages,
    at_ms: Date.now(),
  };
};
"#;

/// A browser window (its own Chromium with its own profile).
pub struct Window {
    client: Client,
    label: String,
}

impl Window {
    /// A window of a WebDriver session already open (Chromium's or Firefox's).
    pub(super) fn new(client: Client, label: String) -> Window {
        Window { client, label }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// Opens `url` and waits until the app has put something on screen.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("{}: cannot open {url}: {e}", self.label));
        self.wait_until_mounted().await;
    }

    /// Reloads the page and waits until the app is back on screen.
    pub async fn reload(&self) {
        self.client
            .refresh()
            .await
            .unwrap_or_else(|e| panic!("{}: cannot reload: {e}", self.label));
        self.wait_until_mounted().await;
    }

    async fn wait_until_mounted(&self) {
        self.wait_until(
            "the app on screen (sign-in form or turn banner)",
            WAIT,
            |s| s.sign_in || s.turn.is_some(),
        )
        .await;
    }

    /// Waits until the conversation on screen has read its history (the turn
    /// banner is no longer `loading`) and is online.
    pub async fn wait_until_loaded(&self) -> Snapshot {
        self.wait_until("the conversation, loaded and online", WAIT, |s| {
            s.turn.as_deref().is_some_and(|t| t != "loading")
                && s.online()
                && s.send_disabled.is_some()
        })
        .await
    }

    /// Makes the viewport `width`×`height` CSS pixels.
    pub async fn set_size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("{}: cannot resize: {e}", self.label));
        // A headless window has no frame, but if the viewport came out
        // smaller than the window, grow the window by the difference.
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .ok()
            .and_then(|v| serde_json::from_value::<(u32, u32)>(v).ok());
        if let Some((w, h)) = inner {
            if (w, h) != (width, height) {
                let outer_w = (2 * width).saturating_sub(w).max(100);
                let outer_h = (2 * height).saturating_sub(h).max(100);
                let _ = self.client.set_window_size(outer_w, outer_h).await;
            }
        }
    }

    /// Runs `script` (a function body) with `args`; panics on a script error.
    pub async fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("{}: script failed: {e}\n{script}", self.label))
    }

    /// Sends the DevTools command `cmd` with `params` to this window's page
    /// (through ChromeDriver); returns its answer.
    pub async fn devtools(&self, cmd: &str, params: Value) -> Value {
        self.client
            .issue_cmd(DevTools {
                cmd: cmd.to_owned(),
                params,
            })
            .await
            .unwrap_or_else(|e| panic!("{}: DevTools {cmd} failed: {e}", self.label))
    }

    /// Runs `script` at the start of every page this window opens from now
    /// on, before the page's own scripts (to take away an API the app uses,
    /// as a browser without it would be).
    pub async fn before_each_page(&self, script: &str) {
        self.devtools(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": script }),
        )
        .await;
    }

    /// Runs `script` every [`POLL`] until `ok` holds for what it returns,
    /// for at most `timeout`; returns that. Panics with `what` and the last
    /// value when it does not.
    pub async fn wait_for_script(
        &self,
        what: &str,
        timeout: Duration,
        script: &str,
        ok: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.script(script, vec![]).await;
            if ok(&seen) {
                return seen;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}: waited {timeout:?} for {what}; last seen {seen}",
                    self.label
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// What the page's `localStorage` holds under `key` ("" if nothing).
    pub async fn stored(&self, key: &str) -> String {
        let value = self
            .script(
                "return localStorage.getItem(arguments[0]);",
                vec![json!(key)],
            )
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Makes the page believe its tab was hidden or shown again, as
    /// switching tabs does (headless Chromium has no tabs in front of one
    /// another).
    pub async fn set_hidden(&self, hidden: bool) {
        const SET_HIDDEN: &str = "
            const hidden = arguments[0];
            Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
            Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => hidden ? 'hidden' : 'visible' });
            document.dispatchEvent(new Event('visibilitychange'));
        ";
        self.script(SET_HIDDEN, vec![json!(hidden)]).await;
    }

    /// Clicks the button whose words are `label`; says whether there was one.
    pub async fn click_button(&self, label: &str) -> bool {
        let script = "const [label] = arguments; \
            for (const b of document.querySelectorAll('button')) \
              if (b.textContent.trim() === label) { b.click(); return true; } \
            return false;";
        self.script(script, vec![label.into()]).await == json!(true)
    }

    /// What the page shows now.
    pub async fn snapshot(&self) -> Snapshot {
        let value = self
            .script(&format!("{SNAPSHOT_FN}\nreturn snap();"), vec![])
            .await;
        serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("{}: unexpected snapshot ({e}): {value}", self.label))
    }

    /// Polls every [`POLL`] until `ready` holds, for at most `timeout`; panics
    /// with `what` and the last snapshot when it does not.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut(&Snapshot) -> bool,
    ) -> Snapshot {
        let deadline = Instant::now() + timeout;
        loop {
            // A page that is (re)loading cannot run scripts: count it as "not yet".
            let seen = match self
                .client
                .execute(&format!("{SNAPSHOT_FN}\nreturn snap();"), vec![])
                .await
            {
                Ok(value) => serde_json::from_value::<Snapshot>(value.clone())
                    .map_err(|e| format!("unexpected snapshot ({e}): {value}")),
                Err(e) => Err(format!("cannot read the page: {e}")),
            };
            if let Ok(snapshot) = &seen {
                if ready(snapshot) {
                    return snapshot.clone();
                }
            }
            if Instant::now() >= deadline {
                let seen = match seen {
                    Ok(snapshot) => format!("{snapshot:#?}"),
                    Err(e) => e,
                };
                panic!(
                    "{}: waited {timeout:?} for {what}; last seen: {seen}",
                    self.label
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until an element with `data-testid=testid` exists and returns it.
    pub async fn wait_for_testid(&self, testid: &str, timeout: Duration) -> Element {
        let css = testid_css(testid);
        let deadline = Instant::now() + timeout;
        loop {
            match self.client.find(Locator::Css(&css)).await {
                Ok(element) => return element,
                Err(e) if Instant::now() >= deadline => {
                    let snapshot = self.snapshot().await;
                    panic!(
                        "{}: no {css} within {timeout:?} ({e}); page: {snapshot:#?}",
                        self.label
                    )
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// The `textContent` of the first `testid`, if there is one.
    pub async fn text(&self, testid: &str) -> Option<String> {
        let value = self
            .script(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                vec![json!(testid_css(testid))],
            )
            .await;
        value.as_str().map(str::to_owned)
    }

    /// The attribute `name` of the first `testid`, if both exist.
    pub async fn attr(&self, testid: &str, name: &str) -> Option<String> {
        let value = self
            .script(
                "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
                vec![json!(testid_css(testid)), json!(name)],
            )
            .await;
        value.as_str().map(str::to_owned)
    }

    /// Waits until the text of `testid` contains `part`; returns the text.
    pub async fn wait_for_text(&self, testid: &str, part: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.text(testid).await;
            if let Some(text) = text.as_ref().filter(|t| t.contains(part)) {
                return text.clone();
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}: waited {timeout:?} for [{testid}] to say {part:?}; it says {text:?}",
                    self.label
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the attribute `name` of `testid` is `value`.
    pub async fn wait_for_attr(&self, testid: &str, name: &str, value: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.attr(testid, name).await;
            if seen.as_deref() == Some(value) {
                return;
            }
            if Instant::now() >= deadline {
                let text = self.text(testid).await;
                panic!(
                    "{}: waited {timeout:?} for [{testid}] {name}={value:?}; it is {seen:?} (text {text:?})",
                    self.label
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The messages on screen, in display order.
    pub async fn messages(&self) -> Vec<Message> {
        self.snapshot().await.messages
    }

    /// Types `text` into `testid` with real key events (WebDriver send keys:
    /// the characters `\u{E000}`–`\u{E05D}` are keys, see [`ENTER`]).
    pub async fn type_into(&self, testid: &str, text: &str) {
        let element = self.wait_for_testid(testid, WAIT).await;
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("{}: cannot type into [{testid}]: {e}", self.label));
    }

    /// Types into the composer.
    pub async fn type_message(&self, text: &str) {
        self.type_into("composer", text).await;
    }

    /// Presses Enter in `testid`.
    pub async fn press_enter(&self, testid: &str) {
        self.type_into(testid, ENTER).await;
    }

    /// Presses Shift+Enter in `testid`.
    pub async fn press_shift_enter(&self, testid: &str) {
        self.type_into(testid, SHIFT_ENTER).await;
    }

    /// Clicks the first `testid`.
    pub async fn click(&self, testid: &str) {
        let element = self.wait_for_testid(testid, WAIT).await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("{}: cannot click [{testid}]: {e}", self.label));
    }

    /// Clicks the first element matching `css` (for controls without a hook).
    pub async fn click_css(&self, css: &str) {
        let element = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{}: no {css}: {e}", self.label));
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("{}: cannot click {css}: {e}", self.label));
    }

    /// Fills the sign-in form (which must be on screen) and opens the
    /// conversation; waits until it has loaded and is online.
    pub async fn sign_in(&self, me: &str, peer: &str) {
        self.type_into("me", me).await;
        self.type_into("peer", peer).await;
        self.click("join").await;
        self.wait_until_loaded().await;
    }

    /// Writes a PNG of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("{}: cannot take a screenshot: {e}", self.label));
        fs::write(path, png).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Runs axe-core on the page; returns its serious and critical violations.
    pub async fn axe(&self) -> Vec<AxeViolation> {
        let path = axe_source_path();
        let source = fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "axe-core is missing at {} ({e}): {BROWSER_HINT}",
                path.display()
            )
        });
        let loaded = self
            .script(
                &format!("{source}\n;return typeof window.axe === 'object';"),
                vec![],
            )
            .await;
        assert_eq!(loaded, json!(true), "{}: axe-core did not load", self.label);
        let result = self
            .client
            .execute_async(
                r#"
const done = arguments[arguments.length - 1];
window.axe.run(document, { resultTypes: ['violations'] }).then((r) => done({
  violations: r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' — ' + (n.failureSummary || '').replace(/\s+/g, ' ')),
    })),
})).catch((e) => done({ error: String(e) }));
"#,
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("{}: axe.run failed: {e}", self.label));
        if let Some(error) = result.get("error") {
            panic!("{}: axe.run failed: {error}", self.label);
        }
        serde_json::from_value(result["violations"].clone())
            .unwrap_or_else(|e| panic!("{}: unexpected axe answer ({e}): {result}", self.label))
    }

    /// Starts recording every change of what the page shows (turn, send
    /// button, messages), with the browser's time, by a MutationObserver:
    /// states too short-lived for polling are kept. A reload ends it.
    pub async fn start_recording(&self) {
        self.script(
            &format!(
                r#"{SNAPSHOT_FN}
if (window.__bleepRecorder) window.__bleepRecorder.observer.disconnect();
const log = [];
let last = '';
const record = () => {{
  const s = snap();
  const key = JSON.stringify([s.turn, s.send_disabled, s.connection,
    s.messages.map((m) => [m.from, m.text, m.status])]);
  if (key !== last) {{ last = key; log.push(s); }}
}};
const observer = new MutationObserver(record);
observer.observe(document.body, {{ subtree: true, childList: true, attributes: true, characterData: true }});
window.__bleepRecorder = {{ log, observer }};
record();
"#
            ),
            vec![],
        )
        .await;
    }

    /// Everything recorded since [`Window::start_recording`], oldest first.
    pub async fn recording(&self) -> Vec<Snapshot> {
        let value = self
            .script(
                "return window.__bleepRecorder ? window.__bleepRecorder.log : null;",
                vec![],
            )
            .await;
        assert!(
            !value.is_null(),
            "{}: nothing is being recorded (was the page reloaded?)",
            self.label
        );
        serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("{}: unexpected recording ({e}): {value}", self.label))
    }

    /// The text of an open alert, confirm or prompt dialog, if any.
    pub async fn open_dialog(&self) -> Option<String> {
        self.client.get_alert_text().await.ok()
    }

    /// Ends the browser.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A DevTools command, through ChromeDriver's `goog/cdp/execute`.
#[derive(Debug)]
struct DevTools {
    cmd: String,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/goog/cdp/execute"))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// WebDriver's Enter key.
pub const ENTER: &str = "\u{E007}";

/// Shift down, Enter, then the Null key, which releases Shift.
pub const SHIFT_ENTER: &str = "\u{E008}\u{E007}\u{E000}";

fn testid_css(testid: &str) -> String {
    format!("[data-testid=\"{testid}\"]")
}

// ---------------------------------------------------------------------------
// The app's host

/// Serves the built app's files itself and hands every `IMserver.php`
/// request to the PHP server on `backend_port`, so that the page loads (as
/// from a browser cache or a separate web server) even while PHP is
/// stopped. A request for IMserver.php that cannot reach PHP is dropped
/// without an answer, as a stopped server's would be. Stopped on drop.
pub struct AppHost {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AppHost {
    pub fn start(dist: &Path, backend_port: u16) -> AppHost {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot listen on 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let dist = dist.to_path_buf();
        let stopping = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let dist = dist.clone();
                thread::spawn(move || serve_connection(stream, &dist, backend_port));
            }
        });
        AppHost {
            port,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops serving: from now on the page's origin refuses every
    /// connection, as with no network at all. (Also on drop.)
    pub fn shut_down(&mut self) {
        if self.thread.is_none() {
            return;
        }
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for AppHost {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn serve_connection(mut client: TcpStream, dist: &Path, backend_port: u16) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = client.set_write_timeout(Some(Duration::from_secs(10)));
    let Some(head) = read_head(&mut client) else {
        return;
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let target = request_line.split(' ').nth(1).unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");

    if path.ends_with("/IMserver.php") {
        let backend = SocketAddr::from(([127, 0, 0, 1], backend_port));
        let Ok(mut server) = TcpStream::connect_timeout(&backend, Duration::from_secs(2)) else {
            // PHP is stopped: the browser sees the connection drop, as it would.
            let _ = client.shutdown(Shutdown::Both);
            return;
        };
        let _ = server.set_read_timeout(Some(Duration::from_secs(30)));
        let mut forward = format!("{request_line}\r\n");
        for line in lines.filter(|l| !l.is_empty()) {
            let name = line
                .split(':')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if name != "connection" && name != "keep-alive" {
                forward.push_str(line);
                forward.push_str("\r\n");
            }
        }
        forward.push_str("Connection: close\r\n\r\n");
        if server.write_all(forward.as_bytes()).is_ok() {
            let _ = std::io::copy(&mut server, &mut client);
        }
        let _ = client.shutdown(Shutdown::Both);
        return;
    }

    let relative = path.trim_start_matches('/');
    let relative = if relative.is_empty() {
        "index.html"
    } else {
        relative
    };
    let file = dist.join(relative);
    let safe = !relative
        .split('/')
        .any(|part| part == ".." || part.is_empty());
    let response = match fs::read(&file) {
        Ok(body) if safe && file.is_file() => {
            let kind = match file.extension().and_then(|e| e.to_str()).unwrap_or_default() {
                "html" => "text/html; charset=utf-8",
                "js" => "text/javascript; charset=utf-8",
                "wasm" => "application/wasm",
                "css" => "text/css; charset=utf-8",
                "svg" => "image/svg+xml",
                "png" => "image/png",
                "ico" => "image/x-icon",
                "json" | "webmanifest" => "application/json",
                _ => "application/octet-stream",
            };
            let mut response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nContent-Security-Policy: {}\r\nConnection: close\r\n\r\n",
                body.len(),
                deployed_content_security_policy()
            )
            .into_bytes();
            response.extend_from_slice(&body);
            response
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n"
            .to_vec(),
    };
    let _ = client.write_all(&response);
    let _ = client.shutdown(Shutdown::Both);
}

/// The Content-Security-Policy that deploy/nginx-site.conf sends with the
/// app's files: the host sends it too, so every browser test runs the app
/// under the policy it is deployed with.
fn deployed_content_security_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        let site = fs::read_to_string(repo_root().join("deploy/nginx-site.conf"))
            .expect("deploy/nginx-site.conf");
        site.lines()
            .find_map(|line| {
                let rest = line
                    .trim()
                    .strip_prefix("add_header Content-Security-Policy \"")?;
                Some(rest.split('"').next()?.to_owned())
            })
            .expect("deploy/nginx-site.conf adds a Content-Security-Policy header")
    })
}

/// The request line and headers (up to the blank line), or `None`.
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buffer[..n]);
    }
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some(String::from_utf8_lossy(&head[..end]).into_owned())
}

/// `sender` sends `text` once it is its turn, and `receiver` sees it arrive
/// (each within 20 s: a few polls).
pub async fn say(sender: &Window, receiver: &Window, text: &str) {
    const DELIVERY: Duration = Duration::from_secs(20);
    sender
        .wait_until("my turn", DELIVERY, |s| {
            s.turn_is("idle") && s.send_disabled == Some(false)
        })
        .await;
    sender.type_message(text).await;
    sender.press_enter("composer").await;
    receiver
        .wait_until(&format!("{text:?} arriving"), DELIVERY, |s| {
            s.messages.last().is_some_and(|m| m.text == text)
        })
        .await;
}

// ---------------------------------------------------------------------------
// The whole stack

/// Our IMserver.php on a fresh SQLite store, serving the built app, the
/// [`AppHost`] in front of it, and ChromeDriver. On drop the browsers go
/// first, then the host, PHP and the store.
pub struct Stack {
    pub driver: ChromeDriver,
    pub app: AppHost,
    pub php: PhpServer,
    _store: TempDir,
}

impl Stack {
    /// Starts everything; panics with a hint when something is missing.
    pub fn start() -> Stack {
        Stack::serving(&dist_dir())
    }

    /// The same, serving the app from `dist` (a copy a test may change).
    pub fn serving(dist: &Path) -> Stack {
        let dist = dist.to_path_buf();
        require_php_module("pdo_sqlite");
        let store = TempDir::new("browser-store");
        let dsn = format!("sqlite:{}", store.join("store.sqlite").display());
        let php = PhpServer::start(&dist, &[("BLEEP_IMSERVER_DSN", &dsn)]);
        let app = AppHost::start(&dist, php.port());
        let driver = ChromeDriver::start();
        Stack {
            driver,
            app,
            php,
            _store: store,
        }
    }

    /// The URL of `path_and_query` on the app's host (which keeps serving
    /// the page while PHP is stopped).
    pub fn url(&self, path_and_query: &str) -> String {
        format!(
            "{}/{}",
            self.app.base_url(),
            path_and_query.trim_start_matches('/')
        )
    }

    /// The sign-in page.
    pub fn sign_in_url(&self) -> String {
        self.url("index.html")
    }

    /// The page that opens the conversation of `me` with `peer` directly.
    pub fn conversation_url(&self, me: &str, peer: &str) -> String {
        self.url(&format!(
            "index.html?me={}&peer={}",
            encode_query_value(me),
            encode_query_value(peer)
        ))
    }

    /// A new window (a new device) showing nothing yet.
    pub async fn window(&self, options: WindowOptions) -> Window {
        self.driver.open(options).await
    }

    /// A new window that has opened the conversation of `me` with `peer`,
    /// read its history and is online.
    pub async fn conversation(&self, options: WindowOptions, me: &str, peer: &str) -> Window {
        let window = self.window(options).await;
        window.goto(&self.conversation_url(me, peer)).await;
        window.wait_until_loaded().await;
        window
    }

    /// Alice's and Bob's windows, each in the conversation with the other.
    pub async fn alice_and_bob(&self) -> (Window, Window) {
        let alice = self
            .conversation(WindowOptions::new("Alice"), "Alice", "Bob")
            .await;
        let bob = self
            .conversation(WindowOptions::new("Bob"), "Bob", "Alice")
            .await;
        (alice, bob)
    }

    /// Every key in the store.
    pub fn stored_keys(&self) -> Vec<String> {
        let (status, body) = self
            .php
            .get("/IMserver.php?action=keys")
            .unwrap_or_else(|e| panic!("cannot list the keys: {e}"));
        assert_eq!(status, 200, "listing the keys: HTTP {status}");
        String::from_utf8_lossy(&body)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The keys that hold message envelopes (`bleep1.<h>.m.<device>.<seq>`).
    pub fn message_keys(&self) -> Vec<String> {
        self.stored_keys()
            .into_iter()
            .filter(|k| k.starts_with("bleep1.") && k.split('.').nth(2) == Some("m"))
            .collect()
    }
}
