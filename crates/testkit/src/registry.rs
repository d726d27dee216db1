//! A real OCI registry on 127.0.0.1: Debian's `docker-registry` (distribution 2.8), with TLS
//! from a CA made at test time and, optionally, htpasswd Basic auth. Its request log is kept,
//! as `METHOD /path STATUS`, like [`crate::server::Server::requests`].

use std::{
    fs,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::server::TestCa;

/// A running registry; killed when dropped.
pub struct Registry {
    child: Child,
    port: u16,
    work: tempfile::TempDir,
    log: PathBuf,
}

impl Registry {
    /// Start a registry; with `basic`, it requires that user and password.
    pub fn start(basic: Option<(&str, &str)>) -> Self {
        let work = tempfile::tempdir().unwrap();
        let w = work.path();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ca = TestCa::new();
        fs::write(w.join("ca.pem"), &ca.ca_pem).unwrap();
        fs::write(w.join("cert.pem"), &ca.cert_pem).unwrap();
        fs::write(w.join("key.pem"), &ca.key_pem).unwrap();
        let auth = match basic {
            Some((user, password)) => {
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .expect("htpasswd (apt-get install apache2-utils)");
                assert!(out.status.success());
                fs::write(w.join("htpasswd"), out.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: banger-test\n    path: {}\n",
                    w.join("htpasswd").display()
                )
            }
            None => String::new(),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {cert}\n    key: {key}\n{auth}",
            root = w.join("data").display(),
            cert = w.join("cert.pem").display(),
            key = w.join("key.pem").display(),
        );
        fs::write(w.join("config.yml"), config).unwrap();
        let log = w.join("registry.log");
        let child = Command::new(binary())
            .arg("serve")
            .arg(w.join("config.yml"))
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("docker-registry must be installed (apt-get install docker-registry)");
        let registry = Self {
            child,
            port,
            work,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not start: {}",
                fs::read_to_string(&registry.log).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The CA that signed the registry's certificate; point `SSL_CERT_FILE` at it.
    pub fn ca_file(&self) -> PathBuf {
        self.work.path().join("ca.pem")
    }

    /// Every request so far, as `METHOD /path STATUS`.
    pub fn requests(&self) -> Vec<String> {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("response completed"))
            .filter_map(|line| {
                let field = |key: &str| {
                    let start = line.find(&format!("{key}="))? + key.len() + 1;
                    let rest = &line[start..];
                    let end = rest.find(' ').unwrap_or(rest.len());
                    Some(rest[..end].trim_matches('"').to_owned())
                };
                Some(format!(
                    "{} {} {}",
                    field("http.request.method")?,
                    field("http.request.uri")?,
                    field("http.response.status")?
                ))
            })
            .collect()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> &'static Path {
    Path::new("/usr/bin/docker-registry")
}
