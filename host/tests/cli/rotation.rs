//! Key rotation and recovery, with keys made and catalogs signed by the `minisign` CLI: a stored
//! catalog whose key is no longer trusted stops counting, so revoking a key lets a catalog
//! signed by the new one in, and undoes a fast-forward (serial `u64::MAX`) signed with a stolen
//! key; rollback below what trusted keys signed stays refused.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use serde_json::{json, Value};

use crate::{
    signed::{minisign_keypair, minisign_sign},
    util::{stderr, Published, TestContext},
};

const LATER: &str = "2099-01-01T00:00:00Z";

/// A machine that takes catalog updates over HTTPS and trusts the keys in `trusted/`, and a
/// maintainer who signs with keys `a` and `b`.
struct Rotation {
    t: TestContext,
    _server: banger_testkit::server::Server,
    void: Published,
    trusted: PathBuf,
    a: (PathBuf, PathBuf),
    b: (PathBuf, PathBuf),
}

impl Rotation {
    fn new() -> Self {
        let mut t = TestContext::new();
        let server = t.https_server();
        let void = t.publish("void", "void-6.12", "6.12.3", &server);
        let trusted = t.path("trusted");
        fs::create_dir(&trusted).unwrap();
        t.env("BANGER_CATALOG", "");
        t.env("BANGER_CATALOG_KEYS", trusted.display().to_string());
        t.env("BANGER_CATALOG_URL", server.url("catalog.json"));
        let (a, b) = (minisign_keypair(&t, "a"), minisign_keypair(&t, "b"));
        Self {
            t,
            _server: server,
            void,
            trusted,
            a,
            b,
        }
    }

    /// Trust exactly these public keys, as a user does by editing the keys directory.
    fn trust(&self, keys: &[&Path]) {
        for old in fs::read_dir(&self.trusted).unwrap() {
            fs::remove_file(old.unwrap().path()).unwrap();
        }
        for key in keys {
            fs::copy(key, self.trusted.join(key.file_name().unwrap())).unwrap();
        }
    }

    /// Serve a schema 2 catalog with `serial`, signed with `secret`; `variant` changes its
    /// bytes without changing its serial.
    fn serve(&self, serial: u64, secret: &Path, variant: &str) {
        let file = self.t.path("www/catalog.json");
        let mut entry = self.void.entry.clone();
        entry["description"] = json!(format!("fixture kernel {variant}"));
        let text = serde_json::to_string_pretty(&json!({
            "schema": 2, "serial": serial, "expires": LATER, "entries": [entry],
        }))
        .unwrap();
        fs::write(&file, text).unwrap();
        let _ = fs::remove_file(self.t.path("www/catalog.json.minisig"));
        minisign_sign(secret, &file, false);
    }

    fn update(&self) -> Value {
        serde_json::from_str(&self.t.ok(&["kernel", "catalog", "update", "--json"])).unwrap()
    }

    fn status(&self) -> Value {
        serde_json::from_str(&self.t.ok(&["kernel", "catalog", "status", "--json"])).unwrap()
    }
}

/// The key id the minisign CLI prints for `public` (the end of its comment line).
fn key_id(public: &Path) -> String {
    let text = fs::read_to_string(public).unwrap();
    let id = text.lines().next().unwrap().rsplit(' ').next().unwrap();
    assert!(
        id.len() >= 8 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{text}"
    );
    id.to_owned()
}

/// What status and every other command say about a stored catalog signed by key `id` that
/// banger no longer trusts.
fn assert_ignored_naming(r: &Rotation, id: &str) {
    let status = r.status();
    assert_eq!(status["origin"], "embedded", "{status}");
    assert_eq!(status["serial"], 0, "{status}");
    assert_eq!(status["ignored"]["key_id"], id, "{status}");
    let reason = status["ignored"]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!(
            "signed by key {id}, which banger no longer trusts"
        )),
        "{reason}"
    );
    let text = r.t.ok(&["kernel", "catalog", "status"]);
    assert!(
        text.contains("ignored:") && text.contains(&format!("key {id}")),
        "{text}"
    );
    // Any other command uses the embedded catalog, and says why, once.
    let out = r.t.banger(&["kernel", "list", "--available", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let warnings = stderr(&out);
    assert_eq!(
        warnings
            .matches("ignoring the stored catalog update")
            .count(),
        1,
        "{warnings}"
    );
    assert!(warnings.contains(&format!("key {id}")), "{warnings}");
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed, json!([]), "the embedded catalog is empty");
}

