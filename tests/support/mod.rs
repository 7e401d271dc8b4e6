//! Test harness shared by Bleep's native integration tests (and the browser
//! tests): PHP's built-in web server as a child process, a minimal HTTP/1.0
//! GET client, query-string encoding, fresh temporary folders and, where
//! installed, a throwaway PostgreSQL cluster. Standard library only.
//!
//! Use it from a test file with `mod support;`.
#![allow(dead_code)]

pub mod browser;
pub mod chaos_proxy;
pub mod firefox;

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What to tell the developer when a tool the tests need is missing.
pub const SETUP_HINT: &str =
    "run the project's test script, scripts/test (scripts/setup installs PHP with its SQLite and \
     PostgreSQL drivers, PostgreSQL, nginx and PHP-FPM first)";

/// How long a server may take to start answering.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Default timeout of one HTTP request (connect, send and read).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The root of the crate (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Our own server, `server/IMserver.php`.
pub fn our_server_source() -> PathBuf {
    repo_root().join("server").join("IMserver.php")
}

/// The course-like server with the course server's flaws (a test fixture).
pub fn course_server_source() -> PathBuf {
    repo_root()
        .join("tests")
        .join("course_server")
        .join("IMserver.php")
}

// ---------------------------------------------------------------------------
// Temporary folders

/// A fresh, empty folder under the system temp dir, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<temp>/bleep-<label>-<pid>-<n>-<nanos>`; `label` helps to
    /// recognise a folder left behind by a killed test run.
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("bleep-{label}-{}-{n}-{nanos}", std::process::id());
        let path = std::env::temp_dir().join(name);
        fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create temp folder {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.path.join(relative)
    }

    /// Creates the sub-folder `relative` (and its parents) and returns its path.
    pub fn subdir(&self, relative: impl AsRef<Path>) -> PathBuf {
        let dir = self.path.join(relative);
        fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create folder {}: {e}", dir.display()));
        dir
    }

    /// Copies `source` into this folder as `relative` (creating parents).
    pub fn copy_in(&self, source: &Path, relative: impl AsRef<Path>) -> PathBuf {
        let target = self.path.join(relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create folder {}: {e}", parent.display()));
        }
        fs::copy(source, &target).unwrap_or_else(|e| {
            panic!(
                "cannot copy {} to {}: {e}",
                source.display(),
                target.display()
            )
        });
        target
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

// ---------------------------------------------------------------------------
// PHP

/// Panics with a clear message unless `php` can be run.
pub fn require_php() {
    match Command::new("php")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("`php -v` failed ({status}): {SETUP_HINT}"),
        Err(e) => panic!("PHP is not installed or not on PATH ({e}): {SETUP_HINT}"),
    }
}

/// Whether the PHP CLI has the extension `name` (as listed by `php -m`).
pub fn php_has_module(name: &str) -> bool {
    require_php();
    let out = Command::new("php").arg("-m").output().expect("php -m");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|line| line.trim().eq_ignore_ascii_case(name))
}

/// Panics with a clear message unless PHP has the extension `name`.
pub fn require_php_module(name: &str) {
    assert!(
        php_has_module(name),
        "PHP lacks the `{name}` extension: {SETUP_HINT}"
    );
}

/// A free TCP port on 127.0.0.1 (free when asked; a start retries on a clash).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("cannot find a free port on 127.0.0.1")
}

/// `php -S 127.0.0.1:PORT -t DOCROOT` with 4 workers, killed on drop (also
/// when a test panics). Inherited `BLEEP_*` variables are removed so that
/// only `envs` configure it. Its log is kept for failure messages.
pub struct PhpServer {
    child: Option<Child>,
    port: u16,
    docroot: PathBuf,
    envs: Vec<(String, String)>,
    log_path: PathBuf,
    _log_dir: TempDir,
}

impl PhpServer {
    /// Starts a server and waits until it answers; panics with the reason
    /// (and the server log) when it cannot.
    pub fn start(docroot: &Path, envs: &[(&str, &str)]) -> PhpServer {
        PhpServer::try_start(docroot, envs).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_start(docroot: &Path, envs: &[(&str, &str)]) -> Result<PhpServer, String> {
        require_php();
        let log_dir = TempDir::new("php-log");
        let mut server = PhpServer {
            child: None,
            port: 0,
            docroot: docroot.to_path_buf(),
            envs: envs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            log_path: log_dir.join("php-server.log"),
            _log_dir: log_dir,
        };
        let mut last_error = String::new();
        for _attempt in 0..5 {
            server.port = free_port();
            match server.spawn_and_wait(START_TIMEOUT) {
                Ok(()) => return Ok(server),
                Err(e) => last_error = e, // most likely the port was taken meanwhile
            }
        }
        Err(format!("PHP server did not start: {last_error}"))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The absolute URL of `path_and_query` (which starts with `/`).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base_url(), path_and_query)
    }

    pub fn docroot(&self) -> &Path {
        &self.docroot
    }

    /// GET `path_and_query` from this server.
    pub fn get(&self, path_and_query: &str) -> Result<(u16, Vec<u8>), String> {
        http_get(&self.url(path_and_query))
    }

