//! A PostgreSQL server of a test's own: `initdb` in a temporary folder, a
//! free port, optionally TLS only (a self-signed certificate made with the
//! `openssl` command), so that a test can restart it, or refuse plain
//! connections, without touching the machine's server. Its certificate is
//! signed by a test CA of its own, as a real deployment's would be.
//!
//! It needs PostgreSQL's server programs (`initdb`, `pg_ctl`; on PATH or
//! under /usr/lib/postgresql/*/bin) and, for TLS, `openssl`. PostgreSQL
//! refuses to run as root, so as root they run as the `postgres` user
//! (`runuser`). Where any of that is missing, [`PrivatePg::start`] says why
//! and returns `None`, and the test reports itself skipped, like the tests
//! on the machine's server without TOLLGATE_TEST_POSTGRES.

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::Connection;
use tempfile::TempDir;

use super::super::db::{count_in, PgConnection};
use super::super::free_port;

pub struct PrivatePg {
    /// Holds the data folder (removed when the server is dropped).
    _dir: TempDir,
    data: PathBuf,
    /// The root that signed the server's certificate (TLS servers).
    pub cert: Option<PathBuf>,
    pub port: u16,
    bin: PathBuf,
    /// As root: the `postgres` user's id, whom the server runs as.
    run_as: Option<u32>,
}

/// The folder holding `initdb` and `pg_ctl`.
fn server_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>());
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|version| version.path().join("bin"));
    on_path
        .chain(debian)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

