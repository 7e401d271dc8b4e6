//! Bleep installed as an app (issue 18, "An installable app"): the service
//! worker keeps the app's own files, so the page starts with no network at
//! all, shows the saved conversation and keeps what is written as pending;
//! it never keeps an IMserver.php answer; a new release is offered with a
//! visible prompt, and "Reload" moves the page onto it.
//!
//! Run with `scripts/test`, or after building the app:
//! `BLEEP_DIST=$PWD/dist cargo test --test browser_offline -- --ignored`.

mod support;

use std::fs;
use std::time::Duration;

use serde_json::Value;
use support::browser::{dist_copy, run, Stack, Window, WindowOptions};

const WAIT: Duration = Duration::from_secs(20);

/// Waits until the service worker controls the page and has kept the
/// app's files; returns the names of the caches.
async fn wait_until_installed(window: &Window) -> Value {
    window
        .wait_for_script(
            "the service worker in control, the app's files kept",
            WAIT,
            "return navigator.serviceWorker.controller ? caches.keys() : null;",
            |names| names.as_array().is_some_and(|n| !n.is_empty()),
        )
        .await
}

/// Every URL in every cache of the page's origin. (WebDriver waits for a
/// promise that a script returns.)
const KEPT_URLS: &str = "return (async () => {
      const urls = [];
      for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        for (const request of await cache.keys()) urls.push(request.url);
      }
      return urls;
    })();";

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn with_no_network_bleep_starts_shows_the_conversation_and_keeps_a_message_pending() {
    run(Duration::from_secs(180), async {
        let dist = dist_copy("offline-dist");
        let mut stack = Stack::serving(dist.path());
        let (alice, bob) = stack.alice_and_bob().await;
        support::browser::say(&alice, &bob, "Bed 2: BP 90/60, repeat in 15").await;
        support::browser::say(&bob, &alice, "Coming to see her").await;
        wait_until_installed(&alice).await;

        // What the worker kept: the app's files, never the message server.
        let kept = alice.script(KEPT_URLS, vec![]).await;
        let kept: Vec<&str> = kept
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            kept.iter().any(|u| u.ends_with(".wasm")),
            "no WebAssembly kept: {kept:?}"
        );
        assert!(
            kept.iter().any(|u| u.ends_with("/index.html")),
            "no page kept: {kept:?}"
        );
        assert!(
            !kept.iter().any(|u| u.contains("IMserver.php")),
            "a server answer kept: {kept:?}"
        );

        // No network: neither the page's origin nor the server answers.
        stack.app.shut_down();
        stack.php.stop();
        alice.reload().await;
        let seen = alice
            .wait_until("the saved conversation, offline", WAIT, |s| {
                !s.online()
                    && s.find("Bed 2: BP 90/60, repeat in 15").len() == 1
                    && s.find("Coming to see her").len() == 1
            })
            .await;
        assert!(
            seen.turn_is("idle"),
            "Alice's turn after Bob's reply: {seen:?}"
        );

        // What she writes now waits, as pending, for the network.
        alice.type_message("Family updated").await;
        alice.press_enter("composer").await;
        alice
            .wait_until("the new message shown as pending", WAIT, |s| {
                s.find("Family updated")
                    .first()
                    .is_some_and(|m| m.status.as_deref() == Some("pending"))
            })
            .await;
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn a_new_release_is_offered_and_reload_moves_the_page_onto_it() {
    run(Duration::from_secs(180), async {
        let dist = dist_copy("offline-dist");
        let stack = Stack::serving(dist.path());
        let alice = stack
            .conversation(WindowOptions::new("alice"), "Alice", "Bob")
            .await;
        let first = wait_until_installed(&alice).await;
        assert!(
            alice.text("update").await.is_none(),
            "a first install is no new version"
        );

        // A new release on the server: another sw.js (its version changes
        // with any file of the app).
        let worker = dist.join("sw.js");
        let source = fs::read_to_string(&worker).expect("dist/sw.js");
        let version = first[0]
            .as_str()
            .unwrap()
            .trim_start_matches("bleep-shell-")
            .to_owned();
        assert!(source.contains(&version), "{version} not in sw.js");
        fs::write(&worker, source.replace(&version, "0123456789abcdef")).unwrap();

        // The browser looks for it when the page is opened again.
        alice.reload().await;
        alice
            .wait_for_text("update", "A new version of Bleep is ready", WAIT)
            .await;
        alice.click("update-reload").await;
        alice
            .wait_for_script(
                "the page reloaded onto the new release",
                WAIT,
                "return caches.keys();",
                |names| names == &serde_json::json!(["bleep-shell-0123456789abcdef"]),
            )
            .await;
        alice.wait_until_loaded().await;
        assert!(
            alice.text("update").await.is_none(),
            "the prompt stays after the reload"
        );
    });
}
