//! A small HTTP(S) file server on 127.0.0.1 for tests.
//!
//! It serves a directory, answers `Range: bytes=N-` with 206 and a `Content-Range`, logs every
//! request (and, apart, those that carried an `Authorization`), injects faults per path (see
//! [`Fault`]), and gives canned answers with headers of their own ([`Server::respond`]), so
//! that a test can fake what a registry sends (`Link`, `Location`). For HTTPS it makes a fresh CA and a
//! certificate for `127.0.0.1`/`localhost` at start; point `SSL_CERT_FILE` at
//! [`Server::ca_file`] to trust it. One thread per connection, one request per connection.

use std::{
    collections::HashMap,
    fs,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread,
    time::Duration,
};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{pem::PemObject, PrivateKeyDer};

/// A fault to inject when a path is requested. Offsets count bytes of the body sent in that
/// response, which for a ranged request starts at the requested offset.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status and an empty body.
    Status(u16),
    /// Announce the full length but close after this many body bytes.
    Truncate(usize),
    /// Send this many body bytes, then reset the connection (TCP RST).
    Reset(usize),
    /// Flip the bits of the byte at this offset of the file.
    CorruptByte(usize),
    /// Send this many body bytes, then go silent for this long before closing.
    Stall(usize, Duration),
    /// Answer a ranged request with 200 and the whole file, as servers without Range do.
    IgnoreRange,
    /// Send the body in chunks of this many bytes with this pause after each: a slow link.
    Throttle(usize, Duration),
    /// Answer 429 with `Retry-After` of this many seconds.
    RetryAfter(u64),
    /// Answer 401 with this `WWW-Authenticate` header.
    Challenge(String),
}

/// A running server; it stops accepting when dropped.
pub struct Server {
    addr: SocketAddr,
    scheme: &'static str,
    ca_file: Option<tempfile::NamedTempFile>,
    log: Arc<Mutex<Vec<String>>>,
    authorized: Arc<Mutex<Vec<String>>>,
    faults: Arc<Mutex<HashMap<String, Vec<Armed>>>>,
    canned: Arc<Mutex<HashMap<String, Canned>>>,
    stop: Arc<AtomicBool>,
}

/// A canned answer: status, extra header lines, body.
#[derive(Clone, Debug)]
struct Canned {
    status: u16,
    headers: Vec<String>,
    body: Vec<u8>,
}

/// The value stored under `path` in `map`: the exact path (query included) first, else the
/// longest key ending in `*` that `path` starts with.
fn lookup<'m, V>(map: &'m HashMap<String, V>, path: &str) -> Option<&'m V> {
    map.get(path).or_else(|| {
        map.iter()
            .filter_map(|(key, value)| {
                let prefix = key.strip_suffix('*')?;
                path.starts_with(prefix).then_some((prefix.len(), value))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, value)| value)
    })
}

/// A fault and how many more requests it applies to (`None`: all of them).
#[derive(Clone, Debug)]
struct Armed {
    fault: Fault,
    times: Option<u32>,
}

impl Server {
    /// Serve `root` over HTTPS with a CA made now.
    pub fn https(root: &Path) -> Self {
        let (config, ca_pem) = tls_config();
        let mut ca_file = tempfile::NamedTempFile::new().unwrap();
        ca_file.write_all(ca_pem.as_bytes()).unwrap();
        Self::start(root, Some(Arc::new(config)), Some(ca_file))
    }

    /// Serve `root` over plain HTTP.
    pub fn http(root: &Path) -> Self {
        Self::start(root, None, None)
    }

