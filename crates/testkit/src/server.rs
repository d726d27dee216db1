//! A small HTTP(S) file server on 127.0.0.1 for tests.
//!
//! It serves a directory, logs every request, and injects faults per path. For HTTPS it makes a
//! fresh CA and a certificate for `127.0.0.1`/`localhost` at start; point `SSL_CERT_FILE` at
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
};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{pem::PemObject, PrivateKeyDer};

/// A fault to inject when a path is requested.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status and an empty body.
    Status(u16),
    /// Announce the full length but close after this many body bytes.
    Truncate(usize),
    /// Flip the bits of the byte at this offset.
    CorruptByte(usize),
}

/// A running server; it stops accepting when dropped.
pub struct Server {
    addr: SocketAddr,
    scheme: &'static str,
    ca_file: Option<tempfile::NamedTempFile>,
    log: Arc<Mutex<Vec<String>>>,
    faults: Arc<Mutex<HashMap<String, Fault>>>,
    stop: Arc<AtomicBool>,
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
            faults: Arc::default(),
            stop: Arc::default(),
        };
        let (root, log, faults, stop) = (
            root.to_owned(),
            server.log.clone(),
            server.faults.clone(),
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
                    faults: faults.clone(),
                };
                let tls = tls.clone();
                thread::spawn(move || match tls {
                    Some(config) => {
                        let Ok(connection) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        handler.serve(rustls::StreamOwned::new(connection, stream));
                    }
                    None => handler.serve(stream),
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

    /// Every request so far, as `METHOD /path STATUS`.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Inject `fault` for requests of `path` (without the leading slash).
    pub fn set_fault(&self, path: &str, fault: Fault) {
        self.faults
            .lock()
            .unwrap()
            .insert(format!("/{path}"), fault);
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
    faults: Arc<Mutex<HashMap<String, Fault>>>,
}

impl Handler {
    fn serve(&self, mut stream: impl Read + Write) {
        let mut head = String::new();
        {
            let mut reader = BufReader::new(&mut stream);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) if line == "\r\n" => break,
                    Ok(_) => head.push_str(&line),
                }
            }
        }
        let mut words = head.split_whitespace();
        let (method, path) = (
            words.next().unwrap_or("").to_owned(),
            words.next().unwrap_or("/").to_owned(),
        );
        let fault = self.faults.lock().unwrap().get(&path).cloned();
        let file = (!path.contains("..")).then(|| self.root.join(path.trim_start_matches('/')));
        let body = file.and_then(|f| fs::read(f).ok());
        let (status, mut body) = match (fault.clone(), body) {
            (Some(Fault::Status(status)), _) => (status, Vec::new()),
            (_, Some(body)) => (200, body),
            (_, None) => (404, Vec::new()),
        };
        self.log
            .lock()
            .unwrap()
            .push(format!("{method} {path} {status}"));
        let length = body.len();
        match fault {
            Some(Fault::Truncate(n)) => body.truncate(n),
            Some(Fault::CorruptByte(at)) if at < body.len() => body[at] ^= 0xff,
            _ => {}
        }
        let reason = if status == 200 { "OK" } else { "Error" };
        let header = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
        );
        let _ = stream.write_all(header.as_bytes());
        if method != "HEAD" {
            let _ = stream.write_all(&body);
        }
        let _ = stream.flush();
    }
}

/// A server config with a certificate for 127.0.0.1 signed by a fresh CA, and the CA's PEM.
fn tls_config() -> (rustls::ServerConfig, String) {
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
    let key = PrivateKeyDer::from_pem_slice(leaf_key.serialize_pem().as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    (config, ca.pem())
}
