//! Every `--json` command, run once over fixtures: a maintainer imports, checks and publishes
//! a kernel, a machine takes the signed catalog and pulls, mirrors and registers it. Each
//! schema in docs/schema/ must be exercised, and each must refuse the documents drifted from
//! what was printed: a field renamed, a value of another type.

use std::{collections::BTreeSet, fs};

use serde_json::{json, Value};

use crate::{
    check::ready_build_dir,
    contract::{problems, schema_files, take_validated, DEFS},
    image::register_args,
    import::import_args,
    signed::{maintainer, Machine},
};

/// Run every `--json` command at least once; return what the schemas accepted.
fn run_every_json_command() -> Vec<(&'static str, Value)> {
    take_validated();
    let mut m = Machine::new();
    let catalog = maintainer(&mut m).display().to_string();
    let t = &mut m.t;
    t.ok(&["plugin", "list", "--json"]);
    t.ok(&["kernel", "catalog", "status", "--json"]);
    let dir = ready_build_dir(t, "v1", "6.12.3");
    let mut import = import_args("void-6.12", &dir, "x86_64");
    import.push("--json");
    t.ok(&import);
    t.ok(&["kernel", "check", "void-6.12", "--json"]);
    t.ok(&["kernel", "show", "void-6.12", "--json"]);
    t.ok(&["kernel", "list", "--json"]);
    let publish = [
        "kernel",
        "publish",
        "void-6.12",
        "--catalog",
        &catalog,
        "--json",
    ];
    t.ok(&[&publish[..], &["--dry-run"]].concat());
    t.ok(&publish);

    // A user's machine takes the signed catalog and installs from it.
    t.env("BANGER_STATE_DIR", t.path("user").display().to_string());
    t.ok(&["kernel", "catalog", "update", "--json"]);
    t.ok(&["kernel", "list", "--available", "--json"]);
    t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64", "--json"]);
    let rootfs = t.path("vm.ext4");
    fs::write(&rootfs, [0u8; 512]).unwrap();
    let rootfs = rootfs.display().to_string();
    let mut register = register_args("vm", &rootfs, "void-6.12");
    register.push("--json");
    t.ok(&register);
    t.ok(&["image", "list", "--json"]);
    t.ok(&["image", "show", "vm", "--json"]);
    t.ok(&["kernel", "upgrade", "--all", "--dry-run", "--json"]);
    let mirror = t.path("mirror").display().to_string();
    t.ok(&["kernel", "mirror", &mirror, "--arch", "x86_64", "--json"]);
    t.ok(&["kernel", "gc", "--json"]);
    // A failure: the error document on stderr.
    t.banger(&["kernel", "show", "missing-1.0", "--json"]);
    take_validated()
}

/// Every value in `document` with its JSON pointer.
fn nodes(document: &Value) -> Vec<(String, &Value)> {
    let mut found = vec![(String::new(), document)];
    let mut at = 0;
    while at < found.len() {
        let (pointer, value) = found[at].clone();
        let children: Vec<(String, &Value)> = match value {
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| (format!("{pointer}/{k}"), v))
                .collect(),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{pointer}/{i}"), v))
                .collect(),
            _ => Vec::new(),
        };
        found.extend(children);
        at += 1;
    }
    found
}

/// A value of another JSON type than `value`.
fn other_type(value: &Value) -> Value {
    match value {
        Value::String(_) => json!(0),
        Value::Number(_) => json!("0"),
        Value::Bool(b) => json!(b.to_string()),
        Value::Null | Value::Array(_) => json!({}),
        Value::Object(_) => json!([]),
    }
}

/// The drifts of `document`: each field renamed, and each value replaced by one of another
/// type; with a description each.
fn drifts(document: &Value) -> Vec<(String, Value)> {
    let mut drifted = Vec::new();
    for (pointer, value) in nodes(document) {
        let mut changed = document.clone();
        *changed.pointer_mut(&pointer).unwrap() = other_type(value);
        drifted.push((format!("`{pointer}` of another type"), changed));
        for key in value.as_object().into_iter().flat_map(|m| m.keys()) {
            let mut changed = document.clone();
            let object = changed
                .pointer_mut(&pointer)
                .unwrap()
                .as_object_mut()
                .unwrap();
            let moved = object.remove(key).unwrap();
            object.insert(format!("{key}_renamed"), moved);
            drifted.push((format!("`{pointer}/{key}` renamed"), changed));
        }
    }
    drifted
}

#[test]
fn every_json_command_is_run_and_every_schema_is_used_and_catches_drift() {
    let validated = run_every_json_command();
    let used: BTreeSet<&str> = validated.iter().map(|(name, _)| *name).collect();
    let files = schema_files();
    let commands: BTreeSet<&str> = files
        .keys()
        .map(String::as_str)
        .filter(|name| *name != DEFS)
        .collect();
    assert_eq!(
        used, commands,
        "schemas no run used, or runs with no schema"
    );

    for (name, document) in &validated {
        // Every list printed here has rows, so that the rows' schema is tried as well.
        assert!(
            document.as_array().is_none_or(|rows| !rows.is_empty()),
            "{name} printed no rows"
        );
        for (drift, changed) in drifts(document) {
            assert!(
                !problems(name, &changed).is_empty(),
                "docs/schema/{name}.json accepts {drift}:\n{changed:#}"
            );
        }
    }
}

#[test]
fn a_value_outside_its_enum_or_a_missing_field_is_refused() {
    let report = json!({
        "name": "void-6.12", "arch": "x86_64", "sha256": "0".repeat(64), "size": 10,
        "status": "installed", "verified": true, "path": "/k/void-6.12",
        "images_updated": [], "check": null,
    });
    assert_eq!(problems("kernel-pull", &report), Vec::<String>::new());
    for (field, value) in [
        ("status", json!("Installed")),
        ("arch", json!("riscv64")),
        ("sha256", json!("ABC")),
        ("size", json!(-1)),
        ("verified", Value::Null),
    ] {
        let mut drifted = report.clone();
        drifted[field] = value;
        assert!(!problems("kernel-pull", &drifted).is_empty(), "{field}");
    }
    let mut missing = report.clone();
    missing.as_object_mut().unwrap().remove("check");
    assert!(!problems("kernel-pull", &missing).is_empty());
}
