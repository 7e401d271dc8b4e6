//! Bleep in a real browser: the built app (`$BLEEP_DIST`, see `scripts/test`)
//! with our IMserver.php, driven in headless Chromium through ChromeDriver.
//! Each window is its own browser profile, so its own Bleep device.
//!
//! Run with `scripts/test`, or after building the app:
//! `BLEEP_DIST=$PWD/dist cargo test --test browser -- --ignored --test-threads=1`.

mod support;

use std::time::Duration;

use support::browser::{run, say, screenshot_path, Snapshot, Stack, Window, WindowOptions, WAIT};

/// The colleague's screen learns of a message within a few polls.
const DELIVERY: Duration = Duration::from_secs(20);

/// The connection shows offline after two failures in a row.
const GOES_OFFLINE: Duration = Duration::from_secs(15);

/// After failures the retries back off (up to 30 s between them).
const COMES_BACK: Duration = Duration::from_secs(45);

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn foundation_sign_in_and_connection_state() {
    run(Duration::from_secs(120), async {
        let mut stack = Stack::start();

        // The app as deployed: PHP serves both the page and IMserver.php.
        let direct = stack.window(WindowOptions::new("Alice (from PHP)")).await;
        direct.goto(&stack.php.url("/index.html")).await;
        direct.wait_for_testid("sign-in", WAIT).await;
        direct
            .wait_for_attr("server-status", "data-state", "connected", WAIT)
            .await;

        direct.sign_in("Alice", "Bob").await;
        let s = direct
            .wait_until("Alice's turn, online", WAIT, |s| {
                s.turn_is("idle") && s.online()
            })
            .await;
        assert!(!s.sign_in, "the sign-in form is still on screen: {s:#?}");
        assert_eq!(
            s.send_disabled,
            Some(false),
            "send is disabled on an idle, empty conversation"
        );
        let turn = s.turn_text.clone().unwrap_or_default();
        assert!(turn.contains("Your turn"), "the turn banner says {turn:?}");

        // A sign-in page from the app's host, to ask about the server later.
        let checker = stack.window(WindowOptions::new("sign-in page")).await;
        checker.goto(&stack.sign_in_url()).await;
        checker
            .wait_for_attr("server-status", "data-state", "connected", WAIT)
            .await;

        // The server goes away: the conversation says so.
        stack.php.stop();
        let s = direct
            .wait_until("the offline banner", GOES_OFFLINE, |s| {
                s.connection.as_deref() == Some("offline")
            })
            .await;
        let banner = s.connection_text.unwrap_or_default();
        assert!(
            banner.contains("Server not reachable") && banner.contains("your messages are kept"),
            "the offline banner does not say what happened: {banner:?}"
        );

        // A fresh sign-in page says the server does not answer.
        let fresh = stack.window(WindowOptions::new("fresh sign-in page")).await;
        fresh.goto(&stack.sign_in_url()).await;
        fresh
            .wait_for_attr("server-status", "data-state", "unreachable", WAIT)
            .await;
        // ... and so does the open one when asked again.
        checker
            .click_css("[data-testid=\"sign-in\"] button[type=\"button\"]")
            .await;
        checker
            .wait_for_attr("server-status", "data-state", "unreachable", WAIT)
            .await;

        // The server comes back: so does the conversation, by itself.
        stack.php.restart();
        direct
            .wait_until("online again", COMES_BACK, |s| {
                s.online() && s.turn_is("idle")
            })
            .await;
        checker
            .click_css("[data-testid=\"sign-in\"] button[type=\"button\"]")
            .await;
        checker
            .wait_for_attr("server-status", "data-state", "connected", WAIT)
            .await;
    });
}

/// Polls both windows until `ready` holds for what they show together.
async fn wait_both(
    a: &Window,
    b: &Window,
    what: &str,
    timeout: Duration,
    ready: impl Fn(&Snapshot, &Snapshot) -> bool,
) -> (Snapshot, Snapshot) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let (sa, sb) = tokio::join!(a.snapshot(), b.snapshot());
        if ready(&sa, &sb) {
            return (sa, sb);
        }
        if std::time::Instant::now() >= deadline {
            panic!(
                "waited {timeout:?} for {what}; last seen\n{}: {sa:#?}\n{}: {sb:#?}",
                a.label(),
                b.label()
            );
        }
        tokio::time::sleep(support::browser::POLL).await;
    }
}

/// `values` without runs of the same value.
fn collapse<T: PartialEq>(values: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for v in values {
        if out.last() != Some(&v) {
            out.push(v);
        }
    }
    out
}

/// The status of the one message whose text is `text` in `s`, if it is there.
fn status_of(s: &Snapshot, text: &str) -> Option<String> {
    s.find(text).first().and_then(|m| m.status.clone())
}

