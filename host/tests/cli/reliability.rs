//! Flaky networks, interrupted and killed pulls, and concurrent processes, against the
//! fault-injecting loopback server.

use std::{
    fs,
    path::Path,
    process::{Child, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

use banger_testkit::{kernel, server::Fault};
use serde_json::Value;

use crate::util::{kernels_listing, stderr, Published, TestContext};

/// A context with one kernel, `void-6.12`, in the trusted catalog and a short read timeout.
pub(crate) fn setup() -> (TestContext, banger_testkit::server::Server, Published) {
    let mut t = TestContext::new();
    let server = t.https_server();
    let void = t.publish("void", "void-6.12", "6.12.3", &server);
    t.write_catalog(&[&void.entry]);
    t.env("BANGER_HTTP_TIMEOUT", "1");
    (t, server, void)
}

pub(crate) const PULL: [&str; 5] = ["kernel", "pull", "void-6.12", "--arch", "x86_64"];

fn size(p: &Published) -> usize {
    p.entry["size"].as_u64().unwrap() as usize
}

fn assert_installed(t: &TestContext, p: &Published) {
    kernel::assert_same_tree(&p.tree, &t.kernels().join("void-6.12"), &["manifest.json"]);
    assert!(
        !t.path("state/downloads").exists()
            || fs::read_dir(t.path("state/downloads")).unwrap().count() == 0,
        "the partial download was not removed"
    );
}

#[test]
fn transient_failures_are_retried_or_resumed_into_a_verified_install() {
    fn half(p: &Published) -> usize {
        size(p) / 2
    }
    type Case = (
        &'static str,
        fn(&Published) -> (Fault, Option<u32>),
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "truncated body",
            |p| (Fault::Truncate(half(p)), None),
            "206 bytes=",
        ),
        (
            "connection reset twice",
            |p| (Fault::Reset(half(p)), Some(2)),
            "206 bytes=",
        ),
        (
            "500 twice, then fine",
            |_| (Fault::Status(500), Some(2)),
            "GET /void-x86_64.tar.zst 500",
        ),
        (
            "stall past the read timeout",
            |p| (Fault::Stall(half(p), Duration::from_secs(3)), Some(1)),
            "206 bytes=",
        ),
    ];
    for (what, fault, in_log) in cases {
        let (t, server, void) = setup();
        let (fault, times) = fault(&void);
        match times {
            Some(n) => server.set_fault_times(&void.file, fault, n),
            None => server.set_fault(&void.file, fault),
        }
        let out = t.banger(&PULL);
        assert!(out.status.success(), "{what}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("retrying"),
            "{what}: {}",
            stderr(&out)
        );
        assert_installed(&t, &void);
        let log = server.requests().join("\n");
        assert!(log.contains(in_log), "{what}: `{in_log}` not in\n{log}");
    }
}

#[test]
fn a_server_that_ignores_range_is_read_from_the_start_without_corruption() {
    let (t, server, void) = setup();
    // In one process: the first answer breaks off, the ranged retry gets the whole file.
    server.set_fault(&void.file, Fault::IgnoreRange);
    server.set_fault_times(&void.file, Fault::Truncate(size(&void) / 3), 1);
    let out = t.banger(&PULL);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_installed(&t, &void);

    // Across processes: a kept prefix, and a server that answers Range with 200.
    let (t, server, void) = setup();
    let bytes = fs::read(t.path("www").join(&void.file)).unwrap();
    let downloads = t.path("state/downloads");
    fs::create_dir_all(&downloads).unwrap();
    let sha = void.entry["sha256"].as_str().unwrap();
    fs::write(downloads.join(format!("{sha}.partial")), &bytes[..1000]).unwrap();
    server.set_fault(&void.file, Fault::IgnoreRange);
    let out = t.banger(&PULL);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_installed(&t, &void);
    assert_eq!(
        server.requests(),
        vec![format!("GET /{} 200 bytes=1000-", void.file)]
    );
}

#[test]
fn bad_bytes_are_never_retried_and_a_corrupt_partial_is_discarded() {
    let (t, server, void) = setup();
    server.set_fault(&void.file, Fault::CorruptByte(size(&void) - 10));
    t.fails(&PULL, "integrity error: checksum mismatch");
    assert_eq!(server.requests().len(), 1, "{:?}", server.requests());
    assert!(kernels_listing(&t).is_empty());
    server.clear_fault(&void.file);

    // A kept prefix with a wrong byte: the resumed bundle fails the check, the partial goes,
    // and the next pull starts over and succeeds.
    let mut bytes = fs::read(t.path("www").join(&void.file)).unwrap();
    bytes[500] ^= 1;
    let sha = void.entry["sha256"].as_str().unwrap();
    let partial = t.path("state/downloads").join(format!("{sha}.partial"));
    fs::create_dir_all(partial.parent().unwrap()).unwrap();
    fs::write(&partial, &bytes[..5000]).unwrap();
    t.fails(&PULL, "integrity error: checksum mismatch");
    assert!(!partial.exists());
    t.ok(&PULL);
    assert_installed(&t, &void);

    // A server that always fails gives up after a bounded number of attempts.
    let (t, server, void) = setup();
    server.set_fault(&void.file, Fault::Status(503));
    let err = t.fails(&PULL, "answered HTTP 503");
    assert!(err.contains("attempt 5 of 5"), "{err}");
    assert_eq!(server.requests().len(), 5);
    assert!(kernels_listing(&t).is_empty());
}

/// Spawn a banger with the context's environment, without waiting.
fn spawn(t: &TestContext, args: &[&str]) -> Child {
    let mut command = t.command(args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command.spawn().unwrap()
}

/// How long any wait in these tests may take before it fails the test instead of hanging the
/// suite: far above what a passing run needs (each pull here takes seconds).
const DEADLINE: Duration = Duration::from_secs(120);

/// Poll `ready` until it holds; fail the test, naming `what`, if it does not within
/// [`DEADLINE`].
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < DEADLINE,
            "gave up after {DEADLINE:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// The output of `child` once it exits; killed, and the test failed, if it has not exited
/// within [`DEADLINE`]. The tests' children print little, so their pipes never fill.
fn exit_within(mut child: Child, what: &str) -> Output {
    wait_for(&format!("{what} to exit"), || {
        child.try_wait().unwrap().is_some()
    });
    child.wait_with_output().unwrap()
}

/// How many bytes of `p`'s bundle the partial download keeps (0 when there is none).
fn partial_len(t: &TestContext, p: &Published) -> u64 {
    let sha = p.entry["sha256"].as_str().unwrap();
    fs::metadata(t.path(&format!("state/downloads/{sha}.partial"))).map_or(0, |m| m.len())
}

/// The installed `void-6.12` is exactly `old` or exactly `new`; returns which.
fn old_or_new(t: &TestContext, old: &Published, new: &Published) -> &'static str {
    let dir = t.kernels().join("void-6.12");
    let manifest: Value =
        serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let (which, tree) = if manifest["sha256"] == old.entry["sha256"] {
        ("old", &old.tree)
    } else {
        assert_eq!(manifest["sha256"], new.entry["sha256"]);
        ("new", &new.tree)
    };
    kernel::assert_same_tree(tree, &dir, &["manifest.json"]);
    which
}

#[test]
fn kill_9_at_random_points_leaves_the_old_or_the_new_kernel_and_the_next_pull_resumes() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let old = t.publish("old", "void-6.12", "6.12.3", &server);
    let new = t.publish("new", "void-6.12", "6.12.4", &server);
    t.write_catalog(&[&old.entry]);
    t.ok(&PULL);
    // About 1.6 s per whole transfer: 8 KiB every 50 ms.
    for p in [&old, &new] {
        server.set_fault(&p.file, Fault::Throttle(8 << 10, Duration::from_millis(50)));
    }
    // The kill times come from a seed that is printed, and can be given back to replay a run.
    let seed = std::env::var("BANGER_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("kill test seed: {seed} (replay with BANGER_TEST_SEED={seed})");
    let mut random = fastrand::Rng::with_seed(seed);
    let force: Vec<&str> = PULL.iter().copied().chain(["--force"]).collect();

    // Each round asks for the kernel that is not installed, so every round has work to cut:
    // download, extraction, or the swap into place.
    let mut seen = Vec::new();
    for _ in 0..12 {
        let target = if old_or_new(&t, &old, &new) == "old" {
            &new
        } else {
            &old
        };
        t.write_catalog(&[&target.entry]);
        let kept = || partial_len(&t, target);
        let before = kept();
        let mut child = spawn(&t, &force);
        thread::sleep(Duration::from_millis(20 + random.u64(..1800)));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let after = kept();
        // Killed (not exited) with more bytes kept than before, but not all of them: the kill
        // landed while the bundle was arriving.
        let mid_transfer = status.code().is_none() && after > before && after < size(target) as u64;
        seen.push((status.code(), mid_transfer, old_or_new(&t, &old, &new)));
    }
    eprintln!("kill results (exit code, killed mid-transfer, installed): {seen:?}");
    let mid = seen.iter().filter(|(_, mid, _)| *mid).count();
    assert!(
        mid >= 3,
        "only {mid} of 12 kills landed mid-transfer (seed {seed}): {seen:?}"
    );

    // A kill in the middle of a transfer, then a pull that resumes from the kept bytes.
    // Start from nothing kept, so that the whole transfer is still ahead.
    t.ok(&["kernel", "gc"]);
    let target = if old_or_new(&t, &old, &new) == "old" {
        &new
    } else {
        &old
    };
    t.write_catalog(&[&target.entry]);
    let requests = server.requests().len();
    let mut child = spawn(&t, &force);
    wait_for("the pull's first request", || {
        server.requests().len() > requests
    });
    thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    old_or_new(&t, &old, &new);
    server.clear_fault(&target.file);
    let before = server.requests().len();
    let out = t.banger(&force);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("resumed at byte"), "{}", stderr(&out));
    let after = &server.requests()[before..];
    assert_eq!(after.len(), 1, "{after:?}");
    assert!(
        after[0].contains(" 206 bytes="),
        "the final pull did not resume: {after:?}"
    );
    assert_eq!(
        old_or_new(&t, &old, &new),
        if target.file == new.file {
            "new"
        } else {
            "old"
        }
    );

    // Nothing is left behind: no staging directory, no partial download.
    let leftovers: Vec<String> = fs::read_dir(t.kernels())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let partials = t.path("state/downloads");
    assert!(!partials.exists() || fs::read_dir(&partials).unwrap().count() == 0);
}