fn is_root() -> bool {
    // The owner of a file just made is whoever runs the test.
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::NamedTempFile::new().expect("a temporary file");
    probe
        .as_file()
        .metadata()
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn postgres_uid() -> Option<u32> {
    let out = Command::new("id").args(["-u", "postgres"]).output().ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

impl PrivatePg {
    /// Makes and starts a server: with `tls`, one that accepts TLS
    /// connections only; without, plain ones only.
    pub fn start(tls: bool) -> Option<PrivatePg> {
        let skip = |why: &str| {
            eprintln!("skipped: no private PostgreSQL server ({why})");
            None
        };
        let Some(bin) = server_bin() else {
            return skip("initdb and pg_ctl not found");
        };
        let run_as = if is_root() {
            match postgres_uid() {
                Some(uid) => Some(uid),
                None => return skip("running as root, and there is no postgres user"),
            }
        } else {
            None
        };
        let dir = tempfile::tempdir().expect("a temporary folder");
        let data = dir.path().join("data");
        let mut server = PrivatePg {
            data,
            cert: None,
            port: free_port(),
            bin,
            run_as,
            _dir: dir,
        };
        server.hand_over(server._dir.path());
        let mut init = server.command("initdb");
        init.arg("-D")
            .arg(&server.data)
            .args(["-U", "postgres", "--auth=trust", "--no-sync"]);
        if !run_ok(&mut init) {
            return skip("initdb failed");
        }
        if tls {
            let Some(cert) = server.make_certificate() else {
                return skip("could not make a certificate with openssl");
            };
            server.cert = Some(cert);
        }
        let hba = if tls {
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n"
        } else {
            "local all all trust\nhostnossl all all 127.0.0.1/32 trust\n"
        };
        std::fs::write(server.data.join("pg_hba.conf"), hba).unwrap();
        let mut conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             fsync = off\nmax_connections = 60\n",
            server.port,
            server.data.display()
        );
        if tls {
            conf.push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        }
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(server.data.join("postgresql.conf"))
            .unwrap();
        std::io::Write::write_all(&mut file, conf.as_bytes()).unwrap();
        if !server.pg_ctl("start") {
            let log = std::fs::read_to_string(server.data.join("log")).unwrap_or_default();
            return skip(&format!("the server did not start: {log}"));
        }
        Some(server)
    }

    /// A server URL (no database) for the test harness: the app's database
    /// is made on it per test (`support::on_postgres_at`).
    pub fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres{query}",
            self.port
        )
    }

    /// Restarts the server (`pg_ctl restart -m fast`: every connection is
    /// ended), returning when it accepts connections again.
    pub fn restart(&self) {
        assert!(self.pg_ctl("restart"), "pg_ctl restart");
    }

    /// Client connections to `database` now.
    pub fn connections_to(&self, database: &str) -> i64 {
        let query = if self.cert.is_some() {
            "?sslmode=require"
        } else {
            ""
        };
        let mut admin = PgConnection::establish(&self.url(query)).expect("the private server");
        count_in(
            &mut admin,
            &format!(
                "SELECT COUNT(*) AS n FROM pg_stat_activity \
                 WHERE datname = '{database}' AND backend_type = 'client backend'"
            ),
        )
    }

    fn pg_ctl(&self, action: &str) -> bool {
        let log = self.data.join("log");
        let mut command = self.command("pg_ctl");
        command
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&log)
            .args(["-m", "fast", "-w", "-t", "60", action]);
        run_ok(&mut command)
    }

    /// `program` from the server's folder, as the user the server runs as.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match self.run_as {
            Some(_) => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(path);
                command
            }
            None => Command::new(path),
        }
    }

    /// Makes `path` (a folder) the server user's.
    fn hand_over(&self, path: &Path) {
        if let Some(uid) = self.run_as {
            std::os::unix::fs::chown(path, Some(uid), None).unwrap();
        }
    }

    /// A certificate for `localhost` and 127.0.0.1, signed by a test CA
    /// of its own, in the data folder as `server.crt` and `server.key`;
    /// returns the CA's certificate, the root a client can trust.
    fn make_certificate(&self) -> Option<PathBuf> {
        let ca = self.data.join("ca.crt");
        let ca_key = self.data.join("ca.key");
        let cert = self.data.join("server.crt");
        let key = self.data.join("server.key");
        if !make_ca(&ca, &ca_key) {
            return None;
        }
        let csr = self.data.join("server.csr");
        let mut request = Command::new("openssl");
        request
            .args([
                "req",
                "-new",
                "-nodes",
                "-newkey",
                "rsa:2048",
                "-subj",
                "/CN=localhost",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr);
        let extensions = self.data.join("server.ext");
        std::fs::write(
            &extensions,
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             extendedKeyUsage=serverAuth\n",
        )
        .ok()?;
        let mut sign = Command::new("openssl");
        sign.args(["x509", "-req", "-days", "1", "-CAcreateserial"])
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(&ca)
            .arg("-CAkey")
            .arg(&ca_key)
            .arg("-extfile")
            .arg(&extensions)
            .arg("-out")
            .arg(&cert);
        if !run_ok(&mut request) || !run_ok(&mut sign) {
            return None;
        }
        if let Some(uid) = self.run_as {
            std::os::unix::fs::chown(&cert, Some(uid), None).ok()?;
            std::os::unix::fs::chown(&key, Some(uid), None).ok()?;
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).ok()?;
        Some(ca)
    }
}

/// A self-signed CA certificate (and its key), good for a day.
pub fn make_ca(cert: &Path, key: &Path) -> bool {
    let mut command = Command::new("openssl");
    command
        .args([
            "req", "-new", "-x509", "-days", "1", "-nodes", "-newkey", "rsa:2048",
        ])
        .args(["-subj", "/CN=tollgate test CA"])
        .arg("-out")
        .arg(cert)
        .arg("-keyout")
        .arg(key);
    run_ok(&mut command)
}

fn run_ok(command: &mut Command) -> bool {
    match command.output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            eprintln!(
                "{:?} failed: {}{}",
                command,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            false
        }
        Err(e) => {
            eprintln!("{command:?} could not run: {e}");
            false
        }
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let mut command = self.command("pg_ctl");
        command
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = command.output();
    }
}
