//! The driver against a small in-memory IMserver.php: what it saves and
//! when, stopping, and checking a server.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::*;
use crate::core::directory::{Entry, Status};
use crate::core::journal::Change;
use crate::core::log::MessageLog;
use crate::core::{Name, Saved};
use crate::imserver::phpser::{serialize_array, PhpKey};
use crate::imserver::{HttpAnswer, TransportError};

const SERVER: &str = "http://ward.invalid/IMserver.php";

/// What happened, in order: requests (by action) and saves.
type Log = Rc<RefCell<Vec<String>>>;

/// An IMserver.php with one store, answering as the real one does.
struct Server {
    store: RefCell<Vec<(Vec<u8>, Vec<u8>)>>,
    log: Log,
    /// While closed, requests wait.
    open: Cell<bool>,
}

impl Server {
    fn new(log: &Log) -> Server {
        Server {
            store: RefCell::default(),
            log: Rc::clone(log),
            open: Cell::new(true),
        }
    }

    fn answer(&self, url: &str) -> Vec<u8> {
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let field = |name: &str| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
                .map(decode)
                .unwrap_or_default()
        };
        let action = String::from_utf8(field("action")).unwrap();
        self.log.borrow_mut().push(format!("request {action}"));
        let mut store = self.store.borrow_mut();
        let key = field("key");
        match action.as_str() {
            "get" => store
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            "set" => {
                store.retain(|(k, _)| *k != key);
                store.push((key, field("value")));
                Vec::new()
            }
            "unset" => {
                store.retain(|(k, _)| *k != key);
                Vec::new()
            }
            "keys" => store
                .iter()
                .flat_map(|(k, _)| [&k[..], b"\n"].concat())
                .collect(),
            _ => {
                let entries: Vec<_> = store
                    .iter()
                    .map(|(k, v)| (PhpKey::from_bytes(k.clone()), v.clone()))
                    .collect();
                [
                    &b"<html><body><h1>IMserver</h1>"[..],
                    &serialize_array(&entries),
                    b"</body></html>",
                ]
                .concat()
            }
        }
    }
}

fn decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

impl Transport for &Server {
    async fn fetch(&self, url: &str) -> Result<HttpAnswer, TransportError> {
        std::future::poll_fn(|_| match self.open.get() {
            true => Poll::Ready(()),
            false => Poll::Pending,
        })
        .await;
        let mut body = self.answer(url);
        body.push(b'\n');
        Ok(HttpAnswer {
            status: 200,
            body,
            escaped_page: false,
        })
    }
}

/// Memory storage that logs each save.
struct Logged {
    inner: MemoryStorage,
    log: Log,
}

impl Storage for Logged {
    fn load(&mut self) -> Option<(Saved, MessageLog)> {
        self.inner.load()
    }

    fn forget_transcript(&mut self) {
        self.inner.forget_transcript();
    }

    fn save_state(&mut self, saved: &Saved) -> bool {
        self.log.borrow_mut().push("save state".into());
        self.inner.save_state(saved)
    }

    fn append_transcript(&mut self, changes: &[Change]) -> bool {
        self.log.borrow_mut().push("save transcript".into());
        self.inner.append_transcript(changes)
    }

    fn load_status(&mut self, person: &Name) -> Option<Entry> {
        self.inner.load_status(person)
    }

    fn save_status(&mut self, person: &Name, status: &Entry) -> bool {
        self.log.borrow_mut().push("save status".into());
        self.inner.save_status(person, status)
    }
}

struct At(Millis);

impl Clock for At {
    fn now(&self) -> Millis {
        self.0
    }
}

fn window(me: &str, peer: &str) -> Window {
    Window {
        pair: Pair::parse(me, peer).unwrap(),
        device: DeviceId::parse("aaaaaaaaaa").unwrap(),
        server: SERVER.into(),
        settings: Settings::default(),
        seed: 1,
    }
}

fn open<'a>(
    server: &'a Server,
    log: &Log,
    storage: MemoryStorage,
) -> Driver<&'a Server, Logged, At> {
    let storage = Logged {
        inner: storage,
        log: Rc::clone(log),
    };
    Driver::open(window("Alice", "Bob"), server, storage, At(1_000))
}

/// Steps until nothing is due.
fn settle<T: Transport, S: Storage, C: Clock>(driver: &Driver<T, S, C>) {
    while let Step::Answered { .. } = pollster::block_on(driver.step()) {}
}

#[test]
fn the_state_is_saved_before_each_request_that_follows_a_change() {
    let log = Log::default();
    let server = Server::new(&log);
    let driver = open(&server, &log, MemoryStorage::new());
    settle(&driver);
    log.borrow_mut().clear();
    driver.send("bed 4 desaturating").unwrap();
    assert!(
        log.borrow().is_empty(),
        "kept by the next save or step, not within the send"
    );
    settle(&driver);
    // The message's write, its read-back (it is sent: saved), then the
    // record and __waiting__.
    assert_eq!(
        *log.borrow(),
        [
            "save state",
            "request set",
            "request get",
            "save state",
            "request set",
            "request set"
        ]
    );
}

