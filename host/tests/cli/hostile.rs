//! The trust boundary, tried as an attacker would: bundles, indexes and state files that claim
//! huge sizes, a state directory with planted links, credentials in URLs, control characters
//! in entries, and a server that trickles.

use std::{fs, os::unix::fs::PermissionsExt, path::Path};

use banger_testkit::{
    archive::{extension_bomb, Kind},
    nginx::Nginx,
    server::{Fault, Server},
    sha256_hex,
};
use serde_json::{json, Value};

use crate::util::{kernels_listing, stderr, with_peak_rss, Published, TestContext};

/// Peak RSS allowed for any input (the design notes' budget).
const RSS_BUDGET_MIB: f64 = 64.0;
/// What each bomb claims and carries: four times the budget.
const BOMB_BYTES: u64 = 256 << 20;

fn pull_args<'a>(name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["kernel", "pull", name, "--arch", "x86_64"];
    args.extend(extra);
    args
}

/// A catalog entry for the bundle at `www/<file>`, served from `url`.
fn entry_for(t: &TestContext, name: &str, file: &str, url: &str) -> Value {
    let bytes = fs::read(t.path("www").join(file)).unwrap();
    json!({
        "name": name, "distro": "void", "arch": "x86_64", "kernel_version": "6.12.3",
        "url": url, "sha256": sha256_hex(&bytes), "size": bytes.len(),
        "description": "hostile fixture",
    })
}

#[test]
fn extension_header_bombs_stay_within_the_memory_budget_on_every_catalog_transport() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let nginx = Nginx::serve(&t.path("www"));
    let www = t.path("www");
    let mut entries = Vec::new();
    let kinds = [
        (Kind::LongName, "GNU long name"),
        (Kind::LongLink, "GNU long link name"),
        (Kind::Pax, "PAX header"),
        (Kind::PaxGlobal, "PAX global header"),
    ];
    for (i, (kind, _)) in kinds.iter().enumerate() {
        let file = format!("bomb{i}-x86_64.tar.zst");
        extension_bomb(*kind, BOMB_BYTES, &www.join(&file));
        assert!(fs::metadata(www.join(&file)).unwrap().len() < 1 << 20);
        entries.push(entry_for(
            &t,
            &format!("bomb{i}"),
            &file,
            &server.url(&file),
        ));
    }
    t.write_catalog(&entries.iter().collect::<Vec<_>>());
    let mirror = nginx.url("");
    let www_dir = www.to_str().unwrap().to_owned();
    for (i, (_, what)) in kinds.iter().enumerate() {
        let name = format!("bomb{i}");
        for source in [
            vec![],
            vec!["--source", "mirror", "--mirror", &mirror],
            vec!["--source", "offline", "--dir", &www_dir],
        ] {
            let (out, peak) = with_peak_rss(&t, &pull_args(&name, &source));
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{source:?}: {err}");
            assert!(
                err.contains(&format!("its {what} claims {BOMB_BYTES} bytes")),
                "{source:?}: {err}"
            );
            assert!(
                peak <= RSS_BUDGET_MIB,
                "{name} via {source:?}: peak RSS {peak:.1} MiB"
            );
            assert!(kernels_listing(&t).is_empty(), "{:?}", kernels_listing(&t));
        }
    }
}

#[test]
fn oversized_indexes_and_state_files_are_refused_within_the_memory_budget() {
    let t = TestContext::new();
    // A mirror's catalog.json and a directory's, 512 MiB each (sparse: they cost no disk).
    let www = t.path("www");
    fs::File::create(www.join("catalog.json"))
        .unwrap()
        .set_len(512 << 20)
        .unwrap();
    let nginx = Nginx::serve(&www);
    let mirror = nginx.url("");
    let www_dir = www.to_str().unwrap();
    for source in [
        vec!["--source", "mirror", "--mirror", &mirror[..]],
        vec!["--source", "offline", "--dir", www_dir],
    ] {
        let mut args = vec!["kernel", "list", "--available"];
        args.extend(&source);
        let (out, peak) = with_peak_rss(&t, &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("larger than the 4194304 bytes"), "{err}");
        assert!(peak <= RSS_BUDGET_MIB, "{source:?}: peak RSS {peak:.1} MiB");
    }
    // The trusted catalog file itself.
    let mut big = t.root.path().to_owned();
    big.push("www/catalog.json");
    let (out, peak) = {
        let mut t2 = TestContext::new();
        t2.env("BANGER_CATALOG", big.to_str().unwrap());
        with_peak_rss(&t2, &["kernel", "list", "--available"])
    };
    assert!(stderr(&out).contains("larger than"), "{}", stderr(&out));
    assert!(peak <= RSS_BUDGET_MIB, "peak RSS {peak:.1} MiB");

    // A manifest and an image record of 2 GiB in the state directory.
    let kernel = t.kernels().join("void-6.12");
    fs::create_dir_all(&kernel).unwrap();
    fs::File::create(kernel.join("manifest.json"))
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let images = t.path("state/images");
    fs::create_dir_all(&images).unwrap();
    fs::File::create(images.join("void.json"))
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    for args in [
        vec!["kernel", "list"],
        vec!["kernel", "show", "void-6.12"],
        vec!["image", "show", "void"],
        vec!["image", "list"],
    ] {
        let (out, peak) = with_peak_rss(&t, &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("larger than the 1048576 bytes"),
            "{args:?}: {err}"
        );
        assert!(peak <= RSS_BUDGET_MIB, "{args:?}: peak RSS {peak:.1} MiB");
    }
}

