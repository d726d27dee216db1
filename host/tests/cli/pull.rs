//! `kernel pull` over HTTPS on 127.0.0.1, and everything around it: list, show, rm, and every
//! way a pull can fail without harming what is installed.

use std::fs;

use banger_testkit::{archive::RawTar, kernel, server::Fault, sha256_hex};
use serde_json::Value;

use crate::util::{kernels_listing, TestContext};

#[test]
fn pull_installs_a_gnu_tar_bundle_byte_identical_with_its_manifest() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let good = t.publish("good", "void-6.12", "6.12.3", &server);
    t.write_catalog(&[&good.entry]);

    let listed: Value =
        serde_json::from_str(&t.ok(&["kernel", "list", "--available", "--json"])).unwrap();
    let mut expected = good.entry.clone();
    expected["verified"] = Value::Bool(true);
    assert_eq!(listed, Value::Array(vec![expected]));

    let out = t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);
    assert!(out.contains("installed kernel `void-6.12`"), "{out}");
    let installed = t.kernels().join("void-6.12");
    kernel::assert_same_tree(&good.tree, &installed, &["manifest.json"]);

    let manifest: Value =
        serde_json::from_slice(&fs::read(installed.join("manifest.json")).unwrap()).unwrap();
    for field in [
        "name",
        "distro",
        "arch",
        "kernel_version",
        "sha256",
        "size",
        "description",
        "url",
    ] {
        assert_eq!(manifest[field], good.entry[field], "manifest field {field}");
    }
    assert_eq!(manifest["source"], "catalog");
    assert_eq!(manifest["verified"], true);
    assert!(manifest["installed_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(server.requests(), vec![format!("GET /{} 200", good.file)]);

    // Pulling the same sha256 again is a no-op that downloads nothing.
    let again = t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);
    assert!(again.contains("already installed"), "{again}");
    assert_eq!(server.requests().len(), 1, "{:?}", server.requests());

    let list: Value = serde_json::from_str(&t.ok(&["kernel", "list", "--json"])).unwrap();
    assert_eq!(list[0]["name"], "void-6.12");
    let show: Value =
        serde_json::from_str(&t.ok(&["kernel", "show", "void-6.12", "--json"])).unwrap();
    assert_eq!(
        show["vmlinux"],
        installed.join("vmlinux").display().to_string()
    );
    assert_eq!(show["sha256"], good.entry["sha256"]);

    t.ok(&["kernel", "rm", "void-6.12"]);
    assert!(!installed.exists());
    assert_eq!(kernels_listing(&t), Vec::<String>::new());
    t.fails(
        &["kernel", "show", "void-6.12"],
        "kernel `void-6.12` is not installed",
    );
    t.fails(
        &["kernel", "rm", "void-6.12"],
        "kernel `void-6.12` is not installed",
    );
}

#[test]
fn a_different_sha256_needs_force_and_replaces_atomically() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let old = t.publish("old", "void-6.12", "6.12.3", &server);
    let new = t.publish("new", "void-6.12", "6.12.4", &server);
    t.write_catalog(&[&old.entry]);
    t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);

    t.write_catalog(&[&new.entry]);
    t.fails(
        &["kernel", "pull", "void-6.12", "--arch", "x86_64"],
        "pass --force",
    );
    kernel::assert_same_tree(
        &old.tree,
        &t.kernels().join("void-6.12"),
        &["manifest.json"],
    );

    let out = t.ok(&[
        "kernel",
        "pull",
        "void-6.12",
        "--arch",
        "x86_64",
        "--force",
        "--json",
    ]);
    let result: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(result["status"], "replaced");
    kernel::assert_same_tree(
        &new.tree,
        &t.kernels().join("void-6.12"),
        &["manifest.json"],
    );
    assert_eq!(
        kernels_listing(&t)
            .iter()
            .filter(|n| n.starts_with(".staging"))
            .count(),
        0
    );
}

