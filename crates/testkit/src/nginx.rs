//! A real nginx on 127.0.0.1 serving a directory, as a mirror would in production.
//!
//! It runs in the foreground as a child of the test (no daemon, no master process) with its
//! configuration, pid file, logs and temporary paths in a private directory, and logs every
//! request as `METHOD /path STATUS`, like [`crate::server::Server::requests`].

use std::{
    fs,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

/// A running nginx; killed when dropped.
pub struct Nginx {
    child: Child,
    port: u16,
    work: tempfile::TempDir,
    access_log: PathBuf,
}

/// The nginx binary: on PATH, or where Debian puts it for root.
fn binary() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
        .expect("nginx must be installed (.ci/run installs it)")
}

impl Nginx {
    /// Serve `root` over plain HTTP.
    pub fn serve(root: &Path) -> Self {
        let work = tempfile::tempdir().unwrap();
        let w = work.path();
        // nginx binds the port itself; ask the OS for a free one first.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let access_log = w.join("access.log");
        for dir in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            fs::create_dir(w.join(dir)).unwrap();
        }
        let user = if running_as_root() { "user root;" } else { "" };
        let config = format!(
            r#"{user}
daemon off;
master_process off;
worker_processes 1;
pid {w}/nginx.pid;
error_log {w}/error.log warn;
events {{ worker_connections 64; }}
http {{
    log_format banger '$request_method $uri $status';
    access_log {access} banger;
    client_body_temp_path {w}/body;
    proxy_temp_path {w}/proxy;
    fastcgi_temp_path {w}/fastcgi;
    uwsgi_temp_path {w}/uwsgi;
    scgi_temp_path {w}/scgi;
    types {{ application/json json; application/zstd zst; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        autoindex on;
    }}
}}
"#,
            w = w.display(),
            access = access_log.display(),
            root = root.display(),
        );
        let conf = w.join("nginx.conf");
        fs::write(&conf, config).unwrap();
        let child = Command::new(binary())
            .arg("-p")
            .arg(w)
            .arg("-e")
            .arg(w.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start nginx");
        let mut nginx = Self {
            child,
            port,
            work,
            access_log,
        };
        nginx.wait_until_listening();
        nginx
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log =
                    fs::read_to_string(self.work.path().join("error.log")).unwrap_or_default();
                panic!("nginx exited with {status}:\n{log}");
            }
            assert!(Instant::now() < deadline, "nginx did not start listening");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The URL of `path` (without a leading slash); `url("")` is the base.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    /// Every request so far, as `METHOD /path STATUS`.
    pub fn requests(&self) -> Vec<String> {
        fs::read_to_string(&self.access_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Whether this process runs as root (effective uid 0, from `/proc/self/status`).
fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2).map(|uid| uid == "0"))
        .unwrap_or(false)
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