/// A kernel `void-6.12` published on an HTTPS server and in the trusted catalog.
fn published() -> (TestContext, Server, Published) {
    let mut t = TestContext::new();
    let server = t.https_server();
    let void = t.publish("void-6.12", "void-6.12", "6.12.3", &server);
    t.write_catalog(&[&void.entry]);
    (t, server, void)
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn state_directories_are_private_and_a_shared_or_foreign_root_is_refused() {
    let (t, _server, _void) = published();
    // The test context made `state`; let banger make a root of its own below it.
    let mut t = t;
    let root = t.path("state/root");
    t.env("BANGER_STATE_DIR", root.to_str().unwrap());
    t.ok(&pull_args("void-6.12", &[]));
    for dir in ["", "kernels", "kernels/.locks"] {
        assert_eq!(mode(&root.join(dir)), 0o700, "{dir}");
    }
    assert_eq!(mode(&root.join("kernels/void-6.12")), 0o755);
    assert_eq!(mode(&root.join("kernels/void-6.12/vmlinux")), 0o644);

    fs::set_permissions(&root, fs::Permissions::from_mode(0o775)).unwrap();
    let err = t.fails(&["kernel", "list"], "is writable by its group (mode 0775)");
    assert!(
        err.contains(&format!("chmod 700 {}", root.display())),
        "{err}"
    );
    fs::set_permissions(&root, fs::Permissions::from_mode(0o707)).unwrap();
    t.fails(&["kernel", "list"], "is writable by others (mode 0707)");
    fs::set_permissions(&root, fs::Permissions::from_mode(0o700)).unwrap();
    t.ok(&["kernel", "list"]);

    std::os::unix::fs::chown(&root, Some(65534), None).unwrap();
    t.fails(&["kernel", "list"], "belongs to uid 65534");
    t.fails(
        &pull_args("void-6.12", &["--force"]),
        "belongs to uid 65534",
    );
}

#[test]
fn links_planted_in_the_state_directory_are_never_followed() {
    let (t, _server, void) = published();
    let victim = t.path("victim");
    fs::write(&victim, "precious\n").unwrap();
    let state = t.path("state");
    let sha = void.entry["sha256"].as_str().unwrap();
    let link = |at: &Path, to: &Path| {
        fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(to, at).unwrap();
    };

    // A partial download: a pull must not append bundle bytes to the victim.
    let partial = state.join(format!("downloads/{sha}.partial"));
    link(&partial, &victim);
    t.fails(&pull_args("void-6.12", &[]), "is a symbolic link");
    // gc skips it, and deletes nothing through it.
    let out = t.banger(&["kernel", "gc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    fs::remove_file(&partial).unwrap();

    // A lock file: nothing is created or written at its target.
    let lock = state.join("kernels/.locks/void-6.12.lock");
    let absent = t.path("created-through-a-link");
    fs::remove_file(&lock).unwrap();
    link(&lock, &absent);
    t.fails(&pull_args("void-6.12", &[]), "is a symbolic link");
    assert!(!absent.exists());
    fs::remove_file(&lock).unwrap();

    // A FIFO where a manifest should be: refused at once, no hang.
    t.ok(&pull_args("void-6.12", &[]));
    let manifest = t.kernels().join("void-6.12/manifest.json");
    fs::remove_file(&manifest).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(&manifest)
        .status()
        .unwrap()
        .success());
    t.fails(&["kernel", "show", "void-6.12"], "is not a regular file");
    fs::remove_file(&manifest).unwrap();
    link(&manifest, &victim);
    t.fails(&["kernel", "show", "void-6.12"], "is a symbolic link");
    t.ok(&["kernel", "rm", "void-6.12"]);

    // A kernel directory that is a link: refused; `rm` removes the link, not its target.
    let elsewhere = t.path("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    fs::write(elsewhere.join("vmlinux"), "not yours").unwrap();
    link(&t.kernels().join("void-6.12"), &elsewhere);
    t.fails(
        &["kernel", "show", "void-6.12"],
        "is not a directory banger made",
    );
    t.fails(
        &pull_args("void-6.12", &[]),
        "is not a directory banger made",
    );
    t.ok(&["kernel", "rm", "void-6.12"]);
    assert_eq!(
        fs::read_to_string(elsewhere.join("vmlinux")).unwrap(),
        "not yours"
    );

    // An image record that is a link.
    link(&state.join("images/void.json"), &victim);
    t.fails(&["image", "show", "void"], "is a symbolic link");
    t.fails(&["image", "list"], "is a symbolic link");
    fs::remove_file(state.join("images/void.json")).unwrap();

    // banger's own directories as links.
    for dir in ["downloads", "images"] {
        fs::remove_dir_all(state.join(dir)).unwrap();
        link(&state.join(dir), &elsewhere);
    }
    t.fails(&["image", "list"], "is a symbolic link");
    t.fails(&pull_args("void-6.12", &[]), "is a symbolic link");
    let kernels = t.kernels();
    fs::remove_dir_all(&kernels).unwrap();
    link(&kernels, &elsewhere);
    t.fails(&["kernel", "list"], "is a symbolic link");

    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 1);
}

#[test]
fn credentials_in_urls_never_reach_output_or_state() {
    let (mut t, _server, void) = published();
    let www = t.path("www");
    fs::write(
        www.join("catalog.json"),
        json!({"schema": 1, "entries": [void.entry]}).to_string(),
    )
    .unwrap();
    // A plain-HTTP mirror that fails once, so that a retry notice names the URL too.
    let mirror_server = Server::http(&www);
    mirror_server.set_fault_times(&void.file, Fault::Status(503), 1);
    let base = mirror_server.url("");
    let secret_base = base.replace("http://", "http://alice:s3cr3t@");
    let seen = std::cell::RefCell::new(String::new());
    let run = |t: &TestContext, args: &[&str]| {
        let out = t.banger(args);
        let mut seen = seen.borrow_mut();
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&stderr(&out));
        out
    };
    let out = run(
        &t,
        &pull_args(
            "void-6.12",
            &["--source", "mirror", "--mirror", &secret_base, "--json"],
        ),
    );
    assert!(out.status.success(), "{}", seen.borrow());
    assert!(
        seen.borrow().contains("retrying"),
        "the retry notice: {}",
        seen.borrow()
    );
    let manifest = fs::read_to_string(t.kernels().join("void-6.12/manifest.json")).unwrap();
    assert!(
        manifest.contains(&format!("{base}{}", void.file)),
        "{manifest}"
    );
    run(&t, &["kernel", "show", "void-6.12"]);
    run(&t, &["kernel", "show", "void-6.12", "--json"]);
    run(
        &t,
        &[
            "kernel",
            "list",
            "--available",
            "--json",
            "--source",
            "mirror",
            "--mirror",
            &secret_base,
        ],
    );
    let dir = t.path("copy");
    for json in [&[][..], &["--json"][..]] {
        let mut args = vec![
            "kernel",
            "mirror",
            dir.to_str().unwrap(),
            "--arch",
            "x86_64",
            "--source",
            "mirror",
            "--mirror",
            &secret_base,
        ];
        args.extend(json);
        run(&t, &args);
    }
    // Failures: a mirror that does not have the bundle, and one that is not there at all.
    run(&t, &["kernel", "rm", "void-6.12"]);
    mirror_server.set_fault(&void.file, Fault::Status(404));
    for mirror in [
        format!("{secret_base}missing"),
        "http://bob:hunter2@127.0.0.1:9/".to_owned(),
    ] {
        let args = ["--force", "--source", "mirror", "--mirror", &mirror];
        let out = run(&t, &pull_args("void-6.12", &args));
        assert!(!out.status.success());
    }
    // A catalog URL with a signature in its query string.
    let mut signed = void.entry.clone();
    signed["url"] = json!(format!(
        "{}?X-Amz-Signature=t0ps3cret",
        signed["url"].as_str().unwrap()
    ));
    t.write_catalog(&[&signed]);
    t.env("BANGER_HTTP_TIMEOUT", "5");
    // The test server ignores the query, as a CDN checking the signature would accept it: the
    // pull succeeds, and neither its output nor its manifest keeps the signature.
    let out = run(&t, &pull_args("void-6.12", &["--force", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let signed_manifest = fs::read_to_string(t.kernels().join("void-6.12/manifest.json")).unwrap();
    assert!(!signed_manifest.contains("t0ps3cret"), "{signed_manifest}");
    // A mirror base URL with a token in its query: whatever happens, the token is not shown.
    mirror_server.clear_fault(&void.file);
    run(
        &t,
        &pull_args(
            "void-6.12",
            &[
                "--force",
                "--source",
                "mirror",
                "--mirror",
                &format!("{base}?token=t0ps3cret"),
            ],
        ),
    );

    let seen = seen.into_inner();
    for secret in ["s3cr3t", "alice", "hunter2", "t0ps3cret"] {
        assert!(!seen.contains(secret), "`{secret}` leaked:\n{seen}");
    }
    let mut stored = manifest;
    for file in banger_testkit::kernel::list(&t.path("state")) {
        if let Ok(text) = fs::read_to_string(t.path("state").join(&file)) {
            stored.push_str(&text);
        }
    }
    stored.push_str(&fs::read_to_string(dir.join("catalog.json")).unwrap());
    assert!(
        !stored.contains("s3cr3t") && !stored.contains("alice"),
        "{stored}"
    );
}

#[test]
fn control_characters_in_any_entry_field_are_refused_and_never_printed_raw() {
    let t = TestContext::new();
    let dir = t.path("usb");
    fs::create_dir_all(&dir).unwrap();
    let good = json!({
        "name": "void-6.12", "distro": "void", "arch": "x86_64", "kernel_version": "6.12.3",
        "url": "void-6.12-x86_64.tar.zst", "sha256": "a".repeat(64), "size": 10,
        "description": "fine",
    });
    for field in [
        "name",
        "distro",
        "arch",
        "kernel_version",
        "url",
        "sha256",
        "description",
    ] {
        for hostile in [
            "\r\u{1b}[2Kvoid-6.12  x86_64  verified",
            "a\u{9b}31m",
            "a\u{7f}",
            "tab\there",
        ] {
            let mut entry = good.clone();
            let value = format!("{}{hostile}", entry[field].as_str().unwrap());
            entry[field] = json!(value);
            fs::write(
                dir.join("catalog.json"),
                json!({"schema": 1, "entries": [entry]}).to_string(),
            )
            .unwrap();
            let out = t.banger(&[
                "kernel",
                "list",
                "--available",
                "--source",
                "offline",
                "--dir",
                dir.to_str().unwrap(),
            ]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{field}: {err}");
            assert!(
                err.contains(&format!("{field}: contains the control character")),
                "{field}: {err}"
            );
            let all = format!("{}{err}", String::from_utf8_lossy(&out.stdout));
            assert!(
                !all.chars().any(|c| c.is_control() && c != '\n'),
                "{field}: raw control characters in {all:?}"
            );
        }
    }
    // Messages quoting what a user or plugin supplied are escaped too.
    let out = t.banger(&[
        "kernel",
        "list",
        "--available",
        "--source",
        "offline",
        "--dir",
        "/nonexistent/\u{1b}[31mred",
    ]);
    let err = stderr(&out);
    assert!(err.contains("\\u{1b}[31mred"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn image_records_follow_a_replaced_kernel_and_say_when_they_are_stale() {
    let (t, server, void) = published();
    let rootfs = t.path("void.ext4");
    fs::write(&rootfs, vec![0u8; 4096]).unwrap();
    t.ok(&pull_args("void-6.12", &[]));
    t.ok(&[
        "image",
        "register",
        "--name",
        "vm",
        "--rootfs",
        rootfs.to_str().unwrap(),
        "--kernel-ref",
        "void-6.12",
    ]);
    let show = |t: &TestContext| -> Value {
        serde_json::from_str(&t.ok(&["image", "show", "vm", "--json"])).unwrap()
    };
    assert_eq!(show(&t)["kernel"]["sha256"], void.entry["sha256"]);

    // A new bundle under the same name: `pull --force` rewrites the record in the same step.
    let newer = t.publish("void-6.12-r2", "void-6.12", "6.12.9", &server);
    t.write_catalog(&[&newer.entry]);
    let out = t.banger(&pull_args("void-6.12", &["--force"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("updated image record(s) vm"),
        "{}",
        stderr(&out)
    );
    let shown = show(&t);
    assert_eq!(shown["kernel"]["sha256"], newer.entry["sha256"]);
    assert_eq!(shown["kernel"]["kernel_version"], "6.12.9");
    assert_eq!(shown["kernel_status"]["status"], "current");

    // Another architecture under that name is refused while the image boots it.
    let mut arm = newer.entry.clone();
    arm["arch"] = json!("arm64");
    t.write_catalog(&[&newer.entry, &arm]);
    let err = t.fails(
        &["kernel", "pull", "void-6.12", "--arch", "arm64", "--force"],
        "image(s) vm boot it; replacing it with an arm64 kernel is refused",
    );
    assert!(err.contains("banger image rm vm"), "{err}");
    assert_eq!(show(&t)["kernel"]["arch"], "x86_64");

    // A record that disagrees anyway (a crash between the two writes) is shown as stale.
    let record = t.path("state/images/vm.json");
    let mut image: Value = serde_json::from_slice(&fs::read(&record).unwrap()).unwrap();
    image["kernel"]["sha256"] = void.entry["sha256"].clone();
    fs::write(&record, image.to_string()).unwrap();
    let shown = show(&t);
    assert_eq!(shown["kernel_status"]["status"], "stale");
    assert_eq!(
        shown["kernel_status"]["installed_sha256"],
        newer.entry["sha256"]
    );
    let text = t.ok(&["image", "show", "vm"]);
    assert!(text.contains("STALE") && text.contains("(stale)"), "{text}");
    assert!(t.ok(&["image", "list"]).contains("STALE"));

    // A removed kernel: missing, and its paths are not presented as good.
    t.ok(&["kernel", "rm", "void-6.12", "--force"]);
    assert_eq!(show(&t)["kernel_status"]["status"], "missing");
    let text = t.ok(&["image", "show", "vm"]);
    assert!(
        text.contains("MISSING") && text.contains("(stale)"),
        "{text}"
    );
}

#[test]
fn a_trickling_server_is_cut_off_retried_and_reported() {
    let (mut t, server, void) = published();
    // 64 bytes every 100 ms: 640 bytes/s, below the 1 KiB/s floor. One second of that counts
    // as a stall here (60 s by default).
    t.env("BANGER_HTTP_LOW_SPEED_TIME", "1");
    server.set_fault_times(
        &void.file,
        Fault::Throttle(64, std::time::Duration::from_millis(100)),
        1,
    );
    let out = t.banger(&pull_args("void-6.12", &[]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("the transfer stalled"), "{err}");
    assert!(err.contains("below 1024 bytes/s"), "{err}");
    t.ok(&["kernel", "rm", "void-6.12"]);

    // Trickling for good: the retries run out and the pull fails, naming the URL.
    server.set_fault(
        &void.file,
        Fault::Throttle(64, std::time::Duration::from_millis(100)),
    );
    let err = t.fails(&pull_args("void-6.12", &[]), "after 5 attempts");
    assert!(
        err.contains("the transfer stalled") && err.contains(&void.file),
        "{err}"
    );
    assert!(kernels_listing(&t).is_empty());
}

#[test]
fn the_staged_kernel_reaches_the_disk_before_the_rename_that_installs_it() {
    let (t, _server, _void) = published();
    let trace = t.path("strace.log");
    let out = t.banger_under(
        &[
            "strace",
            "-f",
            "-o",
            trace.to_str().unwrap(),
            "-e",
            "trace=syncfs,fsync,renameat2,rename",
        ],
        &pull_args("void-6.12", &[]),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let log = fs::read_to_string(&trace).unwrap();
    let calls: Vec<&str> = log.lines().collect();
    let position = |needle: &str| {
        calls
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in\n{log}"))
    };
    let sync = position("syncfs(");
    let rename = position("/kernels/void-6.12\"");
    assert!(sync < rename, "syncfs must come before the rename:\n{log}");
    // After the rename, the kernels directory itself is flushed.
    assert!(
        calls[rename..].iter().any(|l| l.contains("fsync(")),
        "no fsync after the rename:\n{log}"
    );
}
