//! A minimal blocking HTTP client over std sockets, for 127.0.0.1 only:
//! GETs to IMserver.php (HTTP/1.0, one connection per request, the way the
//! PHP built-in server answers anyway) and JSON requests to ChromeDriver.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::util::Result;

/// One answer: status, the size of the status line and headers, the body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub head_bytes: usize,
    pub body: Vec<u8>,
    /// The answer carried `X-Bleep-Page: html-escaped` (our IMserver.php's page).
    pub escaped_page: bool,
}

/// GETs `target` (path and query, sent as given) from 127.0.0.1:`port`.
pub fn get(port: u16, target: &str, timeout: Duration) -> Result<Answer> {
    let request =
        format!("GET {target} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    exchange(port, request.as_bytes(), timeout)
}

/// Sends `method target` with an optional JSON body over HTTP/1.1.
pub fn json(
    port: u16,
    method: &str,
    target: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Result<Answer> {
    let body = body.unwrap_or("");
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if method != "GET" {
        request.push_str(&format!(
            "Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body);
    exchange(port, request.as_bytes(), timeout)
}

fn exchange(port: u16, request: &[u8], timeout: Duration) -> Result<Answer> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("connect to port {port}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    stream
        .write_all(request)
        .map_err(|e| format!("send to port {port}: {e}"))?;
    // Read until the body is complete: some servers (ChromeDriver) keep the
    // connection open whatever the request says.
    let mut raw = Vec::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        if complete(&raw) {
            break;
        }
        let n = stream
            .read(&mut buffer)
            .map_err(|e| format!("read from port {port}: {e}"))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buffer[..n]);
    }
    parse(&raw)
}

/// Whether `raw` holds a whole answer with a Content-Length or chunked body.
fn complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let body = &raw[end + 4..];
    for line in head.lines() {
        if let Some(value) = line.strip_prefix("content-length:") {
            return value.trim().parse::<usize>().is_ok_and(|n| body.len() >= n);
        }
        if line.starts_with("transfer-encoding:") && line.contains("chunked") {
            return body.ends_with(b"0\r\n\r\n");
        }
    }
    false
}

fn parse(raw: &[u8]) -> Result<Answer> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("answer without end of headers")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line in {:?}", head.lines().next()))?;
    let mut body = raw[end + 4..].to_vec();
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        body = dechunk(&body)?;
    }
    let escaped_page = head.lines().any(|l| {
        l.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("x-bleep-page") && value.trim() == "html-escaped"
        })
    });
    Ok(Answer {
        status,
        head_bytes: end + 4,
        body,
        escaped_page,
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunk")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| e.to_string())?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
