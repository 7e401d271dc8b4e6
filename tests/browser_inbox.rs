//! The inbox in Chromium (issue 17, PROTOCOL.md "The inbox"): three people
//! in three windows. Alice writes to Bob and to Carol, who have never
//! opened those conversations: each sees it appear in their inbox with one
//! unread message and answers from there; Alice's inbox shows both replies
//! with the right counts, and a reload keeps everything. On a phone's
//! width the list and the conversation are two views and the back button
//! moves between them; axe-core finds nothing serious on the inbox. Same
//! harness as `tests/browser.rs` (the built app in `$BLEEP_DIST`, our
//! IMserver.php, ChromeDriver).
//!
//! The inbox is in the app only with the `inbox` feature (Cargo.toml says
//! why), so these tests use a build of their own: `scripts/test` makes it
//! (`scripts/build --features inbox --dist target/dist-inbox`); by hand,
//! after that build, `cargo test --test browser_inbox -- --ignored
//! --test-threads=1` (or `BLEEP_INBOX_DIST=<dir>` for another build).

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::browser::{
    feature_dist, run, Stack, Window, WindowOptions, RECORD_NOTIFICATIONS, WAIT,
};

/// Polls every half second (the conversations' and the inbox's), and
/// keeps what the page writes to the console as errors (`__errors`), to
/// say why when the inbox does not come.
const QUICK_POLLS: &str = r#"
localStorage.setItem('bleep.preferences', JSON.stringify({ timing: {
  waiting_poll_ms: 500, idle_poll_ms: 500, hidden_poll_ms: 500 },
  sound: false, notifications: true, asked_notifications: true }));
window.__errors = [];
const consoleError = console.error;
console.error = (...args) => { window.__errors.push(args.join(' ')); consoleError(...args); };
window.addEventListener('error', (e) => window.__errors.push(String(e.message)));
"#;

/// A conversation someone else starts appears within a few polls.
const APPEARS: Duration = Duration::from_secs(30);

/// Every row of the inbox: [colleague, unread, turn, text].
const ROWS: &str = "return [...document.querySelectorAll('[data-testid=inbox-item]')].map((e) => \
    [e.dataset.peer, e.dataset.unread, e.dataset.turn, e.textContent]);";

/// A window of `me` with quick polls, showing nothing yet.
async fn person(stack: &Stack, me: &str) -> Window {
    let window = stack.window(WindowOptions::new(me).size(1280, 800)).await;
    window.before_each_page(QUICK_POLLS).await;
    window.before_each_page(RECORD_NOTIFICATIONS).await;
    window
}

/// Opens `url` and waits for the inbox list.
async fn open_inbox(window: &Window, url: &str) {
    window
        .client()
        .goto(url)
        .await
        .unwrap_or_else(|e| panic!("{}: cannot open {url}: {e}", window.label()));
    wait_for_list(window).await;
}

/// Waits for the inbox list; says what the console said if it never comes.
async fn wait_for_list(window: &Window) {
    let found = window
        .wait_for_script(
            "the inbox on screen, or an error",
            WAIT,
            "return [!!document.querySelector('[data-testid=inbox]'), window.__errors || []];",
            |v| v[0] == json!(true) || v[1].as_array().is_some_and(|e| !e.is_empty()),
        )
        .await;
    assert_eq!(
        found[0],
        json!(true),
        "{}: no inbox: {found}",
        window.label()
    );
}

/// Waits until the inbox's rows, as [colleague, unread], are `expected`
/// (in order: newest activity first).
async fn wait_for_rows(window: &Window, what: &str, expected: Value) {
    window
        .wait_for_script(what, APPEARS, ROWS, |rows| {
            let short: Vec<Value> = rows
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| json!([r[0], r[1]]))
                .collect();
            json!(short) == expected
        })
        .await;
}

/// Starts a conversation with `peer` from the inbox's field.
async fn start_with(window: &Window, peer: &str) {
    window.type_into("new-conversation", peer).await;
    window.press_enter("new-conversation").await;
    window.wait_until_loaded().await;
}

