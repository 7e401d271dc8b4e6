//! Protocol version 2 in real browsers (issue 15): two Chromium windows,
//! Dr Patel's and Nurse Okafor's, on our IMserver.php and on the course-like
//! one, while the test plays the attacker with nothing but plain HTTP
//! requests to IMserver.php, as anyone who can reach the store can.
//!
//! Each attack of the issue (a message changed in flight, a raised read
//! receipt, a sender forged through a new device, a phantom planted with
//! `&` for the page parser) must give the tamper notice on screen, never the
//! forged text, and never a false *read*. A 20-message conversation must
//! leave none of its words in the store's files or in the PHP server's
//! request log; both sides must show the same safety number; and a
//! colleague whose browser forgot its keys must be announced as a key
//! change.
//!
//! Run with `scripts/test`, or after building the app:
//! `BLEEP_DIST=$PWD/dist CHROMEDRIVER=/usr/bin/chromedriver cargo test --test browser_trust -- --ignored --test-threads=1`.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bleep::imserver::phpser::{parse_escaped_page, parse_page};
use serde_json::{json, Map, Value};
use support::browser::{run, Stack, StoreKind, Window, WindowOptions};
use support::{encode_query_value, http_get, im_path};

/// The two clinicians. "dr patel" sorts first: Dr Patel is side 0 (`p0`).
const PATEL: &str = "Dr Patel";
const OKAFOR: &str = "Nurse Okafor";

/// Short poll intervals, so that a test takes seconds.
const FAST_TIMING: &str = r#"{"timing":{"waiting_poll_ms":300,"idle_poll_ms":400,"hidden_poll_ms":1000,"backoff_first_ms":300,"backoff_max_ms":2000,"request_timeout_ms":4000}}"#;

/// The colleague's screen learns of a message (or a notice) within a few
/// polls; a new window first reads the whole conversation.
const DELIVERY: Duration = Duration::from_secs(20);

/// How long a test may take at most (each takes well under it).
const LIMIT: Duration = Duration::from_secs(100);

/// Two messages that set up the keys of both sides.
const OPENING: [&str; 2] = [
    "Obs round done on bay two",
    "Thanks, reviewing bed seven next",
];

// ---------------------------------------------------------------------------
// The attacker: plain HTTP against IMserver.php

/// Anyone who can reach IMserver.php: reads and writes any key. Every value
/// is percent-encoded (digits too), so that no request line holds the
/// course server's data-file pattern.
struct Attacker {
    base: String,
}

impl Attacker {
    fn of(stack: &Stack) -> Attacker {
        Attacker {
            base: stack.php.base_url(),
        }
    }

