//! Conformance tests of the PHP servers, run under PHP's built-in server:
//!
//! - `server/IMserver.php` (ours) must speak the course server's wire format
//!   byte for byte and have none of its flaws;
//! - `tests/course_server/IMserver.php` (the course-like fixture used by the
//!   chaos tests) must speak the same format and have the documented flaws.
//!
//! Every test starts its own server on its own port with its own temp folder.
//! PHP is required: without it these tests fail (run scripts/test).

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use support::{
    course_server_source, encode_query_value, im_path, our_server_source, require_php_module, show,
    PgCluster, PhpServer, TempDir,
};

const PAGE_HEAD: &str =
    "<html><body><h1>COMP28112 Server: Messaging System for Healthcare Professionals</h1>";
const PAGE_TAIL: &str = "</body></html>\n";

/// The page the servers answer for a store whose serialize() form is `data`.
fn page_of(data: &str) -> Vec<u8> {
    page_of_bytes(data.as_bytes())
}

fn page_of_bytes(data: &[u8]) -> Vec<u8> {
    [PAGE_HEAD.as_bytes(), data, PAGE_TAIL.as_bytes()].concat()
}

// ---------------------------------------------------------------------------
// Fixtures

/// A running server plus its folder. The server is declared first, so it is
/// stopped before the folder is removed.
struct Fixture {
    server: PhpServer,
    dir: TempDir,
}

/// Our server over an SQLite file in the test's folder.
fn ours(label: &str) -> Fixture {
    let dir = TempDir::new(label);
    let dsn = format!(
        "sqlite:{}",
        dir.subdir("data").join("store.sqlite").display()
    );
    ours_with(dir, &[("BLEEP_IMSERVER_DSN", &dsn)])
}

fn ours_with(dir: TempDir, envs: &[(&str, &str)]) -> Fixture {
    require_php_module("pdo_sqlite");
    dir.copy_in(&our_server_source(), "www/IMserver.php");
    let server = PhpServer::start(&dir.join("www"), envs);
    Fixture { server, dir }
}

/// The course-like server with its data files in the test's folder.
fn course(label: &str, display_errors: bool) -> Fixture {
    let dir = TempDir::new(label);
    let data = dir.subdir("data");
    dir.copy_in(&course_server_source(), "www/IMserver.php");
    let data = data.to_string_lossy().into_owned();
    let mut envs = vec![("BLEEP_COURSE_DATA_DIR", data.as_str())];
    if display_errors {
        envs.push(("BLEEP_COURSE_DISPLAY_ERRORS", "1"));
    }
    let server = PhpServer::start(&dir.join("www"), &envs);
    Fixture { server, dir }
}

impl Fixture {
    /// GET `path`; panics (with the server log) when there is no answer.
    fn get(&self, path: &str) -> (u16, Vec<u8>) {
        self.server.get(path).unwrap_or_else(|e| {
            panic!(
                "no answer to {}: {}\nserver log:\n{}",
                clip(path),
                clip(&e),
                self.server.log_tail(20)
            )
        })
    }

    /// GET `path` and require status 200.
    fn ok(&self, path: &str) -> Vec<u8> {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path} answered {status}: {}", show(&body));
        body
    }

    fn set(&self, key: &[u8], value: &[u8]) {
        let path = im_path("set", &[("key", key), ("value", value)]);
        expect_body(&self.ok(&path), b"\n", &path);
    }

    fn unset(&self, key: &[u8]) {
        let path = im_path("unset", &[("key", key)]);
        expect_body(&self.ok(&path), b"\n", &path);
    }

    fn clear(&self) {
        expect_body(&self.ok("/IMserver.php?action=clear"), b"\n", "clear");
    }

    /// The raw answer of `get` (value + "\n").
    fn get_raw(&self, key: &[u8]) -> Vec<u8> {
        self.ok(&im_path("get", &[("key", key)]))
    }

    fn keys(&self) -> Vec<u8> {
        self.ok("/IMserver.php?action=keys")
    }

    fn page(&self) -> Vec<u8> {
        self.ok("/IMserver.php")
    }
}

/// At most 200 characters of `text`, for messages about huge requests.
fn clip(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}... ({} bytes)", &text[..i], text.len()),
        None => text.to_string(),
    }
}