#[test]
fn concurrent_pulls_install_once_and_different_names_run_in_parallel() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let void = t.publish("void", "void-6.12", "6.12.3", &server);
    let alpine = t.publish("alpine", "alpine-6.6", "6.6.1", &server);
    t.write_catalog(&[&alpine.entry, &void.entry]);
    server.set_fault(
        &void.file,
        Fault::Throttle(32 << 10, Duration::from_millis(50)),
    );

    let children: Vec<Child> = (0..8).map(|_| spawn(&t, &PULL)).collect();
    for child in children {
        let out = exit_within(child, "a concurrent pull");
        assert!(out.status.success(), "{}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("installed kernel `void-6.12`") || text.contains("already installed"),
            "{text}"
        );
    }
    let gets: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("GET"))
        .collect();
    assert_eq!(gets, vec![format!("GET /{} 200", void.file)]);
    kernel::assert_same_tree(
        &void.tree,
        &t.kernels().join("void-6.12"),
        &["manifest.json"],
    );

    // Pulls of different names overlap: both requests arrive while both processes run.
    t.ok(&["kernel", "rm", "void-6.12"]);
    server.set_fault(
        &alpine.file,
        Fault::Throttle(32 << 10, Duration::from_millis(50)),
    );
    let before = server.requests().len();
    let mut a = spawn(&t, &PULL);
    let mut b = spawn(&t, &["kernel", "pull", "alpine-6.6", "--arch", "x86_64"]);
    wait_for("both pulls' requests", || {
        server.requests().len() >= before + 2
    });
    let overlapped = a.try_wait().unwrap().is_none() && b.try_wait().unwrap().is_none();
    let (a, b) = (
        exit_within(a, "the void pull"),
        exit_within(b, "the alpine pull"),
    );
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(b.status.success(), "{}", stderr(&b));
    assert!(overlapped, "the two pulls did not run at the same time");

    // A pull and an rm of the same name do not interleave: while a pull replaces void-6.12,
    // rm waits for its lock, then removes the new install.
    let newer = t.publish("newer", "void-6.12", "6.12.4", &server);
    t.write_catalog(&[&alpine.entry, &newer.entry]);
    server.set_fault(
        &newer.file,
        Fault::Throttle(32 << 10, Duration::from_millis(50)),
    );
    let force: Vec<&str> = PULL.iter().copied().chain(["--force"]).collect();
    let pull = spawn(&t, &force);
    wait_for("the replacing pull's request", || {
        server.requests().iter().any(|r| r.contains(&newer.file))
    });
    let rm = t.banger(&["kernel", "rm", "void-6.12"]);
    assert!(
        stderr(&rm).contains("waiting for another banger"),
        "{}",
        stderr(&rm)
    );
    assert!(rm.status.success(), "{}", stderr(&rm));
    let pulled = exit_within(pull, "the replacing pull");
    assert!(pulled.status.success(), "{}", stderr(&pulled));
    assert!(String::from_utf8_lossy(&pulled.stdout).contains("replaced kernel `void-6.12`"));
    assert!(!t.kernels().join("void-6.12").exists());
}

