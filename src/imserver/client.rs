//! The IMserver.php client: requests in, meanings out, over any transport.
//!
//! [`ImClient`] turns a [`Request`] into a URL, has a [`Transport`] fetch it
//! (the browser's `fetch` in the app, an in-memory server in simulations, a
//! socket in the integration tests) and reads the answer into an [`Answer`]
//! or an [`ImError`] whose message a clinician can act on. It refuses to send
//! what the server must not receive: `<?` in a stored key or value, and
//! request lines longer than [`MAX_REQUEST_LINE`].

use std::fmt;

pub use super::answer::{Answer, ImError};
use super::phpser::{self, StoreEntries};
use super::wire::{self, Request, MAX_REQUEST_LINE};

/// What came back from the server, before any interpretation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub body: Vec<u8>,
    /// The server declared its page HTML-escaped (the answer header
    /// [`phpser::ESCAPED_PAGE_HEADER`], sent by our IMserver.php only): the
    /// page is then read escaped-first.
    pub escaped_page: bool,
}

/// Why no answer came back at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportError {
    /// The request could not be made or the connection failed.
    Network(String),
    /// No complete answer within the transport's time limit.
    Timeout,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Network(why) => write!(f, "network error: {why}"),
            TransportError::Timeout => f.write_str("timed out"),
        }
    }
}

impl std::error::Error for TransportError {}

/// Moves one GET request to the server and its answer back.
#[allow(async_fn_in_trait)]
pub trait Transport {
    async fn fetch(&self, url: &str) -> Result<HttpAnswer, TransportError>;
}

impl From<TransportError> for ImError {
    fn from(error: TransportError) -> ImError {
        match error {
            TransportError::Network(why) => ImError::Network(why),
            TransportError::Timeout => ImError::Timeout,
        }
    }
}

/// A client of the IMserver.php at one address.
#[derive(Clone, Debug)]
pub struct ImClient<T: Transport> {
    server: String,
    transport: T,
}

impl<T: Transport> ImClient<T> {
    /// A client of the server at `server` (the URL of IMserver.php).
    pub fn new(server: impl Into<String>, transport: T) -> ImClient<T> {
        ImClient {
            server: server.into(),
            transport,
        }
    }

    /// The server's URL, as given.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends `request` and reads its answer.
    pub async fn run(&self, request: &Request) -> Result<Answer, ImError> {
        let answer = self.exchange(request).await?;
        match request {
            Request::Get { .. } => Ok(Answer::Value(wire::decode_get(&answer.body))),
            Request::Set { .. } | Request::Unset { .. } | Request::Clear => {
                expect_acknowledgement(&answer.body).map(|()| Answer::Done)
            }
            Request::Keys => Ok(Answer::Keys(wire::decode_keys(&answer.body))),
            Request::Page => decode_page(&answer).map(Answer::Store),
        }
    }

    /// The value of `key`, or `None` when it is missing (or empty).
    pub async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ImError> {
        let body = self
            .exchange(&Request::Get { key: key.to_vec() })
            .await?
            .body;
        Ok(wire::decode_get(&body))
    }

    /// Stores `value` under `key`.
    pub async fn set(&self, key: &[u8], value: &[u8]) -> Result<(), ImError> {
        let body = self
            .exchange(&Request::Set {
                key: key.to_vec(),
                value: value.to_vec(),
            })
            .await?
            .body;
        expect_acknowledgement(&body)
    }

    /// Removes `key`; a missing key is not an error.
    pub async fn unset(&self, key: &[u8]) -> Result<(), ImError> {
        let body = self
            .exchange(&Request::Unset { key: key.to_vec() })
            .await?
            .body;
        expect_acknowledgement(&body)
    }

    /// Every key, in the server's order.
    pub async fn keys(&self) -> Result<Vec<Vec<u8>>, ImError> {
        let body = self.exchange(&Request::Keys).await?.body;
        Ok(wire::decode_keys(&body))
    }

    /// Removes every key (everyone's, not only this conversation's).
    pub async fn clear(&self) -> Result<(), ImError> {
        let body = self.exchange(&Request::Clear).await?.body;
        expect_acknowledgement(&body)
    }

    /// The whole store, read from the no-action page.
    pub async fn page(&self) -> Result<StoreEntries, ImError> {
        let answer = self.exchange(&Request::Page).await?;
        decode_page(&answer)
    }

    /// Checks, sends, and returns a 200 answer.
    async fn exchange(&self, request: &Request) -> Result<HttpAnswer, ImError> {
        if let Request::Set { key, value } = request {
            // The course server writes keys into its data file as well.
            if wire::is_unsafe_value(key) || wire::is_unsafe_value(value) {
                return Err(ImError::UnsafeValue);
            }
        }
        let url = wire::request_url(&self.server, request);
        if url.len() > MAX_REQUEST_LINE {
            return Err(ImError::TooLong);
        }
        let answer = self.transport.fetch(&url).await?;
        if answer.status != 200 {
            return Err(ImError::Status {
                code: answer.status,
                detail: first_line(&answer.body),
            });
        }
        Ok(answer)
    }
}

