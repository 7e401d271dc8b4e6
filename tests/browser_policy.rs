//! The app under the Content-Security-Policy it is deployed with
//! (deploy/nginx-site.conf): no inline script in the built page, and a whole
//! conversation without a single violation of the policy. The test host
//! sends the deployed policy with every file, so every other browser test
//! runs under it too; this one also shows that nothing was quietly blocked
//! on the way.
//!
//! Run with `scripts/test`, or after building the app:
//! `BLEEP_DIST=$PWD/dist cargo test --test browser_policy -- --ignored`.

mod support;

use std::fs;
use std::time::Duration;

use support::browser::{dist_dir, run, Stack, WindowOptions};

/// Records every violation of the page's policy, from before its scripts run.
const RECORD_VIOLATIONS: &str = "window.__violations = []; \
    document.addEventListener('securitypolicyviolation', (e) => \
        window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') \
            + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));";

const VIOLATIONS: &str = "return window.__violations || ['the recorder did not run'];";

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn the_app_runs_under_the_deployed_policy_without_a_violation() {
    // The built page starts the app from a file, not an inline script.
    let page = fs::read_to_string(dist_dir().join("index.html")).expect("dist/index.html");
    let scripts: Vec<&str> = page.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "no script in index.html: {page}");
    for script in scripts {
        let (attributes, _) = script.split_once('>').unwrap_or((script, ""));
        assert!(
            attributes.contains("src="),
            "an inline script in index.html: <script{attributes}>"
        );
    }

    run(Duration::from_secs(120), async {
        let stack = Stack::start();
        let alice = stack.window(WindowOptions::new("alice")).await;
        let bob = stack.window(WindowOptions::new("bob").dark()).await;
        for window in [&alice, &bob] {
            window.before_each_page(RECORD_VIOLATIONS).await;
        }
        alice.goto(&stack.conversation_url("Alice", "Bob")).await;
        bob.goto(&stack.conversation_url("Bob", "Alice")).await;
        alice.wait_until_loaded().await;
        bob.wait_until_loaded().await;

        alice.type_message("Bed 4: obs stable").await;
        alice.press_enter("composer").await;
        bob.wait_until("Alice's message", Duration::from_secs(20), |s| {
            s.messages
                .last()
                .is_some_and(|m| m.text == "Bed 4: obs stable")
        })
        .await;
        bob.type_message("Thanks, seen").await;
        bob.press_enter("composer").await;
        alice
            .wait_until("Bob's reply", Duration::from_secs(20), |s| {
                s.messages.last().is_some_and(|m| m.text == "Thanks, seen")
            })
            .await;
        for window in [&alice, &bob] {
            let found = window.script(VIOLATIONS, vec![]).await;
            assert_eq!(
                found,
                serde_json::json!([]),
                "{}: violations of the deployed policy",
                window.label()
            );
        }
        // The recorder does see one: an inline script the policy blocks.
        alice
            .script(
                "const s = document.createElement('script'); \
                 s.textContent = 'window.__ran = true'; document.body.append(s);",
                vec![],
            )
            .await;
        alice
            .wait_for_script(
                "the blocked inline script recorded",
                Duration::from_secs(5),
                "return [window.__ran === true, window.__violations.length];",
                |v| v == &serde_json::json!([false, 1]),
            )
            .await;
    });
}
