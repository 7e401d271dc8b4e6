//! The browser's way of reaching IMserver.php: a gloo-net request with a
//! time limit.
//!
//! [`BrowserTransport`] is the [`Transport`] the app gives its
//! [`ImClient`](crate::imserver::ImClient). Each request is a
//! [`gloo_net::http::Request`] with its own `AbortController`, aborted when
//! the time limit passes (the request then fails with
//! [`TransportError::Timeout`]) or when the caller stops waiting for it.
//! Answers are never taken from the browser's cache (`cache: no-store`): the
//! store changes under every request.
//!
//! gloo-net rebuilds the URL before sending it (resolved against the page,
//! an empty query list appended), so a URL with a query reaches the server
//! with a trailing `&`, which PHP's `$_GET` ignores.

use gloo_net::http::Request;
use gloo_timers::callback::Timeout;
use web_sys::{AbortController, RequestCache};

use crate::imserver::client::{HttpAnswer, Transport, TransportError};
use crate::imserver::phpser::{ESCAPED_PAGE_HEADER, ESCAPED_PAGE_VALUE};

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

/// Aborts its request when dropped unfinished: on timeout, on failure, and
/// when the future running the request is dropped. A request that completed
/// is let go without a call (an abort then would change nothing, and costs
/// a trip into JavaScript on every answer).
struct AbortOnDrop(Option<AbortController>);

impl AbortOnDrop {
    fn completed(mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(controller) = self.0.take() {
            controller.abort();
        }
    }
}

impl Transport for BrowserTransport {
    async fn fetch(&self, url: &str) -> Result<HttpAnswer, TransportError> {
        let controller = AbortController::new().map_err(|_| {
            TransportError::Network("this browser cannot cancel requests".to_owned())
        })?;
        let signal = controller.signal();
        let on_timeout = controller.clone();
        let guard = AbortOnDrop(Some(controller));
        // Dropping the timer at the end of this function cancels it.
        let _timer = Timeout::new(self.timeout_ms, move || on_timeout.abort());

        // A failure after the abort is the time limit's; any other says what
        // JavaScript said ("TypeError: Failed to fetch").
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
            .map_err(failed)?;
        let status = response.status();
        let escaped_page =
            response.headers().get(ESCAPED_PAGE_HEADER).as_deref() == Some(ESCAPED_PAGE_VALUE);
        let body = response.binary().await.map_err(failed)?;
        guard.completed();
        Ok(HttpAnswer {
            status,
            body,
            escaped_page,
        })
    }
}