    fn start(
        root: &Path,
        tls: Option<Arc<rustls::ServerConfig>>,
        ca_file: Option<tempfile::NamedTempFile>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Self {
            addr,
            scheme: if tls.is_some() { "https" } else { "http" },
            ca_file,
            log: Arc::default(),
            authorized: Arc::default(),
            faults: Arc::default(),
            canned: Arc::default(),
            stop: Arc::default(),
        };
        let (root, log, authorized, faults, canned, stop) = (
            root.to_owned(),
            server.log.clone(),
            server.authorized.clone(),
            server.faults.clone(),
            server.canned.clone(),
            server.stop.clone(),
        );
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let handler = Handler {
                    root: root.clone(),
                    log: log.clone(),
                    authorized: authorized.clone(),
                    faults: faults.clone(),
                    canned: canned.clone(),
                };
                let tls = tls.clone();
                thread::spawn(move || {
                    let Ok(raw) = stream.try_clone() else { return };
                    match tls {
                        Some(config) => {
                            let Ok(connection) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            handler.serve(rustls::StreamOwned::new(connection, stream), &raw);
                        }
                        None => handler.serve(stream, &raw),
                    }
                });
            }
        });
        server
    }

    /// The URL of `path` (which starts without a slash) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}://127.0.0.1:{}/{path}", self.scheme, self.addr.port())
    }

    /// The PEM file of the CA that signed this server's certificate (HTTPS only).
    pub fn ca_file(&self) -> &Path {
        self.ca_file.as_ref().expect("an HTTPS server").path()
    }

    /// Every request so far, as `METHOD /path STATUS`, plus ` bytes=N-` for a ranged request.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The requests so far that carried an `Authorization` header, as `METHOD /path SCHEME`
    /// (`Basic`, `Bearer`): the credentials themselves are not kept.
    pub fn authorized(&self) -> Vec<String> {
        self.authorized.lock().unwrap().clone()
    }

    /// Answer requests of `path` (without the leading slash, query included; a trailing `*`
    /// matches every path that starts with what precedes it) with `status`, the header lines
    /// `headers` (`"Link: <…>; rel=\"next\""`) and `body`, instead of a file. Faults still
    /// come first.
    pub fn respond(&self, path: &str, status: u16, headers: &[&str], body: &[u8]) {
        self.respond_to("", path, status, headers, body);
    }

    /// [`Server::respond`], for requests with `method` (`PUT`, `POST`) only; these come before
    /// the answers for every method.
    pub fn respond_to(&self, method: &str, path: &str, status: u16, headers: &[&str], body: &[u8]) {
        self.canned.lock().unwrap().insert(
            format!("{method} /{path}"),
            Canned {
                status,
                headers: headers.iter().map(|h| (*h).to_owned()).collect(),
                body: body.to_vec(),
            },
        );
    }

    /// Inject `fault` for every request of `path` (without the leading slash), replacing any
    /// other fault for it.
    pub fn set_fault(&self, path: &str, fault: Fault) {
        self.faults
            .lock()
            .unwrap()
            .insert(format!("/{path}"), vec![Armed { fault, times: None }]);
    }

    /// Inject `fault` for the next `times` requests of `path`, ahead of the faults already set
    /// for it, which apply again afterwards.
    pub fn set_fault_times(&self, path: &str, fault: Fault, times: u32) {
        self.faults
            .lock()
            .unwrap()
            .entry(format!("/{path}"))
            .or_default()
            .insert(
                0,
                Armed {
                    fault,
                    times: Some(times),
                },
            );
    }
}

impl Server {
    /// Stop injecting faults for `path`.
    pub fn clear_fault(&self, path: &str) {
        self.faults.lock().unwrap().remove(&format!("/{path}"));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

struct Handler {
    root: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    authorized: Arc<Mutex<Vec<String>>>,
    faults: Arc<Mutex<HashMap<String, Vec<Armed>>>>,
    canned: Arc<Mutex<HashMap<String, Canned>>>,
}

impl Handler {
    /// Take the first live fault for `path`, counting down a limited one.
    fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut faults = self.faults.lock().unwrap();
        let armed = faults
            .get_mut(path)?
            .iter_mut()
            .find(|a| a.times != Some(0))?;
        if let Some(n) = &mut armed.times {
            *n -= 1;
        }
        Some(armed.fault.clone())
    }

    /// Answer one request: a canned response, else the file below the root, with `Range`
    /// and whatever fault is armed for the path; every request is logged.
    fn serve(&self, mut stream: impl Read + Write, raw: &TcpStream) {
        let Some(head) = read_head(&mut stream) else {
            return;
        };
        let mut words = head.split_whitespace();
        let (method, path) = (
            words.next().unwrap_or("").to_owned(),
            words.next().unwrap_or("/").to_owned(),
        );
        let range: Option<usize> = headers(&head, "range").find_map(|value| {
            value
                .trim()
                .strip_prefix("bytes=")?
                .strip_suffix('-')?
                .parse()
                .ok()
        });
        if let Some(value) = headers(&head, "authorization").next() {
            let scheme = value.split_whitespace().next().unwrap_or("");
            self.authorized
                .lock()
                .unwrap()
                .push(format!("{method} {path} {scheme}"));
        }
        let fault = self.take_fault(&path);
        let canned = {
            let canned = self.canned.lock().unwrap();
            lookup(&canned, &format!("{method} {path}"))
                .or_else(|| lookup(&canned, &format!(" {path}")))
                .cloned()
        };
        let body = self.body(&path, canned.as_ref(), fault.as_ref());
        let total = body.as_ref().map_or(0, Vec::len);
        let ranged = range.filter(|_| !matches!(fault, Some(Fault::IgnoreRange)));
        let (status, body) = match (&fault, body, ranged) {
            (Some(Fault::Status(status)), _, _) => (*status, Vec::new()),
            (Some(Fault::RetryAfter(_)), _, _) => (429, Vec::new()),
            (Some(Fault::Challenge(_)), _, _) => (401, Vec::new()),
            (_, Some(body), _) if canned.is_some() => (canned.as_ref().unwrap().status, body),
            (_, None, _) => (404, Vec::new()),
            (_, Some(_), Some(start)) if start >= total => (416, Vec::new()),
            (_, Some(body), Some(start)) => (206, body[start..].to_vec()),
            (_, Some(body), None) => (200, body),
        };
        let range_note = range.map(|r| format!(" bytes={r}-")).unwrap_or_default();
        self.log
            .lock()
            .unwrap()
            .push(format!("{method} {path} {status}{range_note}"));
        let header = response_head(
            status,
            ranged,
            total,
            fault.as_ref(),
            canned.as_ref(),
            body.len(),
        );
        if stream.write_all(header.as_bytes()).is_err() || method == "HEAD" {
            return;
        }
        write_body(stream, &body, fault, raw);
    }

    /// What `path` serves: the canned body, else the file below the root (a query string, as
    /// a token request has, is ignored); a `CorruptByte` fault flips its byte.
    fn body(&self, path: &str, canned: Option<&Canned>, fault: Option<&Fault>) -> Option<Vec<u8>> {
        let file_path = path.split('?').next().unwrap_or_default();
        let file =
            (!file_path.contains("..")).then(|| self.root.join(file_path.trim_start_matches('/')));
        let mut body = match canned {
            Some(canned) => Some(canned.body.clone()),
            None => file.and_then(|f| fs::read(f).ok()),
        };
        if let (Some(Fault::CorruptByte(at)), Some(body)) = (fault, &mut body) {
            if let Some(byte) = body.get_mut(*at) {
                *byte ^= 0xff;
            }
        }
        body
    }
}

/// The request line and headers, up to the blank line; `None` when the client closed first.
/// The body (an upload's) is read and dropped before answering: a server that answers and
/// closes with the body unread makes the client's write fail with a reset.
fn read_head(stream: &mut impl Read) -> Option<String> {
    let mut head = String::new();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => head.push_str(&line),
        }
    }
    let length: u64 = headers(&head, "content-length")
        .find_map(|value| value.trim().parse().ok())
        .unwrap_or(0);
    let _ = std::io::copy(&mut reader.take(length), &mut std::io::sink());
    Some(head)
}

