//! Conformance tests of the PHP servers, run under PHP's built-in server:
//!
//! - `server/IMserver.php` (ours) must speak the course server's wire format
//!   byte for byte and have none of its flaws;
//! - `tests/course_server/IMserver.php` (the course-like fixture used by the
//!   chaos tests) must speak the same format and have the documented flaws.
//!
//! Every test starts its own server on its own port with its own temp folder.
//! The checks of our server run on SQLite (one test each, in `on_sqlite`)
//! and, all of them, on a PostgreSQL cluster that `ours_on_postgresql`
//! starts and stops (`BLEEP_PG_CHECKS=part-of-a-name` runs only some). PHP,
//! its SQLite and PostgreSQL drivers and PostgreSQL are required: without
//! them these tests fail (scripts/setup installs them).

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use bleep::imserver::phpser::parse_escaped_page;
use support::{
    course_server_source, encode_query_value, http_send, im_path, our_server_source,
    require_php_module, show, HttpResponse, PgCluster, PhpServer, TempDir, HTTP_TIMEOUT,
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
    /// The store's DSN and database user, for checks made behind the
    /// server's back (empty for the course server).
    dsn: String,
    user: Option<String>,
}

/// Where our server keeps its store: the suite runs on both.
#[derive(Clone, Copy)]
enum Store<'a> {
    /// An SQLite file in the test's folder.
    Sqlite,
    /// A fresh database of a PostgreSQL cluster started by the test.
    Pg(&'a PgCluster),
}

/// Our server over a fresh store, with extra settings `envs`.
fn ours_on(store: Store, label: &str, envs: &[(&str, &str)]) -> Fixture {
    let dir = TempDir::new(label);
    let (dsn, user) = match store {
        Store::Sqlite => (
            format!(
                "sqlite:{}",
                dir.subdir("data").join("store.sqlite").display()
            ),
            None,
        ),
        Store::Pg(cluster) => (cluster.create_database(), Some(cluster.user().to_string())),
    };
    let mut all = vec![("BLEEP_IMSERVER_DSN", dsn.as_str())];
    if let Some(user) = &user {
        // As deployed (deploy/php-fpm-pool.conf): PHP's workers keep their
        // connections between requests.
        all.push(("BLEEP_IMSERVER_USER", user.as_str()));
        all.push(("BLEEP_IMSERVER_PERSISTENT", "1"));
    }
    all.extend_from_slice(envs);
    let mut f = ours_with(dir, &all);
    f.dsn = dsn;
    f.user = user;
    f
}