    /// One request, asked again while the answer is a failure: the course
    /// server fails a request that reads its file while another one is
    /// rewriting it (HTTP 500, or PHP's fatal error in the body).
    fn request(&self, action: &str, params: &[(&str, &[u8])]) -> Vec<u8> {
        let url = format!("{}{}", self.base, im_path(action, params));
        let mut last = String::new();
        for _ in 0..20 {
            let (status, body) = http_get(&url).unwrap_or_else(|e| panic!("attacker: {e}"));
            if status == 200 && !contains(&body, b"Fatal error") {
                return body;
            }
            last = format!("HTTP {status}: {}", String::from_utf8_lossy(&body));
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("attacker: {action} kept failing: {last}")
    }

    fn keys(&self) -> BTreeSet<String> {
        String::from_utf8_lossy(&self.request("keys", &[]))
            .lines()
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The value of `key` (without the answer's final newline).
    fn get(&self, key: &str) -> String {
        let body = self.request("get", &[("key", key.as_bytes())]);
        let text = String::from_utf8_lossy(&body).into_owned();
        text.strip_suffix('\n').unwrap_or(&text).to_owned()
    }

    /// Writes `value` under `key` until a read shows it: on the course
    /// server a request racing with the browsers' polls can lose the write
    /// (each request rewrites the whole file), and an attacker just writes
    /// again.
    fn set(&self, key: &str, value: &str) {
        for _ in 0..10 {
            self.request(
                "set",
                &[("key", key.as_bytes()), ("value", value.as_bytes())],
            );
            if self.get(key) == value {
                return;
            }
        }
        panic!("attacker: the store never kept {key}");
    }

    /// Waits until the store lists a message key that `before` did not
    /// (on the course server a racing request can drop a value the sender
    /// already read back, until its repair writes it again); returns its
    /// device, sequence number and key.
    async fn new_message(&self, before: &BTreeSet<String>) -> (String, u64, String) {
        let deadline = Instant::now() + DELIVERY;
        loop {
            let keys = self.keys();
            let new: Vec<(String, u64, String)> = keys
                .difference(before)
                .filter_map(|k| match k.split('.').collect::<Vec<_>>().as_slice() {
                    ["bleep2", _, "m", device, seq] => {
                        Some((device.to_string(), seq.parse().ok()?, k.clone()))
                    }
                    _ => None,
                })
                .collect();
            match new.as_slice() {
                [one] => return one.clone(),
                [] if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                _ => panic!("one new message key, not {new:?}; keys: {keys:?}"),
            }
        }
    }

    /// The raw no-action page.
    fn page(&self) -> Vec<u8> {
        let (status, body) = http_get(&format!("{}/IMserver.php", self.base))
            .unwrap_or_else(|e| panic!("attacker: {e}"));
        assert_eq!(status, 200, "attacker: the page answered HTTP {status}");
        body
    }

    /// The conversation's key prefix, `bleep2.<16 hex digits>.` (the store
    /// holds one conversation).
    fn prefix(&self) -> String {
        let prefixes: BTreeSet<String> = self
            .keys()
            .iter()
            .filter(|k| k.starts_with("bleep2."))
            .filter_map(|k| k.split('.').nth(1).map(|h| format!("bleep2.{h}.")))
            .collect();
        assert_eq!(
            prefixes.len(),
            1,
            "one version 2 conversation in the store; keys: {:?}",
            self.keys()
        );
        prefixes.into_iter().next().unwrap()
    }

    /// The message keys of `device`, as (sequence number, key).
    fn messages_of(&self, device: &str) -> Vec<(u64, String)> {
        let mut found: Vec<(u64, String)> = self
            .keys()
            .into_iter()
            .filter_map(|k| {
                let parts: Vec<&str> = k.split('.').collect();
                match parts.as_slice() {
                    ["bleep2", _, "m", d, seq] if *d == device => {
                        seq.parse().ok().map(|n| (n, k.clone()))
                    }
                    _ => None,
                }
            })
            .collect();
        found.sort();
        found
    }
}

/// What an attacker who knows the protocol writes as a message: a plain
/// envelope of version 1 with the text they want shown.
fn forged_envelope(from: &str, device: &str, seq: u64, text: &str) -> String {
    json!({"v": 1, "n": from, "d": device, "s": seq, "c": 999, "t": 1_764_325_000_000u64, "x": text})
        .to_string()
}

/// `text` with one base64url character in the middle changed.
fn flipped(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("base64url text")
}

/// A person's record (`p0`/`p1`): device id → sealed receipt.
fn record_entries(value: &str) -> Map<String, Value> {
    match serde_json::from_str::<Value>(value) {
        Ok(Value::Object(map)) if !map.is_empty() => map,
        _ => panic!("a record of version 2 is a JSON object of sealed receipts, not {value:?}"),
    }
}

/// Three entries that, written one after the other at the end of the store,
/// make a page parser that reads our server's HTML-escaped dump as printed
/// see the phantom entry `key` = `value`, which `get` does not have.
///
/// The first value starts with `k` ampersands, each printed as `&amp;`
/// (five bytes): read by its declared length, the printed string ends after
/// the entities, and the rest of the value reads as the phantom entry, then
/// as a key that swallows the next two entries' text, so that the count of
/// entries still matches the array's.
fn phantom_entries(key: &str, value: &str) -> Vec<(String, String)> {
    let (kb, vb, kc, vc) = ("phantom-b", "b", "phantom-c", "c");
    let swallowed = format!(
        "\";s:{}:\"{kb}\";s:{}:\"{vb}\";s:{}:\"{kc}",
        kb.len(),
        vb.len(),
        kc.len()
    );
    for pad in 1..=4 {
        let rest = "z".repeat(pad);
        let tail = format!(
            "\";s:{}:\"{key}\";s:{}:\"{value}\";s:{}:\"{rest}",
            key.len(),
            value.len(),
            rest.len() + swallowed.len()
        );
        if tail.len() % 4 == 0 {
            let first = format!("{}{tail}", "&".repeat(tail.len() / 4));
            return vec![
                ("phantom-a".to_owned(), first),
                (kb.to_owned(), vb.to_owned()),
                (kc.to_owned(), vc.to_owned()),
            ];
        }
    }
    unreachable!("one of four paddings makes the length a multiple of four")
}

// ---------------------------------------------------------------------------
// The windows

/// A window (its own browser profile) in the conversation of `me` with
/// `peer`, polling fast, loaded and online.
async fn open(stack: &Stack, me: &str, peer: &str) -> Window {
    let window = stack.window(WindowOptions::new(me)).await;
    window.goto(&stack.sign_in_url()).await;
    set_fast_timing(&window).await;
    window.goto(&stack.conversation_url(me, peer)).await;
    window.wait_until_loaded().await;
    window
}

async fn set_fast_timing(window: &Window) {
    window
        .script(
            "localStorage.setItem('bleep.preferences', arguments[0]); return true;",
            vec![json!(FAST_TIMING)],
        )
        .await;
}

/// Opens the conversation again in `window` (after [`Window::leave_app`]).
async fn come_back(stack: &Stack, window: &Window, me: &str, peer: &str) {
    window.goto(&stack.conversation_url(me, peer)).await;
    window.wait_until_loaded().await;
}

/// The text of every element `testid`, in page order.
async fn texts(window: &Window, testid: &str) -> Vec<String> {
    let value = window
        .script(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent);",
            vec![json!(format!("[data-testid=\"{testid}\"]"))],
        )
        .await;
    serde_json::from_value(value).unwrap_or_default()
}

/// Waits until some `testid` says `part`.
async fn wait_for_notice(window: &Window, testid: &str, part: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let seen = texts(window, testid).await;
        if seen.iter().any(|t| t.contains(part)) {
            return;
        }
        if Instant::now() >= deadline {
            panic!(
                "{}: waited {timeout:?} for [{testid}] saying {part:?}; notices: {seen:?}; page: {:#?}",
                window.label(),
                window.snapshot().await
            );
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Everything the page says, hidden parts included.
async fn page_text(window: &Window) -> String {
    window
        .script("return document.body.textContent;", vec![])
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Panics if `window` shows `forged` anywhere, now or (as a message) at any
/// change since its recording started.
async fn assert_never_shown(window: &Window, forged: &str) {
    let page = page_text(window).await;
    assert!(
        !page.contains(forged),
        "{} shows the forged text {forged:?}: {page}",
        window.label()
    );
    for snapshot in window.recording().await {
        assert!(
            snapshot
                .messages
                .iter()
                .all(|m| !m.all_text.contains(forged)),
            "{} showed the forged text {forged:?} as a message: {:?}",
            window.label(),
            snapshot.lines()
        );
    }
}

/// The delivery state of one's own message `text`.
fn status_of(window: &support::browser::Snapshot, text: &str) -> Option<String> {
    window.find(text).first().and_then(|m| m.status.clone())
}

/// Sends `text` from `sender` once it is its turn, and waits until it is
/// stored (sent) or read.
async fn send(sender: &Window, text: &str) {
    sender
        .wait_until("my turn", DELIVERY, |s| {
            s.turn_is("idle") && s.send_disabled == Some(false)
        })
        .await;
    sender.type_message(text).await;
    sender.click("send").await;
    sender
        .wait_until(&format!("{text:?} stored"), DELIVERY, |s| {
            matches!(status_of(s, text).as_deref(), Some("sent" | "read"))
        })
        .await;
}

/// `first` and `second` take turns with `texts`, `first` first; each
/// message is on the colleague's screen before the reply.
async fn exchange(first: &Window, second: &Window, texts: &[&str]) {
    for (i, text) in texts.iter().enumerate() {
        let (sender, receiver) = if i % 2 == 0 {
            (first, second)
        } else {
            (second, first)
        };
        send(sender, text).await;
        receiver
            .wait_until(&format!("{text:?} from the colleague"), DELIVERY, |s| {
                !s.find(text).is_empty()
            })
            .await;
    }
}

/// The safety number `window` shows: twelve groups of five digits.
async fn safety_number(window: &Window) -> Option<String> {
    let text = texts(window, "safety-number").await.into_iter().next()?;
    let number = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let groups: Vec<&str> = number.split(' ').collect();
    (groups.len() == 12
        && groups
            .iter()
            .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit())))
    .then_some(number)
}

/// Waits until both windows show the same safety number (other than
/// `not`), and returns it.
async fn matching_safety_numbers(a: &Window, b: &Window, not: Option<&str>) -> String {
    let deadline = Instant::now() + DELIVERY;
    loop {
        let (x, y) = (safety_number(a).await, safety_number(b).await);
        if let (Some(x), Some(y)) = (&x, &y) {
            if x == y && Some(x.as_str()) != not {
                return x.clone();
            }
        }
        if Instant::now() >= deadline {
            panic!(
                "the safety numbers should match{}: {} shows {x:?}, {} shows {y:?}",
                not.map(|n| format!(" and differ from {n}"))
                    .unwrap_or_default(),
                a.label(),
                b.label()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Both clinicians' windows, after the opening exchange, and Dr Patel's
/// device id (the writer of the first message).
async fn conversation(stack: &Stack, attacker: &Attacker) -> (Window, Window, String) {
    let patel = open(stack, PATEL, OKAFOR).await;
    let okafor = open(stack, OKAFOR, PATEL).await;
    let before = attacker.keys();
    send(&patel, OPENING[0]).await;
    let (patel_device, _, _) = attacker.new_message(&before).await;
    okafor
        .wait_until("the first message", DELIVERY, |s| {
            !s.find(OPENING[0]).is_empty()
        })
        .await;
    exchange(&okafor, &patel, &OPENING[1..]).await;
    // Dr Patel's window has written its receipt for the reply: nothing of
    // hers is still to be written when the attacks begin.
    okafor
        .wait_until("the reply read", DELIVERY, |s| {
            status_of(s, OPENING[1]).as_deref() == Some("read")
        })
        .await;
    (patel, okafor, patel_device)
}

// ---------------------------------------------------------------------------
// Attacks

/// The nurse's message is changed on the server after the sender read it
/// back and before the colleague fetched it; then the sender's repair puts
/// the original back. The colleague sees the tamper notice and never the
/// changed text, then the original; the notice stays.
async fn a_message_changed_in_flight(kind: StoreKind) {
    let stack = Stack::start_with(kind);
    let attacker = Attacker::of(&stack);
    let (patel, okafor, patel_device) = conversation(&stack, &attacker).await;
    const GENUINE: &str = "Give 10 mg morphine to bed 7";
    const FORGED: &str = "Give 100 mg morphine to bed 7";

    okafor.leave_app().await;
    let before = attacker.keys();
    send(&patel, GENUINE).await;
    let (device, seq, key) = attacker.new_message(&before).await;
    assert_eq!(device, patel_device, "written by Dr Patel's window");
    // The sender is away too, so that no repair comes before the colleague
    // reads the changed value.
    patel.leave_app().await;
    let genuine = attacker.get(&key);
    assert!(
        !genuine.contains("morphine"),
        "stored in plain text: {genuine}"
    );
    attacker.set(&key, &forged_envelope(PATEL, &patel_device, seq, FORGED));

    come_back(&stack, &okafor, OKAFOR, PATEL).await;
    okafor.start_recording().await;
    wait_for_notice(&okafor, "tamper-notice", "failed its check", DELIVERY).await;
    assert_never_shown(&okafor, FORGED).await;

    // The same changed value with its ciphertext altered instead.
    attacker.set(&key, &flipped(&genuine));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_never_shown(&okafor, FORGED).await;

    come_back(&stack, &patel, PATEL, OKAFOR).await;
    okafor
        .wait_until("the original, repaired", DELIVERY, |s| {
            !s.find(GENUINE).is_empty()
        })
        .await;
    patel
        .wait_until("the original read", DELIVERY, |s| {
            status_of(s, GENUINE).as_deref() == Some("read")
        })
        .await;
    // The repair writes the message again (the same bytes, or sealed anew
    // by a sender that reloaded since): never the forged or altered value,
    // never plain text.
    let repaired = attacker.get(&key);
    assert!(
        repaired != flipped(&genuine) && !repaired.contains("morphine"),
        "the repair puts a sealed message back: {repaired}"
    );
    assert!(
        !texts(&okafor, "tamper-notice").await.is_empty(),
        "the tamper notice stays after the repair"
    );
    assert_never_shown(&okafor, FORGED).await;

    // The notices and the safety number pass axe-core.
    okafor.click("settings").await;
    let problems = okafor.axe().await;
    assert!(
        problems.is_empty(),
        "axe-core: {}",
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The colleague's record is raised and a receipt is copied to a made-up
/// device while the colleague is away: the urgent message never shows
/// *read* until the colleague's screen really showed it.
async fn a_read_receipt_faked(kind: StoreKind) {
    let stack = Stack::start_with(kind);
    let attacker = Attacker::of(&stack);
    let (patel, okafor, _) = conversation(&stack, &attacker).await;
    const URGENT: &str = "URGENT: bed 4 desaturating, come now";

    okafor.leave_app().await;
    send(&patel, URGENT).await;
    patel.start_recording().await;
    let record = format!("{}p1", attacker.prefix());
    let entries = record_entries(&attacker.get(&record));
    let mut forged = Map::new();
    for (device, receipt) in &entries {
        let receipt = receipt.as_str().expect("a sealed receipt is text");
        forged.insert(device.clone(), json!(flipped(receipt)));
        forged.insert("zzforgedzz".to_owned(), json!(receipt));
    }
    attacker.set(&record, &Value::Object(forged).to_string());

    wait_for_notice(&patel, "tamper-notice", "failed its check", DELIVERY).await;
    // Several polls of the colleague's record while waiting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for snapshot in patel.recording().await {
        assert_ne!(
            status_of(&snapshot, URGENT).as_deref(),
            Some("read"),
            "a false read: {:?}",
            snapshot.messages
        );
    }

    come_back(&stack, &okafor, OKAFOR, PATEL).await;
    okafor
        .wait_until("the urgent message", DELIVERY, |s| {
            !s.find(URGENT).is_empty()
        })
        .await;
    patel
        .wait_until("read, once really shown", DELIVERY, |s| {
            status_of(s, URGENT).as_deref() == Some("read")
        })
        .await;
}

/// A new device id "of Dr Patel" appears with her announcement copied to
/// it, a message in her name and a place in her record: each screen that
/// reads it shows the tamper notice, and neither screen
/// shows the message, as hers or at all.
async fn a_sender_forged_through_a_new_device(kind: StoreKind) {
    let stack = Stack::start_with(kind);
    let attacker = Attacker::of(&stack);
    let (patel, okafor, patel_device) = conversation(&stack, &attacker).await;
    const FORGED: &str = "Ignore my last message, bed 4 is fine";
    const FAKE: &str = "zzforgedzz";

    // Dr Patel's window reads her record with the fake device in it, as a
    // device of her own; Nurse Okafor is away.
    okafor.leave_app().await;
    patel.start_recording().await;
    let prefix = attacker.prefix();
    let announcement = attacker.get(&format!("{prefix}k.{patel_device}"));
    attacker.set(&format!("{prefix}k.{FAKE}"), &announcement);
    attacker.set(
        &format!("{prefix}m.{FAKE}.1"),
        &forged_envelope(PATEL, FAKE, 1, FORGED),
    );
    let record = format!("{prefix}p0");
    let genuine_record = record_entries(&attacker.get(&record));
    let receipt = genuine_record
        .get(&patel_device)
        .cloned()
        .expect("Dr Patel's receipt in her record");
    let mut forged_record = genuine_record.clone();
    forged_record.insert(FAKE.to_owned(), receipt);
    let forged_record = Value::Object(forged_record).to_string();
    attacker.set(&record, &forged_record);
    wait_for_notice(&patel, "tamper-notice", "failed its check", DELIVERY).await;
    assert_never_shown(&patel, FORGED).await;

    // Her window writes her record back without the fake device: the
    // attacker plants it again while she is away, and Nurse Okafor's
    // window reads it.
    patel.leave_app().await;
    attacker.set(&record, &forged_record);
    come_back(&stack, &okafor, OKAFOR, PATEL).await;
    okafor.start_recording().await;
    wait_for_notice(&okafor, "tamper-notice", "failed its check", DELIVERY).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_never_shown(&okafor, FORGED).await;
    let genuine = vec![
        (PATEL.to_owned(), OPENING[0].to_owned()),
        (OKAFOR.to_owned(), OPENING[1].to_owned()),
    ];
    assert_eq!(
        okafor.snapshot().await.lines(),
        genuine,
        "only the genuine messages"
    );

    come_back(&stack, &patel, PATEL, OKAFOR).await;
    patel.start_recording().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_never_shown(&patel, FORGED).await;
    assert_eq!(
        patel.snapshot().await.lines(),
        genuine,
        "only the genuine messages"
    );
}

/// Entries crafted with `&` would make a page parser that reads an
/// `&`-escaped dump as printed see a message of Dr Patel that `get` does
/// not have. Our server escapes quotes too (issue 16) and says so, and the
/// client reads its page escaped-first; the course server prints the dump
/// raw, where no `&` trick applies. Neither reading sees the phantom, and
/// a new device reading the history from the page never shows it.
async fn a_phantom_planted_with_ampersands(kind: StoreKind) {
    let stack = Stack::start_with(kind);
    let attacker = Attacker::of(&stack);
    let (patel, okafor, patel_device) = conversation(&stack, &attacker).await;
    const FORGED: &str = "Phantom: discharge bed 7 now";

    let next = attacker
        .messages_of(&patel_device)
        .last()
        .map_or(1, |m| m.0 + 1);
    let phantom_key = format!("{}m.{patel_device}.{next}", attacker.prefix());
    let phantom_value = forged_envelope(PATEL, &patel_device, next, FORGED);
    for (key, value) in phantom_entries(&phantom_key, &phantom_value) {
        attacker.set(&key, &value);
    }
    let page = attacker.page();
    let has_phantom = |seen: Vec<(Vec<u8>, Vec<u8>)>| {
        seen.iter()
            .any(|(k, v)| k == phantom_key.as_bytes() && v == phantom_value.as_bytes())
    };
    assert!(
        !has_phantom(parse_page(&page).expect("the page parses")),
        "the page read as printed first has no phantom"
    );
    if kind == StoreKind::Ours {
        assert!(
            !has_phantom(parse_escaped_page(&page).expect("the page parses")),
            "the page read escaped-first (as the client reads ours) has no phantom"
        );
    }
    // (The course server answers a missing key with a PHP warning.)
    let got = attacker.get(&phantom_key);
    assert!(
        !got.contains(FORGED),
        "get does not have the phantom: {got}"
    );

    // A second tab of Nurse Okafor's browser: a new device, which reads the
    // whole history through the page.
    okafor.open_tab().await;
    come_back(&stack, &okafor, OKAFOR, PATEL).await;
    okafor.start_recording().await;
    okafor
        .wait_until("the history", DELIVERY, |s| {
            OPENING.iter().all(|t| !s.find(t).is_empty())
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_never_shown(&okafor, FORGED).await;
    assert_eq!(okafor.snapshot().await.messages.len(), OPENING.len());
    assert!(!page_text(&patel).await.contains(FORGED));
}

// ---------------------------------------------------------------------------
// Confidentiality, safety numbers, key changes

/// One long word per message: none may reach the store or the log.
const WORDS: [&str; 20] = [
    "morphine",
    "desaturating",
    "paracetamol",
    "haemoglobin",
    "tachycardia",
    "bradycardia",
    "creatinine",
    "cannulation",
    "hypotensive",
    "electrolytes",
    "anticoagulant",
    "intubation",
    "nebuliser",
    "catheterised",
    "pneumothorax",
    "sepsispathway",
    "furosemide",
    "ventilation",
    "resuscitation",
    "thrombolysis",
];

/// Whether a request line holds the course server's data-file pattern
/// `[a-z]\d{5}[a-z]{2}`.
fn has_hospital_number(text: &str) -> bool {
    text.as_bytes().windows(8).any(|w| {
        w[0].is_ascii_lowercase()
            && w[1..6].iter().all(u8::is_ascii_digit)
            && w[6].is_ascii_lowercase()
            && w[7].is_ascii_lowercase()
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Twenty messages: neither the store's files nor the PHP server's request
/// log hold a word of them or a name; both sides show the same safety
/// number.
async fn twenty_messages_leave_no_plain_text(kind: StoreKind) {
    let stack = Stack::start_with(kind);
    let attacker = Attacker::of(&stack);
    let patel = open(&stack, PATEL, OKAFOR).await;
    let okafor = open(&stack, OKAFOR, PATEL).await;
    let notes: Vec<String> = WORDS
        .iter()
        .enumerate()
        .map(|(i, word)| format!("Note {}: {word} checked", i + 1))
        .collect();
    let refs: Vec<&str> = notes.iter().map(String::as_str).collect();
    exchange(&patel, &okafor, &refs).await;

    let files = stack.store_files();
    let log = stack.php.log();
    // The right places were read: the store's files hold the conversation's
    // keys, and the log every request.
    let keys = attacker.keys();
    assert!(
        keys.iter()
            .all(|k| files.iter().any(|(_, b)| contains(b, k.as_bytes()))),
        "the store's files hold every key: {:?}",
        files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    let sets = log.lines().filter(|l| l.contains("action=set")).count();
    assert!(
        sets >= 20,
        "the request log has every write ({sets}):\n{}",
        stack.php.log_tail(20)
    );

    let mut leaks = Vec::new();
    for word in WORDS
        .iter()
        .copied()
        .chain(["Dr Patel", "Nurse Okafor", "Note 1"])
    {
        for (path, bytes) in &files {
            if contains(bytes, word.as_bytes()) {
                leaks.push(format!("{word:?} in {}", path.display()));
            }
        }
        if log.contains(word) || log.contains(&encode_query_value(word)) {
            leaks.push(format!("{word:?} in the request log"));
        }
    }
    assert!(
        leaks.is_empty(),
        "plain text outside the browsers: {leaks:?}"
    );
    assert!(
        files.iter().all(|(_, b)| !contains(b, b"<?")),
        "no `<?` in the store"
    );
    let odd: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("IMserver.php") && has_hospital_number(l))
        .collect();
    assert!(
        odd.is_empty(),
        "request lines with a data-file pattern: {odd:?}"
    );
    assert!(
        keys.iter().all(|k| k.starts_with(&attacker.prefix())),
        "only version 2 keys of the conversation: {keys:?}"
    );
    matching_safety_numbers(&patel, &okafor, None).await;
}

/// Nurse Okafor's browser forgets everything (its keys with it) and opens
/// the conversation again: Dr Patel sees that his key changed, both safety
/// numbers change and still match, and the conversation goes on.
async fn a_device_reset_announces_a_key_change(kind: StoreKind) {
    let stack = Stack::start_with(kind);
    let attacker = Attacker::of(&stack);
    let (patel, okafor, _) = conversation(&stack, &attacker).await;
    let before = matching_safety_numbers(&patel, &okafor, None).await;
    assert!(texts(&patel, "key-change-notice").await.is_empty());

    // The chat stops first, so that nothing of it is saved again; then the
    // browser forgets everything on the sign-in page, which keeps nothing:
    // its keys, and the tab's device with them.
    okafor.leave_app().await;
    okafor.goto(&stack.sign_in_url()).await;
    okafor
        .script(
            "localStorage.clear(); sessionStorage.clear(); return true;",
            vec![],
        )
        .await;
    set_fast_timing(&okafor).await;
    come_back(&stack, &okafor, OKAFOR, PATEL).await;
    wait_for_notice(
        &patel,
        "key-change-notice",
        "Nurse Okafor's security key changed",
        DELIVERY,
    )
    .await;
    matching_safety_numbers(&patel, &okafor, Some(&before)).await;

    const AFTER: &str = "Please confirm the plan for bed 7";
    send(&patel, AFTER).await;
    okafor
        .wait_until("the message after the reset", DELIVERY, |s| {
            !s.find(AFTER).is_empty()
        })
        .await;
}

// ---------------------------------------------------------------------------
// The tests: each on our server and on the course-like one

macro_rules! on_both_servers {
    ($($scenario:ident: $ours:ident, $course:ident;)*) => {$(
        #[test]
        #[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
        fn $ours() {
            run(LIMIT, $scenario(StoreKind::Ours));
        }

        #[test]
        #[ignore = "needs the built app, PHP and Chromium: run scripts/test"]
        fn $course() {
            run(LIMIT, $scenario(StoreKind::Course));
        }
    )*};
}

on_both_servers! {
    a_message_changed_in_flight: changed_message_ours, changed_message_course;
    a_read_receipt_faked: fake_read_receipt_ours, fake_read_receipt_course;
    a_sender_forged_through_a_new_device: forged_sender_ours, forged_sender_course;
    a_phantom_planted_with_ampersands: phantom_ours, phantom_course;
    twenty_messages_leave_no_plain_text: no_plain_text_ours, no_plain_text_course;
    a_device_reset_announces_a_key_change: device_reset_ours, device_reset_course;
}

/// The attack helpers themselves, without a browser.
#[test]
fn the_phantom_fools_only_a_raw_first_reading_of_a_dump_that_escapes_only_ampersands() {
    let key = "bleep2.0123456789abcdef.m.abcdefghij.3";
    let value = forged_envelope(PATEL, "abcdefghij", 3, "Phantom");
    let entries = phantom_entries(key, &value);
    let mut serialized = format!("a:{}:{{", entries.len() + 1);
    for (k, v) in [("bleep2.x.p0", "{}")]
        .into_iter()
        .chain(entries.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    {
        serialized.push_str(&format!("s:{}:\"{k}\";s:{}:\"{v}\";", k.len(), v.len()));
    }
    serialized.push('}');
    let page = |dump: &str| {
        format!("<html><body><h1>COMP28112 Server: Messaging System for Healthcare Professionals</h1>{dump}</body></html>\n")
    };
    // The attack is real against a dump that escapes `&` only.
    let escaped = serialized.replace('&', "&amp;");
    let seen = parse_page(page(&escaped).as_bytes()).expect("the escaped page parses");
    assert!(seen
        .iter()
        .any(|(k, v)| k == key.as_bytes() && v == value.as_bytes()));
    assert_eq!(seen.len(), entries.len() + 1, "no entry more than written");
    // Our server escapes quotes too: neither reading sees the phantom.
    let ours = escaped.replace('"', "&quot;");
    for seen in [
        parse_page(page(&ours).as_bytes()),
        parse_escaped_page(page(&ours).as_bytes()),
    ] {
        let seen = seen.expect("our page parses");
        assert!(seen.iter().all(|(k, _)| k != key.as_bytes()));
        assert_eq!(seen.len(), entries.len() + 1);
    }
    // The course server prints the dump raw.
    let raw = parse_page(page(&serialized).as_bytes()).expect("the raw page parses");
    assert!(raw.iter().all(|(k, _)| k != key.as_bytes()));
    assert_eq!(flipped("AAAA"), "AABA");
    assert!(!has_hospital_number("key=k%35%35%35%39%32hr"));
    assert!(has_hospital_number("key=k55592hr"));
}