/// Opens the conversation with `peer` from its row.
async fn open_row(window: &Window, peer: &str) {
    window
        .click_css(&format!("[data-testid=inbox-item][data-peer='{peer}']"))
        .await;
    window
        .wait_until(&format!("the conversation with {peer}"), WAIT, |s| {
            s.turn.as_deref().is_some_and(|t| t != "loading") && s.online()
        })
        .await;
}

/// Sends `text` with Enter, and waits until it is stored.
async fn send(window: &Window, text: &str) {
    window.type_message(text).await;
    window.press_enter("composer").await;
    window
        .wait_until("the message sent", WAIT, |s| {
            s.find(text)
                .first()
                .is_some_and(|m| matches!(m.status.as_deref(), Some("sent" | "read")))
        })
        .await;
}

/// Whether the list and the conversation are each on screen.
async fn views(window: &Window) -> Value {
    window
        .script(
            "const seen = (s) => { const e = document.querySelector(s); \
               return !!e && e.checkVisibility() && e.getBoundingClientRect().width > 0; }; \
             return [seen('[data-testid=inbox]'), seen('[data-testid=composer]')];",
            vec![],
        )
        .await
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn conversations_started_by_others_appear_in_the_inbox_and_are_answered_from_it() {
    run(Duration::from_secs(240), async {
        let stack = Stack::serving(&feature_dist("BLEEP_INBOX_DIST", "dist-inbox", "inbox"));
        let (alice, bob, carol) = (
            person(&stack, "Alice").await,
            person(&stack, "Bob").await,
            person(&stack, "Carol").await,
        );
        // Bob signs in with his name only; Carol follows a link.
        bob.goto(&stack.sign_in_url()).await;
        bob.type_into("me", "Bob").await;
        bob.click("join").await;
        wait_for_list(&bob).await;
        open_inbox(&carol, &stack.url("index.html?me=Carol")).await;
        open_inbox(&alice, &stack.url("index.html?me=Alice")).await;
        wait_for_rows(&bob, "Bob's inbox, empty", json!([])).await;

        // A name nobody has used here is warned about before it opens.
        alice.type_into("new-conversation", "Dr Patal").await;
        alice
            .wait_for_text("unknown-colleague", "never used Bleep here", WAIT)
            .await;
        alice
            .script(
                "document.getElementById('new-conversation').value = '';",
                vec![],
            )
            .await;

        // Alice writes to Bob, then to Carol, from her inbox.
        start_with(&alice, "Bob").await;
        send(&alice, "Bed 4 needs a review").await;
        start_with(&alice, "Carol").await;
        send(&alice, "Pharmacy query for bed 9").await;
        wait_for_rows(
            &alice,
            "Alice's two conversations",
            json!([["Carol", "0"], ["Bob", "0"]]),
        )
        .await;

        // Bob and Carol never opened those conversations: they appear.
        wait_for_rows(
            &bob,
            "Alice's message in Bob's inbox",
            json!([["Alice", "1"]]),
        )
        .await;
        wait_for_rows(
            &carol,
            "Alice's message in Carol's inbox",
            json!([["Alice", "1"]]),
        )
        .await;
        let row = bob.script(ROWS, vec![]).await;
        assert_eq!(row[0][2], json!("your turn"), "Bob's row: {row}");
        assert!(
            row[0][3]
                .as_str()
                .is_some_and(|t| t.contains("Bed 4 needs a review")),
            "no preview in Bob's row: {row}"
        );
        let title = bob.script("return document.title;", vec![]).await;
        assert!(
            title.as_str().is_some_and(|t| t.starts_with("(1)")),
            "Bob's title: {title}"
        );

        // Each answers from the inbox; the row is read once open.
        open_row(&bob, "Alice").await;
        wait_for_rows(&bob, "Bob's row read", json!([["Alice", "0"]])).await;
        send(&bob, "On my way").await;
        open_row(&carol, "Alice").await;
        send(&carol, "Checking the chart").await;

        // Alice has Carol's conversation open: Bob's reply counts, Carol's
        // is read; newest first.
        wait_for_rows(
            &alice,
            "both replies in Alice's inbox",
            json!([["Carol", "0"], ["Bob", "1"]]),
        )
        .await;
        let rows = alice.script(ROWS, vec![]).await;
        assert!(
            rows[1][3].as_str().is_some_and(|t| t.contains("On my way")),
            "Bob's reply not in Alice's row: {rows}"
        );
        assert_eq!(rows[1][2], json!("your turn"), "Alice's rows: {rows}");
        let title = alice.script("return document.title;", vec![]).await;
        assert!(
            title.as_str().is_some_and(|t| t.starts_with("(1)")),
            "Alice's title: {title}"
        );
        let badge = alice
            .script(
                "return document.getElementById('favicon').href.startsWith('data:');",
                vec![],
            )
            .await;
        assert_eq!(badge, json!(true), "no badge on Alice's favicon");
        // A notification for Bob's reply, which is not on screen; none for
        // Carol's, which is.
        let notes = alice
            .wait_for_script(
                "a notification of Bob's reply",
                WAIT,
                "return window.__notes.map((n) => [n[0], n[1]]);",
                |v| v.as_array().is_some_and(|a| !a.is_empty()),
            )
            .await;
        assert_eq!(
            notes,
            json!([["Bleep: reply from Bob", "On my way"]]),
            "Alice's notifications"
        );

        // A reload keeps everything: the rows, the counts, the open
        // conversation (the address names it).
        alice.client().refresh().await.expect("reload");
        wait_for_list(&alice).await;
        wait_for_rows(
            &alice,
            "Alice's inbox after a reload",
            json!([["Carol", "0"], ["Bob", "1"]]),
        )
        .await;
        alice.wait_until_loaded().await;
        open_row(&alice, "Bob").await;
        wait_for_rows(
            &alice,
            "Bob's reply read",
            json!([["Carol", "0"], ["Bob", "0"]]),
        )
        .await;

        // Wide: the list and the conversation side by side.
        assert_eq!(views(&alice).await, json!([true, true]), "Alice, wide");
        let violations = alice.axe().await;
        assert!(
            violations.is_empty(),
            "axe-core, inbox with a conversation: {violations:?}"
        );

        // A new device of Bob's (nothing kept in its browser) takes his
        // conversations from the page: Alice's, read on his other device.
        let bob_again = person(&stack, "Bob, second device").await;
        open_inbox(&bob_again, &stack.url("index.html?me=Bob")).await;
        wait_for_rows(
            &bob_again,
            "Bob's rows from the page",
            json!([["Alice", "0"]]),
        )
        .await;
        let row = bob_again.script(ROWS, vec![]).await;
        assert!(
            row[0][3]
                .as_str()
                .is_some_and(|t| t.contains("You: On my way")),
            "Bob's last message not in his new device's row: {row}"
        );

        // A phone: two views, and the back button returns to the list.
        bob.set_size(360, 740).await;
        assert_eq!(
            views(&bob).await,
            json!([false, true]),
            "Bob's phone, conversation"
        );
        bob.client().back().await.expect("back");
        bob.wait_for_script("the list again", WAIT, "return location.search;", |s| {
            s.as_str().is_some_and(|s| !s.contains("open="))
        })
        .await;
        bob.wait_for_script(
            "the list on screen, the conversation gone",
            WAIT,
            "return !document.querySelector('[data-testid=composer]');",
            |v| v == &json!(true),
        )
        .await;
        assert_eq!(views(&bob).await, json!([true, false]), "Bob's phone, list");
        let violations = bob.axe().await;
        assert!(
            violations.is_empty(),
            "axe-core, inbox on a phone: {violations:?}"
        );
        open_row(&bob, "Alice").await;
        assert_eq!(
            views(&bob).await,
            json!([false, true]),
            "Bob's phone, opened again"
        );
        bob.client().back().await.expect("back");
        bob.wait_for_script(
            "the list after back",
            WAIT,
            "return !document.querySelector('[data-testid=composer]');",
            |v| v == &json!(true),
        )
        .await;
        assert_eq!(
            views(&bob).await,
            json!([true, false]),
            "Bob's phone, back to the list"
        );
    });
}
