//! `ImClient` end to end against real PHP: our `server/IMserver.php` and the
//! course-like fixture `tests/course_server/IMserver.php`, each run under
//! `php -S` in a folder of its own.
//!
//! What is checked here is what the unit tests cannot see: that the URLs the
//! client builds survive PHP's query parsing byte for byte, that hospital
//! numbers in keys and values do not divert the course server to another
//! data file, that both page formats (escaped and raw) read back, and that
//! the servers' refusals and warnings come out as the right `ImError` or
//! `None`.

mod support;

use std::fs;
use std::path::PathBuf;

use bleep::imserver::client::{HttpAnswer, ImClient, ImError, Transport, TransportError};
use bleep::imserver::wire::{Request, MAX_REQUEST_LINE};
use bleep::imserver::ESCAPED_PAGE_HEADER;
use pollster::block_on;
use support::{
    course_server_source, http_get, http_request, our_server_source, PhpServer, TempDir,
    HTTP_TIMEOUT,
};

/// Requests over a plain socket, through the test harness's HTTP client.
struct SocketTransport;

impl Transport for SocketTransport {
    async fn fetch(&self, url: &str) -> Result<HttpAnswer, TransportError> {
        match http_request(url, HTTP_TIMEOUT) {
            Ok(answer) => Ok(HttpAnswer {
                escaped_page: answer.header(ESCAPED_PAGE_HEADER) == Some("html-escaped"),
                status: answer.status,
                body: answer.body,
            }),
            Err(why) => Err(TransportError::Network(why)),
        }
    }
}

/// One running server and the folder holding its script and data. The
/// server is declared first so that it stops before the folder goes.
struct Running {
    server: PhpServer,
    /// The course server's data folder (`None` for ours).
    data_dir: Option<PathBuf>,
    _dir: TempDir,
}

impl Running {
    fn ours(label: &str) -> Running {
        let dir = TempDir::new(label);
        let www = dir.subdir("www");
        dir.copy_in(&our_server_source(), "www/IMserver.php");
        let dsn = format!("sqlite:{}", dir.join("store.sqlite").display());
        let server = PhpServer::start(&www, &[("BLEEP_IMSERVER_DSN", &dsn)]);
        Running {
            server,
            data_dir: None,
            _dir: dir,
        }
    }

    fn course(label: &str, display_errors: bool) -> Running {
        let dir = TempDir::new(label);
        let www = dir.subdir("www");
        dir.copy_in(&course_server_source(), "www/IMserver.php");
        let data = dir.subdir("data");
        let data_text = data.to_string_lossy().into_owned();
        let show = if display_errors { "1" } else { "0" };
        let server = PhpServer::start(
            &www,
            &[
                ("BLEEP_COURSE_DATA_DIR", &data_text),
                ("BLEEP_COURSE_DISPLAY_ERRORS", show),
            ],
        );
        Running {
            server,
            data_dir: Some(data),
            _dir: dir,
        }
    }

