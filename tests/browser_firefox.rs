//! The core conversation in Firefox (issue 19, "Also works beyond
//! Chromium"): two Firefox windows, each its own profile and so its own
//! Bleep device, take turns through our IMserver.php and see the same
//! transcript, in the same order, with the delivery marks right. Debian's
//! firefox-esr through geckodriver (`tests/support/firefox.rs`).
//!
//! Run with `scripts/test`, or after building the app:
//! `BLEEP_DIST=$PWD/dist cargo test --test browser_firefox -- --ignored`.

mod support;

use std::time::Duration;

use support::browser::{run, say, Stack, WindowOptions};
use support::firefox;

/// The colleague's screen learns of a message within a few polls.
const DELIVERY: Duration = Duration::from_secs(20);

#[test]
#[ignore = "needs the built app, PHP, Firefox and geckodriver: run scripts/test"]
fn the_core_conversation_works_in_firefox() {
    run(Duration::from_secs(180), async {
        let stack = Stack::start();
        let alice = firefox::open(WindowOptions::new("Alice (Firefox)")).await;
        let bob = firefox::open(WindowOptions::new("Bob (Firefox)").dark()).await;
        alice.goto(&stack.conversation_url("Alice", "Bob")).await;
        alice.wait_until_loaded().await;
        bob.goto(&stack.conversation_url("Bob", "Alice")).await;
        bob.wait_until_loaded().await;

        let texts = [
            "Bed 4: sats 88% on 2 L",
            "Coming. Start 4 L, sit him up",
            "Done, sats 93%",
            "Good, I'm on my way <b>now</b> & \"fast\"",
        ];
        for (i, text) in texts.iter().enumerate() {
            if i % 2 == 0 {
                say(&alice, &bob, text).await;
            } else {
                say(&bob, &alice, text).await;
            }
        }
        // Both screens: the same four lines in the same order, text shown as
        // sent (never as markup), Alice's turn, and her last message read.
        let expected: Vec<(String, String)> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let from = if i % 2 == 0 { "Alice" } else { "Bob" };
                (from.to_owned(), (*t).to_owned())
            })
            .collect();
        let a = alice
            .wait_until("Alice's turn, her message read", DELIVERY, |s| {
                s.turn_is("idle") && s.lines() == expected
            })
            .await;
        let b = bob
            .wait_until("Bob waiting, his last message read", DELIVERY, |s| {
                s.turn_is("waiting")
                    && s.lines() == expected
                    && s.messages.last().and_then(|m| m.status.as_deref()) == Some("read")
            })
            .await;
        for s in [&a, &b] {
            assert!(s.messages.iter().all(|m| !m.has_markup), "{s:#?}");
        }
    });
}
