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
struct Machine {
    t: TestContext,
    server: banger_testkit::server::Server,
    /// Where signed catalogs are made: `<dir>/catalog.json` and its `.minisig`.
    signed: PathBuf,
    public: PathBuf,
    secret: PathBuf,
}

impl Machine {
    fn new() -> Self {
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
