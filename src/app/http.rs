//! The browser's way of reaching IMserver.php: `fetch` with a time limit.
//!
//! [`BrowserTransport`] is the [`Transport`] the app gives its
//! [`ImClient`](crate::imserver::ImClient). Each request gets its own
//! `AbortController`, aborted when the time limit passes (the request then
//! fails with [`TransportError::Timeout`]) or when the caller stops waiting
//! for it. Answers are never taken from the browser's cache: the store
//! changes under every request.

use gloo_net::http::Request;
use gloo_timers::callback::Timeout;
use web_sys::{AbortController, RequestCache};

use crate::imserver::client::{HttpAnswer, Transport, TransportError};

/// Fetches URLs from the page, giving up after `timeout_ms`.
#[derive(Clone, Debug)]
pub struct BrowserTransport {
    timeout_ms: u32,
}

impl BrowserTransport {
    /// A transport whose requests (answer body included) must complete
    /// within `timeout_ms` milliseconds.
    pub fn new(timeout_ms: u32) -> BrowserTransport {
        BrowserTransport { timeout_ms }
    }
}

/// Aborts its request when dropped: on completion (harmless), on timeout,
/// and when the future running the request is dropped unfinished.
struct AbortOnDrop(AbortController);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Transport for BrowserTransport {
    async fn fetch(&self, url: &str) -> Result<HttpAnswer, TransportError> {
        let controller = AbortController::new().map_err(|e| {
            TransportError::Network(format!("cannot create an AbortController: {e:?}"))
        })?;
        let signal = controller.signal();
        let guard = AbortOnDrop(controller);
        let on_timeout = guard.0.clone();
        // Dropping the timer at the end of this function cancels it.
        let _timer = Timeout::new(self.timeout_ms, move || on_timeout.abort());

        let failed = |error: gloo_net::Error| {
            if signal.aborted() {
                TransportError::Timeout
            } else {
                TransportError::Network(error.to_string())
            }
        };
        let response = Request::get(url)
            .cache(RequestCache::NoStore)
            .abort_signal(Some(&signal))
            .send()
            .await
            .map_err(&failed)?;
        let status = response.status();
        let body = response.binary().await.map_err(&failed)?;
        drop(guard);
        Ok(HttpAnswer { status, body })
    }
}
