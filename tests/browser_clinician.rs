//! Bleep in Chromium where clinicians stumbled over it (issue 19): each test
//! is one place they stumbled, which must now work. Same harness as
//! `tests/browser.rs` (the built app in `$BLEEP_DIST`, our IMserver.php,
//! ChromeDriver).
//!
//! Run with `scripts/test`, or after building the app:
//! `BLEEP_DIST=$PWD/dist cargo test --test browser_clinician -- --ignored --test-threads=1`.

mod support;

use std::time::Duration;

use serde_json::json;
use support::browser::{run, say, Snapshot, Stack, Window, WindowOptions, WAIT};

/// The colleague's screen learns of a message within a few polls.
const DELIVERY: Duration = Duration::from_secs(20);

/// Records, from the page's first script on, every error the page reports:
/// `console.error` (the app's panic message goes there), uncaught exceptions
/// and rejected promises nobody handled.
const RECORD_ERRORS: &str = "
window.__errors = [];
const report = console.error;
console.error = function (...args) { window.__errors.push(args.map(String).join(' ')); return report.apply(this, args); };
addEventListener('error', (e) => window.__errors.push('uncaught: ' + e.message));
addEventListener('unhandledrejection', (e) => window.__errors.push('unhandled: ' + e.reason));
";

/// A browser without desktop notifications (an iPhone tab), without Web
/// Audio, without resize observers (an old browser), and whose local storage
/// throws on access (as a private window's may).
const WITHOUT_APIS: &str = "
for (const name of ['Notification', 'AudioContext', 'webkitAudioContext', 'ResizeObserver']) delete window[name];
Object.defineProperty(window, 'localStorage', { configurable: true,
  get() { throw new DOMException('The operation is insecure.', 'SecurityError'); } });
";

/// What the page reported as errors since it loaded.
async fn errors(window: &Window) -> Vec<String> {
    let value = window.script("return window.__errors || [];", vec![]).await;
    serde_json::from_value(value).unwrap_or_default()
}

/// Waits until the tab's title satisfies `ok`.
async fn wait_for_title(window: &Window, what: &str, ok: impl Fn(&str) -> bool) {
    let title = "return document.title;";
    window
        .wait_for_script(what, WAIT, title, |t| ok(t.as_str().unwrap_or_default()))
        .await;
}

/// The notice's words for each missing API, as a clinician reads them.
const NOTICES: [&str; 4] = [
    "No desktop notifications in this browser",
    "No alert sound in this browser",
    "does not let Bleep save anything",
    "scroll down to the newest message",
];

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn a_browser_without_notifications_sound_storage_or_resize_observer_still_converses() {
    run(Duration::from_secs(150), async {
        let stack = Stack::start();
        let alice = stack
            .window(WindowOptions::new("Alice (a browser without four APIs)"))
            .await;
        alice.before_each_page(RECORD_ERRORS).await;
        alice.before_each_page(WITHOUT_APIS).await;
        alice.goto(&stack.conversation_url("Alice", "Bob")).await;
        alice.wait_until_loaded().await;
        let gone = alice
            .script(
                "let storage = 'there'; try { localStorage; } catch (e) { storage = 'throws'; } \
                 return [typeof Notification, typeof AudioContext, typeof ResizeObserver, storage];",
                vec![],
            )
            .await;
        assert_eq!(
            gone,
            json!(["undefined", "undefined", "undefined", "throws"]),
            "the APIs were not taken away before the app started"
        );
        let bob = stack
            .conversation(WindowOptions::new("Bob"), "Bob", "Alice")
            .await;

        // Alice tries to turn both alerts on.
        alice.click("settings").await;
        alice
            .script(
                "for (const box of document.querySelectorAll('#settings-panel input[type=checkbox]')) box.click(); \
                 return true;",
                vec![],
            )
            .await;
        alice.click("settings").await;

        // A whole exchange, with a reply reaching her hidden tab.
        say(&alice, &bob, "Bed 2: BP 80/40, please review").await;
        alice.set_hidden(true).await;
        say(&bob, &alice, "Coming now").await;
        wait_for_title(&alice, "the reply counted in the title", |t| {
            t.starts_with("(1) ")
        })
        .await;
        alice.set_hidden(false).await;
        wait_for_title(&alice, "the count gone once the tab shows", |t| {
            !t.starts_with('(')
        })
        .await;
        let reported = errors(&alice).await;
        assert!(
            reported.is_empty(),
            "the page reported errors: {reported:#?}"
        );
        bob.wait_until("Bob's reply read", DELIVERY, |s| {
            s.messages.get(1).and_then(|m| m.status.as_deref()) == Some("read")
        })
        .await;
        say(&alice, &bob, "Thanks, fluids up").await;
        let reported = errors(&alice).await;
        assert!(
            reported.is_empty(),
            "the page reported errors: {reported:#?}"
        );

        // She is told, in words, what this browser cannot do; neither alert
        // is on.
        let notice = alice.text("browser-notice").await.unwrap_or_default();
        for words in NOTICES {
            assert!(
                notice.contains(words),
                "the browser notice does not say {words:?}: {notice:?}"
            );
        }
        let boxes = alice
            .script(
                "return [...document.querySelectorAll('#settings-panel input[type=checkbox]')] \
                   .map((b) => [b.checked, b.disabled]);",
                vec![],
            )
            .await;
        assert_eq!(
            boxes,
            json!([[false, true], [false, true]]),
            "alerts this browser cannot give are on, or can be turned on ([checked, disabled])"
        );
        // A browser with every API has no such notice.
        assert_eq!(bob.text("browser-notice").await, None);
    });
}