fn expect_body(actual: &[u8], expected: &[u8], what: &str) {
    assert!(
        actual == expected,
        "{what}:\n  expected {}\n  but got  {}",
        show(expected),
        show(actual)
    );
}

fn with_newline(value: &[u8]) -> Vec<u8> {
    [value, b"\n"].concat()
}

// ---------------------------------------------------------------------------
// Our server: the wire format

#[test]
fn ours_set_get_unset_clear_answer_like_the_course_server() {
    let f = ours("ours-rows");
    let answer = f
        .server
        .request(&im_path("set", &[("key", b"nurse1"), ("value", b"hello")]))
        .unwrap();
    assert_eq!(answer.status, 200);
    expect_body(&answer.body, b"\n", "set");
    assert_eq!(
        answer.header("Content-Type"),
        Some("text/html; charset=UTF-8")
    );

    expect_body(&f.get_raw(b"nurse1"), b"hello\n", "get");
    f.set(b"nurse1", b"line one\nline two\n");
    expect_body(
        &f.get_raw(b"nurse1"),
        b"line one\nline two\n\n",
        "get of a multi-line value",
    );

    f.unset(b"nurse1");
    expect_body(&f.get_raw(b"nurse1"), b"\n", "get after unset");
    f.unset(b"never-there"); // unsetting a missing key is fine

    f.set(b"a", b"1");
    f.set(b"b", b"2");
    f.clear();
    expect_body(&f.keys(), b"\n", "keys after clear");
    expect_body(&f.page(), &page_of("a:0:{}"), "page after clear");
}

#[test]
fn ours_get_of_a_missing_key_is_a_bare_newline() {
    let f = ours("ours-missing");
    expect_body(&f.get_raw(b"nobody"), b"\n", "get on a fresh store");
    f.set(b"somebody", b"x");
    expect_body(&f.get_raw(b"nobody"), b"\n", "get of a missing key");
}