#[test]
fn a_catalog_signed_by_the_new_key_replaces_one_signed_by_a_revoked_key() {
    let r = Rotation::new();
    let (a_pub, a_key) = &r.a;
    let (b_pub, b_key) = &r.b;
    r.trust(&[a_pub]);
    r.serve(5, a_key, "five");
    assert_eq!(r.update()["serial"], 5);
    assert_eq!(r.status()["key_id"], key_id(a_pub));

    // The user revokes A and trusts only B: the stored serial 5 no longer counts.
    r.trust(&[b_pub]);
    assert_ignored_naming(&r, &key_id(a_pub));

    // B's serial 6 is taken, though A's serial 5 is stored.
    r.serve(6, b_key, "six");
    let updated = r.update();
    assert_eq!(
        (updated["changed"].clone(), updated["serial"].clone()),
        (json!(true), json!(6))
    );
    assert_eq!(
        updated["previous_serial"], 0,
        "A's serial 5 counted: {updated}"
    );
    let status = r.status();
    assert_eq!(
        (
            status["origin"].clone(),
            status["serial"].clone(),
            status["key_id"].clone(),
            status["ignored"].clone()
        ),
        (
            json!("updated"),
            json!(6),
            json!(key_id(b_pub)),
            Value::Null
        )
    );
    let out = r.t.banger(&["kernel", "list", "--available", "--json"]);
    assert!(!stderr(&out).contains("ignoring"), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("void-6.12"));

    // The revoked key signs nothing any more, whatever the serial.
    r.serve(7, a_key, "seven");
    r.t.fails(
        &["kernel", "catalog", "update"],
        &format!(
            "signed by key {}, which banger does not trust",
            key_id(a_pub)
        ),
    );
    assert_eq!(r.status()["serial"], 6);
}

#[test]
fn revoking_a_stolen_key_undoes_its_fast_forward_and_rollback_stays_refused() {
    let r = Rotation::new();
    let (a_pub, a_key) = &r.a;
    let (b_pub, b_key) = &r.b;
    // A rotation is under way: both keys are trusted. A thief with A's secret key publishes
    // the highest serial there is, and nothing signed later gets in while A is trusted.
    r.trust(&[a_pub, b_pub]);
    r.serve(u64::MAX, a_key, "stolen");
    assert_eq!(r.update()["serial"], u64::MAX);
    r.serve(3, b_key, "three");
    r.t.fails(
        &["kernel", "catalog", "update"],
        &format!(
            "its serial 3 is older than the trusted catalog's {}",
            u64::MAX
        ),
    );

    // The user revokes A: the fast-forward stops counting, and says whose it was.
    r.trust(&[b_pub]);
    assert_ignored_naming(&r, &key_id(a_pub));

    // B's serial 3 is taken: above the embedded catalog's 0, which always counts.
    r.serve(3, b_key, "three");
    let updated = r.update();
    assert_eq!(
        (
            updated["serial"].clone(),
            updated["previous_serial"].clone()
        ),
        (json!(3), json!(0))
    );
    assert_eq!(r.status()["key_id"], key_id(b_pub));
    assert!(r.t.path("state/catalog/catalog.json").exists());

    // B's serial 3 is now the baseline: an older one, or the same serial with other bytes,
    // is refused, and the stored catalog stays.
    let stored = fs::read(r.t.path("state/catalog/catalog.json")).unwrap();
    r.serve(2, b_key, "two");
    r.t.fails(
        &["kernel", "catalog", "update"],
        "its serial 2 is older than the trusted catalog's 3 (a rollback)",
    );
    r.serve(3, b_key, "three again, other bytes");
    r.t.fails(
        &["kernel", "catalog", "update"],
        "has serial 3 like the trusted catalog, but other bytes",
    );
    assert_eq!(
        fs::read(r.t.path("state/catalog/catalog.json")).unwrap(),
        stored
    );

    // Trusting A again brings nothing back: the stolen catalog is gone from the store.
    r.trust(&[a_pub, b_pub]);
    assert_eq!(r.status()["serial"], 3);
}