#[test]
fn a_message_sent_just_before_the_window_stops_is_kept() {
    let log = Log::default();
    let server = Server::new(&log);
    let driver = open(&server, &log, MemoryStorage::new());
    settle(&driver);
    driver.send("bed 4 desaturating").unwrap();
    // The screen goes before the browser drew it (and saved it then).
    driver.stop();
    let driver = open(&server, &log, driver.into_storage().inner);
    assert_eq!(driver.session().message_count(), 1);
}

#[test]
fn an_escalation_is_kept_within_the_send() {
    let log = Log::default();
    let server = Server::new(&log);
    let driver = open(&server, &log, MemoryStorage::new());
    settle(&driver);
    log.borrow_mut().clear();
    let escalated = crate::core::escalation::Escalated {
        unanswered: "Dr Patel".into(),
        sent_at: 500,
    };
    driver
        .send_escalation("bed 4 desaturating", escalated)
        .unwrap();
    // Saved before it returns: the original conversation notes it next.
    assert_eq!(*log.borrow(), ["save state"]);
    let driver = open(&server, &log, driver.into_storage().inner);
    assert_eq!(driver.session().message_count(), 1);
}

#[test]
fn a_reopened_window_resumes_from_its_storage() {
    let log = Log::default();
    let server = Server::new(&log);
    let driver = open(&server, &log, MemoryStorage::new());
    settle(&driver);
    driver.send("bed 4 desaturating").unwrap();
    // Saved as the browser saves it once drawn; reloaded before the message
    // went out, its transcript never saved.
    driver.save_state();
    let storage = driver.into_storage().inner;
    let driver = open(&server, &log, storage);
    assert_eq!(driver.session().message_count(), 1);
    // On the version 1 wire no version 2 keys are made (version 2 on the
    // wire makes and keeps them).
    assert!(driver.session().person_keys().is_none());
    assert!(driver.session().device_keys().is_none());
    settle(&driver);
    assert!(matches!(
        driver.session().turn(),
        crate::core::Turn::Waiting { .. }
    ));
    assert!(driver.has_unsaved_transcript());
    assert!(driver.save_transcript());
    assert!(!driver.has_unsaved_transcript());
    assert!(!driver.storage_failed());
}

#[test]
fn a_stopped_driver_ignores_the_answer_under_way() {
    let log = Log::default();
    let server = Server::new(&log);
    server.open.set(false);
    let driver = open(&server, &log, MemoryStorage::new());
    let mut step = pin!(driver.step());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(step.as_mut().poll(&mut cx).is_pending());
    assert!(driver.is_busy());
    assert_eq!(pollster::block_on(driver.step()), Step::Busy);
    driver.stop();
    server.open.set(true);
    assert_eq!(step.as_mut().poll(&mut cx), Poll::Ready(Step::Stopped));
    assert!(
        driver.session().is_loading_history(),
        "the answer was not taken in"
    );
    assert_eq!(pollster::block_on(driver.step()), Step::Stopped);
}

#[test]
fn a_chosen_status_is_kept_written_at_once_and_resumed() {
    let log = Log::default();
    let server = Server::new(&log);
    let driver = open(&server, &log, MemoryStorage::new());
    settle(&driver);
    log.borrow_mut().clear();
    driver.set_status(Some(Status::Busy), " theatre 3").unwrap();
    settle(&driver);
    assert_eq!(*log.borrow(), ["save state", "save status", "request set"]);
    let stored = server
        .store
        .borrow()
        .iter()
        .find(|(k, _)| k == b"bleep1.d.alice")
        .map(|(_, v)| v.clone());
    let entry = Entry::decode(&stored.unwrap(), &Name::parse("alice").unwrap()).unwrap();
    assert_eq!(
        (entry.status(), entry.text.as_str()),
        (Some(Status::Busy), "theatre 3")
    );
    assert!(driver.set_status(None, &"x".repeat(41)).is_err());
    // Reopened: the status is this browser's, not read back first.
    let driver = open(&server, &log, driver.into_storage().inner);
    assert_eq!(driver.session().my_status().status(), Some(Status::Busy));
    assert_eq!(driver.session().my_status().text, "theatre 3");
}

#[test]
fn the_people_seen_on_a_server_take_one_listing_of_its_keys() {
    let log = Log::default();
    let server = Server::new(&log);
    for (who, peer) in [("Alice", "Bob"), ("Dr Patel", "Alice")] {
        let driver = Driver::open(window(who, peer), &server, MemoryStorage::new(), At(1_000));
        settle(&driver);
    }
    log.borrow_mut().clear();
    let people = pollster::block_on(people(SERVER, &server, 100)).unwrap();
    assert_eq!(people, ["alice", "dr patel"]);
    assert_eq!(*log.borrow(), ["request keys"]);
}

#[test]
fn a_server_check_says_whether_a_server_answers() {
    let log = Log::default();
    let server = Server::new(&log);
    assert_eq!(pollster::block_on(check_server(SERVER, &server)), Ok(()));

    struct Missing;
    impl Transport for Missing {
        async fn fetch(&self, _: &str) -> Result<HttpAnswer, TransportError> {
            Ok(HttpAnswer {
                status: 404,
                body: b"Not Found".to_vec(),
                escaped_page: false,
            })
        }
    }
    let error = pollster::block_on(check_server(SERVER, Missing)).unwrap_err();
    assert!(error.to_string().contains("no message server"), "{error}");
}
