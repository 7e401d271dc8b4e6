//! The directory in Chromium (issue 17, PROTOCOL.md "The directory"): a
//! name nobody has used here is warned about before the first message
//! goes, and a status set in one window shows in the colleague's header
//! and above their composer. Same harness as `tests/browser.rs` (the built
//! app in `$BLEEP_DIST`, our IMserver.php, ChromeDriver).
//!
//! Run with `scripts/test`, or after building the app:
//! `BLEEP_DIST=$PWD/dist cargo test --test browser_directory -- --ignored --test-threads=1`.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::browser::{run, Stack, Window, WindowOptions, WAIT};

/// Polls every half second, so that the directory's checks (one poll in
/// five, the colleague's entry every other time) come within seconds.
const QUICK_POLLS: &str = r#"
localStorage.setItem('bleep.preferences', JSON.stringify({ timing: {
  waiting_poll_ms: 500, idle_poll_ms: 500, hidden_poll_ms: 500 } }));
"#;

/// The colleague's screen learns of a directory change within a few polls.
const DIRECTORY: Duration = Duration::from_secs(30);

/// A window whose polls are quick, showing the conversation of `me` with `peer`.
async fn quick(stack: &Stack, me: &str, peer: &str) -> Window {
    let window = stack.window(WindowOptions::new(me)).await;
    window.before_each_page(QUICK_POLLS).await;
    window.goto(&stack.conversation_url(me, peer)).await;
    window.wait_until_loaded().await;
    window
}

/// Waits until the store holds `key`.
async fn wait_for_key(stack: &Stack, key: &str) {
    let deadline = Instant::now() + WAIT;
    while !stack.stored_keys().iter().any(|k| k == key) {
        assert!(
            Instant::now() < deadline,
            "no {key:?} in {:?}",
            stack.stored_keys()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `window` sends `text` with Enter, and it reaches the server.
async fn send(window: &Window, text: &str) {
    window.type_message(text).await;
    window.press_enter("composer").await;
    window
        .wait_until("the message sent", WAIT, |s| {
            s.messages
                .last()
                .is_some_and(|m| m.status.as_deref() == Some("sent"))
        })
        .await;
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn a_name_nobody_used_here_is_warned_about_before_the_first_message() {
    run(Duration::from_secs(150), async {
        let stack = Stack::start();
        // Dr Patel has used Bleep here: his entry is on the server.
        let _patel = quick(&stack, "Dr Patel", "Nurse Jo").await;
        wait_for_key(&stack, "bleep1.d.dr patel").await;

        // The sign-in form suggests him, and warns about a typo.
        let jo = stack.window(WindowOptions::new("Nurse Jo")).await;
        jo.before_each_page(QUICK_POLLS).await;
        jo.goto(&stack.sign_in_url()).await;
        let options = "return [...document.querySelectorAll('#people option')].map(o => o.value);";
        jo.wait_for_script("Dr Patel among the suggestions", WAIT, options, |v| {
            v.as_array()
                .is_some_and(|a| a.iter().any(|o| o == "dr patel"))
        })
        .await;
        jo.type_into("me", "Nurse Jo").await;
        jo.type_into("peer", "Dr Patal").await;
        jo.wait_for_text(
            "unknown-colleague",
            "Dr Patal has never used Bleep here: check the name",
            WAIT,
        )
        .await;

        // Opened anyway: the empty conversation warns above the composer,
        // and the message may still be sent.
        jo.click("join").await;
        jo.wait_until_loaded().await;
        jo.wait_for_text(
            "unknown-colleague",
            "Dr Patal has never used Bleep here: check the name",
            WAIT,
        )
        .await;
        jo.wait_for_attr("peer-status", "data-state", "unlisted", WAIT)
            .await;
        assert_eq!(
            jo.text("peer-status").await.as_deref(),
            Some("never used Bleep here")
        );
        send(&jo, "Bed 4 is desaturating").await;

        // The right name: no warning, and the header lists him.
        jo.goto(&stack.conversation_url("Nurse Jo", "Dr Patel"))
            .await;
        jo.wait_until_loaded().await;
        jo.wait_for_attr("peer-status", "data-state", "none", WAIT)
            .await;
        assert_eq!(jo.text("unknown-colleague").await.as_deref(), Some(""));
    });
}

#[test]
#[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
fn a_status_set_in_one_window_shows_in_the_colleagues_header_and_above_their_composer() {
    run(Duration::from_secs(210), async {
        let stack = Stack::start();
        let patel = quick(&stack, "Dr Patel", "Nurse Jo").await;
        let jo = quick(&stack, "Nurse Jo", "Dr Patel").await;
        // His phone, open all along: its settings were drawn before he
        // chose a status on the PC.
        let phone = quick(&stack, "Dr Patel", "Nurse Jo").await;
        jo.wait_for_attr("peer-status", "data-state", "none", DIRECTORY)
            .await;
        assert_eq!(jo.text("off-duty").await.as_deref(), Some(""));

        // Busy, in theatre, from the settings.
        patel.click("settings").await;
        let choose = "const s = document.querySelector('[data-testid=my-status]'); \
                      s.value = arguments[0]; s.dispatchEvent(new Event('change', { bubbles: true }));";
        patel.script(choose, vec![json!("busy")]).await;
        patel.type_into("my-status-text", "theatre 3").await;
        patel.press_enter("my-status-text").await;
        jo.wait_for_attr("peer-status", "data-state", "busy", DIRECTORY)
            .await;
        let line = jo
            .wait_for_text("peer-status", "theatre 3", DIRECTORY)
            .await;
        assert!(line.starts_with("Busy, in theatre"), "{line:?}");
        assert!(line.contains("last seen"), "{line:?}");

        // Off duty: shown when Jo writes to him, and her message still goes.
        patel.script(choose, vec![json!("off")]).await;
        jo.wait_for_attr("peer-status", "data-state", "off", DIRECTORY)
            .await;
        let note = jo.wait_for_text("off-duty", "off duty", WAIT).await;
        assert_eq!(
            note,
            "Dr Patel is off duty (theatre 3). Your message will still be sent."
        );
        send(&jo, "Can you review bed 4 tomorrow?").await;

        // Kept by his browser: a reload still shows it in his settings.
        patel.reload().await;
        patel.wait_until_loaded().await;
        let chosen = "return document.querySelector('[data-testid=my-status]').value;";
        patel
            .wait_for_script("his status kept", WAIT, chosen, |v| v == "off")
            .await;

        // His phone learns it from his entry (a check of its own entry
        // comes every tenth poll, 3 s apart while idle); its settings, opened
        // now, show it, so that saving there never puts "not set" back.
        tokio::time::sleep(Duration::from_secs(35)).await;
        phone.click("settings").await;
        assert_eq!(phone.script(chosen, vec![]).await, json!("off"));
        let note = "return document.querySelector('[data-testid=my-status-text]').value;";
        assert_eq!(phone.script(note, vec![]).await, json!("theatre 3"));
    });
}
