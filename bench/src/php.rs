//! PHP: the built-in web server on 127.0.0.1 serving an IMserver.php (ours or
//! the course-like fixture), and the seeding script that fills a store fast.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::http;
use crate::util::{self, free_port, hex, port_is_open, Group, Result, TempDir};

/// `php -S 127.0.0.1:PORT -t DOCROOT` with PHP_CLI_SERVER_WORKERS workers.
pub struct PhpServer {
    /// Killed (with PHP's workers) when the server is dropped.
    _group: Group,
    pub port: u16,
    log: PathBuf,
}

impl PhpServer {
    pub fn start(
        docroot: &Path,
        envs: &[(&str, String)],
        workers: u32,
        log_dir: &TempDir,
    ) -> Result<PhpServer> {
        let port = free_port();
        let log = log_dir.join(format!("php-{port}.log"));
        let mut command = Command::new("php");
        command
            .arg("-S")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-t")
            .arg(docroot)
            .current_dir(docroot);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("BLEEP_") {
                command.env_remove(name);
            }
        }
        command.env("PHP_CLI_SERVER_WORKERS", workers.to_string());
        for (name, value) in envs {
            command.env(name, value);
        }
        let mut group = Group::spawn("php -S", &mut command, &log)?;
        let up = util::wait_until(Duration::from_secs(10), || {
            port_is_open(port) || group.exited().is_some()
        });
        if !up || group.exited().is_some() {
            return Err(format!(
                "php -S did not start on port {port}: {}",
                util::tail(&log, 10)
            ));
        }
        Ok(PhpServer {
            _group: group,
            port,
            log,
        })
    }

    /// The server's process group, to keep it running without the rest.
    pub fn into_group(self) -> Group {
        self._group
    }

    /// GET `path_and_query`; the answer must be 200.
    pub fn get_ok(&self, target: &str) -> Result<http::Answer> {
        let answer = http::get(self.port, target, Duration::from_secs(60))?;
        if answer.status != 200 {
            return Err(format!(
                "GET {target} answered {}: {} (server log: {})",
                answer.status,
                String::from_utf8_lossy(&answer.body[..answer.body.len().min(200)]),
                self.log_tail()
            ));
        }
        Ok(answer)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The end of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        util::tail(&self.log, 10)
    }
}

/// Which IMserver.php a store is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// `server/IMserver.php`: SQLite through PDO, one row per key.
    Ours,
    /// `tests/course_server/IMserver.php`: one serialize()d file.
    Course,
}

/// One IMserver.php in a folder of its own, with its store, seeded before
/// the server starts serving.
pub struct Store {
    pub server: PhpServer,
    pub flavour: Flavour,
    dir: TempDir,
}

impl Store {
    /// Starts `flavour` on a store holding exactly `entries` (in that order).
    pub fn start(flavour: Flavour, entries: &[(Vec<u8>, Vec<u8>)], workers: u32) -> Result<Store> {
        let dir = TempDir::new(match flavour {
            Flavour::Ours => "ours",
            Flavour::Course => "course",
        });
        let www = dir.join("www");
        std::fs::create_dir_all(&www).map_err(|e| e.to_string())?;
        let source = match flavour {
            Flavour::Ours => util::repo_root().join("server/IMserver.php"),
            Flavour::Course => util::repo_root().join("tests/course_server/IMserver.php"),
        };
        std::fs::copy(&source, www.join("IMserver.php"))
            .map_err(|e| format!("{}: {e}", source.display()))?;
        let envs = Store::envs(flavour, &dir);
        let server = PhpServer::start(&www, &envs, workers, &dir)?;
        let store = Store {
            server,
            flavour,
            dir,
        };
        store.seed(entries)?;
        Ok(store)
    }

    /// Serves `dist` (a built app with its IMserver.php) on a fresh store of ours.
    pub fn serve_app(dist: &Path, entries: &[(Vec<u8>, Vec<u8>)], workers: u32) -> Result<Store> {
        let dir = TempDir::new("app");
        let www = dir.join("www");
        std::fs::create_dir_all(&www).map_err(|e| e.to_string())?;
        for entry in std::fs::read_dir(dist).map_err(|e| format!("{}: {e}", dist.display()))? {
            let entry = entry.map_err(|e| e.to_string())?;
            if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
                std::fs::copy(entry.path(), www.join(entry.file_name()))
                    .map_err(|e| e.to_string())?;
            }
        }
        if !www.join("IMserver.php").is_file() {
            return Err(format!(
                "{} has no IMserver.php: is it a built dist/?",
                dist.display()
            ));
        }
        let envs = Store::envs(Flavour::Ours, &dir);
        let server = PhpServer::start(&www, &envs, workers, &dir)?;
        let store = Store {
            server,
            flavour: Flavour::Ours,
            dir,
        };
        store.seed(entries)?;
        Ok(store)
    }

    fn envs(flavour: Flavour, dir: &TempDir) -> Vec<(&'static str, String)> {
        match flavour {
            Flavour::Ours => vec![(
                "BLEEP_IMSERVER_DSN",
                format!("sqlite:{}", dir.join("store.sqlite").display()),
            )],
            Flavour::Course => vec![("BLEEP_COURSE_DATA_DIR", dir.path().display().to_string())],
        }
    }

    /// Replaces the store's content with `entries`: directly in the SQLite
    /// file (in one transaction) or the course server's data file.
    pub fn seed(&self, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
        if self.flavour == Flavour::Ours {
            // Let the server create its table, then clear it.
            self.server.get_ok("/IMserver.php?action=clear")?;
        }
        if entries.is_empty() {
            return Ok(());
        }
        let mut lines = String::new();
        for (key, value) in entries {
            lines.push_str(&hex(key));
            lines.push('\t');
            lines.push_str(&hex(value));
            lines.push('\n');
        }
        let input = self.dir.join("seed.tsv");
        std::fs::write(&input, lines).map_err(|e| e.to_string())?;
        let (mode, target) = match self.flavour {
            Flavour::Ours => ("ours", self.dir.join("store.sqlite")),
            Flavour::Course => ("course", self.dir.join("imserver-default")),
        };
        let script = util::repo_root().join("bench/seed.php");
        let out = Command::new("php")
            .arg(&script)
            .arg(mode)
            .arg(&target)
            .arg(&input)
            .output()
            .map_err(|e| format!("cannot run php {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "seeding failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let _ = std::fs::remove_file(&input);
        Ok(())
    }
}
