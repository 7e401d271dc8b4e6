//! Clinical urgency in Chromium (issue 18): urgent messages marked on both
//! screens, their alerts repeated until a device of the colleague has shown
//! them, and one-tap quick replies. Same harness as `tests/browser.rs` (the
//! built app in `$BLEEP_DIST`, our IMserver.php, ChromeDriver).
//!
//! Run with `scripts/test`, or after building the app:
//! `BLEEP_DIST=$PWD/dist cargo test --test browser_urgency -- --ignored --test-threads=1`.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::browser::{run, say, Stack};

/// The colleague's screen learns of a message within a few polls.
const DELIVERY: Duration = Duration::from_secs(20);

/// Each message's text and `data-priority`, in order on screen.
const PRIORITIES: &str = "return [...document.querySelectorAll('[data-testid=message]')]
    .map((m) => [m.querySelector('[data-testid=message-text]').textContent,
                 m.getAttribute('data-priority')]);";

/// The priority toggle: [aria-pressed, its words, the send button's words].
const TOGGLE: &str = "const p = document.querySelector('[data-testid=priority]'); \
    return [p.getAttribute('aria-pressed'), p.textContent.trim(), \
            document.querySelector('[data-testid=send]').textContent.trim()];";

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn the_urgent_toggle_marks_the_next_message_urgent_on_both_screens() {
    run(Duration::from_secs(120), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        let urgent = "Bed 4 desaturating to 85%, please come now";
        assert_eq!(
            alice.script(TOGGLE, vec![]).await,
            json!(["false", "☐ Urgent", "Send"]),
            "routine until turned on"
        );

        // Turned on from the keyboard (Space on the focused button).
        alice.type_into("priority", " ").await;
        assert_eq!(
            alice.script(TOGGLE, vec![]).await,
            json!(["true", "☑ Urgent", "Send urgent"])
        );
        say(&alice, &bob, urgent).await;
        // Back to routine once sent.
        alice
            .wait_for_script("the toggle off again", DELIVERY, TOGGLE, |v| {
                v == &json!(["false", "☐ Urgent", "Send"])
            })
            .await;

        // Bob answers routinely, then Alice; only the first is urgent.
        say(&bob, &alice, "Coming").await;
        say(&alice, &bob, "Thanks").await;
        let expected = json!([[urgent, "urgent"], ["Coming", null], ["Thanks", null]]);
        for window in [&alice, &bob] {
            window
                .wait_for_script("one urgent, then routine", DELIVERY, PRIORITIES, |v| {
                    v == &expected
                })
                .await;
        }
        let s = bob.snapshot().await;
        assert!(s.find(urgent)[0].all_text.contains("Urgent"), "{s:#?}");

        // While Alice waits, the toggle lets Send go as an urgent follow-up.
        let follow_up = "Now unresponsive";
        alice.type_message(follow_up).await;
        assert_eq!(alice.snapshot().await.send_disabled, Some(true));
        alice.click("priority").await;
        assert_eq!(alice.snapshot().await.send_disabled, Some(false));
        alice.click("send").await;
        bob.wait_until("the follow-up arriving", DELIVERY, |s| {
            s.messages.last().is_some_and(|m| m.text == follow_up)
        })
        .await;
        let last = |v: &Value| v.as_array().and_then(|a| a.last()).cloned();
        let shown = bob.script(PRIORITIES, vec![]).await;
        assert_eq!(last(&shown), Some(json!([follow_up, "urgent"])));
        alice
            .wait_until("still waiting for Bob", DELIVERY, |s| s.turn_is("waiting"))
            .await;
    });
}