/// The turn banner's live regions (the banner itself or anything in it
/// that a screen reader announces when it changes): `[politeness, text]`.
const TURN_LIVE_REGIONS: &str = "
const turn = document.querySelector('[data-testid=\"turn\"]');
const politeness = (e) => e.getAttribute('aria-live')
  || ({ status: 'polite', log: 'polite', alert: 'assertive', timer: 'off' })[e.getAttribute('role')];
return [turn, ...turn.querySelectorAll('*')]
  .filter((e) => politeness(e))
  .map((e) => [politeness(e), e.textContent]);
";

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn the_turn_banner_announces_a_change_politely_once_and_not_its_counter() {
    run(Duration::from_secs(90), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        say(&alice, &bob, "Bed 9 is asking for pain relief").await;
        alice
            .wait_until("Alice waiting for Bob", DELIVERY, |s| s.turn_is("waiting"))
            .await;

        // Three seconds of waiting: the counter on screen moves, what is
        // announced does not.
        let before = alice.script(TURN_LIVE_REGIONS, vec![]).await;
        let shown_before = alice.text("turn").await;
        tokio::time::sleep(Duration::from_millis(3_200)).await;
        let after = alice.script(TURN_LIVE_REGIONS, vec![]).await;
        let shown_after = alice.text("turn").await;
        assert_ne!(
            shown_before, shown_after,
            "the banner no longer shows how long Alice has waited"
        );
        let regions: Vec<(String, String)> = serde_json::from_value(after.clone())
            .unwrap_or_else(|e| panic!("unexpected live regions ({e}): {after}"));
        assert_eq!(
            regions.len(),
            1,
            "the turn banner should be one live region: {regions:?}"
        );
        let (politeness, words) = &regions[0];
        assert_eq!(
            politeness, "polite",
            "the turn banner interrupts: {regions:?}"
        );
        assert!(
            words.contains("Waiting for Bob"),
            "the live region does not say whose turn it is: {words:?}"
        );
        assert_eq!(
            before, after,
            "what a screen reader announces changed while nothing happened"
        );
        assert!(
            !words.chars().any(|c| c.is_ascii_digit()),
            "the counter is announced: {words:?}"
        );

        // Bob replies: the change is announced (once: the words change once).
        say(&bob, &alice, "Given 1 g paracetamol").await;
        alice
            .wait_until("Alice's turn", DELIVERY, |s| s.turn_is("idle"))
            .await;
        let regions = alice.script(TURN_LIVE_REGIONS, vec![]).await;
        assert_eq!(regions, json!([["polite", "Your turn"]]));
    });
}

/// Whether the page sees a touch screen as its main pointer.
const COARSE_POINTER: &str = "return matchMedia('(pointer: coarse)').matches;";