/// The values of every header `name` (in any case) in `head`, untrimmed.
fn headers<'a>(head: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> {
    head.lines().filter_map(move |line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then_some(value)
    })
}

/// The status line and headers of a response with a body of `length` bytes.
fn response_head(
    status: u16,
    ranged: Option<usize>,
    total: usize,
    fault: Option<&Fault>,
    canned: Option<&Canned>,
    length: usize,
) -> String {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        206 => "Partial Content",
        _ => "Error",
    };
    let content_range = match (status, ranged) {
        (206, Some(start)) => format!("Content-Range: bytes {start}-{}/{total}\r\n", total - 1),
        _ => String::new(),
    };
    let extra = match (fault, canned) {
        (Some(Fault::RetryAfter(seconds)), _) => format!("Retry-After: {seconds}\r\n"),
        (Some(Fault::Challenge(challenge)), _) => {
            format!("WWW-Authenticate: {challenge}\r\n")
        }
        (None, Some(canned)) => canned.headers.iter().map(|h| format!("{h}\r\n")).collect(),
        _ => String::new(),
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {length}\r\n{content_range}{extra}Accept-Ranges: bytes\r\nConnection: close\r\n\r\n",
    )
}

/// Write `body` as `fault` says: whole, cut short, reset, stalled or throttled.
fn write_body(mut stream: impl Write, body: &[u8], fault: Option<Fault>, raw: &TcpStream) {
    let _ = match fault {
        Some(Fault::Truncate(n)) => stream.write_all(&body[..n.min(body.len())]),
        Some(Fault::Reset(n)) => {
            let _ = stream.write_all(&body[..n.min(body.len())]);
            let _ = stream.flush();
            // Closing with a zero linger time sends RST instead of FIN.
            let _ = rustix::net::sockopt::set_socket_linger(raw, Some(Duration::ZERO));
            return;
        }
        Some(Fault::Stall(n, pause)) => {
            let _ = stream.write_all(&body[..n.min(body.len())]);
            let _ = stream.flush();
            thread::sleep(pause);
            return;
        }
        Some(Fault::Throttle(chunk, pause)) => {
            for part in body.chunks(chunk.max(1)) {
                if stream
                    .write_all(part)
                    .and_then(|()| stream.flush())
                    .is_err()
                {
                    return;
                }
                thread::sleep(pause);
            }
            Ok(())
        }
        _ => stream.write_all(body),
    };
    let _ = stream.flush();
}

/// A fresh CA and a certificate for 127.0.0.1 and localhost that it signed, as PEM.
pub struct TestCa {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCa {
    pub fn new() -> Self {
        let (ca, cert, key) = make_ca();
        Self {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

fn make_ca() -> (
    CertifiedIssuer<'static, KeyPair>,
    rcgen::Certificate,
    KeyPair,
) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "banger test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    (ca, leaf, leaf_key)
}

/// A server config with a certificate for 127.0.0.1 signed by a fresh CA, and the CA's PEM.
fn tls_config() -> (rustls::ServerConfig, String) {
    let (ca, leaf, leaf_key) = make_ca();
    let key = PrivateKeyDer::from_pem_slice(leaf_key.serialize_pem().as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .unwrap();
    (config, ca.pem())
}