    fn both(label: &str) -> [(&'static str, Running); 2] {
        [
            ("ours", Running::ours(&format!("{label}-ours"))),
            ("course", Running::course(&format!("{label}-course"), true)),
        ]
    }

    fn url(&self) -> String {
        self.server.url("/IMserver.php")
    }

    fn client(&self) -> ImClient<SocketTransport> {
        ImClient::new(self.url(), SocketTransport)
    }

    /// The raw body of the no-action page.
    fn raw_page(&self) -> Vec<u8> {
        let (status, body) = http_get(&self.url()).expect("page");
        assert_eq!(status, 200, "{}", support::show(&body));
        body
    }

    /// The names of the files in the course server's data folder.
    fn data_files(&self) -> Vec<String> {
        let dir = self
            .data_dir
            .as_ref()
            .expect("only the course server has data files");
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("data folder")
            .map(|entry| {
                entry
                    .expect("data folder entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

/// Keys and values that trip up naive clients and servers.
fn awkward_entries() -> Vec<(Vec<u8>, Vec<u8>)> {
    let pairs: [(&[u8], &[u8]); 12] = [
        (b"nurse1", b"hello"),
        ("café ward 3".as_bytes(), "naïve 🙂 — über".as_bytes()),
        (b"quotes \"'", b"he said \"stop\"; {a:1:{s:1:\"x\";}}"),
        (b"lines", b"one\ntwo\n\nthree\n"),
        (b"100% & more", b"a+b=c&d=%41 #frag ?x=1 + %2B"),
        (b"patient k55592hr", b"bed for k55592hr at 10:30"),
        (b"5", b"an integer key"),
        (b"-12", b"a negative integer key"),
        (b"05", b"not an integer key"),
        (b"html", b"<b>bold</b> &amp; </h1></body></html>\n"),
        (b"bytes \xff\xfe", b"\x00\x01\x80\xff crlf\r\n"),
        (b" padded ", b"  spaces  "),
    ];
    pairs
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect()
}

#[test]
fn awkward_bytes_round_trip_through_set_get_keys_and_page() {
    for (name, running) in Running::both("round-trip") {
        let client = running.client();
        let entries = awkward_entries();
        for (key, value) in &entries {
            block_on(client.set(key, value))
                .unwrap_or_else(|e| panic!("{name}: set {}: {e:?}", support::show(key)));
            let read = block_on(client.get(key)).unwrap_or_else(|e| panic!("{name}: get: {e:?}"));
            assert_eq!(
                read.as_deref(),
                Some(&value[..]),
                "{name}: {}",
                support::show(key)
            );
        }
        let keys: Vec<Vec<u8>> = entries.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(block_on(client.keys()).unwrap(), keys, "{name}: keys");
        assert_eq!(block_on(client.page()).unwrap(), entries, "{name}: page");
        // Overwriting keeps the key's place and replaces the value.
        block_on(client.set(b"nurse1", b"again")).unwrap();
        assert_eq!(
            block_on(client.get(b"nurse1")).unwrap(),
            Some(b"again".to_vec()),
            "{name}"
        );
        assert_eq!(
            block_on(client.keys()).unwrap(),
            keys,
            "{name}: keys after overwrite"
        );
    }
}

#[test]
fn hospital_numbers_do_not_divert_the_course_server() {
    let running = Running::course("diversion", false);
    let client = running.client();
    block_on(client.set(b"k55592hr", b"x12345ab and k55592hr")).unwrap();
    block_on(client.set(b"plain", b"value")).unwrap();
    assert_eq!(
        block_on(client.get(b"k55592hr")).unwrap(),
        Some(b"x12345ab and k55592hr".to_vec())
    );
    assert_eq!(
        block_on(client.keys()).unwrap(),
        vec![b"k55592hr".to_vec(), b"plain".to_vec()]
    );
    assert_eq!(running.data_files(), vec!["imserver-default".to_owned()]);
    // The harness's raw request, unencoded, shows what the encoding prevents.
    let (status, _) = running
        .server
        .get("/IMserver.php?action=get&key=k55592hr")
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        running.data_files(),
        vec![
            "imserver-default".to_owned(),
            "imserver-k55592hr".to_owned()
        ]
    );
}

#[test]
fn missing_keys_read_as_none() {
    let runs = [
        ("ours", Running::ours("missing-ours")),
        (
            "course, warnings shown",
            Running::course("missing-course-warn", true),
        ),
        (
            "course, warnings hidden",
            Running::course("missing-course-quiet", false),
        ),
    ];
    for (name, running) in runs {
        let client = running.client();
        assert_eq!(
            block_on(client.get(b"nobody")).unwrap(),
            None,
            "{name}: fresh store"
        );
        block_on(client.set(b"somebody", b"here")).unwrap();
        assert_eq!(block_on(client.get(b"nobody")).unwrap(), None, "{name}");
        assert_eq!(
            block_on(client.run(&Request::Get {
                key: b"nobody".to_vec()
            }))
            .unwrap(),
            bleep::imserver::Answer::Value(None),
            "{name}"
        );
    }
    // Make sure the warning path really was taken.
    let running = Running::course("missing-course-body", true);
    let (_, body) = running
        .server
        .get("/IMserver.php?action=get&key=nobody")
        .unwrap();
    assert!(
        body.starts_with(b"<br />\n<b>Warning</b>"),
        "{}",
        support::show(&body)
    );
}

#[test]
fn unset_and_clear() {
    for (name, running) in Running::both("unset-clear") {
        let client = running.client();
        for key in [&b"a"[..], b"b", b"c"] {
            block_on(client.set(key, b"v")).unwrap();
        }
        block_on(client.unset(b"b")).unwrap();
        block_on(client.unset(b"never there")).unwrap();
        assert_eq!(
            block_on(client.keys()).unwrap(),
            vec![b"a".to_vec(), b"c".to_vec()],
            "{name}"
        );
        assert_eq!(block_on(client.get(b"b")).unwrap(), None, "{name}");
        block_on(client.clear()).unwrap();
        assert_eq!(
            block_on(client.keys()).unwrap(),
            Vec::<Vec<u8>>::new(),
            "{name}"
        );
        assert_eq!(block_on(client.page()).unwrap(), vec![], "{name}");
        assert_eq!(block_on(client.get(b"a")).unwrap(), None, "{name}");
    }
}

#[test]
fn pages_are_read_escaped_from_ours_and_raw_from_the_course_server() {
    let value = b"<b>x</b> & y".to_vec();
    for (name, running) in Running::both("page") {
        let client = running.client();
        // Before the first write the course server prints no dump at all.
        assert_eq!(
            block_on(client.page()).unwrap(),
            vec![],
            "{name}: fresh store"
        );
        block_on(client.set(b"k", &value)).unwrap();
        let raw = running.raw_page();
        let escaped = raw.windows(4).any(|w| w == b"&lt;");
        assert_eq!(escaped, name == "ours", "{name}: {}", support::show(&raw));
        assert_eq!(
            block_on(client.page()).unwrap(),
            vec![(b"k".to_vec(), value.clone())],
            "{name}"
        );
    }
}

#[test]
fn php_tags_and_long_requests_are_refused_before_sending() {
    let running = Running::course("refused", false);
    let client = running.client();
    assert_eq!(
        block_on(client.set(b"k", b"<?php echo 'owned'; ?>")),
        Err(ImError::UnsafeValue)
    );
    assert_eq!(
        block_on(client.set(b"<?= 1 ?>", b"v")),
        Err(ImError::UnsafeValue)
    );
    let long = vec![b'a'; MAX_REQUEST_LINE];
    assert_eq!(block_on(client.set(b"k", &long)), Err(ImError::TooLong));
    // Nothing reached the server: it never wrote its data file.
    assert_eq!(running.data_files(), Vec::<String>::new());
    assert_eq!(block_on(client.keys()).unwrap(), Vec::<Vec<u8>>::new());
}

#[test]
fn refusals_from_our_server_read_well() {
    let running = Running::ours("refusals");
    let client = running.client();
    let long_key = vec![b'k'; 1001];
    let error = block_on(client.set(&long_key, b"v")).unwrap_err();
    match &error {
        ImError::Status { code: 413, detail } => assert!(detail.contains("1000 bytes"), "{detail}"),
        other => panic!("expected a 413, got {other:?}"),
    }
    assert!(!error.is_transient());
    assert_eq!(
        error.to_string(),
        "The message server refused the message because it is too long (HTTP 413). Shorten it and send again."
    );
    let error = block_on(client.get(b"")).unwrap_err();
    assert!(
        matches!(error, ImError::Status { code: 400, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "The message server refused the request (HTTP 400)."
    );
}

#[test]
fn an_unreachable_server_is_a_network_error() {
    let port = support::free_port();
    let client = ImClient::new(
        format!("http://127.0.0.1:{port}/IMserver.php"),
        SocketTransport,
    );
    let error = block_on(client.get(b"k")).unwrap_err();
    assert!(matches!(error, ImError::Network(_)), "{error:?}");
    assert!(error.is_transient());
    assert_eq!(
        error.to_string(),
        "The message server could not be reached. Check the network connection."
    );
}
