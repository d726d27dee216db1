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

#[test]
fn plugins_are_never_found_through_a_relative_or_empty_path() {
    use std::os::unix::fs::PermissionsExt;
    let mut t = TestContext::new();
    // A library where an empty HOME or a relative entry would lead, from the working directory.
    let work = t.path("work");
    for dir in [".local/share/banger/plugins", "relative"] {
        let dir = work.join(dir);
        fs::create_dir_all(&dir).unwrap();
        fs::copy(catalog_so(), dir.join("libbanger_source_planted.so")).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    t.set_cwd(work);
    for (home, path, ignored) in [
        ("", "", "ignoring HOME ``"),
        ("home", "", "ignoring HOME `home`"),
        (
            "/nonexistent",
            "relative:",
            "ignoring BANGER_PLUGIN_PATH entry `relative`",
        ),
        ("/nonexistent", ":", "ignoring BANGER_PLUGIN_PATH entry ``"),
    ] {
        t.env("HOME", home);
        t.env("BANGER_PLUGIN_PATH", path);
        let out = t.banger(&["plugin", "list", "--json"]);
        let err = crate::util::stderr(&out);
        assert!(out.status.success(), "{err}");
        assert!(err.contains(ignored), "{home:?} {path:?}: {err}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("planted"), "{home:?} {path:?}: {stdout}");
    }
}

#[test]
fn plugin_files_others_could_change_are_not_loaded() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestContext::new();
    let loose = t.path("plugins/libbanger_source_loose.so");
    fs::copy(catalog_so(), &loose).unwrap();
    let shared_dir = t.path("shared");
    fs::create_dir(&shared_dir).unwrap();
    let in_shared = shared_dir.join("libbanger_source_shared.so");
    fs::copy(catalog_so(), &in_shared).unwrap();
    fs::set_permissions(&shared_dir, fs::Permissions::from_mode(0o777)).unwrap();
    let foreign = t.path("plugins/libbanger_source_foreign.so");
    fs::copy(catalog_so(), &foreign).unwrap();
    std::os::unix::fs::chown(&foreign, Some(65534), None).unwrap();
    fs::set_permissions(&loose, fs::Permissions::from_mode(0o775)).unwrap();
    let mut t = t;
    let path = format!("{}:{}", t.path("plugins").display(), shared_dir.display());
    t.env("BANGER_PLUGIN_PATH", path);

    let out = t.banger(&["plugin", "list"]);
    let err = crate::util::stderr(&out);
    assert!(out.status.success(), "{err}");
    for (file, problem, fix) in [
        (
            &loose,
            "is writable by group or others (mode 0775)",
            format!("chmod go-w {}", loose.display()),
        ),
        (
            &in_shared,
            "is writable by group or others (mode 0777)",
            format!("chmod go-w {}", shared_dir.display()),
        ),
        (
            &foreign,
            "belongs to uid 65534",
            format!("chown 0 {}", foreign.display()),
        ),
    ] {
        let lines: Vec<&str> = err.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains(&format!("`{}` is not loaded", file.display())))
            .unwrap_or_else(|| panic!("no warning for {}:\n{err}", file.display()));
        // The warning says what is wrong; the line after it, how to fix it.
        assert!(lines[at].contains(problem), "{}", lines[at]);
        let hint = lines.get(at + 1).copied().unwrap_or_default();
        assert!(hint.starts_with("hint: ") && hint.contains(&fix), "{err}");
    }
    let rows: Value = serde_json::from_str(&t.ok(&["plugin", "list", "--json"])).unwrap();
    let loaded: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "loaded")
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        !loaded
            .iter()
            .any(|n| ["loose", "shared", "foreign"].contains(n)),
        "{loaded:?}"
    );
    assert!(loaded.contains(&"catalog"), "{loaded:?}");
    // The JSON rows carry the same fix as the text's hint line.
    let loose_row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == loose.display().to_string())
        .unwrap_or_else(|| panic!("no row for {}: {rows}", loose.display()));
    assert_eq!(loose_row["status"], "failed", "{loose_row}");
    assert_eq!(
        loose_row["hint"],
        format!("chmod go-w {}", loose.display()),
        "{loose_row}"
    );
}
