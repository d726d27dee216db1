//! Exit statuses, one class at a time (docs/errors.md's table, `host/src/ui/exit.rs`): each
//! test runs the real binary into a failure of its class under `--json`, and checks the exact
//! status and the error document on stderr, which [`crate::contract`] also holds to
//! `error.json`.

use std::{
    fs,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use banger_testkit::server::Fault;
use serde_json::Value;

use crate::{
    contract::validate_error,
    reliability::{setup as published, PULL},
    util::{kernels_listing, stderr, TestContext},
};

/// Run `banger ARGS --json`; require `status` and an error document of `class`; return it.
fn fails_as(t: &TestContext, args: &[&str], status: i32, class: &str) -> Value {
    let args = [args, &["--json"]].concat();
    let out = t.banger(&args);
    assert_eq!(
        out.status.code(),
        Some(status),
        "{args:?}: {}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
    let document = validate_error(&out).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert_eq!(document["class"], class, "{document}");
    document
}

#[test]
fn a_failure_without_a_better_class_exits_1() {
    let mut t = TestContext::new();
    let not_a_dir = t.path("kernels-file");
    fs::write(&not_a_dir, "").unwrap();
    t.env("BANGER_KERNELS_DIR", not_a_dir.display().to_string());
    fails_as(&t, &["kernel", "list"], 1, "failure");
}

#[test]
fn a_usage_error_exits_2_and_is_json_under_json() {
    let t = TestContext::new();
    let document = fails_as(&t, &["kernel", "list", "--frobnicate"], 2, "usage");
    assert!(
        document["error"].as_str().unwrap().contains("--frobnicate"),
        "{document}"
    );
    // Without --json it is clap's text, with the same status.
    let out = t.banger(&["kernel", "list", "--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
}

#[test]
fn a_kernel_that_cannot_be_checked_exits_2() {
    let t = TestContext::new();
    let missing = t.path("no-such-dir").display().to_string();
    fails_as(
        &t,
        &["kernel", "check", "--path", &missing],
        2,
        "cannot-check",
    );
}

#[test]
fn an_unknown_name_exits_3_with_its_hint() {
    let t = TestContext::new();
    let document = fails_as(&t, &["kernel", "show", "void-6.12"], 3, "not-found");
    assert_eq!(document["error"], "kernel `void-6.12` is not installed");
    assert_eq!(
        document["hint"],
        "run `banger kernel pull void-6.12` to install it"
    );
    fails_as(&t, &["image", "show", "vm"], 3, "not-found");
    fails_as(&t, &PULL, 3, "not-found");
    let source = ["kernel", "list", "--available", "--source", "nosuch"];
    fails_as(&t, &source, 3, "not-found");
}

#[test]
fn bytes_that_fail_verification_exit_4() {
    let (t, server, void) = published();
    server.set_fault(&void.file, Fault::CorruptByte(100));
    let document = fails_as(&t, &PULL, 4, "verification");
    assert!(
        document["error"]
            .as_str()
            .unwrap()
            .contains("checksum mismatch"),
        "{document}"
    );
    assert!(kernels_listing(&t).is_empty());
}

#[test]
fn a_network_failure_after_the_retries_exits_5() {
    let (t, server, void) = published();
    server.set_fault(&void.file, Fault::Status(503));
    fails_as(&t, &PULL, 5, "network");
    assert!(kernels_listing(&t).is_empty());
}

#[test]
fn a_refusal_by_policy_exits_6_with_its_hint() {
    let (t, _server, void) = published();
    // Only the directory's own catalog.json lists the kernel: banger does not trust it.
    t.write_catalog(&[]);
    let mut entry = void.entry.clone();
    entry["url"] = Value::from(void.file.clone());
    let index = serde_json::json!({ "schema": 1, "entries": [entry] });
    fs::write(t.path("www/catalog.json"), index.to_string()).unwrap();
    let www = t.path("www").display().to_string();
    let offline = [&PULL[..], &["--source", "offline", "--dir", &www]].concat();
    let document = fails_as(&t, &offline, 6, "refused");
    assert!(
        document["hint"]
            .as_str()
            .unwrap()
            .starts_with("pass --allow-unverified"),
        "{document}"
    );
    assert!(kernels_listing(&t).is_empty());
}

#[test]
fn an_interrupted_pull_exits_130_with_a_json_error_installs_nothing_and_resumes() {
    let (t, server, void) = published();
    server.set_fault_times(
        &void.file,
        Fault::Throttle(4 << 10, Duration::from_millis(100)),
        1,
    );
    let args = [&PULL[..], &["--json"]].concat();
    let child = t
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Mid-transfer: the partial download is there and growing.
    let sha256 = void.entry["sha256"].as_str().unwrap();
    let partial = t.path("state/downloads").join(format!("{sha256}.partial"));
    let start = Instant::now();
    while fs::metadata(&partial).map_or(0, |m| m.len()) == 0 {
        assert!(start.elapsed() < Duration::from_secs(60), "no download");
        thread::sleep(Duration::from_millis(20));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{:?}", out.status);
    let document = validate_error(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(document["class"], "interrupted", "{document}");
    assert_eq!(document["code"], 130, "{document}");
    let listing = kernels_listing(&t);
    assert!(
        !listing.iter().any(|name| name.starts_with("void-6.12")),
        "{listing:?}"
    );
    // The next pull resumes from what was kept, and installs the verified kernel.
    let out = t.banger(&PULL);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = format!("GET /{}", void.file);
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with(&file) && r.contains("bytes=")),
        "{requests:?}"
    );
    assert!(kernels_listing(&t).iter().any(|n| n == "void-6.12"));
}

#[test]
fn an_unsigned_catalog_update_is_refused_by_policy() {
    let t = TestContext::new();
    let dir = t.path("usb");
    fs::create_dir(&dir).unwrap();
    let index = serde_json::json!({ "schema": 2, "serial": 2, "entries": [] });
    fs::write(dir.join("catalog.json"), index.to_string()).unwrap();
    let dir = dir.display().to_string();
    let update = [
        "kernel", "catalog", "update", "--source", "offline", "--dir", &dir,
    ];
    let document = fails_as(&t, &update, 6, "refused");
    assert!(
        document["error"]
            .as_str()
            .unwrap()
            .contains("has no signature"),
        "{document}"
    );
}
