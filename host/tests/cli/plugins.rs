//! `plugin list` and the loader: search order, shadowing, and files that are not plugins.

use std::{fs, path::Path};

use serde_json::Value;

use crate::util::TestContext;

fn catalog_so() -> std::path::PathBuf {
    Path::new(env!("CARGO_BIN_EXE_banger"))
        .parent()
        .unwrap()
        .join("libbanger_source_catalog.so")
}

#[test]
fn plugin_list_shows_the_catalog_plugin_loaded_from_a_shared_library() {
    let t = TestContext::new();
    let rows: Value = serde_json::from_str(&t.ok(&["plugin", "list", "--json"])).unwrap();
    let catalog = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "catalog")
        .expect("catalog listed");
    assert_eq!(catalog["status"], "loaded");
    assert_eq!(catalog["api_version"], banger_plugin_api::API_VERSION);
    assert_eq!(
        catalog["path"],
        catalog_so().canonicalize().unwrap().display().to_string()
    );
    for field in ["version", "description"] {
        assert!(!catalog[field].as_str().unwrap().is_empty(), "{field}");
    }
}

#[test]
fn garbage_files_are_reported_by_name_and_other_plugins_still_load() {
    let t = TestContext::new();
    let garbage = t.path("plugins/libbanger_source_garbage.so");
    fs::write(&garbage, b"this is not an ELF file").unwrap();
    let not_banger = t.path("plugins/libbanger_source_libc.so");
    fs::copy(find_system_library("libz.so.1"), &not_banger).unwrap();

    let out = t.banger(&["plugin", "list"]);
    assert!(out.status.success());
    let err = crate::util::stderr(&out);
    assert!(
        err.contains(&format!(
            "warning: `{}` is not a banger plugin",
            garbage.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "warning: `{}` is not a banger plugin",
            not_banger.display()
        )),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("catalog"));

    let rows: Value = serde_json::from_str(&t.ok(&["plugin", "list", "--json"])).unwrap();
    let failed: Vec<&Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 2, "{rows:#}");
    // The catalog plugin keeps working.
    t.ok(&["kernel", "list", "--available"]);
}

#[test]
fn the_first_plugin_of_a_name_wins_and_the_other_is_shadowed() {
    let t = TestContext::new();
    let copy = t.path("plugins/libbanger_source_catalog.so");
    fs::copy(catalog_so(), &copy).unwrap();
    let rows: Value = serde_json::from_str(&t.ok(&["plugin", "list", "--json"])).unwrap();
    let rows = rows.as_array().unwrap();
    let loaded = rows
        .iter()
        .find(|r| r["name"] == "catalog" && r["status"] == "loaded")
        .unwrap();
    assert_eq!(loaded["path"], copy.display().to_string());
    let shadowed = rows.iter().find(|r| r["status"] == "shadowed").unwrap();
    assert_eq!(shadowed["shadowed_by"], copy.display().to_string());
}

#[test]
fn a_plugin_whose_file_name_disagrees_with_its_name_is_refused() {
    let t = TestContext::new();
    let misnamed = t.path("plugins/libbanger_source_other.so");
    fs::copy(catalog_so(), &misnamed).unwrap();
    t.fails(
        &["kernel", "list", "--available", "--source", "other"],
        "calls itself `catalog`",
    );
}

fn find_system_library(name: &str) -> std::path::PathBuf {
    [
        "/lib/x86_64-linux-gnu",
        "/usr/lib/x86_64-linux-gnu",
        "/lib/aarch64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/lib64",
        "/usr/lib",
    ]
    .iter()
    .map(|dir| Path::new(dir).join(name))
    .find(|p| p.exists())
    .unwrap_or_else(|| panic!("{name} not found"))
}