#[test]
fn gc_removes_leftovers_no_pull_holds() {
    let (t, server, void) = setup();
    server.set_fault(
        &void.file,
        Fault::Stall(size(&void) / 2, Duration::from_secs(30)),
    );
    let mut child = spawn(&t, &PULL);
    let sha = void.entry["sha256"].as_str().unwrap();
    let partial = t.path("state/downloads").join(format!("{sha}.partial"));
    wait_for("the pull's staging directory", || {
        t.kernels().exists() && fs::read_dir(t.kernels()).unwrap().count() >= 2
    });
    // While the pull runs, gc leaves its files alone.
    let busy: Value = serde_json::from_str(&t.ok(&["kernel", "gc", "--json"])).unwrap();
    assert_eq!(busy["partial_downloads"], 0);
    assert_eq!(busy["staging_directories"], 0);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(partial.exists());
    // What a killed `kernel import` leaves: its temporary bundle in the scratch directory.
    fs::write(
        t.path("state/downloads/.import-killed.tar.zst.partial"),
        "half a bundle",
    )
    .unwrap();
    let freed: Value = serde_json::from_str(&t.ok(&["kernel", "gc", "--json"])).unwrap();
    assert_eq!(freed["partial_downloads"], 2);
    assert_eq!(freed["staging_directories"], 1);
    assert!(freed["bytes_freed"].as_u64().unwrap() > 0);
    assert!(!partial.exists());
    assert!(kernels_listing(&t).is_empty(), "{:?}", kernels_listing(&t));
}