/// The most of an error body worth keeping.
const DETAIL_CHARS: usize = 200;

/// The first line of `body`, trimmed and shortened, as text.
fn first_line(body: &[u8]) -> String {
    let line = body.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let line = line.trim();
    match line.char_indices().nth(DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", line.get(..cut).unwrap_or(line)),
        None => line.to_owned(),
    }
}

/// The start of `body`, printable, for a `Malformed` detail.
fn preview(body: &[u8]) -> String {
    const PREVIEW_BYTES: usize = 80;
    let shown = body
        .get(..PREVIEW_BYTES)
        .unwrap_or(body)
        .escape_ascii()
        .to_string();
    if body.len() > PREVIEW_BYTES {
        format!("\"{shown}\"… ({} bytes)", body.len())
    } else {
        format!("\"{shown}\"")
    }
}

fn expect_acknowledgement(body: &[u8]) -> Result<(), ImError> {
    if wire::is_acknowledgement(body) {
        Ok(())
    } else {
        Err(ImError::Malformed(format!(
            "expected an empty acknowledgement, got {}",
            preview(body)
        )))
    }
}

fn decode_page(answer: &HttpAnswer) -> Result<StoreEntries, ImError> {
    let body = &answer.body;
    let parsed = if answer.escaped_page {
        phpser::parse_escaped_page(body)
    } else {
        phpser::parse_page(body)
    };
    parsed
        .map_err(|e| ImError::Malformed(format!("store page: {e}; page starts {}", preview(body))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    /// Answers from a script, and remembers what was asked.
    #[derive(Default)]
    struct ScriptedTransport {
        answers: RefCell<VecDeque<Result<HttpAnswer, TransportError>>>,
        asked: RefCell<Vec<String>>,
    }

    impl Transport for &ScriptedTransport {
        async fn fetch(&self, url: &str) -> Result<HttpAnswer, TransportError> {
            self.asked.borrow_mut().push(url.to_owned());
            self.answers
                .borrow_mut()
                .pop_front()
                .expect("an unexpected request")
        }
    }

    impl ScriptedTransport {
        fn answering(answers: Vec<Result<HttpAnswer, TransportError>>) -> ScriptedTransport {
            ScriptedTransport {
                answers: RefCell::new(answers.into()),
                asked: RefCell::default(),
            }
        }
    }

    fn ok(body: &[u8]) -> Result<HttpAnswer, TransportError> {
        Ok(HttpAnswer {
            status: 200,
            body: body.to_vec(),
            escaped_page: false,
        })
    }

    fn status(code: u16, body: &[u8]) -> Result<HttpAnswer, TransportError> {
        Ok(HttpAnswer {
            status: code,
            body: body.to_vec(),
            escaped_page: false,
        })
    }

    const SERVER: &str = "http://ward.example/IMserver.php";

    fn client(transport: &ScriptedTransport) -> ImClient<&ScriptedTransport> {
        ImClient::new(SERVER, transport)
    }

    #[test]
    fn reads_each_kind_of_answer() {
        let page =
            b"<html><body><h1>COMP28112 Server: Messaging System for Healthcare Professionals</h1>\
                     a:1:{s:1:\"k\";s:1:\"v\";}</body></html>\n";
        let transport = ScriptedTransport::answering(vec![
            ok(b"hello\n"),
            ok(b"\n"),
            ok(b"\n"),
            ok(b"a\nb\n\n"),
            ok(b""),
            ok(page),
            ok(b"\n"),
        ]);
        let client = client(&transport);
        assert_eq!(
            pollster::block_on(client.get(b"k")),
            Ok(Some(b"hello".to_vec()))
        );
        assert_eq!(pollster::block_on(client.get(b"k")), Ok(None));
        assert_eq!(pollster::block_on(client.set(b"k", b"v")), Ok(()));
        assert_eq!(
            pollster::block_on(client.keys()),
            Ok(vec![b"a".to_vec(), b"b".to_vec()])
        );
        assert_eq!(pollster::block_on(client.unset(b"k")), Ok(()));
        assert_eq!(
            pollster::block_on(client.page()),
            Ok(vec![(b"k".to_vec(), b"v".to_vec())])
        );
        assert_eq!(
            pollster::block_on(client.run(&Request::Clear)),
            Ok(Answer::Done)
        );
        assert_eq!(
            *transport.asked.borrow(),
            [
                format!("{SERVER}?action=get&key=k"),
                format!("{SERVER}?action=get&key=k"),
                format!("{SERVER}?action=set&key=k&value=v"),
                format!("{SERVER}?action=keys"),
                format!("{SERVER}?action=unset&key=k"),
                SERVER.to_owned(),
                format!("{SERVER}?action=clear"),
            ]
        );
    }

    #[test]
    fn run_gives_the_answer_that_fits_the_request() {
        let transport = ScriptedTransport::answering(vec![ok(b"v\n"), ok(b"k\n\n"), ok(b"\n")]);
        let client = client(&transport);
        let get = Request::Get { key: b"k".to_vec() };
        assert_eq!(
            pollster::block_on(client.run(&get)),
            Ok(Answer::Value(Some(b"v".to_vec())))
        );
        assert_eq!(
            pollster::block_on(client.run(&Request::Keys)),
            Ok(Answer::Keys(vec![b"k".to_vec()]))
        );
        let set = Request::Set {
            key: b"k".to_vec(),
            value: b"v".to_vec(),
        };
        assert_eq!(pollster::block_on(client.run(&set)), Ok(Answer::Done));
    }

    #[test]
    fn transport_failures_become_errors() {
        let transport = ScriptedTransport::answering(vec![
            Err(TransportError::Network("refused".into())),
            Err(TransportError::Timeout),
        ]);
        let client = client(&transport);
        let network = pollster::block_on(client.get(b"k")).unwrap_err();
        assert_eq!(network, ImError::Network("refused".into()));
        assert!(network.is_transient());
        assert_eq!(
            network.to_string(),
            "The message server could not be reached. Check the network connection."
        );
        let timeout = pollster::block_on(client.get(b"k")).unwrap_err();
        assert_eq!(timeout, ImError::Timeout);
        assert!(timeout.is_transient());
        assert_eq!(
            timeout.to_string(),
            "The message server did not answer in time."
        );
    }

    #[test]
    fn other_statuses_become_errors_with_the_first_line() {
        let long = "x".repeat(500);
        let transport = ScriptedTransport::answering(vec![
            status(500, b""),
            status(413, b"413: the value is longer than 60000 bytes\nmore"),
            status(404, long.as_bytes()),
            status(204, b""),
        ]);
        let client = client(&transport);
        let error = pollster::block_on(client.set(b"k", b"v")).unwrap_err();
        assert_eq!(
            error,
            ImError::Status {
                code: 500,
                detail: String::new()
            }
        );
        assert!(error.is_transient());
        assert_eq!(
            error.to_string(),
            "The message server reported a problem (HTTP 500)."
        );
        let error = pollster::block_on(client.set(b"k", b"v")).unwrap_err();
        assert_eq!(
            error,
            ImError::Status {
                code: 413,
                detail: "413: the value is longer than 60000 bytes".into()
            }
        );
        assert!(!error.is_transient());
        assert!(error.to_string().contains("too long (HTTP 413)"), "{error}");
        match pollster::block_on(client.keys()).unwrap_err() {
            ImError::Status { code: 404, detail } => {
                assert_eq!(detail.chars().count(), DETAIL_CHARS + 1)
            }
            other => panic!("{other:?}"),
        }
        let error = pollster::block_on(client.get(b"k")).unwrap_err();
        assert!(matches!(error, ImError::Status { code: 204, .. }));
    }

    #[test]
    fn odd_acknowledgements_and_pages_are_malformed() {
        let warning = b"<br />\n<b>Warning</b>:  Undefined array key \"key\" in /p/IMserver.php on line 9<br />\n\n";
        let transport = ScriptedTransport::answering(vec![
            ok(warning),
            ok(b"done\n"),
            ok(b"<html>nope</html>"),
        ]);
        let client = client(&transport);
        for error in [
            pollster::block_on(client.set(b"k", b"v")).unwrap_err(),
            pollster::block_on(client.clear()).unwrap_err(),
            pollster::block_on(client.page()).unwrap_err(),
        ] {
            assert!(matches!(error, ImError::Malformed(_)), "{error:?}");
            assert!(!error.is_transient());
            assert_eq!(
                error.to_string(),
                "The message server sent an answer Bleep could not read."
            );
        }
    }

    #[test]
    fn php_tags_are_refused_before_sending() {
        let transport = ScriptedTransport::default();
        let client = client(&transport);
        assert_eq!(
            pollster::block_on(client.set(b"k", b"<?php system('id'); ?>")),
            Err(ImError::UnsafeValue)
        );
        assert_eq!(
            pollster::block_on(client.set(b"<?=1?>", b"v")),
            Err(ImError::UnsafeValue)
        );
        let request = Request::Set {
            key: b"k".to_vec(),
            value: b"a<?b".to_vec(),
        };
        assert_eq!(
            pollster::block_on(client.run(&request)),
            Err(ImError::UnsafeValue)
        );
        assert!(transport.asked.borrow().is_empty());
        assert!(ImError::UnsafeValue.to_string().contains("\"<?\""));
    }

    #[test]
    fn long_requests_are_refused_before_sending() {
        let transport = ScriptedTransport::answering(vec![ok(b"\n")]);
        let client = client(&transport);
        let room = MAX_REQUEST_LINE - format!("{SERVER}?action=set&key=k&value=").len();
        assert_eq!(
            pollster::block_on(client.set(b"k", "a".repeat(room).as_bytes())),
            Ok(())
        );
        assert_eq!(
            pollster::block_on(client.set(b"k", "a".repeat(room + 1).as_bytes())),
            Err(ImError::TooLong)
        );
        // Digits take three bytes each once encoded.
        assert_eq!(
            pollster::block_on(client.set(b"k", "1".repeat(room / 3 + 1).as_bytes())),
            Err(ImError::TooLong)
        );
        assert_eq!(transport.asked.borrow().len(), 1);
        assert!(!ImError::TooLong.is_transient());
    }
}
