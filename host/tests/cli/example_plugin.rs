//! The example third-party plugin (`examples/source-plugin`): built standalone, installed into a
//! plugin directory, listed, and used for a verified pull.

use std::{fs, path::PathBuf, process::Command};

use banger_testkit::{archive::pack_with_gnu_tar, kernel};
use serde_json::Value;

use crate::util::{kernels_listing, TestContext};

/// The example, built standalone with cargo (its own manifest and lock file, as its README
/// says) by the README's test command.
fn example_library() -> PathBuf {
    crate::abi::nested_library("examples/source-plugin", "libbanger_source_sha256sums.so")
}

#[test]
fn the_example_plugin_builds_standalone_installs_lists_and_pulls() {
    let library = example_library();
    let t = TestContext::new();
    let installed_library = t.path("plugins/libbanger_source_sha256sums.so");
    fs::copy(&library, &installed_library).unwrap();

    let rows: Value = serde_json::from_str(&t.ok(&["plugin", "list", "--json"])).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "sha256sums")
        .unwrap_or_else(|| panic!("sha256sums is not listed: {rows}"));
    assert_eq!(row["status"], "loaded");
    assert_eq!(row["path"], installed_library.display().to_string());

    // A build farm's output: bundles, an unrelated artefact, and SHA256SUMS from sha256sum.
    let builds = t.path("builds");
    let tree = t.path("trees/void");
    kernel::write_tree(&tree, "6.12.3");
    fs::create_dir_all(&builds).unwrap();
    pack_with_gnu_tar(
        &tree,
        &["vmlinux", "initrd.img", "modules"],
        &builds.join("void-6.12-x86_64.tar.zst"),
    );
    fs::write(builds.join("build.log"), "ok\n").unwrap();
    let sums = Command::new("sha256sum")
        .args(["void-6.12-x86_64.tar.zst", "build.log"])
        .current_dir(&builds)
        .output()
        .unwrap();
    assert!(sums.status.success());
    fs::write(builds.join("SHA256SUMS"), &sums.stdout).unwrap();
    let index = format!("index=file://{}", builds.join("SHA256SUMS").display());

    let listed: Value = serde_json::from_str(&t.ok(&[
        "kernel",
        "list",
        "--available",
        "--source",
        "sha256sums",
        "--opt",
        &index,
        "--json",
    ]))
    .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["name"], "void-6.12");
    assert_eq!(listed[0]["distro"], "void");

    let pull = [
        "kernel",
        "pull",
        "void-6.12",
        "--arch",
        "x86_64",
        "--source",
        "sha256sums",
        "--opt",
        &index,
    ];
    let out = t.ok(&pull);
    assert!(
        out.contains("checked against the source's own declaration"),
        "{out}"
    );
    kernel::assert_same_tree(&tree, &t.kernels().join("void-6.12"), &["manifest.json"]);
    let manifest: Value =
        serde_json::from_slice(&fs::read(t.kernels().join("void-6.12/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["source"], "sha256sums");
    let expected_sum = String::from_utf8(sums.stdout.clone()).unwrap();
    assert!(expected_sum.starts_with(manifest["sha256"].as_str().unwrap()));

    // A sum that does not match the bytes is caught by the host, not trusted.
    let flipped = if expected_sum.starts_with('0') {
        "1"
    } else {
        "0"
    };
    let wrong = format!("{flipped}{}", &expected_sum[1..]);
    fs::write(builds.join("SHA256SUMS"), wrong).unwrap();
    t.ok(&["kernel", "rm", "void-6.12"]);
    t.fails(&pull, "checksum mismatch for kernel `void-6.12`");
    assert!(kernels_listing(&t).is_empty(), "{:?}", kernels_listing(&t));

    // One trust policy: bytes from any source whose sha256 is the trusted catalog's for the
    // same (name, arch) are recorded as verified.
    fs::write(builds.join("SHA256SUMS"), &sums.stdout).unwrap();
    let bundle = fs::read(builds.join("void-6.12-x86_64.tar.zst")).unwrap();
    t.write_catalog(&[&serde_json::json!({
        "name": "void-6.12", "distro": "void", "arch": "x86_64", "kernel_version": "6.12.3",
        "url": "https://127.0.0.1:9/void-6.12-x86_64.tar.zst",
        "sha256": banger_testkit::sha256_hex(&bundle), "size": bundle.len(),
    })]);
    let out = t.ok(&pull);
    assert!(out.contains("checked against the trusted catalog"), "{out}");
    let manifest: Value =
        serde_json::from_slice(&fs::read(t.kernels().join("void-6.12/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(
        (manifest["verified"].clone(), manifest["trust"].clone()),
        (Value::Bool(true), Value::from("catalog"))
    );
    assert_eq!(manifest["source"], "sha256sums");
}
