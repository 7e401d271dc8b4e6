//! The browser's way of reaching IMserver.php: `fetch` with a time limit.
//!
//! [`BrowserTransport`] is the [`Transport`] the app gives its
//! [`ImClient`](crate::imserver::ImClient). Each request gets its own
//! `AbortController`, aborted when the time limit passes (the request then
//! fails with [`TransportError::Timeout`]) or when the caller stops waiting
//! for it. Answers are never taken from the browser's cache: the store
//! changes under every request.
//!
//! It calls the page's `fetch` directly (no HTTP wrapper crate): a smaller
//! download for the same request.

use gloo_timers::callback::Timeout;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, RequestCache, RequestInit, Response};

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

/// What a failed `fetch` or body read says, as JavaScript would print it
/// ("TypeError: Failed to fetch").
fn js_failure(error: &JsValue) -> String {
    match error.dyn_ref::<js_sys::Error>() {
        Some(error) => String::from(error.to_string()),
        None => error
            .as_string()
            .unwrap_or_else(|| "the request failed".to_owned()),
    }
}

/// Starts `fetch(url)` without caching, abortable through `signal`.
fn start_fetch(url: &str, signal: &AbortSignal) -> Result<js_sys::Promise, TransportError> {
    let window =
        web_sys::window().ok_or_else(|| TransportError::Network("no browser window".to_owned()))?;
    let init = RequestInit::new();
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(signal));
    Ok(window.fetch_with_str_and_init(url, &init))
}

impl Transport for BrowserTransport {
    async fn fetch(&self, url: &str) -> Result<HttpAnswer, TransportError> {
        let controller =
            AbortController::new().map_err(|e| TransportError::Network(js_failure(&e)))?;
        let signal = controller.signal();
        let on_timeout = controller.clone();
        let guard = AbortOnDrop(Some(controller));
        // Dropping the timer at the end of this function cancels it.
        let _timer = Timeout::new(self.timeout_ms, move || on_timeout.abort());

        let failed = |error: JsValue| {
            if signal.aborted() {
                TransportError::Timeout
            } else {
                TransportError::Network(js_failure(&error))
            }
        };
        let response: Response = JsFuture::from(start_fetch(url, &signal)?)
            .await
            .map_err(failed)?
            .unchecked_into();
        let status = response.status();
        let body = JsFuture::from(response.array_buffer().map_err(failed)?)
            .await
            .map_err(failed)?;
        guard.completed();
        Ok(HttpAnswer {
            status,
            body: js_sys::Uint8Array::new(&body).to_vec(),
        })
    }
}
