//! `kernel publish` with real rclone (a local backend) and a loopback HTTPS server over the
//! bucket, then `kernel pull` through the patched catalog.

use std::{fs, path::PathBuf};

use banger_testkit::{kernel, server::Server, sha256_hex};
use serde_json::Value;

use crate::{
    check::ready_build_dir,
    util::{stderr, TestContext},
};

/// A maintainer's setup: an rclone remote `testr` backed by the `www/` directory, which an
/// HTTPS server publishes as BASE_URL, and a catalog file in `repo/`.
struct Maintainer {
    t: TestContext,
    server: Server,
    catalog: PathBuf,
}

impl Maintainer {
    fn new() -> Self {
        let mut t = TestContext::new();
        let server = t.https_server();
        t.env("RCLONE_CONFIG", t.path("rclone.conf").display().to_string());
        t.env("RCLONE_CONFIG_TESTR_TYPE", "local");
        t.env("RCLONE_REMOTE", "testr");
        t.env("RCLONE_BUCKET", t.path("www").display().to_string());
        t.env("BASE_URL", server.url("").trim_end_matches('/'));
        let catalog = t.path("repo/catalog.json");
        fs::create_dir_all(catalog.parent().unwrap()).unwrap();
        fs::write(&catalog, "{\"schema\": 1, \"entries\": []}\n").unwrap();
        // The maintainer's key, made by the minisign CLI; machines trust its public half.
        let (public, secret) = crate::signed::minisign_keypair(&t, "maintainer");
        t.env("BANGER_SIGNING_KEY", secret.display().to_string());
        t.env("BANGER_CATALOG_KEYS", public.display().to_string());
        Self { t, server, catalog }
    }

    /// Import a fresh build directory `tag` (with a config `kernel check` finds ready) as
    /// `name`.
    fn import(&self, tag: &str, name: &str, distro: &str, extra: &[&str]) -> PathBuf {
        let dir = ready_build_dir(&self.t, tag, "6.12.3");
        self.import_dir(&dir, name, distro, extra);
        dir
    }

    /// Import the build directory `dir` as `name`.
    fn import_dir(&self, dir: &std::path::Path, name: &str, distro: &str, extra: &[&str]) {
        let dir_arg = dir.display().to_string();
        let mut args = vec![
            "kernel", "import", name, "--from", &dir_arg, "--distro", distro, "--arch", "x86_64",
        ];
        args.extend(extra);
        self.t.ok(&args);
    }

    fn publish(&self, name: &str, extra: &[&str]) -> std::process::Output {
        let catalog = self.catalog.display().to_string();
        let mut args = vec!["kernel", "publish", name, "--catalog", &catalog];
        args.extend(extra);
        self.t.banger(&args)
    }

    fn entries(&self) -> Vec<Value> {
        let catalog: Value = serde_json::from_slice(&fs::read(&self.catalog).unwrap()).unwrap();
        catalog["entries"].as_array().unwrap().clone()
    }
}