#[test]
fn failed_pulls_install_nothing_and_keep_the_existing_install() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let good = t.publish("good", "void-6.12", "6.12.3", &server);
    let other = t.publish("other", "void-6.12", "6.12.4", &server);
    t.write_catalog(&[&good.entry]);
    t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);
    let before = kernels_listing(&t);
    let manifest_before = fs::read(t.kernels().join("void-6.12/manifest.json")).unwrap();

    let size = other.entry["size"].as_u64().unwrap();
    let with = |field: &str, value: Value| {
        let mut entry = other.entry.clone();
        entry[field] = value;
        entry
    };
    let cases: Vec<(&str, Value, Option<Fault>, String)> = vec![
        (
            "wrong sha256",
            with("sha256", Value::from("0".repeat(64))),
            None,
            "checksum mismatch for kernel `void-6.12`".to_owned(),
        ),
        (
            "size too large",
            with("size", Value::from(size + 1)),
            None,
            format!("ended after {size} of {} bytes", size + 1),
        ),
        (
            "size too small",
            with("size", Value::from(size - 1)),
            None,
            format!("sent more than the {} bytes", size - 1),
        ),
        (
            "corrupt byte",
            other.entry.clone(),
            Some(Fault::CorruptByte(size as usize - 20)),
            "integrity error: checksum mismatch for kernel `void-6.12`".to_owned(),
        ),
        (
            "404",
            with("url", Value::from(server.url("missing.tar.zst"))),
            None,
            "was not found (HTTP 404)".to_owned(),
        ),
        (
            "500",
            other.entry.clone(),
            Some(Fault::Status(500)),
            "answered HTTP 500".to_owned(),
        ),
        (
            "plain http",
            with(
                "url",
                Value::from(server.url(&other.file).replace("https://", "http://")),
            ),
            None,
            "only https:// URLs".to_owned(),
        ),
    ];
    for (what, entry, fault, expected) in cases {
        if let Some(fault) = fault {
            server.set_fault(&other.file, fault);
        }
        t.write_catalog(&[&entry]);
        let err = t.fails(
            &["kernel", "pull", "void-6.12", "--arch", "x86_64", "--force"],
            &expected,
        );
        assert!(
            err.contains("void-6.12") || err.contains(&other.file),
            "{what}: {err}"
        );
        assert_eq!(
            kernels_listing(&t),
            before,
            "{what}: the kernels directory changed"
        );
        assert_eq!(
            fs::read(t.kernels().join("void-6.12/manifest.json")).unwrap(),
            manifest_before,
            "{what}"
        );
        server.clear_fault(&other.file);
    }
    kernel::assert_same_tree(
        &good.tree,
        &t.kernels().join("void-6.12"),
        &["manifest.json"],
    );
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let good = t.publish("good", "void-6.12", "6.12.3", &server);
    t.write_catalog(&[&good.entry]);
    // Trust a different CA: the server's certificate no longer verifies.
    let stranger = banger_testkit::server::Server::https(&t.path("www"));
    t.env("SSL_CERT_FILE", stranger.ca_file().display().to_string());
    let err = t.fails(
        &["kernel", "pull", "void-6.12", "--arch", "x86_64"],
        "request to `https://127.0.0.1",
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert_eq!(kernels_listing(&t), Vec::<String>::new());
}

#[test]
fn a_hostile_bundle_with_the_right_digest_is_still_rejected() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let bundle = RawTar::new()
        .file("vmlinux", b"kernel")
        .file("modules/../../../escape", b"x")
        .bundle();
    fs::write(t.path("www/evil-x86_64.tar.zst"), &bundle).unwrap();
    t.write_catalog(&[&serde_json::json!({
        "name": "evil-1.0", "distro": "evil", "arch": "x86_64", "kernel_version": "1.0.0",
        "url": server.url("evil-x86_64.tar.zst"), "sha256": sha256_hex(&bundle), "size": bundle.len(),
    })]);
    t.fails(
        &["kernel", "pull", "evil-1.0", "--arch", "x86_64"],
        "archive entry `modules/../../../escape` rejected",
    );
    assert_eq!(kernels_listing(&t), Vec::<String>::new());
    assert!(!t.path("escape").exists() && !t.path("state/escape").exists());
}