#[test]
fn ours_missing_value_stores_the_empty_string() {
    let f = ours("ours-novalue");
    f.set(b"k", b"something");
    expect_body(
        &f.ok("/IMserver.php?action=set&key=k"),
        b"\n",
        "set without value",
    );
    expect_body(&f.get_raw(b"k"), b"\n", "get");
    expect_body(&f.keys(), b"k\n\n", "keys");
    expect_body(&f.page(), &page_of(r#"a:1:{s:1:"k";s:0:"";}"#), "page");
}

#[test]
fn ours_keys_and_page_of_an_empty_store() {
    let f = ours("ours-empty");
    expect_body(&f.keys(), b"\n", "keys of an empty store");
    expect_body(&f.page(), &page_of("a:0:{}"), "page of an empty store");
    // Any other action shows the page too.
    expect_body(
        &f.ok("/IMserver.php?action=dance"),
        &page_of("a:0:{}"),
        "unknown action",
    );
}

#[test]
fn ours_keys_keep_insertion_order_and_an_overwrite_keeps_its_place() {
    let f = ours("ours-order");
    f.set(b"zulu", b"1");
    f.set(b"alpha", b"2");
    f.set(b"mike", b"3");
    f.set(b"alpha", b"two");
    expect_body(
        &f.keys(),
        b"zulu\nalpha\nmike\n\n",
        "keys after an overwrite",
    );
    expect_body(
        &f.page(),
        &page_of(r#"a:3:{s:4:"zulu";s:1:"1";s:5:"alpha";s:3:"two";s:4:"mike";s:1:"3";}"#),
        "page after an overwrite",
    );
    f.unset(b"zulu");
    f.set(b"zulu", b"back");
    expect_body(
        &f.keys(),
        b"alpha\nmike\nzulu\n\n",
        "a key set again after unset goes last",
    );
}

#[test]
fn ours_page_serializes_like_php() {
    let f = ours("ours-page");
    // Canonical decimal integers become integer keys, like PHP array keys.
    f.set(b"5", b"five");
    f.set(b"-3", b"minus");
    f.set(b"0", b"zero");
    f.set(b"05", b"padded");
    f.set(b"-0", b"minus zero");
    f.set(b"1.5", b"float");
    f.set(b"99999999999999999999", b"too big");
    f.set(b"caf\xc3\xa9", b"\xf0\x9f\x92\x8a pill"); // lengths are in bytes
    f.set(b"tag", b"a<b>&\"c\"");
    let expected = concat!(
        "a:9:{i:5;s:4:\"five\";i:-3;s:5:\"minus\";i:0;s:4:\"zero\";",
        "s:2:\"05\";s:6:\"padded\";s:2:\"-0\";s:10:\"minus zero\";",
        "s:3:\"1.5\";s:5:\"float\";s:20:\"99999999999999999999\";s:7:\"too big\";",
        "s:5:\"caf\u{e9}\";s:9:\"\u{1f48a} pill\";",
        "s:3:\"tag\";s:8:\"a&lt;b&gt;&amp;\"c\"\";}"
    );
    expect_body(&f.page(), &page_of(expected), "page");
    expect_body(
        &f.keys(),
        "5\n-3\n0\n05\n-0\n1.5\n99999999999999999999\ncaf\u{e9}\ntag\n\n".as_bytes(),
        "keys",
    );
}

#[test]
fn ours_bytes_round_trip_exactly() {
    let f = ours("ours-bytes");
    let awkward: &[(&[u8], &[u8])] = &[
        (b"\xff\xfe key", b"\x00\x01\xff\xc3\x28 not UTF-8"),
        (b"plus+amp&eq=pct%", b"a+b&c=d%e f?g#h"),
        (b"multi", b"first\r\nsecond\n\nfourth\n"),
        (b"spaces", b"  leading and trailing  "),
    ];
    for (key, value) in awkward {
        f.set(key, value);
    }
    for (key, value) in awkward {
        expect_body(
            &f.get_raw(key),
            &with_newline(value),
            &format!("get {}", show(key)),
        );
    }
    let keys: Vec<u8> = awkward
        .iter()
        .flat_map(|(k, _)| with_newline(k))
        .chain([b'\n'])
        .collect();
    expect_body(&f.keys(), &keys, "keys");
    let page = f.page();
    let dump = b"s:15:\"\x00\x01\xff\xc3( not UTF-8\";";
    assert!(
        page.windows(dump.len()).any(|w| w == dump),
        "page lacks the non-UTF-8 value byte for byte: {}",
        show(&page)
    );
}

#[test]
fn ours_shows_stored_php_escaped_and_never_runs_it() {
    let f = ours("ours-php");
    f.set(b"evil", b"<?php echo 1; ?>");
    f.set(b"evil2", b"<?= 6*7 ?><script>alert(1)</script>");
    let expected = concat!(
        r#"a:2:{s:4:"evil";s:16:"&lt;?php echo 1; ?&gt;";"#,
        r#"s:5:"evil2";s:35:"&lt;?= 6*7 ?&gt;&lt;script&gt;alert(1)&lt;/script&gt;";}"#
    );
    let page = f.page();
    expect_body(&page, &page_of(expected), "page with stored PHP");
    assert!(
        !page.windows(2).any(|w| w == b"42"),
        "stored PHP was executed"
    );
    expect_body(
        &f.get_raw(b"evil"),
        b"<?php echo 1; ?>\n",
        "get returns it unchanged",
    );
}

// ---------------------------------------------------------------------------
// Our server: limits and errors

fn expect_error(f: &Fixture, path: &str, status: u16) {
    let (got, body) = f.get(path);
    assert_eq!(
        got,
        status,
        "GET {} answered {got}: {}",
        clip(path),
        clip(&show(&body))
    );
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.starts_with(&format!("{status}: "))
            && text.ends_with('\n')
            && text.lines().count() == 1,
        "the {status} answer should be one line with a reason, got {text:?}"
    );
}

#[test]
fn ours_rejects_an_oversized_key_or_value_with_413() {
    let f = ours("ours-413");
    let key_at_limit = vec![b'k'; 1000];
    let value_at_limit = vec![b'v'; 60_000];
    f.set(&key_at_limit, &value_at_limit);
    expect_body(
        &f.get_raw(&key_at_limit),
        &with_newline(&value_at_limit),
        "value at the limit",
    );

    let long_key = "k".repeat(1001);
    expect_error(
        &f,
        &format!("/IMserver.php?action=set&key={long_key}&value=x"),
        413,
    );
    expect_error(&f, &format!("/IMserver.php?action=get&key={long_key}"), 413);
    expect_error(
        &f,
        &format!("/IMserver.php?action=unset&key={long_key}"),
        413,
    );
    let long_value = "v".repeat(60_001);
    expect_error(
        &f,
        &format!("/IMserver.php?action=set&key=big&value={long_value}"),
        413,
    );
    // Lengths count bytes: 59,999 ASCII bytes and a 2-byte character are too long.
    let wide_value = format!("{}%C3%A9", "v".repeat(59_999));
    expect_error(
        &f,
        &format!("/IMserver.php?action=set&key=big&value={wide_value}"),
        413,
    );
    expect_body(
        &f.keys(),
        &[key_at_limit.as_slice(), b"\n\n"].concat(),
        "nothing oversized stored",
    );
}

#[test]
fn ours_rejects_set_get_unset_without_a_key_with_400() {
    let f = ours("ours-400");
    for path in [
        "/IMserver.php?action=set&value=x",
        "/IMserver.php?action=get",
        "/IMserver.php?action=unset",
        "/IMserver.php?action=get&key=",
        "/IMserver.php?action=set&key[]=a&value=x",
    ] {
        expect_error(&f, path, 400);
    }
    expect_body(&f.keys(), b"\n", "nothing stored");
}

#[test]
fn ours_answers_503_while_the_store_directory_is_missing_and_recovers() {
    let dir = TempDir::new("ours-503-dir");
    let store_dir = dir.join("not-yet");
    let dsn = format!("sqlite:{}", store_dir.join("store.sqlite").display());
    let f = ours_with(dir, &[("BLEEP_IMSERVER_DSN", &dsn)]);
    for path in [
        im_path("set", &[("key", b"k"), ("value", b"v")]),
        im_path("get", &[("key", b"k")]),
        "/IMserver.php?action=keys".to_string(),
        "/IMserver.php".to_string(),
    ] {
        expect_error(&f, &path, 503);
    }
    fs::create_dir(&store_dir).unwrap();
    f.set(b"k", b"v"); // same server process: nothing was cached
    expect_body(&f.get_raw(b"k"), b"v\n", "get after recovery");
}

#[test]
fn ours_answers_503_while_the_store_path_is_blocked_by_a_file_and_recovers() {
    let dir = TempDir::new("ours-503-file");
    let blocker = dir.join("blocker");
    fs::write(&blocker, b"a regular file where a folder should be").unwrap();
    let dsn = format!("sqlite:{}", blocker.join("store.sqlite").display());
    let f = ours_with(dir, &[("BLEEP_IMSERVER_DSN", &dsn)]);
    expect_error(&f, &im_path("set", &[("key", b"k"), ("value", b"v")]), 503);
    expect_error(&f, &im_path("get", &[("key", b"k")]), 503);
    fs::remove_file(&blocker).unwrap();
    fs::create_dir(&blocker).unwrap();
    f.set(b"k", b"v");
    expect_body(&f.get_raw(b"k"), b"v\n", "get after recovery");
}

#[test]
fn ours_answers_503_for_a_corrupt_store_and_recovers_when_it_is_removed() {
    let dir = TempDir::new("ours-503-corrupt");
    let store = dir.subdir("data").join("store.sqlite");
    fs::write(&store, vec![b'#'; 4096]).unwrap();
    let dsn = format!("sqlite:{}", store.display());
    let f = ours_with(dir, &[("BLEEP_IMSERVER_DSN", &dsn)]);
    expect_error(&f, &im_path("get", &[("key", b"k")]), 503);
    expect_error(&f, &im_path("set", &[("key", b"k"), ("value", b"v")]), 503);
    fs::remove_file(&store).unwrap();
    f.set(b"k", b"v");
    expect_body(&f.get_raw(b"k"), b"v\n", "get after recovery");
}

#[test]
fn ours_default_store_is_a_folder_of_its_own_in_the_temp_dir() {
    let dir = TempDir::new("ours-default");
    let tmp = dir.subdir("tmp");
    let tmp_text = tmp.to_string_lossy().into_owned();
    // No BLEEP_IMSERVER_DSN (the harness drops inherited BLEEP_* variables);
    // PHP's sys_get_temp_dir() follows TMPDIR.
    let f = ours_with(dir, &[("TMPDIR", &tmp_text)]);
    f.set(b"k", b"v");
    expect_body(&f.get_raw(b"k"), b"v\n", "get");
    let store = tmp.join("bleep-imserver").join("store.sqlite");
    assert!(
        store.is_file(),
        "expected the default store at {}",
        store.display()
    );
    assert!(
        !f.dir.join("www").join("bleep-imserver").exists(),
        "store inside the web root"
    );
}

#[test]
fn ours_reads_never_write_the_database() {
    let f = ours("ours-readonly");
    f.set(b"k", b"v");
    f.set(b"5", b"five");
    let store = f.dir.join("data").join("store.sqlite");
    let before = fs::read(&store).unwrap();
    for path in [
        im_path("get", &[("key", b"k")]),
        im_path("get", &[("key", b"missing")]),
        "/IMserver.php?action=keys".to_string(),
        "/IMserver.php".to_string(),
    ] {
        f.ok(&path);
    }
    assert!(
        fs::read(&store).unwrap() == before,
        "a read changed {}",
        store.display()
    );
}

#[test]
fn ours_get_is_an_indexed_lookup() {
    let f = ours("ours-index");
    f.set(b"k", b"v");
    let store = f.dir.join("data").join("store.sqlite");
    let code = r#"$db = new PDO('sqlite:' . $argv[1]);
        foreach ($db->query("EXPLAIN QUERY PLAN SELECT v FROM kv WHERE k = x'6b'") as $row) {
            echo $row['detail'], "\n";
        }"#;
    let out = Command::new("php")
        .arg("-r")
        .arg(code)
        .arg(&store)
        .output()
        .expect("php -r");
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "php -r failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"),
        "get should search the unique index on k, plan: {plan}"
    );
}