    /// GET with the answer's headers.
    pub fn request(&self, path_and_query: &str) -> Result<HttpResponse, String> {
        http_request(&self.url(path_and_query), HTTP_TIMEOUT)
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `lines` lines of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..]
            .iter()
            .map(|line| match line.char_indices().nth(300) {
                Some((i, _)) => format!("{}...", &line[..i]),
                None => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Kills the server (all its workers) and waits until the port is closed.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The workers are in the child's process group: kill them all, or
        // orphaned workers would keep serving on the port.
        kill_process_group(&mut child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && port_is_open(self.port) {
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server and starts it again on the same port, same docroot
    /// and settings; panics when it does not come back within the timeout.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.spawn_and_wait(left) {
                Ok(()) => return,
                Err(e) if Instant::now() >= deadline => {
                    panic!("PHP server did not restart on port {}: {e}", self.port)
                }
                Err(_) => thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn spawn_and_wait(&mut self, timeout: Duration) -> Result<(), String> {
        let log_start = fs::metadata(&self.log_path).map(|m| m.len()).unwrap_or(0);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| format!("cannot open {}: {e}", self.log_path.display()))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;

        let mut command = Command::new("php");
        command
            .arg("-S")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("-t")
            .arg(&self.docroot)
            .current_dir(&self.docroot)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("BLEEP_") {
                command.env_remove(name);
            }
        }
        command.env("PHP_CLI_SERVER_WORKERS", "4");
        for (name, value) in &self.envs {
            command.env(name, value);
        }
        let child = command.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("PHP is not installed or not on PATH: {SETUP_HINT}")
            } else {
                format!("cannot run php: {e}")
            }
        })?;
        self.child = Some(child);

