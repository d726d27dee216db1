//! The plugin boundary: a plugin built against the frozen 1.0 interface loads and works, one
//! built against an incompatible interface is refused by name and version, a panic inside a
//! plugin becomes an error for that operation, and a plugin's false claims are caught.

use std::{fs, path::PathBuf};

use banger_testkit::{archive::pack_with_gnu_tar, kernel, sha256_hex};
use serde_json::Value;

use crate::util::{kernels_listing, stderr, TestContext};

/// A fixture plugin from tests/fixture-plugins, built by the README's test command.
pub(crate) fn fixture(name: &str) -> PathBuf {
    nested_library(
        "tests/fixture-plugins",
        &format!("libbanger_source_{name}.so"),
    )
}

/// A library built from the plugin workspace `workspace` (outside banger's own) into the
/// shared `target/nested`, as `scripts/test.sh` builds them before the tests run.
pub(crate) fn nested_library(workspace: &str, file: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/nested/debug")
        .join(file);
    assert!(
        path.exists(),
        "{} is missing; run `CARGO_TARGET_DIR=target/nested cargo build --manifest-path {workspace}/Cargo.toml` (the README's test command does)",
        path.display()
    );
    path
}

/// Install the fixture plugin and give it a directory with one real bundle, `acme-1.0`.
fn with_fixture_source() -> (TestContext, PathBuf, String) {
    let t = TestContext::new();
    fs::copy(
        fixture("fixture"),
        t.path("plugins/libbanger_source_fixture.so"),
    )
    .unwrap();
    let tree = t.path("tree");
    kernel::write_tree(&tree, "6.1.0");
    let store = t.path("store");
    fs::create_dir(&store).unwrap();
    let bundle = store.join("acme-1.0-x86_64.tar.zst");
    pack_with_gnu_tar(&tree, &["vmlinux", "modules"], &bundle);
    let bytes = fs::read(&bundle).unwrap();
    let index = serde_json::json!([{
        "name": "acme-1.0", "distro": "acme", "arch": "x86_64", "kernel_version": "6.1.0",
        "url": bundle.display().to_string(), "sha256": sha256_hex(&bytes), "size": bytes.len(),
        "description": "from the fixture store",
    }]);
    fs::write(store.join("index.json"), index.to_string()).unwrap();
    let dir_option = format!("dir={}", store.display());
    (t, tree, dir_option)
}

