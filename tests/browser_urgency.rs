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
use support::browser::{run, say, Stack, Window, WindowOptions, RECORD_NOTIFICATIONS};

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
            json!(["false", "Urgent", "Send"]),
            "routine until turned on"
        );

        // Turned on from the keyboard (Space on the focused button).
        alice.type_into("priority", " ").await;
        assert_eq!(
            alice.script(TOGGLE, vec![]).await,
            json!(["true", "Urgent", "Send urgent"])
        );
        say(&alice, &bob, urgent).await;
        // Back to routine once sent.
        alice
            .wait_for_script("the toggle off again", DELIVERY, TOGGLE, |v| {
                v == &json!(["false", "Urgent", "Send"])
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

/// Settings as a clinician would choose them in the panel: notifications on (already asked), no
/// sound, an urgent alert repeated every 3 s, a hidden tab polling every
/// half second (so a sibling's receipt arrives within seconds).
const PREFERENCES: &str = "
localStorage.setItem('bleep.preferences', JSON.stringify({ timing: { hidden_poll_ms: 500 },
  sound: false, notifications: true, asked_notifications: true, urgent_repeat_ms: 3000 }));
";

/// The notifications a window has shown so far.
async fn notes(window: &Window) -> Vec<(String, String, f64)> {
    serde_json::from_value(window.script("return window.__notes;", vec![]).await).unwrap()
}

/// A window of Bob's that counts its notifications, hidden.
async fn hidden_bob(stack: &Stack, label: &str) -> Window {
    let window = stack.window(WindowOptions::new(label)).await;
    window.before_each_page(RECORD_NOTIFICATIONS).await;
    window.before_each_page(PREFERENCES).await;
    window.goto(&stack.conversation_url("Bob", "Alice")).await;
    window.wait_until_loaded().await;
    window.set_hidden(true).await;
    window
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn an_urgent_message_alerts_again_until_one_of_the_recipients_devices_shows_it() {
    run(Duration::from_secs(150), async {
        let stack = Stack::start();
        let alice = stack
            .conversation(WindowOptions::new("Alice"), "Alice", "Bob")
            .await;
        let pc = hidden_bob(&stack, "Bob (ward PC)").await;
        let phone = hidden_bob(&stack, "Bob (phone)").await;
        let urgent = "Bed 4 desaturating to 85%, please come now";
        alice.click("priority").await;
        say(&alice, &pc, urgent).await;

        // Neither of Bob's screens shows it: both alert on arrival, then
        // again every 3 s, naming it urgent.
        for bob in [&pc, &phone] {
            bob.wait_for_script(
                "three alerts",
                DELIVERY,
                "return window.__notes.length;",
                |n| n.as_u64().is_some_and(|n| n >= 3),
            )
            .await;
            let seen = notes(bob).await;
            assert_eq!(seen[0].0, "Bleep: reply from Alice", "{seen:?}");
            for pair in seen.windows(2) {
                assert_eq!(pair[1].0, "Bleep: urgent message from Alice", "{seen:?}");
                assert_eq!(pair[1].1, urgent);
                let gap = pair[1].2 - pair[0].2;
                assert!(
                    (2_500.0..4_500.0).contains(&gap),
                    "{gap} ms apart: {seen:?}"
                );
            }
        }

        // Bob looks at his phone: the alerts stop there, and on the ward PC
        // once it reads Bob's record, though the PC's screen still has it
        // unread.
        phone.set_hidden(false).await;
        let on_phone = notes(&phone).await.len();
        tokio::time::sleep(Duration::from_secs(6)).await;
        let on_pc = notes(&pc).await.len();
        tokio::time::sleep(Duration::from_secs(8)).await;
        assert_eq!(notes(&pc).await.len(), on_pc, "the PC still alerts");
        assert_eq!(
            notes(&phone).await.len(),
            on_phone,
            "the phone still alerts"
        );
        let title = pc.script("return document.title;", vec![]).await;
        assert!(
            title.as_str().unwrap_or_default().starts_with("(1)"),
            "{title}"
        );

        // A routine message alerts once.
        say(&phone, &alice, "Coming").await;
        say(&alice, &pc, "Thanks").await;
        tokio::time::sleep(Duration::from_secs(8)).await;
        let seen = notes(&pc).await;
        assert_eq!(seen.len(), on_pc + 1, "{seen:?}");
        assert_eq!(seen[on_pc].1, "Thanks");

        // The interval is a setting, kept with the others.
        pc.set_hidden(false).await;
        pc.click("settings").await;
        let field = "return document.getElementById('repeat-urgent').value;";
        assert_eq!(pc.script(field, vec![]).await, json!("3"));
        pc.script(
            "const f = document.getElementById('repeat-urgent'); f.value = '90'; \
             f.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await;
        let stored = pc.stored("bleep.preferences").await;
        assert!(stored.contains(r#""urgent_repeat_ms":90000"#), "{stored}");
    });
}

/// The quick-reply buttons: [words, disabled] each.
const QUICK: &str = "return [...document.querySelectorAll('[data-testid=quick-reply]')]
    .map((b) => [b.textContent, b.matches(':disabled')]);";

/// The quick replies' row on screen: [its height, the lowest button's
/// height, how far the page is wider than the window] in CSS pixels.
const QUICK_LAYOUT: &str = "const row = document.querySelector('.quick-replies').getBoundingClientRect(); \
    const buttons = [...document.querySelectorAll('[data-testid=quick-reply]')]; \
    return [Math.round(row.height), Math.min(...buttons.map((b) => Math.round(b.getBoundingClientRect().height))), \
            document.documentElement.scrollWidth - window.innerWidth];";

/// The words of the quick reply buttons, and whether they are disabled.
async fn quick_replies(window: &Window) -> Vec<(String, bool)> {
    serde_json::from_value(window.script(QUICK, vec![]).await).unwrap()
}

/// Clicks the quick reply whose words are `words`.
async fn tap(window: &Window, words: &str) {
    let index = quick_replies(window)
        .await
        .iter()
        .position(|(w, _)| w == words)
        .unwrap_or_else(|| panic!("no quick reply {words:?}"));
    window
        .click_css(&format!(
            "[data-testid=quick-reply]:nth-of-type({})",
            index + 1
        ))
        .await;
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn each_quick_reply_goes_with_one_tap_as_a_message_and_waits_its_turn() {
    run(Duration::from_secs(150), async {
        let stack = Stack::start();
        let alice = stack
            .conversation(
                WindowOptions::new("Alice (phone)").size(390, 844),
                "Alice",
                "Bob",
            )
            .await;
        let bob = stack
            .conversation(WindowOptions::new("Bob"), "Bob", "Alice")
            .await;
        let standard = [
            "Acknowledged",
            "On my way",
            "Call me",
            "Can't come, ask someone else",
        ];
        let enabled: Vec<(String, bool)> =
            standard.iter().map(|w| (w.to_string(), false)).collect();
        assert_eq!(quick_replies(&alice).await, enabled);

        // On a phone: one row of 44 px targets, the page no wider.
        let layout = alice.script(QUICK_LAYOUT, vec![]).await;
        let [row, button, overflow] = [0, 1, 2].map(|i| layout[i].as_i64().unwrap_or(-1));
        assert!(
            row <= 60 && button >= 44 && overflow == 0,
            "[row, button, overflow]: {layout}"
        );

        // One tap sends; the draft stays as it was.
        alice.type_message("Draft about bed 7").await;
        tap(&alice, standard[0]).await;
        bob.wait_until("the quick reply arriving", DELIVERY, |s| {
            s.messages.last().is_some_and(|m| m.text == standard[0])
        })
        .await;
        let s = alice
            .wait_until("Alice's reply read", DELIVERY, |s| {
                s.messages.last().and_then(|m| m.status.as_deref()) == Some("read")
            })
            .await;
        assert_eq!(s.composer.as_deref(), Some("Draft about bed 7"));

        // While she waits, the quick replies are disabled, with the reason.
        let disabled: Vec<(String, bool)> =
            standard.iter().map(|w| (w.to_string(), true)).collect();
        assert_eq!(quick_replies(&alice).await, disabled);
        let lock = alice
            .script(
                "return document.getElementById('composer-lock').textContent;",
                vec![],
            )
            .await;
        assert!(
            lock.as_str()
                .unwrap_or_default()
                .contains("Waiting for Bob"),
            "{lock}"
        );

        // The others, in turn; each arrives as it was written.
        for (i, words) in standard.iter().enumerate().skip(1) {
            let (from, to) = if i % 2 == 1 {
                (&bob, &alice)
            } else {
                (&alice, &bob)
            };
            from.wait_until("a turn to reply", DELIVERY, |s| s.turn_is("idle"))
                .await;
            tap(from, words).await;
            to.wait_until(&format!("{words:?} arriving"), DELIVERY, |s| {
                s.messages.last().is_some_and(|m| m.text == *words)
            })
            .await;
        }

        // Alice keeps a phrase of her own (kept after a reload), and sends it.
        alice.click("settings").await;
        alice
            .script(
                "const f = document.getElementById('quick-replies-own'); \
                 f.value = '  Bleep   the registrar\\nCall me\\n'; f.dispatchEvent(new Event('change'));",
                vec![],
            )
            .await;
        let violations = alice.axe().await;
        assert!(violations.is_empty(), "settings open: {violations:?}");
        alice.reload().await;
        alice.wait_until_loaded().await;
        let words: Vec<String> = quick_replies(&alice)
            .await
            .into_iter()
            .map(|(w, _)| w)
            .collect();
        assert_eq!(words[..4], standard.map(String::from));
        assert_eq!(words[4..], ["Bleep the registrar".to_owned()]);
        let violations = alice.axe().await;
        assert!(violations.is_empty(), "{violations:?}");
        alice
            .wait_until("Alice's turn", DELIVERY, |s| s.turn_is("idle"))
            .await;
        tap(&alice, "Bleep the registrar").await;
        bob.wait_until("her own phrase arriving", DELIVERY, |s| {
            s.messages
                .last()
                .is_some_and(|m| m.text == "Bleep the registrar")
        })
        .await;
    });
}