        let started = format!(
            "Development Server (http://127.0.0.1:{}) started",
            self.port
        );
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                return Err(format!(
                    "php -S on port {} exited ({status}); log:\n{}",
                    self.port,
                    self.log_since(log_start)
                ));
            }
            // Our own php has bound the port once it logs that it started.
            if self.log_since(log_start).contains(&started) && port_is_open(self.port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.stop();
                return Err(format!(
                    "php -S on port {} did not answer within {timeout:?}; log:\n{}",
                    self.port,
                    self.log_since(log_start)
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_since(&self, offset: u64) -> String {
        let mut bytes = Vec::new();
        if let Ok(mut file) = File::open(&self.log_path) {
            let _ = file.read_to_end(&mut bytes);
        }
        let start = (offset as usize).min(bytes.len());
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }
}

impl Drop for PhpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn port_is_open(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

// ---------------------------------------------------------------------------
// HTTP/1.0 client

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// GET an absolute URL (`http://host:port/path?query` or `host:port/...`)
/// with the default timeout: the status and the body. For a path on a
/// running server use [`PhpServer::get`]. The request target is sent as
/// given, so encode query values with [`encode_query_value`].
pub fn http_get(url: &str) -> Result<(u16, Vec<u8>), String> {
    http_request(url, HTTP_TIMEOUT).map(|r| (r.status, r.body))
}

/// GET `url` over a fresh connection (HTTP/1.0, `Connection: close`).
pub fn http_request(url: &str, timeout: Duration) -> Result<HttpResponse, String> {
    http_send(url, "GET", &[], timeout)
}

/// `method` `url` with extra request headers, over a fresh connection
/// (HTTP/1.0, `Connection: close`, no request body). The answer to a HEAD
/// request has no body, whatever its Content-Length says.
pub fn http_send(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Result<HttpResponse, String> {
    let (host_port, target) = split_url(url)?;
    let addr = host_port
        .to_socket_addrs()
        .map_err(|e| format!("{method} {url}: bad address {host_port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{method} {url}: no address for {host_port}"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("{method} {url}: cannot connect: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut request =
        format!("{method} {target} HTTP/1.0\r\nHost: {host_port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !matches!(method, "GET" | "HEAD") {
        request.push_str("Content-Length: 0\r\n");
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{method} {url}: cannot send the request: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("{method} {url}: no complete answer within {timeout:?}: {e}"))?;
    parse_response(&raw).map_err(|e| format!("{method} {url}: {e}"))
}

/// `http://host:port/target` → (`host:port`, `/target`).
fn split_url(url: &str) -> Result<(&str, &str), String> {
    if url.starts_with('/') {
        return Err(format!(
            "http_get needs an absolute URL, not the path {url:?}: use PhpServer::get"
        ));
    }
    let rest = url.strip_prefix("http://").unwrap_or(url);
    if rest.contains("://") {
        return Err(format!("only http:// URLs are supported, not {url:?}"));
    }
    Ok(match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    })
}

fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("answer has no end of headers: {:?}", show(raw)))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();
    Ok(HttpResponse {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}

/// Percent-encodes every byte outside `A-Za-z` (digits too, so that the
/// course server's hospital-number match on the raw URI never fires).
pub fn encode_query_value(value: impl AsRef<[u8]>) -> String {
    let mut out = String::new();
    for &byte in value.as_ref() {
        if byte.is_ascii_alphabetic() {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `/IMserver.php?action=ACTION&name=value...` with every value encoded.
pub fn im_path(action: &str, params: &[(&str, &[u8])]) -> String {
    let mut path = format!("/IMserver.php?action={}", encode_query_value(action));
    for (name, value) in params {
        path.push_str(&format!("&{name}={}", encode_query_value(value)));
    }
    path
}

/// Bytes shown readably (ASCII as is, the rest escaped), for messages.
pub fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

// ---------------------------------------------------------------------------
// PostgreSQL (installed by scripts/setup)

/// The newest `/usr/lib/postgresql/*/bin` that holds `pg_ctl`.
pub fn postgres_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((version, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A throwaway PostgreSQL cluster on a free port of 127.0.0.1 and on a Unix
/// socket in its own temp folder, with trust authentication for the user
/// `bleep`. Stopped on drop. As root, it runs as the `postgres` system user
/// (initdb refuses root).
pub struct PgCluster {
    bin: PathBuf,
    run_as: Option<String>,
    port: u16,
    dir: TempDir,
}

impl PgCluster {
    /// Why no cluster can be started here, if so (for a skip message):
    /// no server binaries, or running as root without a `postgres` user.
    pub fn unavailable() -> Option<String> {
        if postgres_bin_dir().is_none() {
            return Some(
                "no PostgreSQL server binaries (pg_ctl) under /usr/lib/postgresql/*/bin".into(),
            );
        }
        if running_as_root() && !user_exists("postgres") {
            return Some("running as root and there is no `postgres` user to run it as".into());
        }
        None
    }

    /// Starts a cluster, or panics saying why it cannot (PostgreSQL and PHP's
    /// driver for it are part of the test setup: their absence is a failure).
    pub fn require() -> PgCluster {
        if let Some(reason) = PgCluster::unavailable() {
            panic!("PostgreSQL is needed and cannot run here: {reason}: {SETUP_HINT}");
        }
        require_php_module("pdo_pgsql");
        PgCluster::start().unwrap_or_else(|e| panic!("PostgreSQL would not start: {e}"))
    }

    /// Starts a cluster (first check [`PgCluster::unavailable`]).
    pub fn start() -> Result<PgCluster, String> {
        if let Some(reason) = PgCluster::unavailable() {
            return Err(reason);
        }
        let bin = postgres_bin_dir().expect("checked above");
        let run_as = running_as_root().then(|| "postgres".to_string());
        let mut cluster = PgCluster {
            bin,
            run_as,
            port: 0,
            dir: TempDir::new("pg"),
        };
        if let Some(user) = &cluster.run_as {
            let status = Command::new("chown")
                .args([
                    "-R",
                    &format!("{user}:"),
                    &cluster.dir.path().to_string_lossy(),
                ])
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "cannot hand {} to {user}",
                    cluster.dir.path().display()
                ));
            }
        }
        let data = cluster.data_dir();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "bleep",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        let mut last_error = String::new();
        for _attempt in 0..5 {
            cluster.port = free_port();
            match cluster.resume() {
                Ok(()) => return Ok(cluster),
                Err(e) => last_error = e, // most likely the port was taken meanwhile
            }
        }
        Err(last_error)
    }

    /// Starts the server again after [`PgCluster::halt`], on the same port.
    pub fn resume(&self) -> Result<(), String> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c unix_socket_directories='{}' -p {} -c fsync=off -c max_connections=200",
            self.dir.path().display(),
            self.port
        );
        let log = self.dir.join("postgres.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir(),
                "-o",
                &options,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "-t",
                "20",
                "start",
            ],
        )
    }

    /// Stops the server at once (as a crash would); the data stays.
    pub fn halt(&self) {
        let data = self.data_dir();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }

    /// The TCP port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs `sql` in the database `db` with psql, as the user `bleep`.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", &self.dir.path().to_string_lossy()])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "bleep",
                "-d",
                db,
                "-c",
                sql,
            ])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "psql {sql:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Creates a fresh, empty database and returns its PDO DSN.
    pub fn create_database(&self) -> String {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!("t{}", COUNTER.fetch_add(1, Ordering::Relaxed));
        self.psql("postgres", &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("{e}"));
        self.dsn_of(&name)
    }

    /// The PDO DSN of the database `db` over the Unix socket.
    pub fn dsn_of(&self, db: &str) -> String {
        format!(
            "pgsql:host={};port={};dbname={db}",
            self.dir.path().display(),
            self.port
        )
    }

    /// The PDO DSN of the `postgres` database (user: `bleep`, no password).
    pub fn dsn(&self) -> String {
        self.dsn_of("postgres")
    }

    pub fn user(&self) -> &str {
        "bleep"
    }

    fn data_dir(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let program_path = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program_path);
                c
            }
            None => Command::new(&program_path),
        };
        let out = command
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Kills `child` and every process of its process group (a child started
/// with `process_group(0)`: PHP's workers, ChromeDriver's browsers), then
/// reaps it.
pub fn kill_process_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}
