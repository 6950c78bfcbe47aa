//! Starting the real `lakegate` binary on free ports against a fresh demo lake, and
//! running real clients against it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_lakegate");

/// Rows in the test lake: small enough to write in a moment, large enough for several
/// record batches per file.
pub const ROWS: usize = 14_000;

/// A demo lake in a temporary folder.
pub struct Demo {
    pub dir: tempfile::TempDir,
}

impl Demo {
    pub fn new() -> Demo {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new(BIN)
            .args(["demo", "--no-serve", "--rows", &ROWS.to_string(), "--dir"])
            .arg(dir.path())
            .output()
            .expect("run lakegate demo");
        assert!(
            out.status.success(),
            "demo failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Demo { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("lakegate.toml")
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// A token from `lakegate token`.
    pub fn token(&self, sub: &str, departments: &[&str], groups: &[&str]) -> String {
        let mut cmd = Command::new(BIN);
        cmd.args(["token", "--config"])
            .arg(self.config())
            .args(["--sub", sub]);
        for d in departments {
            cmd.args(["--department", d]);
        }
        for g in groups {
            cmd.args(["--group", g]);
        }
        let out = cmd.output().expect("run lakegate token");
        assert!(
            out.status.success(),
            "token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn parking_token(&self) -> String {
        self.token("pat.parking", &["parking"], &["analyst", "operational"])
    }

    pub fn public_token(&self) -> String {
        self.token("max.public", &[], &[])
    }

    /// Rewrites the config, e.g. to allow plaintext on loopback.
    pub fn edit_config(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.config()).expect("read config");
        assert!(text.contains(from), "config has no `{from}`");
        std::fs::write(self.config(), text.replace(from, to)).expect("write config");
    }

    /// Appends rules to the demo's policy file.
    pub fn add_policy(&self, rules: &str) {
        let path = self.path("policy.toml");
        let mut text = std::fs::read_to_string(&path).expect("read policy");
        text.push_str(rules);
        std::fs::write(&path, text).expect("write policy");
    }

    pub fn serve(&self) -> Server {
        Server::start(&self.config(), &FREE_PORTS)
    }
}

/// Every front end on a free loopback port.
pub const FREE_PORTS: [&str; 6] = [
    "--pg",
    "127.0.0.1:0",
    "--http",
    "127.0.0.1:0",
    "--flight",
    "127.0.0.1:0",
];

/// A running server, killed on drop.
pub struct Server {
    child: Child,
    pub pg: SocketAddr,
    pub http: SocketAddr,
}

impl Server {
    pub fn start(config: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(config)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start lakegate serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (mut pg, mut http) = (None, None);
        while pg.is_none() || http.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("server did not announce its ports");
            if let Some(addr) = line.strip_prefix("lakegate: postgres listening on ") {
                pg = addr.parse().ok();
            } else if let Some(addr) = line.strip_prefix("lakegate: http listening on ") {
                http = addr.parse().ok();
            }
        }
        Server {
            child,
            pg: pg.expect("pg"),
            http: http.expect("http"),
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Runs psql with the token as password; `-v VERBOSITY=verbose` makes errors carry
    /// their SQLSTATE.
    pub fn psql(&self, token: &str, sslmode: &str, sql: &str) -> Output {
        self.psql_as("token", token, sslmode, &["-c", sql])
    }

    pub fn psql_as(&self, user: &str, token: &str, sslmode: &str, args: &[&str]) -> Output {
        self.psql_command(user, token, sslmode, args)
            .output()
            .expect("psql is installed (scripts/test installs postgresql-client)")
    }

    /// psql as `user`, not yet started.
    pub fn psql_command(&self, user: &str, token: &str, sslmode: &str, args: &[&str]) -> Command {
        let conn = format!(
            "host={} port={} dbname=lake user={user} sslmode={sslmode} connect_timeout=10",
            self.pg.ip(),
            self.pg.port()
        );
        let mut command = Command::new("psql");
        command
            .arg(conn)
            .args([
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-v",
                "VERBOSITY=verbose",
            ])
            .args(args)
            .env("PGPASSWORD", token)
            .env("PGCONNECT_TIMEOUT", "10");
        command
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// A network namespace of the test's own, joined to this host by a veth pair, so a client
/// inside it reaches the server from a non-loopback address. Removed on drop.
pub struct TestHost {
    pub name: String,
    link: String,
    pub server_ip: String,
}

impl TestHost {
    pub fn create() -> TestHost {
        let id = std::process::id() % 100_000;
        let (name, link, peer) = (format!("lgns{id}"), format!("lgv{id}"), format!("lgp{id}"));
        let octet = 1 + (id % 60) * 4;
        let (server_ip, client_ip) = (
            format!("10.231.47.{octet}"),
            format!("10.231.47.{}", octet + 1),
        );
        let host = TestHost {
            name: name.clone(),
            link: link.clone(),
            server_ip: server_ip.clone(),
        };
        for args in [
            vec!["netns", "add", &name],
            vec!["link", "add", &link, "type", "veth", "peer", "name", &peer],
            vec!["link", "set", &peer, "netns", &name],
            vec!["addr", "add", &format!("{server_ip}/30"), "dev", &link],
            vec!["link", "set", &link, "up"],
            vec![
                "netns",
                "exec",
                &name,
                "ip",
                "addr",
                "add",
                &format!("{client_ip}/30"),
                "dev",
                &peer,
            ],
            vec!["netns", "exec", &name, "ip", "link", "set", &peer, "up"],
        ] {
            let out = Command::new("ip")
                .args(&args)
                .output()
                .expect("iproute2 is installed");
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        host
    }

    /// psql run inside the namespace.
    pub fn psql(&self, server: &Server, token: &str, sslmode: &str, sql: &str) -> Output {
        let conn = format!(
            "host={} port={} dbname=lake user=token sslmode={sslmode} connect_timeout=10",
            self.server_ip,
            server.pg.port()
        );
        Command::new("ip")
            .args([
                "netns", "exec", &self.name, "psql", &conn, "-X", "-A", "-t", "-c", sql,
            ])
            .env("PGPASSWORD", token)
            .output()
            .expect("ip netns exec psql")
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.link])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
