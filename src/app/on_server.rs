//! What the browser asks of a server outside any conversation: whether an
//! IMserver.php answers there (the sign-in's check), and who has been seen
//! on it (the names suggested at sign-in and for an escalation's backup).

use super::http::BrowserTransport;
use crate::driver;
use crate::imserver::ImError;

/// How long the sign-in's connection check waits for the server.
const SERVER_CHECK_TIMEOUT_MS: u32 = 5_000;

/// Whether an IMserver.php answers at `server` (the sign-in's check).
pub async fn check_server(server: &str) -> Result<(), ImError> {
    driver::check_server(server, BrowserTransport::new(SERVER_CHECK_TIMEOUT_MS)).await
}

/// How long listing the people on the server may take.
const PEOPLE_TIMEOUT_MS: u32 = 10_000;

/// At most this many names suggested.
const MAX_PEOPLE: usize = 500;

/// The people seen on the server at `server` (normal names, one a line),
/// to suggest in a name field; none if the server cannot list them.
pub async fn people(server: &str) -> Option<String> {
    driver::people(server, BrowserTransport::new(PEOPLE_TIMEOUT_MS), MAX_PEOPLE)
        .await
        .ok()
        .map(|names| {
            names.iter().fold(String::new(), |mut lines, name| {
                lines.push_str(name);
                lines.push('\n');
                lines
            })
        })
}
