//! A real OCI registry on 127.0.0.1: Debian's `docker-registry` (distribution 2.8), with TLS
//! from a CA made at test time and htpasswd Basic auth or distribution's token auth. Its request
//! log is kept, as `METHOD /path STATUS`, like [`crate::server::Server::requests`].
//!
//! [`TokenIssuer`] is the token service for token auth: an HTTPS server that hands out one JWT,
//! signed (ES256) by a key whose certificate the registry trusts (`rootcertbundle`), granting
//! pull and push on the repositories it was made for. It does not check credentials.

use std::{
    fs,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::server::TestCa;

/// How the registry authenticates clients.
pub enum Auth<'a> {
    None,
    /// htpasswd Basic auth with this user and password.
    Basic(&'a str, &'a str),
    /// Distribution's token auth, with tokens from this issuer.
    Token(&'a TokenIssuer),
}

/// A token service for [`Auth::Token`].
pub struct TokenIssuer {
    server: crate::server::Server,
    _dir: tempfile::TempDir,
    cert: PathBuf,
}

const ISSUER: &str = "banger-test-issuer";
const SERVICE: &str = "banger-test-registry";

impl TokenIssuer {
    /// An issuer whose one token grants pull and push on `repositories`.
    pub fn new(repositories: &[&str]) -> Self {
        use ct_codecs::{Base64, Base64UrlSafeNoPadding, Encoder};
        use ring::{
            rand::SystemRandom,
            signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING},
        };
        let dir = tempfile::tempdir().unwrap();
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let signer =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap();
        let key = rcgen::KeyPair::try_from(pkcs8.as_ref()).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "banger test token signer");
        let cert = params.self_signed(&key).unwrap();
        let cert_path = dir.path().join("token-signer.pem");
        fs::write(&cert_path, cert.pem()).unwrap();
        let b64url = |bytes: &[u8]| Base64UrlSafeNoPadding::encode_to_string(bytes).unwrap();
        let header = serde_json::json!({
            "typ": "JWT", "alg": "ES256",
            "x5c": [Base64::encode_to_string(cert.der()).unwrap()],
        });
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let access: Vec<_> = repositories
            .iter()
            .map(|r| serde_json::json!({"type": "repository", "name": r, "actions": ["pull", "push"]}))
            .collect();
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": "fleet", "aud": SERVICE, "exp": now + 3600, "nbf": now - 60,
            "iat": now - 60, "jti": "banger-test-token", "access": access,
        });
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let signature = signer.sign(&rng, input.as_bytes()).unwrap();
        let token = format!("{input}.{}", b64url(signature.as_ref()));
        let www = dir.path().join("www");
        fs::create_dir_all(&www).unwrap();
        fs::write(
            www.join("token"),
            serde_json::json!({"token": token}).to_string(),
        )
        .unwrap();
        let server = crate::server::Server::https(&www);
        Self {
            server,
            _dir: dir,
            cert: cert_path,
        }
    }

    /// The realm URL the registry sends clients to.
    pub fn realm(&self) -> String {
        self.server.url("token")
    }

    /// The CA of the token service's own TLS certificate.
    pub fn ca_file(&self) -> &Path {
        self.server.ca_file()
    }

    /// The token requests so far, with their query strings.
    pub fn requests(&self) -> Vec<String> {
        self.server.requests()
    }
}

/// A running registry; killed when dropped.
pub struct Registry {
    child: Child,
    port: u16,
    work: tempfile::TempDir,
    log: PathBuf,
}

impl Registry {
    /// Start a registry with `auth`, over TLS.
    pub fn start(auth: Auth) -> Self {
        Self::start_with(auth, true)
    }

    /// Start a registry with `auth`, over TLS or plain HTTP (which clients allow on loopback).
    pub fn start_with(auth: Auth, tls: bool) -> Self {
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
        let auth = match auth {
            Auth::Token(issuer) => format!(
                "auth:\n  token:\n    realm: {}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
                issuer.realm(),
                issuer.cert.display()
            ),
            Auth::Basic(user, password) => {
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
            Auth::None => String::new(),
        };
        let tls = if tls {
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                w.join("cert.pem").display(),
                w.join("key.pem").display()
            )
        } else {
            String::new()
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{tls}{auth}",
            root = w.join("data").display(),
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
