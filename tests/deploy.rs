//! Bleep deployed as a hospital would run it, tested for real: nginx with
//! the site of `deploy/nginx-site.conf`, two PHP-FPM nodes made from
//! `deploy/php-fpm-pool.conf`, and one PostgreSQL they share. Every process
//! is the test's own (temp folders, free loopback ports, no system service)
//! and is stopped at the end.
//!
//! Checked: the app's files (long cache lifetimes for hashed names, the
//! wasm MIME type, security headers); a write through one node is read
//! through the other at once; killing a node mid-run loses nothing that was
//! answered 200; the database going down gives IMserver.php's one-line 503
//! (never a PHP page) and is recovered from without a restart; a node with a
//! wrong DSN says the same.
//!
//! nginx, PHP-FPM and PostgreSQL are installed by scripts/setup: without
//! them this test fails.

mod support;

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

use support::{
    free_port, http_request, http_send, im_path, kill_process_group, our_server_source, repo_root,
    show, HttpResponse, PgCluster, TempDir, HTTP_TIMEOUT, SETUP_HINT,
};

// ---------------------------------------------------------------------------
// The processes

/// A server process of the test (and its children), killed on drop.
struct Daemon {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    fn spawn(name: &str, mut command: Command, log: PathBuf) -> Daemon {
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log.display()));
        let err = out.try_clone().unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}: {SETUP_HINT}"));
        Daemon {
            name: name.to_string(),
            child: Some(child),
            log,
        }
    }

    /// Waits until `port` takes connections; panics (with the log) if the
    /// process ends or the port stays closed.
    fn wait_for(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("{} exited ({status}):\n{}", self.name, self.log_text());
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {port}:\n{}",
                self.name,
                self.log_text()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Kills the process and all of its children at once (SIGKILL).
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_process_group(&mut child);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|ids| ids.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// The newest `/usr/sbin/php-fpm*` (Debian names it after PHP's version).
fn php_fpm_binary() -> PathBuf {
    let mut found: Vec<PathBuf> = fs::read_dir("/usr/sbin")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("php-fpm"))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
        .pop()
        .unwrap_or_else(|| panic!("PHP-FPM is not installed (no /usr/sbin/php-fpm*): {SETUP_HINT}"))
}

/// `template` with every `@NAME@` replaced; panics if one is left.
fn render(template: &Path, values: &[(&str, &str)]) -> String {
    let mut text = fs::read_to_string(template)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", template.display()));
    for (name, value) in values {
        text = text.replace(&format!("@{name}@"), value);
    }
    let config: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with(['#', ';']))
        .collect();
    assert!(
        !config.contains('@'),
        "{} has a value left to fill in",
        template.display()
    );
    text
}

/// One PHP-FPM node: its own master process with one pool from the
/// template, on a free port.
fn start_php_node(dir: &TempDir, name: &str, dsn: &str, db_user: &str) -> (Daemon, u16) {
    let port = free_port();
    let folder = dir.subdir(format!("fpm-{name}"));
    let user = if running_as_root() {
        "www-data".to_string()
    } else {
        std::env::var("USER").unwrap_or_else(|_| "nobody".into())
    };
    let pool = render(
        &repo_root().join("deploy/php-fpm-pool.conf"),
        &[
            ("POOL", &format!("bleep_{name}")),
            ("LISTEN", &format!("127.0.0.1:{port}")),
            ("ALLOWED", "127.0.0.1"),
            ("USER", &user),
            ("DSN", dsn),
            ("DB_USER", db_user),
            ("DB_PASSWORD", "unused-with-trust-authentication"),
        ],
    );
    fs::write(folder.join("pool.conf"), pool).unwrap();
    let global = format!(
        "[global]\npid = {0}/fpm.pid\nerror_log = {0}/fpm.log\ndaemonize = no\ninclude = {0}/pool.conf\n",
        folder.display()
    );
    fs::write(folder.join("php-fpm.conf"), global).unwrap();
    let mut command = Command::new(php_fpm_binary());
    command
        .arg("--nodaemonize")
        .arg("--fpm-config")
        .arg(folder.join("php-fpm.conf"));
    if running_as_root() {
        command.arg("--allow-to-run-as-root");
    }
    let mut node = Daemon::spawn(
        &format!("PHP-FPM node {name}"),
        command,
        folder.join("fpm.log"),
    );
    node.wait_for(port);
    (node, port)
}