#[test]
fn revoking_the_newest_key_falls_back_to_what_the_other_trusted_key_signed() {
    let r = Rotation::new();
    let (a_pub, a_key) = &r.a;
    let (b_pub, b_key) = &r.b;
    r.trust(&[a_pub, b_pub]);
    r.serve(5, b_key, "five");
    r.update();
    // The stolen key A fast-forwards past B's serial 5.
    r.serve(u64::MAX, a_key, "stolen");
    r.update();
    assert_eq!(r.status()["serial"], u64::MAX);
    let kept = r.t.path("state/catalog/by-key").join(key_id(b_pub));
    for dir in [kept.parent().unwrap(), &kept] {
        let mode = fs::symlink_metadata(dir).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700, "{}", dir.display());
    }

    // Revoking A brings back B's serial 5, kept for this, as the catalog in force and as the
    // baseline: an older catalog B signed cannot be replayed now.
    r.trust(&[b_pub]);
    let status = r.status();
    assert_eq!(
        (
            status["origin"].clone(),
            status["serial"].clone(),
            status["key_id"].clone(),
            status["ignored"]["key_id"].clone()
        ),
        (
            json!("updated"),
            json!(5),
            json!(key_id(b_pub)),
            json!(key_id(a_pub))
        ),
        "{status}"
    );
    assert!(r
        .t
        .ok(&["kernel", "list", "--available"])
        .contains("void-6.12"));
    r.serve(3, b_key, "three");
    r.t.fails(
        &["kernel", "catalog", "update"],
        "its serial 3 is older than the trusted catalog's 5 (a rollback)",
    );
    r.serve(6, b_key, "six");
    let updated = r.update();
    assert_eq!(
        (
            updated["serial"].clone(),
            updated["previous_serial"].clone()
        ),
        (json!(6), json!(5))
    );

    // The revoked key's catalog is gone from the store: trusting A again changes nothing.
    r.trust(&[a_pub, b_pub]);
    let status = r.status();
    assert_eq!(
        (status["serial"].clone(), status["ignored"].clone()),
        (json!(6), Value::Null)
    );
}

#[test]
fn a_planned_rotation_keeps_each_keys_newest_serial_while_that_key_is_trusted() {
    let r = Rotation::new();
    let (a_pub, a_key) = &r.a;
    let (b_pub, b_key) = &r.b;
    // A release trusts A and B; the maintainers sign with A, then switch to B.
    r.trust(&[a_pub, b_pub]);
    r.serve(5, a_key, "five");
    r.update();
    r.serve(6, b_key, "six");
    r.update();
    // A's serial 5 still counts while A is trusted: B's catalog in force stays 6, and if B
    // were revoked, A's 5 would be the baseline.
    r.trust(&[a_pub]);
    let status = r.status();
    assert_eq!(
        (status["serial"].clone(), status["key_id"].clone()),
        (json!(5), json!(key_id(a_pub))),
        "{status}"
    );
    r.serve(4, a_key, "four");
    r.t.fails(
        &["kernel", "catalog", "update"],
        "its serial 4 is older than the trusted catalog's 5",
    );
    // The next release drops A: B's catalog is in force and nothing is reported as ignored.
    r.trust(&[b_pub]);
    let out = r.t.banger(&["kernel", "catalog", "status", "--json"]);
    assert!(
        out.status.success() && stderr(&out).is_empty(),
        "{}",
        stderr(&out)
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            status["serial"].clone(),
            status["key_id"].clone(),
            status["ignored"].clone()
        ),
        (json!(6), json!(key_id(b_pub)), Value::Null)
    );
}