fn lines(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn ten_turns_between_two_windows() {
    run(Duration::from_secs(180), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        let mut expected: Vec<(String, String)> = Vec::new();

        for turn in 1..=10 {
            let (sender, receiver, from) = if turn % 2 == 1 {
                (&alice, &bob, "Alice")
            } else {
                (&bob, &alice, "Bob")
            };
            let text = format!("Turn {turn} from {from}: obs stable, plan {}", turn * 7);
            let line = (from.to_string(), text.clone());

            sender
                .wait_until("my turn", WAIT, |s| {
                    s.turn_is("idle") && s.send_disabled == Some(false)
                })
                .await;
            sender.type_message(&text).await;
            sender.start_recording().await;
            receiver.start_recording().await;
            sender.click("send").await;
            expected.push(line.clone());

            // The sender waits once the colleague has read it; the colleague may reply.
            sender
                .wait_until(
                    &format!("turn {turn}: own message read, waiting"),
                    DELIVERY,
                    |s| s.turn_is("waiting") && status_of(s, &text).as_deref() == Some("read"),
                )
                .await;
            receiver
                .wait_until(
                    &format!("turn {turn}: the message, then my turn"),
                    DELIVERY,
                    |s| {
                        s.lines().last() == Some(&line)
                            && s.turn_is("idle")
                            && s.send_disabled == Some(false)
                    },
                )
                .await;

            // What the sender showed, change by change, since pressing send.
            let sent = sender.recording().await;
            let after: Vec<&Snapshot> = sent.iter().skip(1).collect();
            let turns = collapse(after.iter().map(|s| s.turn.clone().unwrap_or_default()));
            assert_eq!(
                turns,
                ["sending", "waiting"],
                "turn {turn}: {}'s turn banner went {turns:?} after pressing send",
                sender.label()
            );
            for s in &after {
                assert_eq!(
                    s.send_disabled,
                    Some(true),
                    "turn {turn}: {}'s send button was enabled while {:?}",
                    sender.label(),
                    s.turn
                );
            }
            let statuses = collapse(after.iter().filter_map(|s| status_of(s, &text)));
            assert_eq!(
                statuses,
                ["pending", "sent", "read"],
                "turn {turn}: {}'s message went {statuses:?}",
                sender.label()
            );
            assert!(
                after.iter().all(|s| s.find(&text).len() <= 1),
                "turn {turn}: the message was shown twice on the sender's screen"
            );

            // Read only after the colleague's screen showed it.
            let got = receiver.recording().await;
            let shown_at = got
                .iter()
                .find(|s| !s.find(&text).is_empty())
                .map(|s| s.at_ms)
                .expect("the receiver's recording has the message");
            let read_at = after
                .iter()
                .find(|s| status_of(s, &text).as_deref() == Some("read"))
                .map(|s| s.at_ms)
                .expect("the sender's recording has the read status");
            assert!(
                read_at >= shown_at,
                "turn {turn}: shown as read at {read_at} before {} displayed it at {shown_at}",
                receiver.label()
            );
            // Until it arrived the receiver was waiting (or, before the first message, idle).
            let before = if turn == 1 { "idle" } else { "waiting" };
            for s in got.iter().take_while(|s| s.find(&text).is_empty()) {
                assert!(
                    s.turn_is(before) && s.send_disabled == Some(before == "waiting"),
                    "turn {turn}: before the message arrived {} showed {:?} (send disabled: {:?})",
                    receiver.label(),
                    s.turn,
                    s.send_disabled
                );
            }
        }

        let (a, b) = tokio::join!(alice.snapshot(), bob.snapshot());
        assert_eq!(a.lines(), expected, "Alice's transcript");
        assert_eq!(b.lines(), expected, "Bob's transcript");
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn both_send_the_first_message_at_once() {
    run(Duration::from_secs(90), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        alice
            .type_message("Alice here: can you review bed 2?")
            .await;
        bob.type_message("Bob here: bed 7 needs a review").await;
        alice.start_recording().await;
        bob.start_recording().await;
        tokio::join!(alice.click("send"), bob.click("send"));

        let settled = |a: &Snapshot, b: &Snapshot| {
            a.messages.len() == 2
                && a.lines() == b.lines()
                && a.messages
                    .iter()
                    .chain(&b.messages)
                    .all(|m| m.status.as_deref() != Some("pending"))
                && {
                    let mut turns = [a.turn.clone(), b.turn.clone()];
                    turns.sort();
                    turns == [Some("idle".to_owned()), Some("waiting".to_owned())]
                }
        };
        let (a, b) = wait_both(
            &alice,
            &bob,
            "both messages on both screens, one side waiting",
            DELIVERY,
            settled,
        )
        .await;
        // Stays so.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (a2, b2) = tokio::join!(alice.snapshot(), bob.snapshot());
        assert!(
            settled(&a2, &b2),
            "the screens changed after settling:\n{a2:#?}\n{b2:#?}"
        );
        assert_eq!(a.lines(), a2.lines());

        let texts: Vec<&str> = a.messages.iter().map(|m| m.text.as_str()).collect();
        assert!(
            texts.contains(&"Alice here: can you review bed 2?")
                && texts.contains(&"Bob here: bed 7 needs a review"),
            "a message was lost: {texts:?}"
        );
        // Whoever's message is last waits; the other may write.
        let last_from = a.messages[1].from.clone();
        let (waiting, idle) = if last_from == "Alice" {
            (&a, &b)
        } else {
            (&b, &a)
        };
        assert!(
            waiting.turn_is("waiting") && waiting.send_disabled == Some(true),
            "{last_from} sent last but shows {:?}",
            waiting.turn
        );
        assert!(
            idle.turn_is("idle") && idle.send_disabled == Some(false),
            "the other side shows {:?}",
            idle.turn
        );

        // Were the two sends really concurrent (neither had seen the other's)?
        for window in [&alice, &bob] {
            let log = window.recording().await;
            if let Some(first) = log.iter().find(|s| !s.messages.is_empty()) {
                if first.messages.len() != 1 {
                    eprintln!("note: {} showed both messages at once", window.label());
                }
            }
        }
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn enter_sends_and_shift_enter_starts_a_new_line() {
    run(Duration::from_secs(90), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        let text = "Bed 3: sats 91%\nPlease come and see";

        alice.type_message("Bed 3: sats 91%").await;
        alice.press_shift_enter("composer").await;
        alice.type_message("Please come and see").await;
        let s = alice.snapshot().await;
        assert_eq!(
            s.composer.as_deref(),
            Some(text),
            "Shift+Enter did not start a new line"
        );
        assert!(
            s.messages.is_empty(),
            "Shift+Enter sent the message: {s:#?}"
        );

        alice.press_enter("composer").await;
        let s = alice
            .wait_until("the two-line message, sent", WAIT, |s| {
                s.find(text).len() == 1
            })
            .await;
        assert_eq!(
            s.composer.as_deref(),
            Some(""),
            "the composer was not emptied after sending"
        );
        assert_eq!(
            s.messages.len(),
            1,
            "Enter sent more than one message: {s:#?}"
        );

        let s = bob
            .wait_until("the two-line message", DELIVERY, |s| !s.messages.is_empty())
            .await;
        assert_eq!(s.lines(), lines(&[("Alice", text)]), "Bob's transcript");
        if !s.messages[0].shown.contains('\n') {
            eprintln!(
                "note: the line break is kept but not displayed (innerText {:?}): style message-text with white-space: pre-wrap",
                s.messages[0].shown
            );
        }
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn drafts_and_unsent_messages_survive_reloads_and_outages() {
    run(Duration::from_secs(150), async {
        let mut stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;

        // A draft is kept over a reload.
        let draft = "Bed 9: BP 85/50";
        alice.type_message(draft).await;
        alice.reload().await;
        alice
            .wait_until("the draft back in the composer", WAIT, |s| {
                s.composer.as_deref() == Some(draft)
            })
            .await;

        // Sent while the server is down: pending, then "not sent yet".
        stack.php.stop();
        alice.type_message(", started fluids").await;
        alice.press_enter("composer").await;
        let text = "Bed 9: BP 85/50, started fluids";
        alice
            .wait_until("the message, pending", WAIT, |s| {
                status_of(s, text).as_deref() == Some("pending")
            })
            .await;
        alice
            .wait_until("\"Not sent yet — retrying\"", WAIT, |s| {
                s.find(text)
                    .first()
                    .is_some_and(|m| m.all_text.contains("Not sent yet — retrying"))
            })
            .await;
        let s = alice
            .wait_until("the offline banner", GOES_OFFLINE, |s| {
                s.connection.as_deref() == Some("offline")
            })
            .await;
        let banner = s.connection_text.clone().unwrap_or_default();
        assert!(
            banner.contains("Server not reachable — your messages are kept"),
            "the offline banner says {banner:?}"
        );

        // A reload while the server is still down keeps it, once, pending.
        alice.reload().await;
        let s = alice
            .wait_until("the message, pending after the reload", WAIT, |s| {
                status_of(s, text).as_deref() == Some("pending")
            })
            .await;
        assert_eq!(
            s.find(text).len(),
            1,
            "the message is shown twice after the reload: {s:#?}"
        );
        assert_eq!(
            s.composer.as_deref(),
            Some(""),
            "the sent draft came back after the reload"
        );
        alice
            .wait_until("the offline banner after the reload", GOES_OFFLINE, |s| {
                s.connection.as_deref() == Some("offline")
            })
            .await;

        // The server comes back: delivered once, banner gone.
        stack.php.restart();
        alice
            .wait_until("delivered and online again", COMES_BACK, |s| {
                s.online() && matches!(status_of(s, text).as_deref(), Some("sent" | "read"))
            })
            .await;
        bob.wait_until("the message that waited for the server", DELIVERY, |s| {
            !s.find(text).is_empty()
        })
        .await;
        alice
            .wait_until("read by Bob", DELIVERY, |s| {
                status_of(s, text).as_deref() == Some("read")
            })
            .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (a, b) = tokio::join!(alice.snapshot(), bob.snapshot());
        let expected = lines(&[("Alice", text)]);
        assert_eq!(a.lines(), expected, "Alice's transcript");
        assert_eq!(b.lines(), expected, "Bob's transcript");
        assert!(a.online(), "the offline banner did not clear: {a:#?}");
        let keys = stack.message_keys();
        assert_eq!(
            keys.len(),
            1,
            "the store holds {} messages: {keys:?}",
            keys.len()
        );
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn an_overlong_message_is_refused_with_a_reason() {
    run(Duration::from_secs(90), async {
        let stack = Stack::start();
        let alice = stack
            .conversation(WindowOptions::new("Alice"), "Alice", "Bob")
            .await;
        let long = "0123456789".repeat(600);
        alice.type_message(&long).await;
        let s = alice
            .wait_until("the long draft in the composer", WAIT, |s| {
                s.composer.as_deref() == Some(long.as_str())
            })
            .await;
        assert_eq!(
            s.send_disabled,
            Some(true),
            "send is enabled for a message that cannot be sent"
        );

        alice.press_enter("composer").await;
        let s = alice
            .wait_until("a reason in composer-error", WAIT, |s| {
                s.composer_error
                    .as_deref()
                    .is_some_and(|e| !e.trim().is_empty())
            })
            .await;
        let reason = s.composer_error.clone().unwrap_or_default();
        assert!(
            reason.to_lowercase().contains("too long"),
            "the reason given is {reason:?}"
        );
        assert!(s.messages.is_empty(), "the message was sent: {s:#?}");
        assert!(s.turn_is("idle"), "the turn changed: {:?}", s.turn);
        assert_eq!(
            s.composer.as_deref(),
            Some(long.as_str()),
            "the draft was lost"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            stack.message_keys(),
            Vec::<String>::new(),
            "something reached the server"
        );
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn markup_from_the_server_is_shown_as_text() {
    run(Duration::from_secs(90), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        let text = "<b>bold</b><img src=x onerror=alert(1)>";
        alice.type_message(text).await;
        alice.press_enter("composer").await;
        bob.wait_until("the message", DELIVERY, |s| !s.messages.is_empty())
            .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        for window in [&alice, &bob] {
            let s = window.snapshot().await;
            assert_eq!(
                s.lines(),
                lines(&[("Alice", text)]),
                "{}: transcript",
                window.label()
            );
            let m = &s.messages[0];
            assert!(
                !m.has_markup,
                "{}: the text was rendered as HTML",
                window.label()
            );
            assert_eq!(m.shown, text, "{}: what is on screen", window.label());
            let elements = window
                .script("return document.querySelectorAll('[data-testid=\"transcript\"] b, [data-testid=\"transcript\"] img').length;", vec![])
                .await;
            assert_eq!(
                elements,
                serde_json::json!(0),
                "{}: markup got into the page",
                window.label()
            );
            assert_eq!(
                window.open_dialog().await,
                None,
                "{}: a script from the message ran",
                window.label()
            );
        }
    });
}

/// Alice and Bob exchange `texts`, Alice first, each waiting for the other.
async fn exchange(alice: &Window, bob: &Window, texts: &[&str]) {
    for (i, text) in texts.iter().enumerate() {
        if i % 2 == 0 {
            say(alice, bob, text).await;
        } else {
            say(bob, alice, text).await;
        }
    }
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn no_serious_accessibility_problems() {
    run(Duration::from_secs(120), async {
        let stack = Stack::start();
        let alice = stack.window(WindowOptions::new("Alice (light)")).await;
        let bob = stack.window(WindowOptions::new("Bob (dark)").dark()).await;
        let mut found = Vec::new();
        for window in [&alice, &bob] {
            window.goto(&stack.sign_in_url()).await;
            window
                .wait_for_attr("server-status", "data-state", "connected", WAIT)
                .await;
            found.extend(
                window
                    .axe()
                    .await
                    .into_iter()
                    .map(|v| format!("{}, sign-in: {v}", window.label())),
            );
        }
        alice.sign_in("Alice", "Bob").await;
        bob.sign_in("Bob", "Alice").await;
        exchange(
            &alice,
            &bob,
            &[
                "Can you see bed 12?",
                "On my way",
                "Thanks, family are here too",
            ],
        )
        .await;
        for window in [&alice, &bob] {
            found.extend(
                window
                    .axe()
                    .await
                    .into_iter()
                    .map(|v| format!("{}, conversation: {v}", window.label())),
            );
        }
        assert!(
            found.is_empty(),
            "axe-core found serious or critical problems:\n{}",
            found.join("\n")
        );
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn screenshots_of_sign_in_and_conversation() {
    run(Duration::from_secs(150), async {
        let mut stack = Stack::start();
        let sizes = [(360, 740), (1280, 800)];
        let light = stack.window(WindowOptions::new("Alice (light)")).await;
        let dark = stack
            .window(WindowOptions::new("Alice (dark, second device)").dark())
            .await;
        let schemes = [(&light, "light"), (&dark, "dark")];

        for (window, scheme) in schemes {
            window.goto(&stack.sign_in_url()).await;
            window
                .wait_for_attr("server-status", "data-state", "connected", WAIT)
                .await;
            for (w, h) in sizes {
                window.set_size(w, h).await;
                settle(window).await;
                window
                    .screenshot(&screenshot_path(&format!("sign-in-{w}x{h}-{scheme}.png")))
                    .await;
                note_overflow(window, &format!("sign-in {w}x{h} {scheme}")).await;
            }
        }

        light.sign_in("Alice", "Bob").await;
        let bob = stack
            .conversation(WindowOptions::new("Bob").size(360, 740), "Bob", "Alice")
            .await;
        let history = [
            "Bed 4 is desaturating, 88% on 2 L",
            "Coming. Start 4 L and get a gas please",
            "Gas sent. RR 28, HR 112",
            "Thanks. I will be there in 5 minutes",
        ];
        exchange(&light, &bob, &history).await;
        dark.sign_in("Alice", "Bob").await;
        dark.wait_until("the history on Alice's second device", DELIVERY, |s| {
            s.messages.len() == history.len() && s.turn_is("idle")
        })
        .await;

        // One message each that cannot be sent yet.
        stack.php.stop();
        for (window, _) in schemes {
            window
                .type_message("Family asking for an update — can you call them after?")
                .await;
            window.press_enter("composer").await;
        }
        for (window, scheme) in schemes {
            window
                .wait_until(
                    "a pending message and the offline banner",
                    GOES_OFFLINE,
                    |s| {
                        s.connection.as_deref() == Some("offline")
                            && s.messages
                                .last()
                                .is_some_and(|m| m.all_text.contains("Not sent yet"))
                    },
                )
                .await;
            for (w, h) in sizes {
                window.set_size(w, h).await;
                settle(window).await;
                window
                    .screenshot(&screenshot_path(&format!(
                        "conversation-{w}x{h}-{scheme}.png"
                    )))
                    .await;
                note_overflow(window, &format!("conversation {w}x{h} {scheme}")).await;
            }
        }
    });
}

/// Waits for two animation frames, so that a resize has been laid out and painted.
async fn settle(window: &Window) {
    let _ = window
        .client()
        .execute_async(
            "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        )
        .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
}

/// Says (without failing: looks are not tested here) when the page is wider
/// than the window, so that it scrolls sideways.
async fn note_overflow(window: &Window, what: &str) {
    let widths = window
        .script(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await;
    if let Ok([scroll, inner]) = serde_json::from_value::<[u64; 2]>(widths) {
        if scroll > inner {
            eprintln!("note: {what}: the page is {scroll} px wide in a {inner} px window");
        }
    }
}

/// Waits until the tab's title and favicon satisfy `ok`; returns them.
async fn wait_for_title(
    window: &Window,
    what: &str,
    timeout: Duration,
    ok: impl Fn(&str, &str) -> bool,
) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let seen = window
            .script(
                "return [document.title, document.getElementById('favicon').getAttribute('href')];",
                vec![],
            )
            .await;
        let title = seen[0].as_str().unwrap_or_default().to_owned();
        let icon = seen[1].as_str().unwrap_or_default().to_owned();
        if ok(&title, &icon) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}: {what}: title {title:?}, favicon {icon:?}",
            window.label()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn a_reply_to_a_hidden_tab_shows_in_its_title_and_is_read_only_when_seen() {
    run(Duration::from_secs(120), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        alice.type_message("Bed 7 is asking for you").await;
        alice.press_enter("composer").await;
        bob.wait_until("Alice's message", DELIVERY, |s| s.messages.len() == 1)
            .await;

        // Alice switches to another tab; Bob replies. A hidden tab polls
        // slowly (every 15 s by default).
        alice.set_hidden(true).await;
        bob.type_message("On my way").await;
        bob.press_enter("composer").await;
        wait_for_title(
            &alice,
            "the reply counted in the title, with a badge",
            Duration::from_secs(40),
            |title, icon| title.starts_with("(1) ") && icon.contains("circle"),
        )
        .await;
        // Not shown on a visible screen yet: the reply is not read.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let s = bob.snapshot().await;
        assert_eq!(
            s.messages[1].status.as_deref(),
            Some("sent"),
            "read while the tab was hidden: {s:?}"
        );

        // Alice comes back: the count and the badge go, and Bob sees "read".
        alice.set_hidden(false).await;
        wait_for_title(
            &alice,
            "no count and no badge once visible",
            WAIT,
            |title, icon| !title.starts_with('(') && !icon.contains("circle"),
        )
        .await;
        bob.wait_until("the reply read", DELIVERY, |s| {
            s.messages
                .get(1)
                .is_some_and(|m| m.status.as_deref() == Some("read"))
        })
        .await;
    });
}

/// Replaces what the sign-in field `testid` holds with `text`.
async fn retype(window: &Window, testid: &str, text: &str) {
    let field = window.wait_for_testid(testid, WAIT).await;
    field
        .clear()
        .await
        .unwrap_or_else(|e| panic!("{}: cannot clear [{testid}]: {e}", window.label()));
    window.type_into(testid, text).await;
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn switching_colleague_and_back_keeps_each_conversation() {
    run(Duration::from_secs(150), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        let texts = ["Bed 4 needs a review", "On my way"];
        exchange(&alice, &bob, &texts).await;

        // Alice turns to Carol: the form comes back with her own name kept.
        assert!(
            alice.click_button("Switch colleague").await,
            "no 'Switch colleague'"
        );
        alice.wait_for_testid("sign-in", WAIT).await;
        let me = alice
            .script(
                "return document.querySelector('[data-testid=\"me\"]').value;",
                vec![],
            )
            .await;
        assert_eq!(
            me,
            serde_json::json!("Alice"),
            "the form forgot who signed in"
        );
        retype(&alice, "peer", "Carol").await;
        alice.click("join").await;
        let s = alice.wait_until_loaded().await;
        assert!(
            s.messages.is_empty(),
            "Carol's conversation shows others' messages: {s:#?}"
        );
        let screens = alice
            .script(
                "return [document.querySelectorAll('main').length, \
                         document.querySelectorAll('[data-testid=\"turn\"]').length, \
                         document.querySelectorAll('[data-testid=\"sign-in\"]').length];",
                vec![],
            )
            .await;
        assert_eq!(
            screens,
            serde_json::json!([1, 1, 0]),
            "main, turn banners, sign-in forms"
        );

        // And back to Bob: the conversation is there, read from this browser,
        // and it goes on.
        assert!(alice.click_button("Switch colleague").await);
        alice.wait_for_testid("sign-in", WAIT).await;
        retype(&alice, "peer", "Bob").await;
        alice.click("join").await;
        alice
            .wait_until("the conversation with Bob again", WAIT, |s| {
                s.lines() == lines(&[("Alice", texts[0]), ("Bob", texts[1])])
            })
            .await;
        exchange(&alice, &bob, &["Gas sent"]).await;
        let s = bob.snapshot().await;
        assert_eq!(s.messages.len(), 3, "Bob's transcript: {s:#?}");
    });
}

/// Fills the page's local storage until the browser refuses more.
const FILL_STORAGE: &str = "let n = 0; \
    for (const size of [1 << 20, 1 << 14, 1 << 8, 1]) { \
      const junk = 'x'.repeat(size); \
      try { for (;;) { localStorage.setItem('junk.' + n, junk); n++; } } catch (e) {} \
    } \
    return n;";

const EMPTY_STORAGE_OF_JUNK: &str = "for (const key of Object.keys(localStorage)) \
      if (key.startsWith('junk.')) localStorage.removeItem(key); \
    return true;";

const STORAGE_WARNING: &str =
    "return document.body.innerText.includes('This browser will not save messages');";

/// Whether the connection banner warns that this browser will not save.
fn warns_of_storage(s: &Snapshot) -> bool {
    s.connection_text
        .as_deref()
        .is_some_and(|t| t.contains("This browser will not save messages"))
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn a_full_storage_is_shown_and_the_warning_goes_once_it_saves_again() {
    run(Duration::from_secs(120), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        exchange(&alice, &bob, &["Obs for bed 7 please"]).await;
        assert_eq!(
            alice.script(STORAGE_WARNING, vec![]).await,
            serde_json::json!(false)
        );

        let filled = alice.script(FILL_STORAGE, vec![]).await;
        assert!(
            filled.as_u64().unwrap_or(0) > 0,
            "nothing was stored: {filled}"
        );
        exchange(&bob, &alice, &["Done: 36.8, 88, 120/70"]).await;
        alice
            .wait_until("the storage warning", WAIT, warns_of_storage)
            .await;

        // Room again: the next change is saved and the warning goes.
        alice.script(EMPTY_STORAGE_OF_JUNK, vec![]).await;
        exchange(&alice, &bob, &["Thanks"]).await;
        alice
            .wait_until("no storage warning", WAIT, |s| !warns_of_storage(s))
            .await;
        // And what was said is there after a reload.
        alice.reload().await;
        let s = alice.wait_until_loaded().await;
        assert_eq!(s.messages.len(), 3, "after the reload: {s:#?}");
    });
}

/// WebDriver's Escape key.
const ESCAPE: &str = "\u{E00C}";

/// Where the focus is: `settings-panel` if inside the open settings, else
/// the focused element's test id (or its tag).
const FOCUS: &str = "const a = document.activeElement; \
    if (a && a.closest('#settings-panel')) return 'settings-panel'; \
    return a ? (a.dataset.testid || a.tagName) : null;";

/// The transcript's height and the settings panel's, in CSS pixels.
const HEIGHTS: &str = "const h = (e) => Math.round(e.getBoundingClientRect().height); \
    return [h(document.querySelector('.transcript')), h(document.getElementById('settings-panel'))];";

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn settings_open_over_the_transcript_close_with_esc_and_put_the_server_under_advanced() {
    run(Duration::from_secs(120), async {
        let stack = Stack::start();
        let phone = stack
            .conversation(
                WindowOptions::new("Alice (phone, light)").size(390, 844),
                "Alice",
                "Bob",
            )
            .await;
        let desktop = stack
            .conversation(
                WindowOptions::new("Alice (desktop, dark)")
                    .size(1280, 800)
                    .dark(),
                "Alice",
                "Bob",
            )
            .await;
        for (window, name) in [(&phone, "390x844-light"), (&desktop, "1280x800-dark")] {
            window.wait_until_loaded().await;
            let closed = window.script(HEIGHTS, vec![]).await;
            window.click("settings").await;
            window
                .wait_for_script("the focus in the open settings", WAIT, FOCUS, |f| {
                    f == "settings-panel"
                })
                .await;
            settle(window).await;
            // Over the transcript, not above it: the transcript keeps its size.
            let open = window.script(HEIGHTS, vec![]).await;
            assert_eq!(
                open[0], closed[0],
                "{}: the open settings changed the transcript's height (closed, open: transcript and panel): {closed} {open}",
                window.label()
            );
            window
                .screenshot(&screenshot_path(&format!("settings-{name}.png")))
                .await;

            // What only IT needs is under "Advanced", closed.
            let advanced = window
                .script(
                    "const d = document.querySelector('#settings-panel details'); \
                     const inside = (id) => !!d && d.contains(document.getElementById(id)); \
                     return [d ? d.querySelector('summary').textContent.trim() : null, !!d && d.open, \
                             inside('settings-server'), inside('poll-waiting'), \
                             document.getElementById('poll-waiting').checkVisibility()];",
                    vec![],
                )
                .await;
            assert_eq!(
                advanced,
                serde_json::json!(["Advanced", false, true, true, false]),
                "{}: [summary, open, server inside, intervals inside, intervals shown]",
                window.label()
            );
            let words = window
                .script(
                    "return document.getElementById('settings-panel').innerText;",
                    vec![],
                )
                .await;
            let words = words.as_str().unwrap_or_default();
            assert!(
                words.contains("Remove from this device") && !words.contains("Clear"),
                "{}: the settings say {words:?}",
                window.label()
            );

            // Esc closes it, and the focus goes back to the settings button.
            let focused = window.client().active_element().await.expect("a focus");
            focused.send_keys(ESCAPE).await.expect("press Esc");
            window
                .wait_for_script(
                    "the settings closed, the focus on their button",
                    WAIT,
                    &format!("return [document.getElementById('settings-panel').hidden, (() => {{ {FOCUS} }})()];"),
                    |v| v == &serde_json::json!([true, "settings"]),
                )
                .await;
            assert_eq!(
                window.attr("settings", "aria-expanded").await.as_deref(),
                Some("false")
            );
        }
        let mut found = Vec::new();
        for window in [&phone, &desktop] {
            window.click("settings").await;
            found.extend(
                window
                    .axe()
                    .await
                    .into_iter()
                    .map(|v| format!("{}: {v}", window.label())),
            );
        }
        assert!(
            found.is_empty(),
            "axe-core, settings open:\n{}",
            found.join("\n")
        );
    });
}

/// Which keys of this page's local storage hold `text`.
const KEYS_HOLDING: &str = "const [text] = arguments; \
    return Object.keys(localStorage).filter((k) => localStorage.getItem(k).includes(text));";

/// "Remove from this device" in `window`'s open settings, the question
/// confirmed; waits for the sign-in form that follows.
async fn confirm_removal(window: &Window) {
    window.click("remove-from-device").await;
    window.open_dialog().await.expect("no confirmation asked");
    window.client().accept_alert().await.expect("accept");
    window.wait_for_testid("sign-in", WAIT).await;
}

/// Asserts that `window`'s browser keeps none of `texts` in local storage.
async fn assert_kept_nowhere(window: &Window, texts: &[&str]) {
    for text in texts {
        assert_eq!(
            window.script(KEYS_HOLDING, vec![(*text).into()]).await,
            serde_json::json!([]),
            "this browser still keeps {text:?}"
        );
    }
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn removing_a_conversation_from_this_device_asks_first_and_leaves_the_server_and_the_colleague_alone(
) {
    run(Duration::from_secs(150), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        let texts = ["Bed 4 needs a review", "On my way"];
        exchange(&alice, &bob, &texts).await;
        let expected = lines(&[("Alice", texts[0]), ("Bob", texts[1])]);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let kept = alice.script(KEYS_HOLDING, vec![texts[0].into()]).await;
        assert_ne!(
            kept,
            serde_json::json!([]),
            "this browser kept nothing to remove"
        );

        // Cancelled: nothing goes.
        alice.click("settings").await;
        alice.click("remove-from-device").await;
        let question = alice.open_dialog().await.expect("no confirmation asked");
        assert!(
            question.contains("Remove this conversation from this device?")
                && question.contains("Nothing is deleted for Bob or on the server"),
            "asked: {question}"
        );
        alice.client().dismiss_alert().await.expect("dismiss");
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(alice.snapshot().await.lines(), expected);
        assert_eq!(
            alice.script(KEYS_HOLDING, vec![texts[0].into()]).await,
            kept
        );

        // Confirmed: this browser forgets it and shows the sign-in form ...
        confirm_removal(&alice).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_kept_nowhere(&alice, &texts).await;
        // ... while the server and Bob keep every message, and Bob goes on.
        assert_eq!(stack.message_keys().len(), 2, "{:?}", stack.stored_keys());
        assert_eq!(bob.snapshot().await.lines(), expected, "Bob's transcript");

        // Opened again, it comes back from the server.
        alice.goto(&stack.conversation_url("Alice", "Bob")).await;
        alice
            .wait_until(
                "the conversation, loaded again from the server",
                DELIVERY,
                |s| s.lines() == expected,
            )
            .await;
        exchange(&alice, &bob, &["Thanks, he is in bay 2"]).await;
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn a_conversation_removed_in_one_tab_leaves_the_other_tab_and_stays_removed() {
    run(Duration::from_secs(150), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        let texts = ["Bed 9: potassium 6.1", "Repeat it and call me"];
        exchange(&alice, &bob, &texts).await;

        // The same conversation in a second tab of Alice's browser.
        let first = alice.client().window().await.expect("Alice's tab");
        let second = alice.client().new_window(true).await.expect("a new tab");
        alice
            .client()
            .switch_to_window(second.handle.clone())
            .await
            .expect("to the second tab");
        alice.goto(&stack.conversation_url("Alice", "Bob")).await;
        alice
            .wait_until("both messages in the second tab", DELIVERY, |s| {
                s.messages.len() == texts.len()
            })
            .await;

        // Removed in the first tab ...
        alice
            .client()
            .switch_to_window(first)
            .await
            .expect("back to the first tab");
        alice.click("settings").await;
        confirm_removal(&alice).await;

        // ... the second tab stops, says why, and writes nothing back.
        alice
            .client()
            .switch_to_window(second.handle)
            .await
            .expect("to the second tab again");
        let note = alice
            .wait_for_text(
                "sign-in-note",
                "removed from this browser in another tab",
                WAIT,
            )
            .await;
        assert!(
            note.contains("still with Bob and on the server"),
            "{note:?}"
        );
        alice.wait_for_testid("sign-in", WAIT).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_kept_nowhere(&alice, &texts).await;
        assert_eq!(stack.message_keys().len(), 2, "{:?}", stack.stored_keys());
    });
}

/// Sets the field `id` to `text` as typing and leaving it does (one change
/// event), then returns what the field shows.
const CHANGE_FIELD: &str = "const [id, text] = arguments; \
    const field = document.getElementById(id); \
    field.value = text; \
    field.dispatchEvent(new Event('change', { bubbles: true })); \
    return field.value;";

/// Alice in a conversation with Bob, her settings open.
async fn alice_in_her_settings(stack: &Stack) -> Window {
    let alice = stack
        .conversation(WindowOptions::new("alice"), "Alice", "Bob")
        .await;
    alice.wait_until_loaded().await;
    alice.click("settings").await;
    alice
}

/// Sets the field `id` to `text` as typing and leaving it would; what it
/// shows afterwards.
async fn change_field(window: &Window, id: &str, text: &str) -> serde_json::Value {
    window
        .script(CHANGE_FIELD, vec![id.into(), text.into()])
        .await
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn settings_take_a_poll_interval_refuse_a_wrong_one_and_keep_both_after_a_reload() {
    run(Duration::from_secs(90), async {
        let stack = Stack::start();
        let alice = alice_in_her_settings(&stack).await;

        // Taken, to a tenth of a second; then a zero is refused and the
        // field shows the interval still in use.
        assert_eq!(
            change_field(&alice, "poll-waiting", "1.25").await,
            serde_json::json!("1.2")
        );
        assert_eq!(
            change_field(&alice, "poll-waiting", "0").await,
            serde_json::json!("1.2")
        );
        alice
            .click_css("#settings-panel input[type=checkbox]")
            .await;

        // Both are kept: the form shows them after a reload.
        alice.reload().await;
        alice.wait_until_loaded().await;
        let shown = alice
            .script(
                "return [document.getElementById('poll-waiting').value, \
                 document.querySelector('#settings-panel input[type=checkbox]').checked];",
                vec![],
            )
            .await;
        // The sound, on by default, was turned off.
        assert_eq!(shown, serde_json::json!(["1.2", false]));
    });
}

/// Another tab of the same browser changing one setting while this one
/// changes another: each tab saves from what is stored, so neither change
/// undoes the other. (The other tab is played by writing the stored
/// preferences as a tab of this origin would.)
#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn a_setting_changed_in_another_tab_is_kept_when_this_one_changes_another() {
    run(Duration::from_secs(90), async {
        let stack = Stack::start();
        let alice = alice_in_her_settings(&stack).await;
        assert_eq!(
            change_field(&alice, "poll-waiting", "2").await,
            serde_json::json!("2")
        );

        // The other tab: the hidden-tab interval to 40 s.
        alice
            .script(
                "const p = JSON.parse(localStorage.getItem('bleep.preferences')); \
                 p.timing.hidden_poll_ms = 40000; \
                 localStorage.setItem('bleep.preferences', JSON.stringify(p));",
                vec![],
            )
            .await;
        // This tab: the sound off.
        alice
            .click_css("#settings-panel input[type=checkbox]")
            .await;

        let stored: serde_json::Value =
            serde_json::from_str(&alice.stored("bleep.preferences").await).unwrap_or_default();
        assert_eq!(
            [
                &stored["timing"]["waiting_poll_ms"],
                &stored["timing"]["hidden_poll_ms"],
                &stored["sound"]
            ],
            [
                &serde_json::json!(2000),
                &serde_json::json!(40000),
                &serde_json::json!(false)
            ],
            "{stored}"
        );
        alice.reload().await;
        alice.wait_until_loaded().await;
        let shown = alice
            .script(
                "return ['poll-waiting', 'poll-hidden'].map((id) => document.getElementById(id).value);",
                vec![],
            )
            .await;
        assert_eq!(shown, serde_json::json!(["2", "40"]));
    });
}

/// The alert settings: [sound on, notifications on, both before the
/// removal and "Advanced", the words above them].
const ALERTS: &str = "const [sound, notes] = ['alert-sound', 'alert-notifications'].map((id) => document.getElementById(id)); \
    const before = (a, b) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING); \
    const later = [document.querySelector('[data-testid=\"remove-from-device\"]'), document.querySelector('#settings-panel details')]; \
    return [sound.checked, notes.checked, later.every((e) => before(sound, e) && before(notes, e)), \
            document.querySelector('#settings-panel legend').textContent];";

/// The first `n` values of the array `values`.
fn first(values: &serde_json::Value, n: usize) -> serde_json::Value {
    let values = values.as_array().map(Vec::as_slice).unwrap_or_default();
    serde_json::Value::Array(values.iter().take(n).cloned().collect())
}

/// Whether the question about notifications is on screen.
const ASKING: &str = "const ask = document.querySelector('[data-testid=\"notification-ask\"]'); \
    return !!ask && ask.checkVisibility();";

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn alerts_come_first_the_sound_is_on_and_notifications_are_asked_for_once() {
    run(Duration::from_secs(120), async {
        let stack = Stack::start();
        let alice = stack.window(WindowOptions::new("Alice")).await;
        let bob = stack.window(WindowOptions::new("Bob")).await;
        for window in [&alice, &bob] {
            // As a clinician would answer the browser's own prompt.
            window
                .devtools(
                    "Browser.grantPermissions",
                    serde_json::json!({ "permissions": ["notifications"] }),
                )
                .await;
        }
        alice.goto(&stack.conversation_url("Alice", "Bob")).await;
        alice.wait_until_loaded().await;
        let question = alice
            .wait_for_text("notification-ask", "desktop notification", WAIT)
            .await;
        assert!(
            question.contains("when Bob replies while Bleep is in the background"),
            "asked: {question:?}"
        );
        alice.click("settings").await;
        let alerts = alice.script(ALERTS, vec![]).await;
        assert_eq!(
            first(&alerts, 3),
            serde_json::json!([true, false, true]),
            "[sound, notifications, first]: {alerts}"
        );
        assert!(
            alerts[3]
                .as_str()
                .unwrap_or_default()
                .contains("When a reply arrives"),
            "{alerts}"
        );
        alice.click("settings").await;

        // Yes: notifications are on, the question goes, and the focus is
        // where she writes.
        alice.click("notification-yes").await;
        alice
            .wait_for_script(
                "notifications on, the question gone",
                WAIT,
                &format!("return [document.getElementById('alert-notifications').checked, (() => {{ {ASKING} }})(), document.activeElement.id];"),
                |v| v == &serde_json::json!([true, false, "composer"]),
            )
            .await;
        // Never asked again; both alerts stay on.
        alice.reload().await;
        alice.wait_until_loaded().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(alice.script(ASKING, vec![]).await, serde_json::json!(false));
        let alerts = alice.script(ALERTS, vec![]).await;
        assert_eq!(
            first(&alerts, 2),
            serde_json::json!([true, true]),
            "after a reload: {alerts}"
        );

        // Bob does not answer: the question is not asked again either.
        bob.goto(&stack.conversation_url("Bob", "Alice")).await;
        bob.wait_until_loaded().await;
        bob.wait_for_text("notification-ask", "desktop notification", WAIT)
            .await;
        bob.reload().await;
        bob.wait_until_loaded().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(bob.script(ASKING, vec![]).await, serde_json::json!(false));
        let alerts = bob.script(ALERTS, vec![]).await;
        assert_eq!(
            first(&alerts, 2),
            serde_json::json!([true, false]),
            "Bob's alerts: {alerts}"
        );
    });
}

/// Makes the page's clock run `days` ahead of the machine's (a clinician
/// reading a conversation a day or two later).
fn days_later(days: u32) -> String {
    format!("const ahead = {days} * 86400000; const now = Date.now.bind(Date); Date.now = () => now() + ahead;")
}

/// The words of the day dividers in the transcript, in order.
const DAYS: &str =
    "return [...document.querySelectorAll('[data-testid=\"transcript\"] .day')].map((d) => d.textContent);";

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn the_day_divider_says_today_yesterday_then_the_date() {
    run(Duration::from_secs(150), async {
        let stack = Stack::start();
        let alice = stack
            .conversation(WindowOptions::new("Alice"), "Alice", "Bob")
            .await;
        alice.wait_until_loaded().await;
        let bob = stack.window(WindowOptions::new("Bob, a day later")).await;
        bob.before_each_page(&days_later(1)).await;
        bob.goto(&stack.conversation_url("Bob", "Alice")).await;
        bob.wait_until_loaded().await;
        exchange(&alice, &bob, &["Bed 4 needs a review", "On my way"]).await;
        let later = stack
            .window(WindowOptions::new("Bob's other device, two days later"))
            .await;
        later.before_each_page(&days_later(2)).await;
        later.goto(&stack.conversation_url("Bob", "Alice")).await;
        later
            .wait_until("both messages", DELIVERY, |s| s.messages.len() == 2)
            .await;

        assert_eq!(alice.script(DAYS, vec![]).await[0], "Today");
        assert_eq!(
            bob.script(DAYS, vec![]).await,
            serde_json::json!(["Yesterday", "Today"])
        );
        // Alice's day, as a date: "Tuesday 1 December" (and the year if the
        // two days later are in the next year).
        let day = alice
            .script(
                "const d = new Date(); return [d.getDay(), d.getDate(), d.getMonth(), d.getFullYear()];",
                vec![],
            )
            .await;
        let weekdays = [
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
        ];
        let months = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let number = |i: usize| day[i].as_u64().unwrap_or_default() as usize;
        let date = format!(
            "{} {} {}",
            weekdays[number(0)],
            number(1),
            months[number(2)]
        );
        let seen = later.script(DAYS, vec![]).await;
        let first = seen[0].as_str().unwrap_or_default();
        assert!(
            first == date || first == format!("{date} {}", number(3)),
            "two days later the first divider says {first:?}, not {date:?}: {seen}"
        );
        assert_eq!(seen[1], "Yesterday", "{seen}");
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn web_addresses_in_messages_are_links_to_a_new_tab_and_the_rest_stays_text() {
    run(Duration::from_secs(90), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        let address = "https://intranet.example/sepsis?ward=7&v=2";
        // Markup typed in a message stays text; an address in it is a link.
        let text = format!(
            "Sepsis protocol: {address}. Not a link: javascript:alert(1) <a href=\"http://x.example\">x</a>"
        );
        alice.type_message(&text).await;
        alice.press_enter("composer").await;
        bob.wait_until("the message", DELIVERY, |s| !s.messages.is_empty())
            .await;
        for window in [&alice, &bob] {
            let seen = window
                .script(
                    "const t = document.querySelector('[data-testid=\"message-text\"]'); \
                     return [[...t.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.target, a.rel, a.textContent]), \
                             t.children.length, t.textContent];",
                    vec![],
                )
                .await;
            assert_eq!(
                seen,
                serde_json::json!([
                    [
                        [address, "_blank", "noopener noreferrer", address],
                        [
                            "http://x.example",
                            "_blank",
                            "noopener noreferrer",
                            "http://x.example"
                        ]
                    ],
                    2,
                    text
                ]),
                "{}: [links, elements, text]",
                window.label()
            );
            assert_eq!(window.open_dialog().await, None, "{}", window.label());
        }
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn the_sign_in_form_names_every_missing_name_and_shows_the_length_limit_before_it_is_sent() {
    run(Duration::from_secs(60), async {
        let stack = Stack::start();
        let window = stack.window(WindowOptions::new("sign-in")).await;
        window.goto(&stack.sign_in_url()).await;
        let limits = window
            .script(
                "return ['me', 'peer'].map((id) => { \
                   const field = document.getElementById(id), hint = document.getElementById(id + '-hint'); \
                   return [field.maxLength, (field.getAttribute('aria-describedby') || '').split(' ').includes(id + '-hint'), \
                           hint ? hint.textContent : null, !!hint && hint.checkVisibility()]; });",
                vec![],
            )
            .await;
        let limit = serde_json::json!([40, true, "Up to 40 characters.", true]);
        assert_eq!(
            limits,
            serde_json::json!([limit, limit]),
            "[maxlength, described by the hint, hint, hint shown] of each name field"
        );

        // Sent empty: both fields say so, and the focus is on the first.
        window.click("join").await;
        window
            .wait_for_script(
                "both names asked for, the focus on the first",
                WAIT,
                "return [document.getElementById('me-error').textContent, \
                         document.getElementById('peer-error').textContent, document.activeElement.id];",
                |v| v == &serde_json::json!(["Please enter a name.", "Please enter a name.", "me"]),
            )
            .await;
        // A longer name is cut at the limit as it is typed.
        window.type_into("me", &"Nurse Jo ".repeat(20)).await;
        let typed = window
            .script("return document.getElementById('me').value.length;", vec![])
            .await;
        assert_eq!(typed, serde_json::json!(40));
    });
}

/// The top bar: [its children in one row, each button's [width, height],
/// its height], in CSS pixels.
const TOP_BAR: &str = "const bar = document.querySelector('.top-bar'); \
    const boxes = [...bar.children].map((e) => e.getBoundingClientRect()); \
    const oneRow = Math.max(...boxes.map((b) => b.top)) < Math.min(...boxes.map((b) => b.bottom)); \
    const buttons = [...bar.querySelectorAll('button')].map((b) => b.getBoundingClientRect()) \
      .map((r) => [Math.round(r.width), Math.round(r.height)]); \
    return [oneRow, buttons, Math.round(bar.getBoundingClientRect().height)];";

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn on_a_phone_the_top_bar_is_one_row_of_44_px_targets() {
    run(Duration::from_secs(90), async {
        let stack = Stack::start();
        let light = stack
            .conversation(
                WindowOptions::new("Alice (phone, light)").size(390, 844),
                "Alice",
                "Bob",
            )
            .await;
        let dark = stack
            .conversation(
                WindowOptions::new("Bob (phone, dark)")
                    .size(390, 844)
                    .dark(),
                "Bob",
                "Alice",
            )
            .await;
        for (window, scheme) in [(&light, "light"), (&dark, "dark")] {
            window.wait_until_loaded().await;
            settle(window).await;
            window
                .screenshot(&screenshot_path(&format!("top-bar-390x844-{scheme}.png")))
                .await;
            let bar = window.script(TOP_BAR, vec![]).await;
            assert_eq!(bar[0], true, "{}: the top bar wraps: {bar}", window.label());
            let buttons = bar[1].as_array().cloned().unwrap_or_default();
            assert_eq!(buttons.len(), 2, "{bar}");
            for size in buttons {
                let (w, h) = (size[0].as_u64().unwrap_or(0), size[1].as_u64().unwrap_or(0));
                assert!(
                    w >= 44 && h >= 44,
                    "{}: a {w}×{h} px button: {bar}",
                    window.label()
                );
            }
            // Its words are still there for a screen reader.
            assert!(
                window.click_button("Switch colleague").await,
                "{}: no \"Switch colleague\"",
                window.label()
            );
            window.wait_for_testid("sign-in", WAIT).await;
        }
    });
}

/// The heights of the banners between the top bar and the transcript, and
/// whether the unsent line is in view above the composer (nothing covers
/// its middle), with its words.
const PHONE_OFFLINE: &str = "const screen = document.querySelector('.conversation'); \
    const banners = [...screen.children].filter((e) => !['top-bar', 'transcript', 'composer', 'settings', 'unsent'] \
      .some((c) => e.classList.contains(c))).map((e) => Math.round(e.getBoundingClientRect().height)); \
    const line = document.querySelector('[data-testid=\"unsent\"]'); \
    let shown = false, words = null; \
    if (line && line.checkVisibility()) { \
      const r = line.getBoundingClientRect(); \
      const top = document.elementFromPoint(r.left + 8, (r.top + r.bottom) / 2); \
      shown = line.contains(top) && r.bottom <= document.querySelector('.composer').getBoundingClientRect().top + 1; \
      words = line.innerText; } \
    return [banners, shown, words];";

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn on_a_phone_offline_one_compact_banner_and_the_unsent_line_stays_above_the_composer() {
    run(Duration::from_secs(150), async {
        let mut stack = Stack::start();
        let alice = stack
            .conversation(
                WindowOptions::new("Alice (phone)").size(390, 844),
                "Alice",
                "Bob",
            )
            .await;
        alice.wait_until_loaded().await;
        alice.click_button("Not now").await;
        stack.php.stop();
        let text = "Bed 3 asking for pain relief, can you prescribe?";
        alice.type_message(text).await;
        alice.press_enter("composer").await;
        alice
            .wait_until("offline, the message not sent yet", GOES_OFFLINE, |s| {
                s.connection.as_deref() == Some("offline")
                    && s.find(text)
                        .first()
                        .is_some_and(|m| m.all_text.contains("Not sent yet"))
            })
            .await;
        settle(&alice).await;
        alice
            .screenshot(&screenshot_path("offline-390x844-light.png"))
            .await;
        let seen = alice.script(PHONE_OFFLINE, vec![]).await;
        let banners: Vec<u64> = serde_json::from_value(seen[0].clone()).unwrap_or_default();
        let total: u64 = banners.iter().sum();
        assert!(total <= 150, "the banners take {total} px of 844: {seen}");
        assert!(
            seen[1] == true
                && seen[2]
                    .as_str()
                    .is_some_and(|w| w.contains("not sent yet") && w.contains("Retry now")),
            "the unsent line is not in view above the composer: {seen}"
        );
        let turn = alice.text("turn").await.unwrap_or_default();
        assert!(
            turn.contains("Not sent yet"),
            "the turn banner says {turn:?} while the server is down"
        );

        // The server is back: the message goes, and so does the line.
        stack.php.restart();
        alice
            .wait_until("delivered", COMES_BACK, |s| {
                s.online() && matches!(status_of(s, text).as_deref(), Some("sent" | "read"))
            })
            .await;
        let seen = alice.script(PHONE_OFFLINE, vec![]).await;
        assert_eq!(seen[2], serde_json::Value::Null, "{seen}");
    });
}