fn ours_with(dir: TempDir, envs: &[(&str, &str)]) -> Fixture {
    require_php_module("pdo_sqlite");
    dir.copy_in(&our_server_source(), "www/IMserver.php");
    let server = PhpServer::start(&dir.join("www"), envs);
    Fixture {
        server,
        dir,
        dsn: String::new(),
        user: None,
    }
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
    Fixture {
        server,
        dir,
        dsn: String::new(),
        user: None,
    }
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

    /// `method` `path` with extra request headers; panics when there is no answer.
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        http_send(&self.server.url(path), method, headers, HTTP_TIMEOUT)
            .unwrap_or_else(|e| panic!("{e}\nserver log:\n{}", self.server.log_tail(20)))
    }

    /// Runs PHP code with `$db`, a PDO connection to this fixture's store,
    /// behind the server's back; returns what it printed.
    fn php_on_store(&self, code: &str) -> String {
        let prelude = "$db = new PDO(getenv('T_DSN'), getenv('T_USER') ?: null, null, \
                       [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);";
        let out = Command::new("php")
            .arg("-r")
            .arg(format!("{prelude}\n{code}"))
            .env("T_DSN", &self.dsn)
            .env("T_USER", self.user.as_deref().unwrap_or(""))
            .output()
            .expect("php -r");
        assert!(
            out.status.success(),
            "php -r on the store failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
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

/// Our page escapes every `"` of the serialized form (so that it cannot be
/// read raw): `text` as our page prints it.
fn quoted(text: &str) -> String {
    text.replace('"', "&quot;")
}

fn with_newline(value: &[u8]) -> Vec<u8> {
    [value, b"\n"].concat()
}

// ---------------------------------------------------------------------------
// Our server: the wire format

fn ours_set_get_unset_clear_answer_like_the_course_server(store: Store) {
    let f = ours_on(store, "ours-rows", &[]);
    let answer = f
        .server
        .request(&im_path("set", &[("key", b"nurse1"), ("value", b"hello")]))
        .unwrap();
    assert_eq!(answer.status, 200);
    expect_body(&answer.body, b"\n", "set");
    assert_eq!(
        answer.header("Content-Type"),
        Some("text/plain; charset=utf-8")
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

fn ours_get_of_a_missing_key_is_a_bare_newline(store: Store) {
    let f = ours_on(store, "ours-missing", &[]);
    expect_body(&f.get_raw(b"nobody"), b"\n", "get on a fresh store");
    f.set(b"somebody", b"x");
    expect_body(&f.get_raw(b"nobody"), b"\n", "get of a missing key");
}

fn ours_missing_value_stores_the_empty_string(store: Store) {
    let f = ours_on(store, "ours-novalue", &[]);
    f.set(b"k", b"something");
    expect_body(
        &f.ok("/IMserver.php?action=set&key=k"),
        b"\n",
        "set without value",
    );
    expect_body(&f.get_raw(b"k"), b"\n", "get");
    expect_body(&f.keys(), b"k\n\n", "keys");
    expect_body(
        &f.page(),
        &page_of(&quoted(r#"a:1:{s:1:"k";s:0:"";}"#)),
        "page",
    );
}

fn ours_keys_and_page_of_an_empty_store(store: Store) {
    let f = ours_on(store, "ours-empty", &[]);
    expect_body(&f.keys(), b"\n", "keys of an empty store");
    expect_body(&f.page(), &page_of("a:0:{}"), "page of an empty store");
    // Any other action shows the page too.
    expect_body(
        &f.ok("/IMserver.php?action=dance"),
        &page_of("a:0:{}"),
        "unknown action",
    );
}

fn ours_keys_keep_insertion_order_and_an_overwrite_keeps_its_place(store: Store) {
    let f = ours_on(store, "ours-order", &[]);
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
        &page_of(&quoted(
            r#"a:3:{s:4:"zulu";s:1:"1";s:5:"alpha";s:3:"two";s:4:"mike";s:1:"3";}"#,
        )),
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

fn ours_page_serializes_like_php(store: Store) {
    let f = ours_on(store, "ours-page", &[]);
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
    expect_body(&f.page(), &page_of(&quoted(expected)), "page");
    expect_body(
        &f.keys(),
        "5\n-3\n0\n05\n-0\n1.5\n99999999999999999999\ncaf\u{e9}\ntag\n\n".as_bytes(),
        "keys",
    );
}

fn ours_bytes_round_trip_exactly(store: Store) {
    let f = ours_on(store, "ours-bytes", &[]);
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
    let dump = b"s:15:&quot;\x00\x01\xff\xc3( not UTF-8&quot;;";
    assert!(
        page.windows(dump.len()).any(|w| w == dump),
        "page lacks the non-UTF-8 value byte for byte: {}",
        show(&page)
    );
}

fn ours_shows_stored_php_escaped_and_never_runs_it(store: Store) {
    let f = ours_on(store, "ours-php", &[]);
    f.set(b"evil", b"<?php echo 1; ?>");
    f.set(b"evil2", b"<?= 6*7 ?><script>alert(1)</script>");
    let expected = concat!(
        r#"a:2:{s:4:"evil";s:16:"&lt;?php echo 1; ?&gt;";"#,
        r#"s:5:"evil2";s:35:"&lt;?= 6*7 ?&gt;&lt;script&gt;alert(1)&lt;/script&gt;";}"#
    );
    let page = f.page();
    expect_body(&page, &page_of(&quoted(expected)), "page with stored PHP");
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

fn ours_rejects_an_oversized_key_or_value_with_413(store: Store) {
    let f = ours_on(store, "ours-413", &[]);
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

fn ours_rejects_set_get_unset_without_a_key_with_400(store: Store) {
    let f = ours_on(store, "ours-400", &[]);
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
    let f = ours_on(Store::Sqlite, "ours-readonly", &[]);
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
    let f = ours_on(Store::Sqlite, "ours-index", &[]);
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

fn ours_concurrent_writers_lose_nothing_and_readers_never_fail(store: Store) {
    const WRITERS: usize = 8;
    const SETS: usize = 200;
    let f = Arc::new(ours_on(store, "ours-concurrent", &[]));
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
    expect_usage_counted_right(&f);
    eprintln!(
        "concurrency: {} sets, {reads} reads, {:?}",
        WRITERS * SETS,
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// Our server: the faults found in issue 16

/// What every answer of ours carries, whatever its status: inert plain text
/// (never sniffed, nothing allowed to run) with an exact length.
fn expect_safe_headers(answer: &HttpResponse, what: &str) {
    assert_eq!(
        answer.header("Content-Type"),
        Some("text/plain; charset=utf-8"),
        "{what}"
    );
    assert_eq!(
        answer.header("X-Content-Type-Options"),
        Some("nosniff"),
        "{what}"
    );
    let csp = answer.header("Content-Security-Policy").unwrap_or_default();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{what}: Content-Security-Policy {csp:?}"
    );
    assert_eq!(answer.header("X-Powered-By"), None, "{what}");
    let length = answer
        .header("Content-Length")
        .and_then(|l| l.parse::<usize>().ok());
    assert_eq!(length, Some(answer.body.len()), "{what}: Content-Length");
}

/// The one answer our server gives when its store cannot be used.
const UNAVAILABLE: &[u8] = b"503: the message store is unavailable; try again later\n";

fn expect_unavailable(f: &Fixture, path: &str) {
    let answer = f.send("GET", path, &[]);
    assert_eq!(answer.status, 503, "GET {path}: {}", show(&answer.body));
    expect_body(&answer.body, UNAVAILABLE, path);
    expect_safe_headers(&answer, path);
}

/// Issue 16, faults 1, 7 and 8: stored markup comes back as inert text.
fn ours_answers_are_inert_plain_text_with_a_length(store: Store) {
    let f = ours_on(store, "ours-inert", &[]);
    let xss: &[u8] = b"<img src=x onerror=alert(2)><script>alert(3)</script>";
    f.set(xss, xss);
    let cases = [
        (im_path("set", &[("key", b"k"), ("value", xss)]), 200),
        (im_path("get", &[("key", b"k")]), 200),
        (im_path("get", &[("key", xss)]), 200),
        ("/IMserver.php?action=keys".to_string(), 200),
        ("/IMserver.php".to_string(), 200),
        ("/IMserver.php?action=get".to_string(), 400),
        (
            format!("/IMserver.php?action=get&key={}", "k".repeat(1001)),
            413,
        ),
    ];
    for (path, status) in cases {
        let answer = f.send("GET", &path, &[]);
        assert_eq!(answer.status, status, "GET {}", clip(&path));
        expect_safe_headers(&answer, &clip(&path));
    }
    // The bodies are the course server's bytes.
    expect_body(&f.get_raw(b"k"), &with_newline(xss), "get");
    expect_body(&f.keys(), &[xss, b"\nk\n\n".as_slice()].concat(), "keys");
    let page = f.send("GET", "/IMserver.php", &[]);
    assert_eq!(page.header("X-Bleep-Page"), Some("html-escaped"));
    assert!(
        !page.body.windows(4).any(|w| w == b"<img" || w == b"<scr"),
        "markup unescaped in the page: {}",
        show(&page.body)
    );
    let entries = parse_escaped_page(&page.body).expect("our page reads back");
    assert_eq!(
        entries,
        vec![(xss.to_vec(), xss.to_vec()), (b"k".to_vec(), xss.to_vec())]
    );
}

/// Issue 16, fault 2: only GET writes; every other method is refused.
fn ours_writes_only_on_get(store: Store) {
    let f = ours_on(store, "ours-methods", &[]);
    f.set(b"k", b"before");
    let writes = [
        im_path("set", &[("key", b"k"), ("value", b"after")]),
        im_path("set", &[("key", b"new"), ("value", b"x")]),
        im_path("unset", &[("key", b"k")]),
        "/IMserver.php?action=clear".to_string(),
    ];
    for method in ["HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        for path in &writes {
            let answer = f.send(method, path, &[]);
            assert_eq!(answer.status, 405, "{method} {path}");
            assert_eq!(answer.header("Allow"), Some("GET"), "{method} {path}");
        }
    }
    expect_body(&f.keys(), b"k\n\n", "keys after refused writes");
    expect_body(&f.get_raw(b"k"), b"before\n", "value after refused writes");
}

/// Issue 16, fault 2: a request a browser marks cross-site reads, never writes.
fn ours_cross_site_requests_may_read_but_not_write(store: Store) {
    let f = ours_on(store, "ours-cross-site", &[]);
    f.set(b"k", b"v");
    let cross = [("Sec-Fetch-Site", "cross-site")];
    for path in [
        im_path("set", &[("key", b"k"), ("value", b"forged")]),
        im_path("set", &[("key", b"other"), ("value", b"forged")]),
        im_path("unset", &[("key", b"k")]),
        "/IMserver.php?action=clear".to_string(),
    ] {
        let answer = f.send("GET", &path, &cross);
        assert_eq!(answer.status, 403, "cross-site {path}");
        expect_safe_headers(&answer, &path);
    }
    for (path, body) in [
        (im_path("get", &[("key", b"k")]), b"v\n".to_vec()),
        ("/IMserver.php?action=keys".to_string(), b"k\n\n".to_vec()),
    ] {
        let answer = f.send("GET", &path, &cross);
        assert_eq!(answer.status, 200, "cross-site read {path}");
        expect_body(&answer.body, &body, &path);
    }
    assert_eq!(f.send("GET", "/IMserver.php", &cross).status, 200);
    for site in ["same-origin", "same-site", "none"] {
        let path = im_path("set", &[("key", site.as_bytes()), ("value", b"ok")]);
        let answer = f.send("GET", &path, &[("Sec-Fetch-Site", site)]);
        assert_eq!(answer.status, 200, "{site} write");
    }
    expect_body(&f.keys(), b"k\nsame-origin\nsame-site\nnone\n\n", "keys");
}

/// Issue 16, fault 3: a quota of bytes and keys; unset and clear always work.
fn ours_quota_is_answered_with_507_and_unset_and_clear_still_work(store: Store) {
    let f = ours_on(
        store,
        "ours-quota",
        &[
            ("BLEEP_IMSERVER_MAX_KEYS", "3"),
            ("BLEEP_IMSERVER_MAX_BYTES", "100"),
        ],
    );
    for key in [b"a", b"b", b"c"] {
        f.set(key, b"0123456789"); // 11 bytes each with its key
    }
    let full = |path: &str| {
        expect_error(&f, path, 507);
        let (_, body) = f.get(path);
        assert!(
            String::from_utf8_lossy(&body).contains("full"),
            "{}",
            show(&body)
        );
    };
    full(&im_path("set", &[("key", b"d"), ("value", b"1")])); // a 4th key
    f.set(b"a", &[b'x'; 40]); // overwriting within the bytes: 41 + 22
    full(&im_path("set", &[("key", b"a"), ("value", &[b'x'; 80])])); // 81 + 22 > 100
    expect_body(&f.get_raw(b"a"), &with_newline(&[b'x'; 40]), "kept value");
    f.unset(b"b");
    f.set(b"d", b"1");
    expect_body(&f.keys(), b"a\nc\nd\n\n", "keys");
    f.clear();
    f.set(b"e", &[b'y'; 99]);
    full(&im_path("set", &[("key", b"f"), ("value", b"")]));
    f.unset(b"e");
    f.set(b"f", b"");
    expect_body(&f.keys(), b"f\n\n", "keys after making room");
    expect_usage_counted_right(&f);
}

/// The usage row the quota reads (kept by every change) matches the store.
fn expect_usage_counted_right(f: &Fixture) {
    let both = f.php_on_store(
        "$u = $db->query('SELECT n_keys, n_bytes FROM kv_usage')->fetch(PDO::FETCH_NUM);
         $a = $db->query('SELECT COUNT(*), COALESCE(SUM(LENGTH(k) + LENGTH(v)), 0) FROM kv')
             ->fetch(PDO::FETCH_NUM);
         echo implode(' ', $u), ' / ', implode(' ', $a);",
    );
    let (kept, counted) = both.split_once(" / ").expect("two counts");
    assert_eq!(kept, counted, "kv_usage (keys bytes) against the store");
}

/// Issue 16, fault 3: the page of a store far larger than PHP's memory.
fn ours_page_is_streamed_in_little_memory(store: Store) {
    const ROWS: usize = 800;
    const VALUE: usize = 60_000;
    let ini = TempDir::new("ours-stream-ini");
    fs::write(ini.join("memory.ini"), "memory_limit = 16M\n").unwrap();
    // A leading ':' keeps PHP's own ini folder (its extensions) as well.
    let scan = format!(":{}", ini.path().display());
    let f = ours_on(store, "ours-stream", &[("PHP_INI_SCAN_DIR", &scan)]);
    f.keys(); // creates the table
    f.php_on_store(&format!(
        r#"$db->beginTransaction();
        $s = $db->prepare('INSERT INTO kv (k, v) VALUES (?, ?)');
        for ($i = 0; $i < {ROWS}; $i++) {{
            $s->bindValue(1, "k&\"$i", PDO::PARAM_LOB);
            $s->bindValue(2, str_repeat('v', {VALUE} - 4) . '<&">', PDO::PARAM_LOB);
            $s->execute();
        }}
        $db->commit();"#
    ));
    let answer = f
        .server
        .request("/IMserver.php")
        .unwrap_or_else(|e| panic!("page of a large store: {e}\n{}", f.server.log_tail(10)));
    assert_eq!(
        answer.status,
        200,
        "page of a large store: {}\n{}",
        clip(&show(&answer.body)),
        f.server.log_tail(10)
    );
    expect_safe_headers(&answer, "page of a large store");
    assert!(answer.body.len() > ROWS * VALUE, "{}", answer.body.len());
    let entries = parse_escaped_page(&answer.body).expect("the page reads back");
    assert_eq!(entries.len(), ROWS);
    let value = [vec![b'v'; VALUE - 4], b"<&\">".to_vec()].concat();
    assert_eq!(entries[0], (b"k&\"0".to_vec(), value.clone()));
    assert_eq!(
        entries[ROWS - 1],
        (format!("k&\"{}", ROWS - 1).into_bytes(), value)
    );
    let keys = f.keys();
    assert_eq!(keys.split(|&b| b == b'\n').count(), ROWS + 2);
}

/// Issue 16, fault 5: `keys` lists one key a line, so a key cannot hold one.
fn ours_refuses_keys_with_a_line_break(store: Store) {
    let f = ours_on(store, "ours-newline", &[]);
    for key in [&b"a\nb"[..], b"a\rb", b"\n", b"tail\n"] {
        expect_error(&f, &im_path("set", &[("key", key), ("value", b"v")]), 400);
    }
    expect_body(&f.keys(), b"\n", "nothing stored");
    // An old one could still be read and removed.
    expect_body(&f.get_raw(b"a\nb"), b"\n", "get");
    f.unset(b"a\nb");
}

/// Issue 16, fault 6: concurrent first requests on a new store all succeed.
fn ours_first_use_setup_waits_instead_of_failing(store: Store) {
    const CLIENTS: usize = 16;
    // The race showed in about one round of five on SQLite.
    let rounds = match store {
        Store::Sqlite => 30,
        Store::Pg(_) => 6,
    };
    let f = Arc::new(ours_on(
        store,
        "ours-first-use",
        &[("PHP_CLI_SERVER_WORKERS", "16")],
    ));
    for round in 0..rounds {
        // A brand-new store for every round.
        match store {
            Store::Sqlite => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = fs::remove_file(f.dir.join(format!("data/store.sqlite{suffix}")));
                }
            }
            Store::Pg(_) => {
                f.php_on_store("$db->exec('DROP TABLE IF EXISTS kv');");
            }
        }
        let barrier = Arc::new(Barrier::new(CLIENTS));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let (f, barrier) = (Arc::clone(&f), Arc::clone(&barrier));
                thread::spawn(move || {
                    let key = format!("r{round}-{i}");
                    let path = match i % 4 {
                        0 => "/IMserver.php?action=keys".to_string(),
                        1 => im_path("get", &[("key", key.as_bytes())]),
                        _ => im_path("set", &[("key", key.as_bytes()), ("value", b"v")]),
                    };
                    barrier.wait();
                    let (status, body) = f.get(&path);
                    assert_eq!(
                        status,
                        200,
                        "round {round}, first request {path}: {}\n{}",
                        show(&body),
                        f.server.log_tail(20)
                    );
                })
            })
            .collect();
        for client in clients {
            client.join().expect("a first request failed");
        }
    }
}

/// Issue 16, fault 7: errors are generic; the details go to the log only.
fn ours_error_answers_say_nothing_of_the_database(store: Store) {
    let dir = TempDir::new("ours-generic-errors");
    let (dsn, user) = match store {
        Store::Sqlite => (
            format!("sqlite:{}", dir.join("missing/store.sqlite").display()),
            "",
        ),
        Store::Pg(cluster) => (cluster.dsn_of("no_such_database"), cluster.user()),
    };
    let f = ours_with(
        dir,
        &[("BLEEP_IMSERVER_DSN", &dsn), ("BLEEP_IMSERVER_USER", user)],
    );
    for path in [
        im_path("set", &[("key", b"k"), ("value", b"v")]),
        im_path("get", &[("key", b"k")]),
        "/IMserver.php?action=keys".to_string(),
        "/IMserver.php".to_string(),
    ] {
        expect_unavailable(&f, &path);
    }
    let log = f.server.log();
    let detail = match store {
        Store::Sqlite => "unable to open database",
        Store::Pg(_) => "no_such_database",
    };
    assert!(log.contains(detail), "the log should say why: {log}");
}

/// Issue 16, fault 4: a store someone else prepared (a trigger that rewrites
/// every value) is refused, until it is Bleep's own again.
fn ours_refuses_a_store_with_a_planted_trigger(store: Store) {
    let f = ours_on(store, "ours-trigger", &[]);
    f.set(b"k", b"v");
    let (plant, remove) = match store {
        Store::Sqlite => (
            "CREATE TRIGGER evil AFTER INSERT ON kv BEGIN \
             UPDATE kv SET v = 'pwned' WHERE pos = new.pos; END",
            "DROP TRIGGER evil",
        ),
        Store::Pg(_) => (
            "CREATE FUNCTION evil() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN NEW.v := 'pwned'::bytea; RETURN NEW; END $$; \
             CREATE TRIGGER evil BEFORE INSERT OR UPDATE ON kv \
             FOR EACH ROW EXECUTE FUNCTION evil()",
            "DROP TRIGGER evil ON kv",
        ),
    };
    f.php_on_store(&format!("$db->exec(\"{plant}\");"));
    expect_unavailable(&f, &im_path("set", &[("key", b"k2"), ("value", b"v2")]));
    expect_unavailable(&f, &im_path("get", &[("key", b"k")]));
    assert!(
        f.server.log().contains("schema"),
        "{}",
        f.server.log_tail(5)
    );
    f.php_on_store(&format!("$db->exec('{remove}');"));
    f.set(b"k2", b"v2");
    expect_body(&f.get_raw(b"k2"), b"v2\n", "get once the trigger is gone");
}

#[test]
fn ours_default_folder_is_private_and_refused_when_it_is_not() {
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
    let dir = TempDir::new("ours-private");
    let tmp = dir.subdir("tmp");
    let tmp_text = tmp.to_string_lossy().into_owned();
    let f = ours_with(dir, &[("TMPDIR", &tmp_text)]);
    let folder = tmp.join("bleep-imserver");
    let set = im_path("set", &[("key", b"k"), ("value", b"v")]);

    // Created private, owned by the server's user.
    f.set(b"k", b"v");
    let meta = fs::symlink_metadata(&folder).unwrap();
    assert!(meta.is_dir());
    assert_eq!(meta.mode() & 0o777, 0o700, "mode of the new folder");
    assert_eq!(meta.uid(), unsafe_free_euid(), "owner of the new folder");

    // Opened to others: refused until it is private again.
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o777)).unwrap();
    expect_unavailable(&f, &set);
    assert!(f.server.log().contains("open to other users"));
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o700)).unwrap();
    f.set(b"k", b"back");

    // A symbolic link (to a folder another user could control): refused.
    let elsewhere = tmp.join("elsewhere");
    fs::rename(&folder, &elsewhere).unwrap();
    symlink(&elsewhere, &folder).unwrap();
    expect_unavailable(&f, &set);
    assert!(f.server.log().contains("symbolic link"));
    fs::remove_file(&folder).unwrap();
    fs::rename(&elsewhere, &folder).unwrap();
    expect_body(
        &f.get_raw(b"k"),
        b"back\n",
        "the store once the link is gone",
    );

    // Owned by another user (as root the test can hand it over): refused.
    if unsafe_free_euid() == 0 {
        let chown = |owner: &str| {
            let status = Command::new("chown")
                .args(["-R", owner])
                .arg(&folder)
                .status()
                .expect("chown");
            assert!(status.success());
        };
        chown("nobody");
        expect_unavailable(&f, &set);
        assert!(f.server.log().contains("owned by another user"));
        chown("root");
        f.set(b"k", b"mine again");
    } else {
        eprintln!("not root: the check of a folder owned by another user needs root");
    }
}

/// The effective user id of this process (from /proc, without libc).
fn unsafe_free_euid() -> u32 {
    let status = fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse().ok())
        .expect("an effective uid in /proc/self/status")
}

// ---------------------------------------------------------------------------
// The suite on both stores

macro_rules! checks_on_both_stores {
    ($($name:ident),* $(,)?) => {
        /// Every check that runs on SQLite (one test each) and on PostgreSQL
        /// (all in `ours_on_postgresql`, against one cluster).
        const ON_BOTH: &[(&str, fn(Store))] = &[$((stringify!($name), $name)),*];

        mod on_sqlite {
            $(#[test] fn $name() { super::$name(super::Store::Sqlite) })*
        }
    };
}

checks_on_both_stores!(
    ours_set_get_unset_clear_answer_like_the_course_server,
    ours_get_of_a_missing_key_is_a_bare_newline,
    ours_missing_value_stores_the_empty_string,
    ours_keys_and_page_of_an_empty_store,
    ours_keys_keep_insertion_order_and_an_overwrite_keeps_its_place,
    ours_page_serializes_like_php,
    ours_bytes_round_trip_exactly,
    ours_shows_stored_php_escaped_and_never_runs_it,
    ours_rejects_an_oversized_key_or_value_with_413,
    ours_rejects_set_get_unset_without_a_key_with_400,
    ours_concurrent_writers_lose_nothing_and_readers_never_fail,
    ours_answers_are_inert_plain_text_with_a_length,
    ours_writes_only_on_get,
    ours_cross_site_requests_may_read_but_not_write,
    ours_quota_is_answered_with_507_and_unset_and_clear_still_work,
    ours_page_is_streamed_in_little_memory,
    ours_refuses_keys_with_a_line_break,
    ours_first_use_setup_waits_instead_of_failing,
    ours_error_answers_say_nothing_of_the_database,
    ours_refuses_a_store_with_a_planted_trigger,
);

/// The whole suite against a real PostgreSQL started here (in a temporary
/// folder, on a free port, stopped at the end), then the database going
/// down and coming back under a running PHP.
#[test]
fn ours_on_postgresql() {
    let cluster = PgCluster::require();
    let started = Instant::now();
    // BLEEP_PG_CHECKS=part-of-a-name runs only the matching checks (to debug).
    let only = std::env::var("BLEEP_PG_CHECKS").unwrap_or_default();
    for (name, check) in ON_BOTH.iter().filter(|(name, _)| name.contains(&only)) {
        let at = Instant::now();
        eprintln!("postgresql: {name} ...");
        check(Store::Pg(&cluster));
        eprintln!("postgresql: {name} ok ({:?})", at.elapsed());
    }

    let f = ours_on(Store::Pg(&cluster), "ours-pg-down", &[]);
    f.set(b"k", b"v");
    cluster.halt();
    for path in [
        im_path("set", &[("key", b"k"), ("value", b"w")]),
        im_path("get", &[("key", b"k")]),
        "/IMserver.php?action=keys".to_string(),
        "/IMserver.php".to_string(),
    ] {
        expect_unavailable(&f, &path);
    }
    cluster.resume().expect("PostgreSQL restarts");
    expect_body(&f.get_raw(b"k"), b"v\n", "get once the database is back");
    f.set(b"k", b"w");
    expect_body(&f.get_raw(b"k"), b"w\n", "set once the database is back");
    drop(f); // the server goes before the cluster
    eprintln!("postgresql: whole suite {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------
// The harness itself

#[test]
fn harness_restart_keeps_the_port_and_the_store() {
    let mut f = ours_on(Store::Sqlite, "harness-restart", &[]);
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
