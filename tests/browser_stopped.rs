//! When the app itself stops (`web/stopped.js`): a trap of the WebAssembly
//! (the release build aborts on a panic) or a module that cannot start must
//! not leave a screen that looks alive but sends and alerts nothing. The
//! clinician gets a notice over the page with a Reload button, and the
//! reload brings the conversation back. An uncaught error that is not the
//! app's shows nothing.
//!
//! Run with `scripts/test`, or after building the app:
//! `BLEEP_DIST=$PWD/dist cargo test --test browser_stopped -- --ignored`.

mod support;

use std::fs;
use std::time::{Duration, Instant};

use serde_json::json;
use support::browser::{dist_copy, run, say, Stack, WindowOptions, POLL, WAIT};

/// Runs a WebAssembly function that traps (`unreachable`) from a timer, as
/// a trap in one of the app's callbacks reaches the page: a module of
/// its own, so that the test needs no hook into the app.
const TRAP_IN_A_TIMER: &str = "
const module = new WebAssembly.Module(new Uint8Array([0,97,115,109,1,0,0,0,1,4,1,96,0,0,3,2,1,0,7,5,1,1,102,0,0,10,5,1,3,0,0,11]));
setTimeout(new WebAssembly.Instance(module).exports.f, 0);
return null;";

/// An uncaught error of some other script (a browser extension's, say).
const OTHER_ERROR: &str =
    "setTimeout(() => { throw new TypeError('not the app'); }, 0); return null;";

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn a_trap_shows_the_notice_and_reload_brings_the_conversation_back() {
    run(Duration::from_secs(120), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        let text = "Bed 6: NEWS 7, please review";
        say(&alice, &bob, text).await;

        // Someone else's error: the app goes on, with no notice.
        alice.script(OTHER_ERROR, vec![]).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(alice.text("app-stopped").await, None);

        alice.script(TRAP_IN_A_TIMER, vec![]).await;
        let notice = alice
            .wait_for_text("app-stopped", "stopped because of an error", WAIT)
            .await;
        assert!(
            notice.contains("Reload the page") && notice.contains("go out after the reload"),
            "the notice does not say what to do: {notice:?}"
        );
        let role = alice.attr("app-stopped", "role").await;
        assert_eq!(
            role.as_deref(),
            Some("alert"),
            "a screen reader is not told"
        );
        let focused = alice
            .script(
                "return document.activeElement && document.activeElement.dataset.testid;",
                vec![],
            )
            .await;
        assert_eq!(
            focused,
            json!("app-stopped-reload"),
            "Reload is not focused"
        );
        let notices = alice
            .script(
                "setTimeout(() => { throw new WebAssembly.RuntimeError('again'); }, 0);
                 return new Promise((done) => setTimeout(() =>
                     done(document.querySelectorAll('[data-testid=app-stopped]').length), 200));",
                vec![],
            )
            .await;
        assert_eq!(notices, json!(1), "a second error adds a second notice");

        // Reload: a new page (without this one's mark), the conversation
        // back in it, and no notice.
        alice
            .script("window.__beforeReload = true; return null;", vec![])
            .await;
        alice.click("app-stopped-reload").await;
        let deadline = Instant::now() + WAIT;
        loop {
            let fresh = alice
                .client()
                .execute(
                    "return window.__beforeReload === undefined && !!document.querySelector('[data-testid=turn]');",
                    vec![],
                )
                .await;
            if matches!(fresh, Ok(v) if v == json!(true)) {
                break;
            }
            assert!(Instant::now() < deadline, "Reload did not reload the page");
            tokio::time::sleep(POLL).await;
        }
        alice
            .wait_until("the conversation back after the reload", WAIT, |s| {
                s.messages.iter().any(|m| m.text == text)
            })
            .await;
        assert_eq!(alice.text("app-stopped").await, None);
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn an_app_that_did_not_download_completely_says_so() {
    run(Duration::from_secs(60), async {
        // The WebAssembly cut off halfway, as a dropped connection leaves it.
        let dist = dist_copy("stopped-dist");
        let wasm = fs::read_dir(dist.path())
            .expect("the copy of the app")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "wasm"))
            .expect("a .wasm file in the app");
        let bytes = fs::read(&wasm).expect("the app's WebAssembly");
        fs::write(&wasm, &bytes[..bytes.len() / 2]).expect("the cut WebAssembly");

        let stack = Stack::serving(dist.path());
        let window = stack.window(WindowOptions::new("a cut download")).await;
        let url = stack.sign_in_url();
        window
            .client()
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
        let notice = window
            .wait_for_text("app-stopped", "could not start", WAIT)
            .await;
        assert!(notice.contains("Reload"), "{notice:?}");
    });
}