/// nginx with the deploy site once per entry of `sites` (a name and the
/// ports of its PHP nodes); returns the port of each site, in that order.
fn start_nginx(
    dir: &TempDir,
    www: &Path,
    server: &Path,
    sites: &[(&str, &[u16])],
) -> (Daemon, Vec<u16>) {
    let folder = dir.subdir("nginx");
    let temp = dir.subdir("nginx/temp");
    fs::set_permissions(&temp, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let ports: Vec<u16> = sites.iter().map(|_| free_port()).collect();
    let mut includes = String::new();
    for ((name, nodes), &port) in sites.iter().zip(&ports) {
        let nodes: String = nodes
            .iter()
            .map(|p| format!("server 127.0.0.1:{p}; "))
            .collect();
        let site = render(
            &repo_root().join("deploy/nginx-site.conf"),
            &[
                ("NAME", name),
                ("LISTEN", &format!("127.0.0.1:{port}")),
                ("DIST", &www.to_string_lossy()),
                ("SERVER", &server.to_string_lossy()),
                ("PHP_NODES", &nodes),
            ],
        );
        let file = folder.join(format!("site-{name}.conf"));
        fs::write(&file, site).unwrap();
        includes.push_str(&format!("    include {};\n", file.display()));
    }
    let temp = temp.display();
    let main = format!(
        "worker_processes 1;\ndaemon off;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log warn;\n\
         events {{ worker_connections 512; }}\n\
         http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n\
             access_log off;\n    client_body_temp_path {temp}/body;\n    proxy_temp_path {temp}/proxy;\n\
             fastcgi_temp_path {temp}/fastcgi;\n    uwsgi_temp_path {temp}/uwsgi;\n\
             scgi_temp_path {temp}/scgi;\n{includes}}}\n",
        dir = folder.display()
    );
    fs::write(folder.join("nginx.conf"), main).unwrap();
    let nginx = Path::new("/usr/sbin/nginx");
    assert!(nginx.is_file(), "nginx is not installed: {SETUP_HINT}");
    let mut command = Command::new(nginx);
    command
        .arg("-p")
        .arg(&folder)
        .arg("-c")
        .arg(folder.join("nginx.conf"));
    let mut daemon = Daemon::spawn("nginx", command, folder.join("stderr.log"));
    for &port in &ports {
        daemon.wait_for(port);
    }
    (daemon, ports)
}

// ---------------------------------------------------------------------------
// Requests

fn get(port: u16, path: &str) -> HttpResponse {
    http_request(&format!("http://127.0.0.1:{port}{path}"), HTTP_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn set_ok(port: u16, key: &str, value: &str) {
    let answer = get(
        port,
        &im_path(
            "set",
            &[("key", key.as_bytes()), ("value", value.as_bytes())],
        ),
    );
    assert_eq!(answer.status, 200, "set {key}: {}", show(&answer.body));
}

fn value(port: u16, key: &str) -> Vec<u8> {
    let answer = get(port, &im_path("get", &[("key", key.as_bytes())]));
    assert_eq!(answer.status, 200, "get {key}: {}", show(&answer.body));
    answer.body
}

const UNAVAILABLE: &[u8] = b"503: the message store is unavailable; try again later\n";

fn expect_unavailable(port: u16, what: &str) {
    let answer = get(port, &im_path("get", &[("key", b"k")]));
    assert_eq!(answer.status, 503, "{what}: {}", show(&answer.body));
    assert_eq!(
        answer.body,
        UNAVAILABLE,
        "{what}: a one-line reason, not a PHP page: {}",
        show(&answer.body)
    );
    assert_eq!(
        answer.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
}

fn header<'a>(answer: &'a HttpResponse, name: &str) -> &'a str {
    answer.header(name).unwrap_or_else(|| {
        panic!(
            "no {name} header among {:?}",
            answer.headers.iter().map(|(n, _)| n).collect::<Vec<_>>()
        )
    })
}

// ---------------------------------------------------------------------------
// The test

#[test]
fn deployed_with_nginx_two_php_fpm_nodes_and_postgresql() {
    let started = Instant::now();
    let cluster = PgCluster::require();
    let dsn = cluster.create_database();
    let dir = TempDir::new("deploy");

    // The app's files as trunk names them, and IMserver.php outside them.
    let www = dir.subdir("www");
    fs::write(
        www.join("index.html"),
        "<!doctype html><title>Bleep</title>\n",
    )
    .unwrap();
    let wasm = b"\0asm\x01\0\0\0";
    fs::write(www.join("bleep-0123456789abcdef_bg.wasm"), wasm).unwrap();
    fs::write(www.join("bleep-0123456789abcdef.js"), "export {};\n").unwrap();
    fs::write(www.join("main-fedcba9876543210.css"), "body{}\n").unwrap();
    let server = dir.subdir("server");
    fs::copy(our_server_source(), server.join("IMserver.php")).unwrap();
    fs::write(www.join("secret.php"), "<?php echo 'ran';").unwrap();

    let (node_a, port_a) = start_php_node(&dir, "a", &dsn, cluster.user());
    let (mut node_b, port_b) = start_php_node(&dir, "b", &dsn, cluster.user());
    // A third node whose DSN names a database that does not exist.
    let wrong_dsn = cluster.dsn_of("no_such_database");
    let (node_wrong, port_wrong) = start_php_node(&dir, "wrong", &wrong_dsn, cluster.user());
    let (nginx, ports) = start_nginx(
        &dir,
        &www,
        &server,
        &[
            ("both", &[port_a, port_b]),
            ("a", &[port_a]),
            ("b", &[port_b]),
            ("wrong", &[port_wrong]),
        ],
    );
    let sites = Sites {
        both: ports[0],
        a: ports[1],
        b: ports[2],
        wrong: ports[3],
    };

    // Static files: long cache lifetimes for hashed names, the wasm type,
    // security headers.
    let page = get(sites.both, "/");
    assert_eq!(page.status, 200);
    assert!(header(&page, "Content-Type").starts_with("text/html"));
    assert_eq!(header(&page, "Cache-Control"), "no-cache");
    let wasm_answer = get(sites.both, "/bleep-0123456789abcdef_bg.wasm");
    assert_eq!(wasm_answer.status, 200);
    assert_eq!(header(&wasm_answer, "Content-Type"), "application/wasm");
    assert_eq!(wasm_answer.body, wasm);
    for answer in [
        &wasm_answer,
        &get(sites.both, "/bleep-0123456789abcdef.js"),
        &get(sites.both, "/main-fedcba9876543210.css"),
    ] {
        assert_eq!(header(answer, "Cache-Control"), "max-age=31536000");
    }
    for answer in [&page, &wasm_answer] {
        let csp = header(answer, "Content-Security-Policy");
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(header(answer, "X-Content-Type-Options"), "nosniff");
        assert_eq!(header(answer, "X-Frame-Options"), "DENY");
        assert_eq!(header(answer, "Referrer-Policy"), "no-referrer");
        assert_eq!(header(answer, "Server"), "nginx", "no version shown");
    }
    let other_php = get(sites.both, "/secret.php");
    assert_eq!(other_php.status, 404, "only IMserver.php runs");

    // IMserver.php through nginx: its own headers, once each.
    let answer = get(
        sites.both,
        &im_path("set", &[("key", b"k"), ("value", b"<b>")]),
    );
    assert_eq!(answer.status, 200, "{}", show(&answer.body));
    assert_eq!(header(&answer, "Content-Type"), "text/plain; charset=utf-8");
    let csps = answer
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Content-Security-Policy"))
        .count();
    assert_eq!(csps, 1, "one Content-Security-Policy: {:?}", answer.headers);
    assert_eq!(header(&answer, "X-Content-Type-Options"), "nosniff");
    assert_eq!(answer.header("X-Powered-By"), None);
    let post = http_send(
        &format!("http://127.0.0.1:{}{}", sites.both, im_path("clear", &[])),
        "POST",
        &[],
        HTTP_TIMEOUT,
    )
    .unwrap();
    assert_eq!(post.status, 405, "{}", show(&post.body));

    // Written through one node, read through the other at once.
    for i in 0..40 {
        let (write, read) = if i % 2 == 0 {
            (sites.a, sites.b)
        } else {
            (sites.b, sites.a)
        };
        let key = format!("handover-{i}");
        set_ok(write, &key, &format!("note {i}"));
        assert_eq!(value(read, &key), format!("note {i}\n").as_bytes());
    }

    // The workers keep their connections and check the schema in full once
    // per connection: a trigger planted afterwards is still refused by
    // every worker, and once it is gone they serve again.
    let db = dsn.rsplit_once("dbname=").expect("a dbname in the DSN").1;
    cluster
        .psql(
            db,
            "CREATE FUNCTION evil() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN NEW.v := 'pwned'::bytea; RETURN NEW; END $$; \
             CREATE TRIGGER evil BEFORE INSERT OR UPDATE ON kv \
             FOR EACH ROW EXECUTE FUNCTION evil()",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 0..40 {
        let port = if i % 2 == 0 { sites.a } else { sites.b };
        let answer = get(
            port,
            &im_path("set", &[("key", b"planted"), ("value", b"v")]),
        );
        assert_eq!(
            answer.status,
            503,
            "set {i} with a planted trigger: {}",
            show(&answer.body)
        );
        expect_unavailable(port, "a planted trigger");
    }
    cluster
        .psql(db, "DROP TRIGGER evil ON kv; DROP FUNCTION evil()")
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 0..20 {
        let port = if i % 2 == 0 { sites.a } else { sites.b };
        set_ok(port, "planted", "v");
        assert_eq!(
            value(port, "planted"),
            b"v\n",
            "set {i} once the trigger is gone"
        );
    }

    // One node killed mid-run: nothing answered 200 is lost.
    const WRITERS: usize = 4;
    let stop = Arc::new(AtomicBool::new(false));
    let both = sites.both;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut acknowledged = BTreeMap::new();
                let mut refused = 0;
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("w{w}-{i}");
                    let path =
                        im_path("set", &[("key", key.as_bytes()), ("value", key.as_bytes())]);
                    match http_request(&format!("http://127.0.0.1:{both}{path}"), HTTP_TIMEOUT) {
                        Ok(answer) if answer.status == 200 => {
                            acknowledged.insert(key, i);
                        }
                        _ => refused += 1,
                    }
                    i += 1;
                }
                (acknowledged, refused)
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(1500));
    node_b.kill();
    thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = 0;
    let mut refused = 0;
    for writer in writers {
        let (keys, failed) = writer.join().expect("a writer failed");
        refused += failed;
        for key in keys.keys() {
            assert_eq!(
                value(sites.a, key),
                format!("{key}\n").as_bytes(),
                "{key} was answered 200 and then lost"
            );
            acknowledged += 1;
        }
    }
    assert!(
        acknowledged > 100,
        "only {acknowledged} writes were answered 200"
    );
    eprintln!("deploy: node b killed mid-run: {acknowledged} writes answered 200 and kept, {refused} not answered 200");
    // The site goes on through the node that is left.
    set_ok(sites.both, "after-the-kill", "fine");
    assert_eq!(value(sites.both, "after-the-kill"), b"fine\n");

    // The database goes down: a one-line 503 (never a PHP page) ... and
    // back: served again without restarting PHP or nginx.
    cluster.halt();
    expect_unavailable(sites.a, "database down");
    cluster.resume().expect("PostgreSQL restarts");
    assert_eq!(value(sites.a, "handover-0"), b"note 0\n");

    // A node with a wrong DSN says so in one line; its log says why.
    expect_unavailable(sites.wrong, "wrong DSN");
    // The master writes its workers' output to the log a moment later.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !node_wrong.log_text().contains("no_such_database") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        node_wrong.log_text().contains("no_such_database"),
        "the node's log should say why: {}",
        node_wrong.log_text()
    );

    drop(nginx);
    drop((node_a, node_b, node_wrong));
    drop(cluster);
    eprintln!("deploy: {:?}", started.elapsed());
}

/// The ports of the deploy site's copies.
struct Sites {
    /// Through both PHP nodes.
    both: u16,
    /// Through node a only, and node b only.
    a: u16,
    b: u16,
    /// Through the node with a wrong DSN.
    wrong: u16,
}