#[test]
fn a_plugin_built_against_the_frozen_1_0_interface_lists_and_installs() {
    let (t, tree, dir) = with_fixture_source();
    let rows: Value = serde_json::from_str(&t.ok(&["plugin", "list", "--json"])).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "fixture")
        .unwrap();
    assert_eq!(
        (row["status"].as_str(), row["api_version"].as_str()),
        (Some("loaded"), Some("1.0.0"))
    );

    let listed: Value = serde_json::from_str(&t.ok(&[
        "kernel",
        "list",
        "--available",
        "--source",
        "fixture",
        "--opt",
        &dir,
        "--json",
    ]))
    .unwrap();
    assert_eq!(listed[0]["name"], "acme-1.0");

    t.ok(&[
        "kernel", "pull", "acme-1.0", "--arch", "x86_64", "--source", "fixture", "--opt", &dir,
    ]);
    kernel::assert_same_tree(
        &tree,
        &t.kernels().join("acme-1.0"),
        &["manifest.json", "initrd.img"],
    );
    let manifest: Value =
        serde_json::from_slice(&fs::read(t.kernels().join("acme-1.0/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["source"], "fixture");
    assert_eq!(manifest["trust"], "source");
    assert_eq!(manifest["verified"], false);
}

#[test]
fn bytes_that_do_not_match_the_plugins_own_sha256_are_caught() {
    let (t, _tree, dir) = with_fixture_source();
    t.fails(
        &[
            "kernel", "pull", "acme-1.0", "--arch", "x86_64", "--source", "fixture", "--opt", &dir,
            "--opt", "lie=sha",
        ],
        "checksum mismatch for kernel `acme-1.0`",
    );
    assert_eq!(kernels_listing(&t), Vec::<String>::new());
}

#[test]
fn a_panic_inside_a_plugin_is_an_error_naming_it_and_the_host_survives() {
    let (t, _tree, dir) = with_fixture_source();
    for at in ["new", "list", "open", "read"] {
        let panic = format!("panic={at}");
        let args = [
            "kernel", "pull", "acme-1.0", "--arch", "x86_64", "--source", "fixture", "--opt", &dir,
            "--opt", &panic,
        ];
        let out = t.banger(&args);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{at}: the host must exit with its own error, not abort:\n{err}"
        );
        assert!(err.contains("source `fixture`"), "{at}: {err}");
        assert!(
            err.contains(&format!("plugin panicked: fixture asked to panic in {at}")),
            "{at}: {err}"
        );
        assert_eq!(
            kernels_listing(&t)
                .iter()
                .filter(|n| !n.starts_with('.'))
                .count(),
            0,
            "{at}"
        );
    }
    // The same process-wide state is fine afterwards: a clean pull still works.
    t.ok(&[
        "kernel", "pull", "acme-1.0", "--arch", "x86_64", "--source", "fixture", "--opt", &dir,
    ]);
}

#[test]
fn a_plugin_for_an_incompatible_interface_is_refused_naming_file_and_versions() {
    let t = TestContext::new();
    let future = t.path("plugins/libbanger_source_future.so");
    fs::copy(fixture("future"), &future).unwrap();
    let out = t.banger(&["plugin", "list"]);
    assert!(out.status.success());
    let err = stderr(&out);
    let expected = format!(
        "warning: `{}` was built for API 2.0.0, this banger supports 1.x (built with {})",
        future.display(),
        banger_plugin_api::API_VERSION
    );
    assert!(err.contains(&expected), "{err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("catalog"),
        "the other plugins still load"
    );
    t.fails(
        &["kernel", "list", "--available", "--source", "future"],
        "was built for API 2.0.0",
    );
}

/// Install the liar plugin and write what it lists: one valid entry for a real bundle.
/// Returns the context and the `--opt` for its entries and bundle bytes.
fn with_liar() -> (TestContext, Vec<String>, Value) {
    let t = TestContext::new();
    fs::copy(fixture("liar"), t.path("plugins/libbanger_source_liar.so")).unwrap();
    let tree = t.path("tree");
    kernel::write_tree(&tree, "6.1.0");
    let bundle = t.path("liar-1.0-x86_64.tar.zst");
    pack_with_gnu_tar(&tree, &["vmlinux", "modules"], &bundle);
    let bytes = fs::read(&bundle).unwrap();
    let entry = serde_json::json!({
        "name": "liar-1.0", "distro": "liar", "arch": "x86_64", "kernel_version": "6.1.0",
        "url": bundle.display().to_string(), "sha256": sha256_hex(&bytes), "size": bytes.len(),
        "description": "says what it is told",
    });
    fs::write(
        t.path("entries.json"),
        serde_json::json!([entry]).to_string(),
    )
    .unwrap();
    let options = vec![
        format!("entries={}", t.path("entries.json").display()),
        format!("bytes={}", bundle.display()),
        "resumable=true".to_owned(),
    ];
    (t, options, entry)
}

fn with_opts<'a>(args: &[&'a str], options: &'a [String]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    for option in options {
        all.extend(["--opt", option.as_str()]);
    }
    all
}

