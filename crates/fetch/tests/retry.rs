//! One retry loop for every request: a 429's `Retry-After` is honoured (and bounded) whether
//! the request is sent as it is, started as a download, or resumed mid-body, and the same
//! statuses are transient on every path. Plain HTTP on loopback, with faults injected.

use std::{
    io::Read,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use banger_fetch::{Fetcher, HeaderMap, Method, Schemes};
use banger_testkit::server::{Fault, Server};

const BODY_LEN: usize = 64 * 1024;

/// A server with one file, `k.bin`, and a client whose notices are collected.
fn setup() -> (tempfile::TempDir, Server, Fetcher, Arc<Mutex<Vec<String>>>) {
    let root = tempfile::tempdir().unwrap();
    let body: Vec<u8> = (0..BODY_LEN).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.path().join("k.bin"), &body).unwrap();
    let server = Server::http(root.path());
    let notices = Arc::new(Mutex::new(Vec::new()));
    let seen = notices.clone();
    let fetcher = Fetcher::new(Schemes::HttpAndHttps)
        .unwrap()
        .with_notice(Arc::new(move |line: &str| {
            seen.lock().unwrap().push(line.to_owned())
        }));
    (root, server, fetcher, notices)
}

fn read_all(mut download: banger_fetch::Download) -> Vec<u8> {
    let mut bytes = Vec::new();
    download.read_to_end(&mut bytes).unwrap();
    bytes
}

fn gets(server: &Server) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /k.bin"))
        .count()
}

#[test]
fn a_download_waits_as_long_as_a_429_asks() {
    let (_root, server, fetcher, notices) = setup();
    server.set_fault_times("k.bin", Fault::RetryAfter(1), 1);
    let started = Instant::now();
    let bytes = read_all(fetcher.get(&server.url("k.bin")).unwrap());
    assert_eq!(bytes.len(), BODY_LEN);
    assert!(started.elapsed() >= Duration::from_secs(1), "did not wait");
    let notices = notices.lock().unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].contains("answered HTTP 429") && notices[0].contains("waiting 1 s as it asks"),
        "{notices:?}"
    );
}

#[test]
fn a_download_asked_to_wait_too_long_fails_at_once() {
    let (_root, server, fetcher, _) = setup();
    server.set_fault("k.bin", Fault::RetryAfter(120));
    let error = fetcher.get(&server.url("k.bin")).err().expect("an error");
    assert!(
        error
            .to_string()
            .contains("asked to wait 120 s, more than the 60 s banger waits"),
        "{error}"
    );
    assert_eq!(gets(&server), 1, "{:?}", server.requests());
}

#[test]
fn a_resumed_body_waits_as_long_as_a_429_asks() {
    let (_root, server, fetcher, notices) = setup();
    // The first answer breaks off; the ranged request that resumes it is asked to wait.
    server.set_fault_times("k.bin", Fault::RetryAfter(1), 1);
    server.set_fault_times("k.bin", Fault::Truncate(1000), 1);
    let download = fetcher.get(&server.url("k.bin")).unwrap();
    let started = Instant::now();
    let bytes = read_all(download);
    assert_eq!(bytes.len(), BODY_LEN);
    assert!((0..BODY_LEN).all(|i| bytes[i] == (i % 251) as u8));
    assert!(started.elapsed() >= Duration::from_secs(1), "did not wait");
    let notices = notices.lock().unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("failed at byte 1000") && n.contains("retrying in")),
        "{notices:?}"
    );
    assert!(
        notices
            .iter()
            .any(|n| n.contains("answered HTTP 429") && n.contains("waiting 1 s as it asks")),
        "{notices:?}"
    );
}

#[test]
fn every_path_retries_the_same_statuses() {
    let (_root, server, fetcher, _) = setup();
    let url = server.url("k.bin");
    for status in [500, 503, 408, 429] {
        server.set_fault_times("k.bin", Fault::Status(status), 1);
        let sent = fetcher
            .send(Method::GET, &url, &HeaderMap::new(), None)
            .unwrap();
        assert_eq!(sent.status().as_u16(), 200, "send after {status}");
        server.set_fault_times("k.bin", Fault::Status(status), 1);
        assert_eq!(read_all(fetcher.get(&url).unwrap()).len(), BODY_LEN);
    }
    // Not transient: answered once, on either path.
    for status in [403, 404] {
        server.set_fault_times("k.bin", Fault::Status(status), 1);
        let before = gets(&server);
        let sent = fetcher
            .send(Method::GET, &url, &HeaderMap::new(), None)
            .unwrap();
        assert_eq!(sent.status().as_u16(), status);
        server.set_fault_times("k.bin", Fault::Status(status), 1);
        assert!(fetcher.get(&url).is_err(), "get after {status}");
        assert_eq!(gets(&server) - before, 2, "{:?}", server.requests());
    }
}