/// Run `script` as root in a private mount namespace; banger's path is `$1`.
fn in_mount_namespace(t: &TestContext, script: &str) -> std::process::Output {
    t.banger_under(&["unshare", "-m", "sh", "-c", script, "sh"], &[])
}

#[test]
fn an_unwritable_state_directory_and_a_full_disk_fail_cleanly() {
    let (t, _server, _void) = setup();
    let state = t.path("state");
    let state = state.to_str().unwrap();
    // A read-only file system as the state directory.
    let out = in_mount_namespace(
        &t,
        &format!(
            "mount -t tmpfs -o ro,size=1m,mode=0700 tmpfs {state} && \"$1\" kernel pull void-6.12 --arch x86_64; echo \"exit=$?\""
        ),
    );
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(text.contains("exit=1"), "{text}");
    assert!(text.contains("Read-only file system"), "{text}");
    assert!(!text.contains("panicked"), "{text}");

    // A disk too small for the unpacked kernel: the staging directory is removed again.
    let out = in_mount_namespace(
        &t,
        &format!(
            "mount -t tmpfs -o size=200k,mode=0700 tmpfs {state} && \"$1\" kernel pull void-6.12 --arch x86_64; echo \"exit=$?\"; find {state}/kernels -mindepth 1 -not -path '*/.locks*'"
        ),
    );
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(text.contains("exit=1"), "{text}");
    assert!(text.contains("No space left on device"), "{text}");
    let leftovers: Vec<&str> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('/'))
        .map(|_| "leftover")
        .collect();
    assert!(leftovers.is_empty(), "{text}");
}

#[test]
fn hostile_catalogs_and_names_fail_without_changing_state() {
    let t = TestContext::new();
    let entry = |name: &str, sha: &str| {
        format!(
            r#"{{"name":"{name}","distro":"void","arch":"x86_64","kernel_version":"6.12.3","url":"https://127.0.0.1:9/x.tar.zst","sha256":"{sha}","size":10}}"#
        )
    };
    let good = "a".repeat(64);
    let cases = [
        ("{ not json".to_owned(), "is not valid JSON"),
        (
            r#"{"schema":1,"entries":[{"name":"void-6.12"}]}"#.to_owned(),
            "missing field",
        ),
        (
            format!(
                r#"{{"schema":1,"entries":[{}]}}"#,
                entry("void-6.12", "XYZ")
            ),
            "sha256",
        ),
        (
            format!(
                r#"{{"schema":1,"entries":[{},{}]}}"#,
                entry("void-6.12", &good),
                entry("void-6.12", &good)
            ),
            "duplicate entry `void-6.12` for x86_64",
        ),
        (
            format!(r#"{{"schema":1,"entries":[{}]}}"#, entry("../evil", &good)),
            "kernel name `../evil`",
        ),
    ];
    for (catalog, expected) in cases {
        fs::write(t.path("catalog.json"), catalog).unwrap();
        t.fails(&["kernel", "list", "--available"], expected);
        t.fails(&PULL, expected);
        assert!(
            !t.path("state").join("kernels").exists(),
            "{expected}: state changed"
        );
    }
    let long = "a".repeat(65);
    for (name, expected) in [
        ("../x", "kernel name `../x`"),
        ("a/b", "contains `/`"),
        ("", "must not be empty"),
        (long.as_str(), "longer than 64 characters"),
        ("Void-6.12", "must start with a lowercase letter"),
    ] {
        t.fails(&["kernel", "pull", name], expected);
        t.fails(&["kernel", "rm", name], expected);
        t.fails(&["kernel", "show", name], expected);
    }
    assert!(!t.path("state").join("kernels").exists());
    assert!(Path::new(&t.path("state"))
        .read_dir()
        .unwrap()
        .next()
        .is_none());
}
