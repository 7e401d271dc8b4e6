//! What a request to IMserver.php gives: an [`Answer`], or an [`ImError`]
//! worded for clinicians. Plain data, with no I/O: the protocol core reads
//! these without knowing how the request was made (see [`super::client`]).

use std::fmt;

use super::phpser::StoreEntries;

/// What a request found out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The answer to [`Request::Get`]: `None` when the key is missing.
    Value(Option<Vec<u8>>),
    /// The acknowledgement of a set, unset or clear.
    Done,
    /// The answer to [`Request::Keys`].
    Keys(Vec<Vec<u8>>),
    /// The answer to [`Request::Page`]: every entry, keys as bytes.
    Store(StoreEntries),
}

/// Why a request did not give an answer Bleep can use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImError {
    /// The server could not be reached (the detail is for logs).
    Network(String),
    /// The server did not answer in time.
    Timeout,
    /// The server answered with an HTTP status other than 200; `detail` is
    /// the first line of its body, shortened.
    Status { code: u16, detail: String },
    /// The answer did not have the expected form (the detail is for logs).
    Malformed(String),
    /// The key or value holds `<?`, which the course server would execute;
    /// nothing was sent.
    UnsafeValue,
    /// The request line would exceed [`super::wire::MAX_REQUEST_LINE`]; nothing was sent.
    TooLong,
}

impl ImError {
    /// Whether trying the same request again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            ImError::Network(_) | ImError::Timeout => true,
            ImError::Status { code, .. } => *code >= 500 || *code == 408 || *code == 429,
            ImError::Malformed(_) | ImError::UnsafeValue | ImError::TooLong => false,
        }
    }
}

impl fmt::Display for ImError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImError::Network(_) => {
                f.write_str("The message server could not be reached. Check the network connection.")
            }
            ImError::Timeout => f.write_str("The message server did not answer in time."),
            ImError::Status { code, .. } => f.write_str(&status_message(*code)),
            ImError::Malformed(_) => f.write_str("The message server sent an answer Bleep could not read."),
            ImError::UnsafeValue => f.write_str(
                "This message contains the characters \"<?\", which the message server cannot store safely. \
                 Remove them and send again.",
            ),
            ImError::TooLong => {
                f.write_str("This message is too long for the message server. Shorten it and send again.")
            }
        }
    }
}

fn status_message(code: u16) -> String {
    match code {
        400 => format!("The message server refused the request (HTTP {code})."),
        401 | 403 => {
            format!("The message server refused access (HTTP {code}). Check the server address.")
        }
        404 => format!(
            "There is no message server at this address (HTTP {code}). Check the server address."
        ),
        408 => format!("The message server did not answer in time (HTTP {code})."),
        413 | 414 => format!(
            "The message server refused the message because it is too long (HTTP {code}). Shorten it and send again."
        ),
        429 => format!("The message server is busy (HTTP {code})."),
        503 => format!("The message server is temporarily unavailable (HTTP {code})."),
        500..=599 => format!("The message server reported a problem (HTTP {code})."),
        _ => format!("The message server gave an unexpected answer (HTTP {code})."),
    }
}

impl std::error::Error for ImError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_of_the_moment_are_worth_retrying() {
        for transient in [
            ImError::Network("refused".into()),
            ImError::Timeout,
            ImError::Status {
                code: 503,
                detail: String::new(),
            },
            ImError::Status {
                code: 429,
                detail: String::new(),
            },
        ] {
            assert!(transient.is_transient(), "{transient:?}");
        }
        for lasting in [
            ImError::Malformed("junk".into()),
            ImError::UnsafeValue,
            ImError::TooLong,
            ImError::Status {
                code: 404,
                detail: String::new(),
            },
        ] {
            assert!(!lasting.is_transient(), "{lasting:?}");
        }
    }

    #[test]
    fn status_messages_read_well() {
        for code in [400, 401, 403, 404, 408, 413, 414, 429, 500, 502, 503, 302] {
            let message = ImError::Status {
                code,
                detail: String::new(),
            }
            .to_string();
            assert!(message.contains("message server"), "{message}");
            assert!(message.contains(&format!("(HTTP {code})")), "{message}");
            assert!(message.ends_with('.'), "{message}");
        }
    }
}