#[test]
fn a_declared_sha256_that_is_no_digest_never_names_a_file() {
    let (t, mut options, entry) = with_liar();
    // Files a partial download named by a path-like "sha256" would create or truncate.
    let victim = t.path("victim");
    fs::write(t.path("victim.partial"), "keep me").unwrap();
    let absolute = t.path("absolute");
    let state_downloads = t.path("state/downloads");
    // `<state>/downloads/../../victim.partial` is the victim.
    let relative = "../../victim".to_owned();
    let good = entry["sha256"].as_str().unwrap().to_owned();
    let cases = [
        relative.clone(),
        absolute.display().to_string(),
        good.to_uppercase(),
        good[..63].to_owned(),
        format!("../{}", &good[3..]),
        format!("{}\u{202e}", &good[..63]),
    ];
    options.push(format!("declare={}", t.path("declare.json").display()));
    for sha256 in &cases {
        let declared =
            serde_json::json!({ "url": "liar://x", "sha256": sha256, "size": entry["size"] });
        fs::write(t.path("declare.json"), declared.to_string()).unwrap();
        let args = with_opts(
            &[
                "kernel", "pull", "liar-1.0", "--arch", "x86_64", "--source", "liar",
            ],
            &options,
        );
        let err = t.fails(&args, "with an invalid description: sha256: ");
        assert!(
            err.contains("source `liar` (") && err.contains("libbanger_source_liar.so)"),
            "{sha256}: the error names the plugin file:\n{err}"
        );
        assert_eq!(
            fs::read_to_string(t.path("victim.partial")).unwrap(),
            "keep me"
        );
        assert!(!victim.exists(), "{sha256}");
        assert!(!t.path("absolute.partial").exists(), "{sha256}");
    }
    assert!(kernels_listing(&t)
        .iter()
        .all(|n| !n.starts_with("liar-1.0")));
    // Nothing but partials banger named itself, if any, is in the downloads directory.
    if let Ok(entries) = fs::read_dir(&state_downloads) {
        for entry in entries {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let stem = name.strip_suffix(".partial").unwrap_or(&name);
            assert!(stem.parse::<banger_catalog::Sha256>().is_ok(), "{name}");
        }
    }

    // Sizes out of range are refused by field too.
    for size in [0, u64::MAX] {
        let declared = serde_json::json!({ "url": "liar://x", "sha256": good, "size": size });
        fs::write(t.path("declare.json"), declared.to_string()).unwrap();
        let args = with_opts(
            &[
                "kernel", "pull", "liar-1.0", "--arch", "x86_64", "--source", "liar",
            ],
            &options,
        );
        t.fails(&args, "with an invalid description: size: ");
    }

    // The honest declaration installs: the checks refuse only what is wrong.
    let declared = serde_json::json!({ "url": "liar://x", "sha256": good, "size": entry["size"] });
    fs::write(t.path("declare.json"), declared.to_string()).unwrap();
    let args = with_opts(
        &[
            "kernel", "pull", "liar-1.0", "--arch", "x86_64", "--source", "liar",
        ],
        &options,
    );
    t.ok(&args);
    assert!(t.kernels().join("liar-1.0/vmlinux").is_file());
}

#[test]
fn a_listed_entry_with_bad_fields_is_refused_by_field() {
    let (t, options, entry) = with_liar();
    for (field, value, expected) in [
        (
            "sha256",
            "../../../tmp/x".into(),
            "sha256: `../../../tmp/x` is not 64 lowercase hex digits",
        ),
        (
            "description",
            "a\u{2067}b".into(),
            "description: contains the bidirectional control U+2067",
        ),
        (
            "kernel_version",
            "6.1\u{200f}".into(),
            "kernel_version: contains the bidirectional control U+200F",
        ),
        (
            "url",
            "https://x/\u{9b}".into(),
            "url: contains the control character U+009B",
        ),
        ("size", serde_json::json!(u64::MAX), "size: "),
    ] {
        let mut bad = entry.clone();
        bad[field] = value;
        fs::write(t.path("entries.json"), serde_json::json!([bad]).to_string()).unwrap();
        let args = with_opts(
            &["kernel", "list", "--available", "--source", "liar"],
            &options,
        );
        let err = t.fails(&args, expected);
        assert!(
            err.contains("libbanger_source_liar.so) returned an invalid entry"),
            "{err}"
        );
    }
}