#[test]
fn import_publish_then_pull_through_the_patched_catalog() {
    let mut m = Maintainer::new();
    m.import("alpine", "alpine-6.6", "alpine", &[]);
    let void_dir = m.import("void", "void-6.12", "void", &["--description", "Void 6.12"]);

    let out = m.publish("alpine-6.6", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = m.publish("void-6.12", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = String::from_utf8(out.stdout).unwrap();
    for step in [
        format!("git diff -- {}", m.catalog.display()),
        format!("git add {}", m.catalog.display()),
        "git commit -m 'kernel catalog: add void-6.12'".to_owned(),
        "cargo build --release --workspace".to_owned(),
    ] {
        assert!(report.contains(&step), "missing `{step}` in:\n{report}");
    }

    // The bundle went through rclone into the bucket, and the catalog describes those bytes.
    let bundle = fs::read(m.t.path("www/void-6.12-x86_64.tar.zst")).unwrap();
    let entries = m.entries();
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpine-6.6", "void-6.12"]);
    let void = &entries[1];
    assert_eq!(void["sha256"], sha256_hex(&bundle));
    assert_eq!(void["size"], bundle.len());
    assert_eq!(void["url"], m.server.url("void-6.12-x86_64.tar.zst"));
    assert_eq!(void["kernel_version"], "6.12.3");
    assert_eq!(void["description"], "Void 6.12");
    let text = fs::read_to_string(&m.catalog).unwrap();
    assert!(text.ends_with("}\n") && text.contains("\n  \"entries\": [\n    {\n      \"name\""));
    assert!(m
        .server
        .requests()
        .contains(&"HEAD /void-6.12-x86_64.tar.zst 200".to_owned()));

    // Another machine trusts the patched catalog and pulls over HTTPS.
    m.t.env("BANGER_CATALOG", m.catalog.display().to_string());
    m.t.env("BANGER_STATE_DIR", m.t.path("state2").display().to_string());
    let out = m.t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);
    assert!(out.contains("checked against the trusted catalog"), "{out}");
    kernel::assert_same_tree(
        &void_dir,
        &m.t.path("state2/kernels/void-6.12"),
        &[".config", "config", "System.map", "manifest.json"],
    );
}

#[test]
fn republishing_replaces_one_entry_and_packing_is_reproducible() {
    let m = Maintainer::new();
    m.import("alpine", "alpine-6.6", "alpine", &[]);
    let dir = m.import("void", "void-6.12", "void", &[]);
    for name in ["void-6.12", "alpine-6.6"] {
        let out = m.publish(name, &[]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let before = m.entries();

    // Two dry runs of the same kernel give the same bytes, and the bytes that were published.
    let out_a = m.t.path("dist-a").display().to_string();
    let out_b = m.t.path("dist-b").display().to_string();
    for out in [&out_a, &out_b] {
        let run = m.publish("void-6.12", &["--dry-run", "--out", out, "--json"]);
        assert!(run.status.success(), "{}", stderr(&run));
        let result: Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(result["dry_run"], true);
        assert_eq!(result["change"], "unchanged");
        assert_eq!(result["sha256"], before[1]["sha256"]);
    }
    let file = "void-6.12-x86_64.tar.zst";
    let a = fs::read(m.t.path("dist-a").join(file)).unwrap();
    assert_eq!(a, fs::read(m.t.path("dist-b").join(file)).unwrap());
    assert_eq!(sha256_hex(&a), before[1]["sha256"]);
    assert_eq!(m.entries(), before, "a dry run changed the catalog");

    // A rebuilt kernel: re-import, republish; exactly one entry changes, order stays sorted.
    fs::write(dir.join("initrd.img"), "rebuilt initrd").unwrap();
    let dir_arg = dir.display().to_string();
    m.t.ok(&[
        "kernel",
        "import",
        "void-6.12",
        "--from",
        &dir_arg,
        "--distro",
        "void",
        "--arch",
        "x86_64",
        "--force",
    ]);
    let out = m.publish("void-6.12", &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["change"], "replaced");
    assert_eq!(
        result["next_steps"][2],
        "git commit -m 'kernel catalog: update void-6.12'"
    );
    let after = m.entries();
    assert_eq!(after.len(), 2);
    assert_eq!(after[0], before[0], "the other entry changed");
    assert_eq!(after[1]["name"], "void-6.12");
    assert_ne!(after[1]["sha256"], before[1]["sha256"]);
    assert_eq!(after[1]["sha256"], result["sha256"]);
}

#[test]
fn a_failed_upload_or_head_check_leaves_the_catalog_untouched() {
    let mut m = Maintainer::new();
    m.import("void", "void-6.12", "void", &[]);
    let original = fs::read(&m.catalog).unwrap();
    let unchanged = |m: &Maintainer, what: &str| {
        assert_eq!(fs::read(&m.catalog).unwrap(), original, "{what}");
    };
    let fails = |m: &Maintainer, expected: &str| {
        let out = m.publish("void-6.12", &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(expected), "expected `{expected}` in:\n{err}");
        unchanged(m, expected);
    };

    // HEAD answers 404: the bucket is not what BASE_URL serves.
    m.t.env("BASE_URL", m.server.url("not-the-bucket"));
    fails(&m, "answers 404 after the upload");

    // HEAD announces another length: BASE_URL serves a stale copy from another place.
    let stale = m.t.path("stale");
    fs::create_dir(&stale).unwrap();
    fs::write(stale.join("void-6.12-x86_64.tar.zst"), "an old upload").unwrap();
    let other = Server::https(&stale);
    m.t.env("SSL_CERT_FILE", other.ca_file().display().to_string());
    m.t.env("BASE_URL", other.url("").trim_end_matches('/'));
    fails(&m, "announces 13 bytes");
    assert!(other
        .requests()
        .contains(&"HEAD /void-6.12-x86_64.tar.zst 200".to_owned()));

    // rclone fails, or is missing.
    m.t.env("RCLONE_REMOTE", "nosuchremote");
    fails(&m, "rclone could not upload");
    let empty = m.t.path("empty-path");
    fs::create_dir(&empty).unwrap();
    m.t.env("PATH", empty.display().to_string());
    fails(&m, "`rclone` is not installed or not on PATH");

    // A BASE_URL the catalog source could never fetch from is refused before any work.
    m.t.env("BASE_URL", "http://127.0.0.1:9/kernels");
    fails(&m, "is not an https:// URL");
    m.t.env("BASE_URL", m.server.url("").trim_end_matches('/'));
    // BANGER_BASE_URL comes first; BASE_URL, the older generic name, is only its fallback.
    m.t.env("BANGER_BASE_URL", "http://127.0.0.1:9/first");
    m.t.env("BASE_URL", m.server.url("").trim_end_matches('/'));
    fails(&m, "`http://127.0.0.1:9/first` is not an https:// URL");
    m.t.env("BANGER_BASE_URL", m.server.url("").trim_end_matches('/'));

    // Bad names and catalogs.
    let catalog = m.catalog.display().to_string();
    m.t.fails(
        &["kernel", "publish", "void-6.13", "--catalog", &catalog],
        "kernel `void-6.13` is not installed",
    );
    m.t.fails(
        &[
            "kernel",
            "publish",
            "void-6.12",
            "--catalog",
            "/nonexistent/catalog.json",
        ],
        "cannot read catalog `/nonexistent/catalog.json`",
    );
    fs::write(&m.catalog, "{\"schema\": 1, \"entries\": [}").unwrap();
    m.t.fails(
        &["kernel", "publish", "void-6.12", "--catalog", &catalog],
        "is not valid JSON",
    );
}

#[test]
fn rclone_arguments_can_never_be_read_as_flags() {
    let mut m = Maintainer::new();
    m.import("void", "void-6.12", "void", &[]);
    let before = fs::read(&m.catalog).unwrap();
    for (remote, bucket, expected) in [
        (
            "--config=/tmp/evil.conf",
            "b",
            "rclone remote `--config=/tmp/evil.conf` is not a plain remote name",
        ),
        (":local", "b", "is not a plain remote name"),
        ("r2,env_auth=true", "b", "is not a plain remote name"),
        (
            "testr",
            "--dump=headers",
            "bucket `--dump=headers` is refused: it starts with `-`",
        ),
        ("testr", "other:bucket", "holds characters other than"),
        ("testr", "b/../../etc", "it has a `..` component"),
        ("testr", "a b", "holds characters other than"),
    ] {
        m.t.env("RCLONE_REMOTE", remote);
        m.t.env("RCLONE_BUCKET", bucket);
        let out = m.publish("void-6.12", &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{remote} {bucket}: {err}");
        assert!(err.contains(expected), "{remote} {bucket}: {err}");
        assert_eq!(fs::read(&m.catalog).unwrap(), before);
    }

    // What rclone receives: `--` before the positionals.
    let bin = m.t.path("bin");
    fs::create_dir_all(&bin).unwrap();
    let log = m.t.path("rclone-args.log");
    let real = which("rclone");
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > {}\nexec {} \"$@\"\n",
        log.display(),
        real.display()
    );
    write_executable(&bin.join("rclone"), &script);
    m.t.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    m.t.env("RCLONE_REMOTE", "testr");
    m.t.env("RCLONE_BUCKET", m.t.path("www").display().to_string());
    let out = m.publish("void-6.12", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let args = fs::read_to_string(&log).unwrap();
    let args: Vec<&str> = args.lines().collect();
    let dashes = args
        .iter()
        .position(|a| *a == "--")
        .expect("`--` is passed");
    assert_eq!(args.len(), dashes + 3, "{args:?}");
    assert!(args[dashes + 2].starts_with("testr:"), "{args:?}");
}

#[test]
fn an_edit_made_to_the_catalog_during_the_upload_is_kept() {
    let mut m = Maintainer::new();
    m.import("void", "void-6.12", "void", &[]);
    // rclone that, while "uploading", gets a maintainer's hand edit into the catalog.
    let edited = r#"{"schema": 1, "entries": [{"name": "alpine-6.6", "distro": "alpine", "arch": "x86_64", "kernel_version": "6.6.1", "url": "https://k.example/alpine-6.6-x86_64.tar.zst", "sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": 7}]}"#;
    let bin = m.t.path("bin");
    fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\nprintf '%s' '{edited}' > {}\nexec {} \"$@\"\n",
        m.catalog.display(),
        which("rclone").display()
    );
    write_executable(&bin.join("rclone"), &script);
    m.t.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    let out = m.publish("void-6.12", &[]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("changed during the upload"), "{err}");
    let names: Vec<String> = m
        .entries()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["alpine-6.6", "void-6.12"]);
}

fn which(program: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

fn write_executable(path: &std::path::Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, script).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_kernel_that_is_not_ready_is_published_only_with_allow_unready() {
    let m = Maintainer::new();
    // The plain build directory's config builds virtio-net in and nothing else.
    let dir = crate::import::build_dir(&m.t, "plain", "6.12.3");
    m.import_dir(&dir, "void-6.12", "void", &[]);
    let before = fs::read(&m.catalog).unwrap();
    for extra in [&["--dry-run"][..], &[]] {
        let out = m.publish("void-6.12", extra);
        // Refused by policy (docs/errors.md).
        assert_eq!(out.status.code(), Some(6), "{extra:?}");
        let err = stderr(&out);
        assert!(
            err.contains("kernel `void-6.12` is not ready for initrd: CONFIG_BLK_DEV_INITRD=unset, CONFIG_KVM_GUEST=unset"),
            "{err}"
        );
        assert!(
            err.contains("hint: `banger kernel check void-6.12` shows why; pass --allow-unready"),
            "{err}"
        );
    }
    assert!(!m.t.path("www/void-6.12-x86_64.tar.zst").exists());
    assert_eq!(fs::read(&m.catalog).unwrap(), before);

    let out = m.publish("void-6.12", &["--allow-unready"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out)
        .contains("warning: publishing kernel `void-6.12`, which is not ready for initrd"));
    assert!(m.t.path("www/void-6.12-x86_64.tar.zst").exists());
    assert_eq!(m.entries().len(), 1);
}
