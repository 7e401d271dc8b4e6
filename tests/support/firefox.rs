//! Firefox for the browser tests that must also pass beyond Chromium
//! (issue 19): Debian's `firefox-esr`, driven through geckodriver (installed
//! by `scripts/setup --browser` from crates.io). geckodriver serves one
//! session at a time, so each window has a geckodriver of its own; the
//! window is the same [`Window`] the Chromium tests drive, so the same waits
//! and snapshots read the page.

use std::fs::File;
use std::ops::Deref;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::ClientBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use super::browser::{wait_until_ready, Window, WindowOptions, BROWSER_HINT};
use super::{free_port, kill_process_group, TempDir};

/// `$GECKODRIVER`, else `geckodriver` on the PATH.
fn geckodriver_program() -> PathBuf {
    std::env::var_os("GECKODRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("geckodriver"))
}

/// `$FIREFOX`, else Debian's `/usr/bin/firefox-esr`.
fn firefox_program() -> PathBuf {
    std::env::var_os("FIREFOX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/firefox-esr"))
}

/// A Firefox window with the geckodriver that drives it; both end on drop.
pub struct FirefoxWindow {
    window: Window,
    driver: Child,
    _log_dir: TempDir,
}

impl Deref for FirefoxWindow {
    type Target = Window;

    fn deref(&self) -> &Window {
        &self.window
    }
}

impl Drop for FirefoxWindow {
    fn drop(&mut self) {
        // Firefox runs in geckodriver's process group: end them both.
        kill_process_group(&mut self.driver);
    }
}

/// Opens a headless Firefox window with a fresh profile (a new Bleep
/// device); panics with geckodriver's log when it cannot.
pub async fn open(options: WindowOptions) -> FirefoxWindow {
    let log_dir = TempDir::new("geckodriver");
    let log_path = log_dir.join("geckodriver.log");
    let log = File::create(&log_path).expect("geckodriver's log");
    let port = free_port();
    let program = geckodriver_program();
    let mut driver = Command::new(&program)
        .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("geckodriver's log"))
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): {BROWSER_HINT}", program.display()));
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let ready = wait_until_ready(
        &mut driver,
        port,
        "geckodriver",
        Duration::from_secs(15),
        read_log,
    );
    if let Err(why) = ready {
        kill_process_group(&mut driver);
        panic!("{why}");
    }

    let capabilities = json!({
        "browserName": "firefox",
        "pageLoadStrategy": "normal",
        "unhandledPromptBehavior": "ignore",
        "timeouts": { "script": 60_000, "pageLoad": 20_000, "implicit": 0 },
        "moz:firefoxOptions": {
            "binary": firefox_program().to_string_lossy(),
            "args": ["-headless", "-width", options.width.to_string(), "-height", options.height.to_string()],
            "prefs": {
                "intl.accept_languages": "en-GB",
                // Talk only to 127.0.0.1: no updates, reports or portal checks.
                "app.update.disabledForTesting": true,
                "datareporting.policy.dataSubmissionEnabled": false,
                "network.captive-portal-service.enabled": false,
                "network.connectivity-service.enabled": false,
                "ui.systemUsesDarkTheme": if options.dark { 1 } else { 0 },
            },
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let client = match ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
    {
        Ok(client) => client,
        Err(e) => {
            kill_process_group(&mut driver);
            panic!(
                "cannot open a Firefox window ({e}): {BROWSER_HINT}\ngeckodriver log:\n{}",
                read_log()
            );
        }
    };
    let window = Window::new(client, options.label.clone());
    window.set_size(options.width, options.height).await;
    FirefoxWindow {
        window,
        driver,
        _log_dir: log_dir,
    }
}