#[test]
fn bad_input_fails_clearly() {
    let t = TestContext::new();
    t.fails(&["kernel", "pull", "../x"], "kernel name `../x`");
    t.fails(&["kernel", "pull", "Void"], "kernel name `Void`");
    t.fails(&["kernel", "pull", ""], "must not be empty");
    t.fails(
        &["kernel", "pull", "void-6.12", "--arch", "riscv"],
        "invalid value 'riscv' for '--arch <ARCH>'",
    );
    t.fails(
        &["kernel", "pull", "void-6.12", "--arch", "x86_64"],
        "no kernel `void-6.12` for x86_64",
    );
    t.fails(
        &["kernel", "pull", "void-6.12", "--source", "nope"],
        "no source plugin `nope` found",
    );
    t.fails(
        &["kernel", "list", "--available", "--opt", "color=red"],
        "takes no option `color`",
    );
    fs::write(
        t.path("catalog.json"),
        "{\"schema\": 1, \"entries\": [{\"name\": 1}]}",
    )
    .unwrap();
    t.fails(&["kernel", "list", "--available"], "is not valid JSON");
    let out = t.banger(&["kernel", "pull", "x", "--opt", "novalue"]);
    assert_eq!(out.status.code(), Some(2), "clap usage errors exit 2");
}

#[test]
fn an_empty_catalog_says_so() {
    let t = TestContext::new();
    assert_eq!(
        t.ok(&["kernel", "list", "--available"]).trim(),
        "the catalog is empty: no kernel bundles have been published yet"
    );
    assert_eq!(
        t.ok(&["kernel", "list", "--available", "--json"]).trim(),
        "[]"
    );
}

#[test]
fn help_shows_examples() {
    let t = TestContext::new();
    for args in [
        &["kernel", "pull", "--help"][..],
        &["kernel", "list", "--help"],
        &["plugin", "list", "--help"],
    ] {
        assert!(
            t.ok(args).contains("Examples:") || t.ok(args).contains("Example:"),
            "{args:?}"
        );
    }
}

#[test]
fn https_proxy_and_no_proxy_are_honoured() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let good = t.publish("good", "void-6.12", "6.12.3", &server);
    t.write_catalog(&[&good.entry]);
    // A proxy address where nothing listens: going through it must fail...
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    t.env("HTTPS_PROXY", format!("http://{closed}"));
    t.fails(
        &["kernel", "pull", "void-6.12", "--arch", "x86_64"],
        "void-6.12",
    );
    assert!(
        server.requests().is_empty(),
        "the request went around the proxy"
    );
    // ...and NO_PROXY lets the same request go direct.
    t.env("NO_PROXY", "127.0.0.1");
    t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_damaged_install_is_reported_and_can_still_be_removed() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let good = t.publish("good", "void-6.12", "6.12.3", &server);
    t.write_catalog(&[&good.entry]);
    t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);
    let manifest = t.kernels().join("void-6.12/manifest.json");
    fs::write(&manifest, "{\"name\": \"void-6.12\", \"sha256\": 7}").unwrap();
    t.fails(
        &["kernel", "show", "void-6.12"],
        &format!("manifest `{}` is not valid", manifest.display()),
    );
    t.fails(&["kernel", "list"], "is not valid");
    t.ok(&["kernel", "rm", "void-6.12"]);
    assert_eq!(kernels_listing(&t), Vec::<String>::new());
}

#[test]
fn removing_what_is_not_installed_creates_no_state() {
    let t = TestContext::new();
    t.fails(
        &["kernel", "rm", "void-6.12"],
        "kernel `void-6.12` is not installed",
    );
    assert!(!t.kernels().exists());
}