/// Presses Enter in the composer as an input method does when it ends a
/// composition: `isComposing` (Chromium, Firefox), or without it but with
/// `keyCode` 229 (Safari). Returns whether the page let the key through.
const COMPOSING_ENTER: &str = "
const composer = document.querySelector('[data-testid=\"composer\"]');
const [composing] = arguments;
const enter = new KeyboardEvent('keydown', { key: 'Enter', code: 'Enter', bubbles: true, cancelable: true, isComposing: composing });
if (!composing) Object.defineProperty(enter, 'keyCode', { get: () => 229 });
return composer.dispatchEvent(enter);
";

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn on_a_touch_screen_enter_starts_a_new_line_and_the_button_sends() {
    run(Duration::from_secs(120), async {
        let stack = Stack::start();
        let phone = stack
            .window(WindowOptions::new("Alice (phone)").size(390, 844))
            .await;
        phone
            .devtools(
                "Emulation.setTouchEmulationEnabled",
                json!({ "enabled": true, "maxTouchPoints": 5 }),
            )
            .await;
        phone.goto(&stack.conversation_url("Alice", "Bob")).await;
        phone.wait_until_loaded().await;
        assert_eq!(
            phone.script(COARSE_POINTER, vec![]).await,
            json!(true),
            "the phone window has no touch screen"
        );
        let bob = stack
            .conversation(WindowOptions::new("Bob"), "Bob", "Alice")
            .await;

        let text = "Bed 3: sats 91%\nPlease come and see";
        phone.type_message("Bed 3: sats 91%").await;
        phone.press_enter("composer").await;
        phone.type_message("Please come and see").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let s = phone.snapshot().await;
        assert_eq!(
            s.composer.as_deref(),
            Some(text),
            "Enter on a touch screen did not start a new line"
        );
        assert!(s.messages.is_empty(), "Enter sent the message: {s:#?}");
        phone.click("send").await;
        phone
            .wait_until("the two-line message, sent", WAIT, |s| {
                s.find(text).len() == 1 && s.composer.as_deref() == Some("")
            })
            .await;
        let s = bob
            .wait_until("the two-line message", DELIVERY, |s| !s.messages.is_empty())
            .await;
        assert_eq!(s.messages[0].text, text);

        // On a computer, Enter sends, but never the Enter that ends an
        // input method's composition.
        bob.wait_until("Bob's turn", DELIVERY, |s| s.turn_is("idle"))
            .await;
        assert_eq!(bob.script(COARSE_POINTER, vec![]).await, json!(false));
        bob.type_message("Coming").await;
        for composing in [true, false] {
            bob.script(COMPOSING_ENTER, vec![json!(composing)]).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let s = bob.snapshot().await;
        assert_eq!(
            s.messages.len(),
            1,
            "an input method's Enter sent the draft: {s:#?}"
        );
        assert_eq!(s.composer.as_deref(), Some("Coming"));
        bob.press_enter("composer").await;
        phone
            .wait_until("Bob's reply", DELIVERY, |s| s.messages.len() == 2)
            .await;
    });
}

/// How many entries the tab's history has.
const HISTORY_LENGTH: &str = "return history.length;";

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn a_reload_after_signing_in_through_the_form_comes_back_to_the_conversation() {
    run(Duration::from_secs(120), async {
        let stack = Stack::start();
        let alice = stack.window(WindowOptions::new("Alice")).await;
        alice.goto(&stack.sign_in_url()).await;
        let entries = alice.script(HISTORY_LENGTH, vec![]).await;
        alice.sign_in("Alice Ward", "Dr Bob").await;
        let bob = stack
            .conversation(WindowOptions::new("Bob"), "Dr Bob", "Alice Ward")
            .await;
        say(&alice, &bob, "Bed 5 wants to talk to you").await;

        let s = alice.snapshot().await;
        assert!(
            s.url.contains("?me=Alice+Ward&peer=Dr+Bob"),
            "the address does not name the conversation: {}",
            s.url
        );
        assert_eq!(
            alice.script(HISTORY_LENGTH, vec![]).await,
            entries,
            "signing in added a history entry (the back button would go to the form)"
        );
        alice.reload().await;
        let s = alice.wait_until_loaded().await;
        assert!(!s.sign_in, "a reload went back to the sign-in form");
        assert_eq!(
            s.lines(),
            vec![(
                "Alice Ward".to_owned(),
                "Bed 5 wants to talk to you".to_owned()
            )]
        );

        // Switching colleague takes the conversation out of the address.
        assert!(
            alice.click_button("Switch colleague").await,
            "no 'Switch colleague'"
        );
        let s = alice
            .wait_until("the sign-in form", WAIT, |s| s.sign_in)
            .await;
        assert!(
            !s.url.contains("me="),
            "the address still names it: {}",
            s.url
        );
        alice.reload().await;
        alice
            .wait_until("the sign-in form after a reload", WAIT, |s| s.sign_in)
            .await;
    });
}

/// The `id` of the focused element (`""` for none or the page's body).
const FOCUSED: &str = "return document.activeElement ? document.activeElement.id : '';";

/// Waits until the element with `id` has the focus.
async fn wait_for_focus(window: &Window, id: &str, what: &str) {
    window
        .wait_for_script(&format!("#{id} focused: {what}"), WAIT, FOCUSED, |f| {
            f == id
        })
        .await;
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn the_focus_goes_where_the_clinician_types_next() {
    run(Duration::from_secs(90), async {
        let stack = Stack::start();
        let alice = stack.window(WindowOptions::new("Alice")).await;
        alice.goto(&stack.sign_in_url()).await;
        wait_for_focus(&alice, "me", "an empty form").await;

        // A name missing: the focus goes to its field, which says why.
        alice.type_into("me", "Alice").await;
        alice.click("join").await;
        wait_for_focus(&alice, "peer", "the colleague's name missing").await;
        let error = alice
            .script(
                "return document.getElementById('peer-error').textContent;",
                vec![],
            )
            .await;
        assert_ne!(error, json!(""), "no error beside the colleague's field");

        // Opened: what is typed next goes into the composer.
        alice.type_into("peer", "Bob").await;
        alice.click("join").await;
        let s: Snapshot = alice.wait_until_loaded().await;
        assert!(!s.sign_in);
        wait_for_focus(&alice, "composer", "the conversation just opened").await;

        // The form comes back with Alice's name: the colleague's field
        // is the first empty one... after clearing it, as a switch does.
        assert!(alice.click_button("Switch colleague").await);
        alice
            .wait_until("the sign-in form", WAIT, |s| s.sign_in)
            .await;
        alice
            .script(
                "localStorage.setItem('bleep.sign-in', JSON.stringify({me: 'Alice', peer: '', server: 'IMserver.php'})); return true;",
                vec![],
            )
            .await;
        alice.reload().await;
        wait_for_focus(
            &alice,
            "peer",
            "a form with only the colleague's name empty",
        )
        .await;
    });
}

/// `[text, words, mark's tooltip]` of each own message that says how far
/// it got in words (`delivery-state`).
const DELIVERY_WORDS: &str = "
return [...document.querySelectorAll('[data-testid=\"message\"]')]
  .filter((m) => m.querySelector('[data-testid=\"delivery-state\"]'))
  .map((m) => [m.querySelector('[data-testid=\"message-text\"]').textContent,
               m.querySelector('[data-testid=\"delivery-state\"]').textContent,
               m.querySelector('.delivery').getAttribute('title')]);
";

/// Whether `words` is `state` followed by a clock time ("Read 13:56").
fn says_at(words: &str, state: &str) -> bool {
    words.strip_prefix(state).is_some_and(|time| {
        let time = time.as_bytes();
        time.len() == 6
            && time[0] == b' '
            && time[3] == b':'
            && [1, 2, 4, 5].iter().all(|&i| time[i].is_ascii_digit())
    })
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn your_last_message_says_in_words_when_it_was_sent_and_read() {
    run(Duration::from_secs(120), async {
        let stack = Stack::start();
        let alice = stack
            .conversation(WindowOptions::new("Alice"), "Alice", "Bob")
            .await;
        let first = "Bed 4: obs due at 14:00";
        alice.type_message(first).await;
        alice.press_enter("composer").await;
        alice
            .wait_for_script("\"Sent\" and its time", DELIVERY, DELIVERY_WORDS, |v| {
                v[0][0] == first && says_at(v[0][1].as_str().unwrap_or_default(), "Sent")
            })
            .await;

        // Bob's screen shows it: Alice reads when, on the message and on
        // its mark's tooltip.
        let bob = stack
            .conversation(WindowOptions::new("Bob"), "Bob", "Alice")
            .await;
        let seen = alice
            .wait_for_script("\"Read\" and its time", DELIVERY, DELIVERY_WORDS, |v| {
                says_at(v[0][1].as_str().unwrap_or_default(), "Read")
            })
            .await;
        assert_eq!(seen[0][1], seen[0][2], "the mark's tooltip: {seen}");

        // Only the last of her messages says it in words.
        say(&bob, &alice, "Done: all normal").await;
        let second = "Thanks";
        say(&alice, &bob, second).await;
        let seen = alice.script(DELIVERY_WORDS, vec![]).await;
        assert_eq!(seen.as_array().map(Vec::len), Some(1), "{seen}");
        assert_eq!(seen[0][0], second, "{seen}");
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn a_browser_without_webassembly_is_told_it_is_too_old() {
    run(Duration::from_secs(60), async {
        let stack = Stack::start();
        let old = stack
            .window(WindowOptions::new("a browser without WebAssembly"))
            .await;
        old.before_each_page("delete window.WebAssembly;").await;
        let url = stack.sign_in_url();
        old.client()
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
        let text = old.wait_for_text("too-old", "too old", WAIT).await;
        assert!(
            text.contains("up-to-date browser"),
            "the page does not say what to do: {text:?}"
        );

        // A browser with every feature gets the app, not the notice.
        let new = stack
            .window(WindowOptions::new("an up-to-date browser"))
            .await;
        new.goto(&url).await;
        assert_eq!(new.text("too-old").await, None);
    });
}

/// Each message's text and `data-priority`, in order on screen.
const PRIORITIES: &str = "return [...document.querySelectorAll('[data-testid=message]')]
    .map((m) => [m.querySelector('[data-testid=message-text]').textContent,
                 m.getAttribute('data-priority')]);";

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn an_urgent_follow_up_goes_while_waiting_and_the_turn_stays_the_colleagues() {
    run(Duration::from_secs(120), async {
        let stack = Stack::start();
        let (alice, bob) = stack.alice_and_bob().await;
        let first = "Fluids running, will update";
        let urgent = "Patient now unresponsive, GCS 8, 2222 called";
        say(&alice, &bob, first).await;
        alice
            .wait_until("waiting for Bob", DELIVERY, |s| s.turn_is("waiting"))
            .await;

        // A routine second message waits for the reply; the follow-up goes.
        alice.type_message(urgent).await;
        let s = alice.snapshot().await;
        assert_eq!(s.send_disabled, Some(true), "send is locked while waiting");
        alice.click("send-anyway").await;
        bob.wait_until("the follow-up arriving", DELIVERY, |s| {
            s.messages.last().is_some_and(|m| m.text == urgent)
        })
        .await;
        let expected = json!([[first, null], [urgent, "urgent"]]);
        for window in [&alice, &bob] {
            window
                .wait_for_script(
                    "both, in order, the second urgent",
                    DELIVERY,
                    PRIORITIES,
                    |v| v == &expected,
                )
                .await;
        }
        let s = alice
            .wait_until("the follow-up sent", DELIVERY, |s| s.turn_is("waiting"))
            .await;
        assert_eq!(s.composer.as_deref(), Some(""), "the draft went");
        assert!(
            alice.text("send-anyway").await.is_some(),
            "Alice still waits, so she may follow up again"
        );

        // Bob's turn: no follow-up button for him, and his reply ends the wait.
        let s = bob
            .wait_until("Bob's turn", DELIVERY, |s| s.turn_is("idle"))
            .await;
        assert!(s.find(urgent)[0].all_text.contains("Urgent"), "{s:#?}");
        assert_eq!(bob.text("send-anyway").await, None);
        say(&bob, &alice, "On my way").await;
        alice
            .wait_until("Alice's turn again", DELIVERY, |s| s.turn_is("idle"))
            .await;
        assert_eq!(alice.text("send-anyway").await, None);
    });
}