// ---------------------------------------------------------------------------
// Our server: concurrency

#[test]
fn ours_concurrent_writers_lose_nothing_and_readers_never_fail() {
    const WRITERS: usize = 8;
    const SETS: usize = 200;
    let f = Arc::new(ours("ours-concurrent"));
    f.set(b"watched", b"steady");
    let started = Instant::now();

    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (f, done) = (Arc::clone(&f), Arc::clone(&done));
        thread::spawn(move || {
            let path = im_path("get", &[("key", b"watched")]);
            let mut reads = 0;
            while !done.load(Ordering::Relaxed) {
                let (status, body) = f.get(&path);
                assert_eq!(
                    status,
                    200,
                    "a read during the writes answered {status}: {}",
                    show(&body)
                );
                expect_body(&body, b"steady\n", "a read during the writes");
                reads += 1;
            }
            reads
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let f = Arc::clone(&f);
            thread::spawn(move || {
                for i in 0..SETS {
                    f.set(
                        format!("w{w}-{i}").as_bytes(),
                        format!("value {w} {i}").as_bytes(),
                    );
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("a writer failed");
    }
    done.store(true, Ordering::Relaxed);
    let reads = reader.join().expect("the reader failed");
    assert!(reads > 0, "the reader never ran");

    let keys = f.keys();
    let listed: BTreeSet<&[u8]> = keys
        .split(|&b| b == b'\n')
        .filter(|k| !k.is_empty())
        .collect();
    let expected: BTreeSet<Vec<u8>> = (0..WRITERS)
        .flat_map(|w| (0..SETS).map(move |i| format!("w{w}-{i}").into_bytes()))
        .chain([b"watched".to_vec()])
        .collect();
    assert_eq!(listed.len(), expected.len(), "keys lost or duplicated");
    assert!(
        expected.iter().all(|k| listed.contains(k.as_slice())),
        "a key is missing"
    );

    let checkers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let f = Arc::clone(&f);
            thread::spawn(move || {
                for i in 0..SETS {
                    let got = f.get_raw(format!("w{w}-{i}").as_bytes());
                    expect_body(
                        &got,
                        format!("value {w} {i}\n").as_bytes(),
                        "value after the writes",
                    );
                }
            })
        })
        .collect();
    for checker in checkers {
        checker.join().expect("a value was lost");
    }
    eprintln!(
        "concurrency: {} sets, {reads} reads, {:?}",
        WRITERS * SETS,
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// Our server on PostgreSQL (where installed)

#[test]
fn ours_on_postgresql() {
    // Runs only where PostgreSQL and PHP's driver for it are installed.
    if let Some(reason) = PgCluster::unavailable() {
        eprintln!("ours_on_postgresql: SKIPPED: {reason}");
        return;
    }
    if !support::php_has_module("pdo_pgsql") {
        eprintln!("ours_on_postgresql: SKIPPED: PHP has no pdo_pgsql driver (package php-pgsql)");
        return;
    }
    let cluster = PgCluster::start()
        .unwrap_or_else(|e| panic!("PostgreSQL is installed but would not start: {e}"));
    let dsn = cluster.dsn();
    let f = ours_with(
        TempDir::new("ours-pg"),
        &[
            ("BLEEP_IMSERVER_DSN", &dsn),
            ("BLEEP_IMSERVER_USER", cluster.user()),
        ],
    );
    expect_body(&f.keys(), b"\n", "keys of a new PostgreSQL store");
    f.set(b"zulu", b"1");
    f.set(b"5", b"five");
    f.set(b"\xff\x00key", b"\x00\xfe\n<?php ?>");
    f.set(b"zulu", b"one");
    expect_body(&f.get_raw(b"zulu"), b"one\n", "get");
    expect_body(
        &f.get_raw(b"\xff\x00key"),
        b"\x00\xfe\n<?php ?>\n",
        "binary get",
    );
    expect_body(&f.get_raw(b"missing"), b"\n", "missing get");
    expect_body(&f.keys(), b"zulu\n5\n\xff\x00key\n\n", "keys");
    expect_body(
        &f.page(),
        &page_of_bytes(b"a:3:{s:4:\"zulu\";s:3:\"one\";i:5;s:4:\"five\";s:5:\"\xff\x00key\";s:11:\"\x00\xfe\n&lt;?php ?&gt;\";}"),
        "page",
    );
    f.unset(b"zulu");
    expect_body(&f.keys(), b"5\n\xff\x00key\n\n", "keys after unset");
    f.clear();
    expect_body(&f.page(), &page_of("a:0:{}"), "page after clear");
    drop(f); // the server goes before the cluster
}

// ---------------------------------------------------------------------------
// The harness itself

#[test]
fn harness_restart_keeps_the_port_and_the_store() {
    let mut f = ours("harness-restart");
    let port = f.server.port();
    f.set(b"k", b"kept");
    f.server.stop();
    assert!(
        f.server.get("/IMserver.php?action=keys").is_err(),
        "a stopped server answered"
    );
    f.server.restart();
    assert_eq!(f.server.port(), port);
    expect_body(&f.get_raw(b"k"), b"kept\n", "get after restart");
}

#[test]
fn harness_encodes_every_byte_but_letters() {
    assert_eq!(
        encode_query_value(b"aZ09 +&=%\xff\x00-_.~"),
        "aZ%30%39%20%2B%26%3D%25%FF%00%2D%5F%2E%7E"
    );
    assert_eq!(
        im_path("get", &[("key", b"k1")]),
        "/IMserver.php?action=get&key=k%31"
    );
    assert!(support::http_get("/relative").is_err());
}

// ---------------------------------------------------------------------------
// The course-like server: same format, documented flaws

const DEFAULT_FILE: &str = "imserver-default";

#[test]
fn course_speaks_the_same_wire_format() {
    let f = course("course-format", false);
    f.set(b"nurse1", b"hello");
    f.set(b"5", b"line one\nline two");
    f.set(b"nurse1", b"hello again");
    expect_body(&f.get_raw(b"nurse1"), b"hello again\n", "get");
    expect_body(&f.get_raw(b"5"), b"line one\nline two\n", "multi-line get");
    expect_body(
        &f.get_raw(b"nobody"),
        b"\n",
        "missing get with warnings hidden",
    );
    expect_body(&f.keys(), b"nurse1\n5\n\n", "keys");
    expect_body(
        &f.page(),
        &page_of(
            r#"a:2:{s:6:"nurse1";s:11:"hello again";i:5;s:17:"line one
line two";}"#,
        ),
        "page",
    );
    f.unset(b"nurse1");
    f.unset(b"never-there");
    expect_body(&f.keys(), b"5\n\n", "keys after unset");
}

#[test]
fn course_shows_php_warning_for_a_missing_key_when_display_errors_is_on() {
    let f = course("course-warning", true);
    f.set(b"k", b"v");
    let body = f.get_raw(b"nobody");
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.starts_with("<br />\n<b>Warning</b>:  Undefined array key \"nobody\" in <b>")
            && text.ends_with("<br />\n\n"),
        "expected PHP's HTML warning then \"\\n\", got {text:?}"
    );
    expect_body(&f.get_raw(b"k"), b"v\n", "an existing key has no warning");
}

#[test]
fn course_page_is_empty_before_the_first_write_then_the_raw_file() {
    let f = course("course-page", false);
    expect_body(&f.page(), &page_of(""), "page before anything was written");
    f.set(b"tag", b"<b>bold</b>");
    let data_file = f.dir.join("data").join(DEFAULT_FILE);
    let raw = fs::read(&data_file).unwrap();
    expect_body(&raw, br#"a:1:{s:3:"tag";s:11:"<b>bold</b>";}"#, "data file");
    expect_body(
        &f.page(),
        &page_of_bytes(&raw),
        "page shows the raw file, unescaped",
    );
    f.clear();
    expect_body(&f.page(), &page_of("a:0:{}"), "page after clear");
    expect_body(&f.keys(), b"\n", "keys after clear");
}

#[test]
fn course_rewrites_the_whole_file_on_every_request_even_reads() {
    let f = course("course-rewrite", false);
    let data_file = f.dir.join("data").join(DEFAULT_FILE);
    // Not what serialize() would write: a read must re-serialize it.
    fs::write(&data_file, br#"a:1:{s:1:"x";d:1.50;}"#).unwrap();
    expect_body(&f.get_raw(b"x"), b"1.5\n", "get");
    expect_body(
        &fs::read(&data_file).unwrap(),
        br#"a:1:{s:1:"x";d:1.5;}"#,
        "file after a get",
    );
}

#[test]
fn course_fails_with_500_while_the_data_file_is_empty() {
    let f = course("course-500", false);
    let data_file = f.dir.join("data").join(DEFAULT_FILE);
    fs::write(&data_file, b"").unwrap();
    for path in [
        "/IMserver.php?action=keys",
        "/IMserver.php?action=get&key=k",
    ] {
        let (status, _) = f.get(path);
        assert_eq!(status, 500, "GET {path} on an empty data file");
    }
    fs::remove_file(&data_file).unwrap();
    f.set(b"k", b"v");
    expect_body(&f.get_raw(b"k"), b"v\n", "get once the file is gone");
}

#[test]
fn course_diverts_a_request_whose_raw_uri_holds_a_hospital_number() {
    let f = course("course-divert", false);
    let data = f.dir.join("data");
    f.set(b"note", b"before");
    // Raw (not percent-encoded) digits in the value: the request is diverted.
    expect_body(
        &f.ok("/IMserver.php?action=set&key=note&value=patient+k55592hr+stable"),
        b"\n",
        "set",
    );
    let diverted = fs::read(data.join("imserver-k55592hr")).expect("no diverted data file");
    expect_body(
        &diverted,
        br#"a:1:{s:4:"note";s:23:"patient k55592hr stable";}"#,
        "diverted file",
    );
    expect_body(
        &f.get_raw(b"note"),
        b"before\n",
        "the default store kept the old value",
    );
    expect_body(
        &f.ok("/IMserver.php?action=get&key=note&ward=k55592hr"),
        b"patient k55592hr stable\n",
        "get through the diverted store",
    );
    // Percent-encoding the digits defeats the match.
    f.set(b"note", b"patient k55592hr stable");
    expect_body(
        &f.get_raw(b"note"),
        b"patient k55592hr stable\n",
        "encoded set stays home",
    );
}
