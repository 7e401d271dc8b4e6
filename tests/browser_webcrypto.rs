//! The browser's WebCrypto gives every known answer of version 2's
//! primitives (`src/core/trust/primitive_vectors.rs`), the same list that
//! `cargo test` runs through the RustCrypto crates: SHA-512, HKDF-SHA256,
//! AES-256-GCM, Ed25519 and X25519, refusals included (a changed tag or
//! signature, other associated data, an unreduced signature scalar, a
//! low-order key), in Chromium and in Firefox. And the core's own
//! compositions, run over WebCrypto through the port's jobs, make every
//! stored form of version 2 byte for byte as pinned
//! (`src/core/trust/vectors.rs`) and open the pinned values. Issue 15: where the browser and the native tests use
//! different implementations, the same vectors run through both.
//!
//! Runs against the probe build (`scripts/build --features bench-probe
//! --dist target/dist-probe`, which `scripts/test` makes), whose page
//! exports `WebCryptoCheck.run` (`src/bench_probe.rs`); by hand:
//! `cargo test --test browser_webcrypto -- --ignored` (or
//! `BLEEP_PROBE_DIST=<dir>` for another build).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::browser::{feature_dist, run, Stack, Window, WindowOptions, WAIT};
use support::firefox;

/// The probe build: `$BLEEP_PROBE_DIST`, else `target/dist-probe`.
fn probe_dist() -> PathBuf {
    feature_dist("BLEEP_PROBE_DIST", "dist-probe", "bench-probe")
}

/// Takes WebCrypto away from every page, as a page served over plain HTTP
/// from another machine (not a secure context) has none.
const NO_WEBCRYPTO: &str =
    "Object.defineProperty(Crypto.prototype, 'subtle', { get() { return undefined; } });";

/// Opens the probe build in `window` and runs every known answer through
/// its WebCrypto: the count run, then one line for each that differs.
async fn run_the_vectors(stack: &Stack, window: &Window) -> (usize, Vec<String>) {
    window.goto(&stack.sign_in_url()).await;
    window
        .wait_for_script(
            "the probe's exports",
            WAIT,
            "return !!(window.wasmBindings && window.wasmBindings.WebCryptoCheck);",
            |v| v == &Value::Bool(true),
        )
        .await;
    let report = window
        .script("return window.wasmBindings.WebCryptoCheck.run();", vec![])
        .await;
    let report: Vec<String> =
        serde_json::from_value(report.clone()).unwrap_or_else(|e| panic!("{e}: {report}"));
    let (run, lines) = report.split_first().expect("the count of vectors run");
    (run.parse().expect("a count"), lines.to_vec())
}

/// The one answer where both browsers' WebCrypto differs from the strict
/// check of the core: a low-order Ed25519 key (the neutral point) with
/// R = the neutral point and S = 0 verifies every message there. Version 2
/// must refuse such keys where it reads them (the core does, in
/// `IdentityPublic::from_bytes`), whatever checks the signatures.
const NOT_STRICT: &str =
    "Ed25519 refuses a low-order public key: expected a refusal, got an empty answer";

/// Runs the core's compositions over the page's WebCrypto: one line for
/// each stored form not as pinned, or not opened as it should be.
async fn make_the_stored_forms(window: &Window) -> Vec<String> {
    let report = window
        .script(
            "return window.wasmBindings.WebCryptoCheck.stored_forms();",
            vec![],
        )
        .await;
    serde_json::from_value(report.clone()).unwrap_or_else(|e| panic!("{e}: {report}"))
}

/// Every known answer was run, and each agreed but [`NOT_STRICT`].
fn assert_all_agree(browser: &str, (run, failures): (usize, Vec<String>)) {
    assert_eq!(run, 20, "{browser}: not every known answer was run");
    assert_eq!(
        failures,
        [NOT_STRICT],
        "{browser}'s WebCrypto differs from the RustCrypto crates other than as known"
    );
}

#[test]
#[ignore = "needs the probe build, PHP and Chromium: run scripts/test"]
fn chromium_gives_every_known_answer_and_makes_every_stored_form() {
    run(Duration::from_secs(60), async {
        let stack = Stack::serving(&probe_dist());
        let window = stack.window(WindowOptions::new("webcrypto")).await;
        assert_all_agree("Chromium", run_the_vectors(&stack, &window).await);
        assert_eq!(make_the_stored_forms(&window).await, Vec::<String>::new());
    });
}

#[test]
#[ignore = "needs the probe build, PHP, Firefox and geckodriver: run scripts/test"]
fn firefox_gives_every_known_answer_and_makes_every_stored_form() {
    run(Duration::from_secs(90), async {
        let stack = Stack::serving(&probe_dist());
        let window = firefox::open(WindowOptions::new("webcrypto (Firefox)")).await;
        assert_all_agree("Firefox", run_the_vectors(&stack, &window).await);
        assert_eq!(make_the_stored_forms(&window).await, Vec::<String>::new());
    });
}

/// Without WebCrypto every primitive says the browser cannot, and none
/// answers a refusal: a browser that lacks it must never be taken for a
/// value that failed its check (a tamper notice on every message).
#[test]
#[ignore = "needs the probe build, PHP and Chromium: run scripts/test"]
fn without_webcrypto_every_primitive_says_so_and_none_refuses() {
    run(Duration::from_secs(60), async {
        let stack = Stack::serving(&probe_dist());
        let window = stack.window(WindowOptions::new("no webcrypto")).await;
        window.before_each_page(NO_WEBCRYPTO).await;
        let (run, lines) = run_the_vectors(&stack, &window).await;
        assert_eq!(run, 20);
        assert_eq!(lines.len(), 20, "some primitive did not say so: {lines:#?}");
        assert!(
            lines
                .iter()
                .all(|l| l.contains("the browser could not") && l.contains("secure context")),
            "{lines:#?}"
        );
        let stored = make_the_stored_forms(&window).await;
        assert_eq!(
            stored,
            [
                "could not make the stored forms: This browser cannot encrypt on this page: \
              open Bleep over HTTPS, in an up-to-date browser.",
                "could not open the stored forms: This browser cannot encrypt on this page: \
              open Bleep over HTTPS, in an up-to-date browser."
            ],
            "a browser without WebCrypto must say so, not refuse"
        );
    });
}
