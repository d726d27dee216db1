//! Signed catalog updates: interop with the `minisign` CLI, every refusal class, updates over
//! HTTPS, from a mirror (nginx) and from a directory with no network, update awareness and
//! `kernel upgrade`, a kill -9 during an update, and `kernel publish` signing.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::{json, Value};

use crate::util::{stderr, TestContext};

/// A key pair made by the `minisign` CLI, without a password: (public, secret).
pub fn minisign_keypair(t: &TestContext, name: &str) -> (PathBuf, PathBuf) {
    let dir = t.path(&format!("keys-{name}"));
    fs::create_dir_all(&dir).unwrap();
    let (public, secret) = (
        dir.join(format!("{name}.pub")),
        dir.join(format!("{name}.key")),
    );
    let out = Command::new("minisign")
        .args(["-G", "-W", "-p"])
        .arg(&public)
        .arg("-s")
        .arg(&secret)
        .output()
        .expect("the minisign CLI (apt-get install minisign)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (public, secret)
}

/// Sign `file` with the `minisign` CLI into `file.minisig`; `legacy` for the `Ed` algorithm.
pub fn minisign_sign(secret: &Path, file: &Path, legacy: bool) {
    let mut command = Command::new("minisign");
    command.arg("-S").arg("-s").arg(secret).arg("-m").arg(file);
    if legacy {
        command.arg("-l");
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A machine that trusts `public` and takes catalog updates, with no `$BANGER_CATALOG`.
pub struct Machine {
    pub t: TestContext,
    server: banger_testkit::server::Server,
    /// Where signed catalogs are made: `<dir>/catalog.json` and its `.minisig`.
    signed: PathBuf,
    public: PathBuf,
    secret: PathBuf,
}

impl Machine {
    pub fn new() -> Self {
        let mut t = TestContext::new();
        let server = t.https_server();
        let (public, secret) = minisign_keypair(&t, "release");
        t.env("BANGER_CATALOG", "");
        t.env("BANGER_CATALOG_KEYS", public.display().to_string());
        t.env("BANGER_CATALOG_URL", server.url("catalog.json"));
        let signed = t.path("www");
        Self {
            t,
            server,
            signed,
            public,
            secret,
        }
    }

    /// Write a schema 2 catalog of `entries` into `www/` and sign it with the CLI.
    fn sign(&self, serial: u64, expires: &str, entries: &[&Value]) -> String {
        let text = serde_json::to_string_pretty(&json!({
            "schema": 2, "serial": serial, "expires": expires, "entries": entries,
        }))
        .unwrap();
        self.sign_text(&text)
    }

    fn sign_text(&self, text: &str) -> String {
        let file = self.signed.join("catalog.json");
        fs::write(&file, text).unwrap();
        let _ = fs::remove_file(self.signed.join("catalog.json.minisig"));
        minisign_sign(&self.secret, &file, false);
        text.to_owned()
    }

    fn stored(&self) -> Option<Vec<u8>> {
        fs::read(self.t.path("state/catalog/catalog.json")).ok()
    }

    fn status(&self) -> Value {
        serde_json::from_str(&self.t.ok(&["kernel", "catalog", "status", "--json"])).unwrap()
    }

    fn available(&self) -> String {
        self.t.ok(&["kernel", "list", "--available", "--json"])
    }
}

const LATER: &str = "2099-01-01T00:00:00Z";

#[test]
fn a_catalog_signed_by_the_minisign_cli_is_accepted_in_both_algorithms() {
    let m = Machine::new();
    let void = m.t.publish("void", "void-6.12", "6.12.3", &m.server);
    assert_eq!(m.status()["origin"], "embedded");
    m.sign(1, LATER, &[&void.entry]);
    let out: Value =
        serde_json::from_str(&m.t.ok(&["kernel", "catalog", "update", "--json"])).unwrap();
    assert_eq!(
        (out["changed"].clone(), out["serial"].clone()),
        (json!(true), json!(1))
    );
    let status = m.status();
    assert_eq!(status["origin"], "updated");
    assert_eq!(status["serial"], 1);
    assert_eq!(status["entries"], 1);
    assert_eq!(status["url"], m.server.url("catalog.json"));
    let key_line = fs::read_to_string(&m.public).unwrap();
    let key_id = status["key_id"].as_str().unwrap();
    assert!(key_line.contains(key_id), "{key_id} not in {key_line}");

    // The legacy (non-prehashed) algorithm, as `minisign -S -l` makes it.
    let file = m.signed.join("catalog.json");
    fs::write(
        &file,
        serde_json::to_string(
            &json!({"schema": 2, "serial": 2, "expires": LATER, "entries": [void.entry]}),
        )
        .unwrap(),
    )
    .unwrap();
    let _ = fs::remove_file(m.signed.join("catalog.json.minisig"));
    minisign_sign(&m.secret, &file, true);
    assert!(fs::read_to_string(m.signed.join("catalog.json.minisig"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("RW"));
    m.t.ok(&["kernel", "catalog", "update"]);
    assert_eq!(m.status()["serial"], 2);
    // The same catalog again changes nothing.
    assert!(m
        .t
        .ok(&["kernel", "catalog", "update"])
        .contains("nothing to do"));
}

#[test]
fn every_refusal_leaves_the_stored_catalog_and_the_listing_as_they_were() {
    let m = Machine::new();
    let void = m.t.publish("void", "void-6.12", "6.12.3", &m.server);
    let alpine = m.t.publish("alpine", "alpine-6.6", "6.6.1", &m.server);
    let accepted = m.sign(5, LATER, &[&void.entry]);
    m.t.ok(&["kernel", "catalog", "update"]);
    let before = (m.stored().unwrap(), m.available());
    assert_eq!(before.0, accepted.as_bytes());
    let unchanged = |what: &str| {
        assert_eq!(
            m.stored().unwrap(),
            before.0,
            "{what}: the stored catalog changed"
        );
        assert_eq!(m.available(), before.1, "{what}: the listing changed");
    };
    let update = ["kernel", "catalog", "update"];
    let sig = m.signed.join("catalog.json.minisig");

    // A missing signature.
    m.sign(6, LATER, &[&void.entry, &alpine.entry]);
    fs::remove_file(&sig).unwrap();
    m.t.fails(&update, "has no signature");
    unchanged("missing signature");

    // A bad signature: the bytes changed after signing.
    let text = m.sign(6, LATER, &[&void.entry, &alpine.entry]);
    fs::write(
        m.signed.join("catalog.json"),
        text.replace("6.6.1", "6.6.2"),
    )
    .unwrap();
    m.t.fails(&update, "does not match the catalog's bytes");
    unchanged("bad signature");

    // A signature that is not one at all.
    m.sign(6, LATER, &[&void.entry, &alpine.entry]);
    fs::write(&sig, "untrusted comment: x\nnot base64 at all\n").unwrap();
    m.t.fails(&update, "is not a minisign signature");
    unchanged("malformed signature");

    // A key banger does not trust: the error names its key id.
    let (other_public, other_secret) = minisign_keypair(&m.t, "stranger");
    fs::write(
        m.signed.join("catalog.json"),
        serde_json::to_string(&json!({"schema": 2, "serial": 6, "expires": LATER, "entries": [void.entry, alpine.entry]})).unwrap(),
    )
    .unwrap();
    let _ = fs::remove_file(&sig);
    minisign_sign(&other_secret, &m.signed.join("catalog.json"), false);
    let stranger = fs::read_to_string(&other_public).unwrap();
    let stranger_id = stranger
        .lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    m.t.fails(
        &update,
        &format!("signed by key {stranger_id}, which banger does not trust"),
    );
    unchanged("untrusted key");

    // A rollback: an older serial, validly signed.
    m.sign(4, LATER, &[&void.entry, &alpine.entry]);
    m.t.fails(
        &update,
        "its serial 4 is older than the trusted catalog's 5",
    );
    unchanged("rollback");

    // The same serial with other bytes.
    m.sign(5, LATER, &[&void.entry, &alpine.entry]);
    m.t.fails(
        &update,
        "has serial 5 like the trusted catalog, but other bytes",
    );
    unchanged("same serial");

    // An expired catalog (a freeze): refused, then accepted with --allow-expired and a warning.
    m.sign(6, "2001-01-01T00:00:00Z", &[&void.entry, &alpine.entry]);
    let err = m.t.fails(&update, "expired at 2001-01-01T00:00:00Z");
    assert!(err.contains("--allow-expired"), "{err}");
    unchanged("expired");

    // An invalid document, validly signed: a duplicate entry, and schema 1 (no serial).
    m.sign(6, LATER, &[&void.entry, &void.entry]);
    m.t.fails(&update, "duplicate entry `void-6.12`");
    unchanged("duplicate");
    m.sign_text(&serde_json::to_string(&json!({"schema": 1, "entries": []})).unwrap());
    m.t.fails(&update, "an update must be schema 2");
    unchanged("schema 1");

    // No trusted key at all.
    let mut m = m;
    let empty = m.t.path("no-keys");
    fs::create_dir_all(&empty).unwrap();
    m.t.env("BANGER_CATALOG_KEYS", empty.display().to_string());
    m.sign(6, LATER, &[&void.entry, &alpine.entry]);
    m.t.fails(&update, "banger trusts no catalog signing key yet");
    assert_eq!(m.stored().unwrap(), before.0);
    m.t.env("BANGER_CATALOG_KEYS", m.public.display().to_string());

    // Finally --allow-expired takes an expired one, loudly.
    m.sign(6, "2001-01-01T00:00:00Z", &[&void.entry, &alpine.entry]);
    let out =
        m.t.banger(&["kernel", "catalog", "update", "--allow-expired"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ACCEPTED AN EXPIRED CATALOG"),
        "{}",
        stderr(&out)
    );
    let out = m.t.banger(&["kernel", "catalog", "status"]);
    assert!(
        stderr(&out).contains("expired at 2001-01-01"),
        "{}",
        stderr(&out)
    );
}

/// The maintainer's side of [`Machine`]: rclone into the bucket (`www/`, which the HTTPS server
/// publishes as BASE_URL), the signing key, and the repository's catalog.
pub fn maintainer(m: &mut Machine) -> PathBuf {
    let t = &mut m.t;
    t.env("RCLONE_CONFIG", t.path("rclone.conf").display().to_string());
    t.env("RCLONE_CONFIG_TESTR_TYPE", "local");
    t.env("RCLONE_REMOTE", "testr");
    t.env("RCLONE_BUCKET", t.path("www").display().to_string());
    t.env("BASE_URL", m.server.url("").trim_end_matches('/'));
    t.env("BANGER_SIGNING_KEY", m.secret.display().to_string());
    let catalog = t.path("repo/catalog.json");
    fs::create_dir_all(catalog.parent().unwrap()).unwrap();
    fs::write(&catalog, "{\"schema\": 1, \"entries\": []}\n").unwrap();
    catalog
}

fn publish(m: &Machine, catalog: &Path, extra: &[&str]) -> Value {
    let catalog = catalog.display().to_string();
    let mut args = vec!["kernel", "publish", "--catalog", &catalog, "--json"];
    args.extend(extra);
    serde_json::from_str(&m.t.ok(&args)).unwrap()
}

fn minisign_verifies(public: &Path, file: &Path) -> bool {
    Command::new("minisign")
        .arg("-V")
        .arg("-p")
        .arg(public)
        .arg("-m")
        .arg(file)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn publish_signs_machines_update_and_upgrade() {
    let mut m = Machine::new();
    let repo_catalog = maintainer(&mut m);
    let import = |t: &TestContext, tag: &str, version: &str| {
        let dir = crate::check::ready_build_dir(t, tag, version);
        let dir = dir.display().to_string();
        t.ok(&[
            "kernel",
            "import",
            "void-6.12",
            "--from",
            &dir,
            "--distro",
            "void",
            "--arch",
            "x86_64",
            "--force",
        ]);
    };

    // The maintainer publishes: the bundle, the catalog and its signature are uploaded and
    // checked, the serial goes up, the expiry is set, and the minisign CLI verifies it.
    import(&m.t, "v1", "6.12.3");
    let published = publish(&m, &repo_catalog, &["void-6.12", "--expires-days", "30"]);
    assert_eq!(published["serial"], 1);
    let expires = humantime::parse_rfc3339(published["expires"].as_str().unwrap()).unwrap();
    let days = expires
        .duration_since(std::time::SystemTime::now())
        .unwrap()
        .as_secs()
        / 86_400;
    assert!((29..=30).contains(&days), "{days}");
    let www = m.t.path("www");
    assert_eq!(
        fs::read(www.join("catalog.json")).unwrap(),
        fs::read(&repo_catalog).unwrap()
    );
    assert!(minisign_verifies(&m.public, &repo_catalog));
    assert!(minisign_verifies(&m.public, &www.join("catalog.json")));
    let heads: Vec<String> = m
        .server
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("HEAD"))
        .collect();
    for file in [
        "void-6.12-x86_64.tar.zst",
        "catalog.json",
        "catalog.json.minisig",
    ] {
        assert!(
            heads.iter().any(|r| r.contains(&format!("/{file} 200"))),
            "{heads:?}"
        );
    }
    let v1_sha = published["sha256"].clone();

    // A user's machine: a fresh state directory takes the update and pulls the kernel.
    let user = m.t.path("user-state");
    m.t.env("BANGER_STATE_DIR", user.display().to_string());
    assert_eq!(m.status()["origin"], "embedded");
    m.t.ok(&["kernel", "catalog", "update"]);
    assert!(m.available().contains("void-6.12"));
    m.t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);
    let listed: Value = serde_json::from_str(&m.t.ok(&["kernel", "list", "--json"])).unwrap();
    assert_eq!(listed[0]["sha256"], v1_sha);
    assert_eq!(listed[0]["update"], Value::Null);
    let rootfs = m.t.path("vm.ext4");
    fs::write(&rootfs, [0u8; 512]).unwrap();
    m.t.ok(&[
        "image",
        "register",
        "--name",
        "vm",
        "--rootfs",
        rootfs.to_str().unwrap(),
        "--kernel-ref",
        "void-6.12",
    ]);

    // The maintainer publishes a rebuild: serial 2.
    m.t.env("BANGER_STATE_DIR", m.t.path("state").display().to_string());
    import(&m.t, "v2", "6.12.9");
    let published = publish(&m, &repo_catalog, &["void-6.12"]);
    assert_eq!(published["serial"], 2);
    let v2_sha = published["sha256"].clone();
    assert_ne!(v1_sha, v2_sha);

    // The user updates: the installed kernel is marked, and upgrade brings it up to date.
    m.t.env("BANGER_STATE_DIR", user.display().to_string());
    m.t.ok(&["kernel", "catalog", "update"]);
    let listed: Value = serde_json::from_str(&m.t.ok(&["kernel", "list", "--json"])).unwrap();
    assert_eq!(
        listed[0]["update"],
        json!({"kernel_version": "6.12.9", "sha256": v2_sha})
    );
    assert!(m.t.ok(&["kernel", "list"]).contains("6.12.9 available"));
    let dry: Value =
        serde_json::from_str(&m.t.ok(&["kernel", "upgrade", "--all", "--dry-run", "--json"]))
            .unwrap();
    assert_eq!(dry[0]["action"], "would-upgrade");
    let done: Value =
        serde_json::from_str(&m.t.ok(&["kernel", "upgrade", "void-6.12", "--json"])).unwrap();
    assert_eq!(done[0]["action"], "upgraded");
    let listed: Value = serde_json::from_str(&m.t.ok(&["kernel", "list", "--json"])).unwrap();
    assert_eq!(
        (listed[0]["sha256"].clone(), listed[0]["update"].clone()),
        (v2_sha.clone(), Value::Null)
    );
    let image: Value = serde_json::from_str(&m.t.ok(&["image", "show", "vm", "--json"])).unwrap();
    assert_eq!(image["kernel"]["sha256"], v2_sha);
    assert_eq!(image["kernel_status"]["status"], "current");

    // --catalog-only renews the expiry with a new serial, and machines take it.
    m.t.env("BANGER_STATE_DIR", m.t.path("state").display().to_string());
    let renewed = publish(
        &m,
        &repo_catalog,
        &["--catalog-only", "--expires-days", "90"],
    );
    assert_eq!(renewed["serial"], 3);
    assert!(minisign_verifies(&m.public, &www.join("catalog.json")));
    m.t.env("BANGER_STATE_DIR", user.display().to_string());
    m.t.ok(&["kernel", "catalog", "update"]);
    assert_eq!(m.status()["serial"], 3);
}

#[test]
fn updates_travel_through_a_mirror_and_a_directory_with_no_network() {
    let m = Machine::new();
    let void = m.t.publish("void", "void-6.12", "6.12.3", &m.server);
    let alpine = m.t.publish("alpine", "alpine-6.6", "6.6.1", &m.server);
    m.sign(3, LATER, &[&alpine.entry, &void.entry]);
    m.t.ok(&["kernel", "catalog", "update"]);

    // A connected machine fills a directory: the signed catalog goes in byte for byte.
    let usb = m.t.path("usb");
    m.t.ok(&[
        "kernel",
        "mirror",
        usb.to_str().unwrap(),
        "--arch",
        "x86_64",
    ]);
    assert_eq!(
        fs::read(usb.join("catalog.json")).unwrap(),
        fs::read(m.signed.join("catalog.json")).unwrap()
    );
    assert!(minisign_verifies(&m.public, &usb.join("catalog.json")));

    // An air-gapped machine updates from it and pulls, with no network at all.
    let mut gapped = TestContext::new();
    gapped.env("BANGER_CATALOG", "");
    gapped.env("BANGER_CATALOG_KEYS", m.public.display().to_string());
    let dir = usb.to_str().unwrap();
    let out = gapped.banger_under(
        &["unshare", "-n"],
        &[
            "kernel", "catalog", "update", "--source", "offline", "--dir", dir,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = gapped.banger_under(
        &["unshare", "-n"],
        &[
            "kernel",
            "pull",
            "void-6.12",
            "--arch",
            "x86_64",
            "--source",
            "offline",
            "--dir",
            dir,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let status: Value =
        serde_json::from_str(&gapped.ok(&["kernel", "catalog", "status", "--json"])).unwrap();
    assert_eq!(
        (status["origin"].clone(), status["serial"].clone()),
        (json!("updated"), json!(3))
    );

    // A fleet machine updates from the same directory served by nginx.
    let nginx = banger_testkit::nginx::Nginx::serve(&usb);
    let mut fleet = TestContext::new();
    fleet.env("BANGER_CATALOG", "");
    fleet.env("BANGER_CATALOG_KEYS", m.public.display().to_string());
    fleet.ok(&[
        "kernel",
        "catalog",
        "update",
        "--source",
        "mirror",
        "--mirror",
        &nginx.url(""),
    ]);
    fleet.ok(&[
        "kernel",
        "pull",
        "alpine-6.6",
        "--arch",
        "x86_64",
        "--source",
        "mirror",
        "--mirror",
        &nginx.url(""),
    ]);
    assert!(
        nginx
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /catalog.json.minisig 200")),
        "{:?}",
        nginx.requests()
    );
}

#[test]
fn a_kill_during_an_update_never_leaves_a_catalog_that_fails_verification() {
    use banger_testkit::server::Fault;
    use std::time::Duration;
    let m = Machine::new();
    let void = m.t.publish("void", "void-6.12", "6.12.3", &m.server);
    m.sign(1, LATER, &[&void.entry]);
    m.t.ok(&["kernel", "catalog", "update"]);
    let seed = std::env::var("BANGER_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("kill test seed: {seed} (replay with BANGER_TEST_SEED={seed})");
    let mut random = fastrand::Rng::with_seed(seed);
    let mut interrupted = 0;
    // A big catalog, served slowly: 200 entries in about a second.
    let many: Vec<Value> = (0..200)
        .map(|i| {
            let mut e = void.entry.clone();
            e["name"] = json!(format!("k{i}-6.12"));
            e
        })
        .collect();
    for serial in 2..8 {
        m.sign(serial, LATER, &many.iter().collect::<Vec<_>>());
        m.server.set_fault(
            "catalog.json",
            Fault::Throttle(2048, Duration::from_millis(40)),
        );
        let mut child =
            m.t.command(&["kernel", "catalog", "update"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
        std::thread::sleep(Duration::from_millis(50 + random.u64(..1500)));
        let _ = child.kill();
        child.wait().unwrap();
        m.server.clear_fault("catalog.json");
        // Whatever is stored verifies, with banger and with the minisign CLI.
        let stored = m.t.path("state/catalog/catalog.json");
        let status = m.status();
        assert_eq!(status["origin"], "updated", "seed {seed}");
        assert!(minisign_verifies(&m.public, &stored), "seed {seed}");
        if status["serial"] != serial {
            interrupted += 1;
        }
    }
    assert!(
        interrupted >= 1,
        "no kill landed during an update (seed {seed})"
    );
    // And the next update completes.
    m.t.ok(&["kernel", "catalog", "update"]);
    assert_eq!(m.status()["serial"], 7);
}

#[test]
fn status_warns_when_the_catalog_expires_soon() {
    let m = Machine::new();
    let soon = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() + std::time::Duration::from_secs(3 * 86_400),
    )
    .to_string();
    m.sign(1, &soon, &[]);
    m.t.ok(&["kernel", "catalog", "update"]);
    let out = m.t.banger(&["kernel", "catalog", "status", "--json"]);
    assert!(
        stderr(&out).contains("in less than 7 days"),
        "{}",
        stderr(&out)
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(status["warning"].as_str().unwrap().contains("expires at"));
    // A developer override is labelled as such.
    let mut m = m;
    m.t.env(
        "BANGER_CATALOG",
        m.t.path("catalog.json").display().to_string(),
    );
    assert_eq!(m.status()["origin"], "override");
}

#[test]
fn an_exported_mirror_or_directory_does_not_block_an_update_from_a_url() {
    let mut m = Machine::new();
    let void = m.t.publish("void", "void-6.12", "6.12.3", &m.server);
    m.sign(1, LATER, &[&void.entry]);
    // Values from the environment are defaults for their own --source, not typed flags that
    // conflict with --url.
    m.t.env("BANGER_MIRROR_URL", "http://127.0.0.1:9/kernels");
    m.t.env("BANGER_OFFLINE_DIR", m.t.path("usb").display().to_string());
    let url = m.server.url("catalog.json");
    m.t.ok(&["kernel", "catalog", "update", "--url", &url]);
    assert_eq!(m.status()["serial"], 1);
    // Typed on the command line, a flag of another --source is a usage error.
    let out = m.t.banger(&[
        "kernel", "catalog", "update", "--url", &url, "--mirror", "x",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--mirror goes with --source mirror"));
}
