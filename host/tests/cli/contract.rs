//! The JSON contract (docs/json.md): every `--json` document a test prints on stdout is
//! validated against its command's schema in `docs/schema/`, and every error a failing
//! `--json` run reports on stderr against `error.json` (docs/errors.md), in [`check`], which
//! every run through [`crate::util::TestContext`] passes. A `--json` command without a schema
//! fails the test that runs it, so no command can skip the contract.

use std::{
    cell::RefCell, collections::BTreeMap, fs, path::PathBuf, process::Output, sync::OnceLock,
};

use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

/// `docs/schema/`.
pub fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/schema")
}

/// The schema file of shared definitions, which describes no command's stdout.
pub const DEFS: &str = "defs";

/// The error document, the last line of a failing `--json` run's stderr (docs/errors.md).
pub const ERROR: &str = "error";

/// Commands whose flag selects another document: (command, flag, schema).
const VARIANTS: [(&str, &str, &str); 1] = [("kernel-list", "--available", "kernel-list-available")];

/// Every schema file, by name (`kernel-pull` for `kernel-pull.json`), parsed: the commands',
/// [`ERROR`] and [`DEFS`].
pub fn schema_files() -> BTreeMap<String, Value> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(schema_dir()).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap();
        let Some(name) = file.strip_suffix(".json") else {
            continue;
        };
        let text = fs::read_to_string(&path).unwrap();
        let schema = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        files.insert(name.to_owned(), schema);
    }
    files
}

/// A validator for each command's schema, its references resolved among the files (never
/// over the network), formats checked.
fn validators() -> &'static BTreeMap<String, Validator> {
    static VALIDATORS: OnceLock<BTreeMap<String, Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let files = schema_files();
        let resources = files.values().map(|schema| {
            let id = schema["$id"].as_str().expect("every schema has an $id");
            (id.to_owned(), schema.clone())
        });
        let registry = Registry::new()
            .extend(resources)
            .unwrap()
            .prepare()
            .unwrap();
        files
            .iter()
            .filter(|(name, _)| name.as_str() != DEFS)
            .map(|(name, schema)| {
                let validator = jsonschema::options()
                    .with_draft(Draft::Draft202012)
                    .with_registry(&registry)
                    .should_validate_formats(true)
                    .build(schema)
                    .unwrap_or_else(|e| panic!("docs/schema/{name}.json: {e}"));
                (name.clone(), validator)
            })
            .collect()
    })
}

/// The schema for `banger ARGS`: the command's words (before the first flag) joined by `-`,
/// the longest such prefix that has a file, so that positional arguments do not count.
pub fn schema_for(args: &[&str]) -> Result<&'static str, String> {
    let words: Vec<&str> = args
        .iter()
        .take_while(|a| !a.starts_with('-'))
        .copied()
        .collect();
    let found = (1..=words.len()).rev().find_map(|n| {
        let name = words[..n].join("-");
        let name = VARIANTS
            .iter()
            .find(|(command, flag, _)| *command == name && args.contains(flag))
            .map_or(name, |(_, _, variant)| (*variant).to_owned());
        validators().get_key_value(&name).map(|(k, _)| k.as_str())
    });
    found.ok_or_else(|| {
        format!(
            "`banger {}` prints JSON, but docs/schema/ has no schema for it (docs/schema/{}.json)",
            args.join(" "),
            words.join("-")
        )
    })
}

/// Validate `stdout` of `banger ARGS` against its schema: the schema's name, or every
/// problem found.
pub fn validate(args: &[&str], stdout: &[u8]) -> Result<&'static str, String> {
    let name = schema_for(args)?;
    let document: Value = serde_json::from_slice(stdout).map_err(|e| format!("not JSON: {e}"))?;
    let problems = problems(name, &document);
    if !problems.is_empty() {
        return Err(format!(
            "does not match docs/schema/{name}.json:\n  {}",
            problems.join("\n  ")
        ));
    }
    record(name, document);
    Ok(name)
}

/// What the schema `name` finds wrong with `document`, one line each.
pub fn problems(name: &str, document: &Value) -> Vec<String> {
    validators()[name]
        .iter_errors(document)
        .map(|e| format!("at `{}`: {e}", e.instance_path()))
        .collect()
}

/// Validate a failed run's stderr: the last line banger printed must be an error document
/// that `error.json` accepts, whose `code` is the exit status. (A wrapper such as GNU time
/// may print after it: its lines do not start with `{`.)
pub fn validate_error(out: &Output) -> Result<Value, String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr
        .lines()
        .rfind(|line| line.starts_with('{'))
        .unwrap_or_default();
    let document: Value =
        serde_json::from_str(last).map_err(|e| format!("its last line is not JSON: {e}"))?;
    let problems = problems(ERROR, &document);
    if !problems.is_empty() {
        return Err(format!(
            "does not match docs/schema/error.json:\n  {}",
            problems.join("\n  ")
        ));
    }
    if document["code"].as_i64() != out.status.code().map(i64::from) {
        return Err(format!("`code` is not the exit status {:?}", out.status));
    }
    record(ERROR, document.clone());
    Ok(document)
}

/// Hold a run of `banger ARGS` to the contract when it was asked for `--json`: when it
/// succeeded, or printed anything (`kernel check` prints its report and exits 1 when not
/// ready), its stdout must be a document its schema accepts; when it failed, the last line of
/// its stderr must be an error document. A run killed by a signal prints neither.
pub fn check(args: &[&str], out: &Output) {
    if !args.contains(&"--json") {
        return;
    }
    let (problem, stream) = if out.status.success() || !out.stdout.is_empty() {
        (validate(args, &out.stdout).err(), &out.stdout)
    } else if out.status.code().is_some() {
        (validate_error(out).err(), &out.stderr)
    } else {
        return;
    };
    if let Some(problem) = problem {
        panic!(
            "banger {args:?}: its --json output breaks the contract (docs/json.md, docs/errors.md): {problem}\noutput:\n{}",
            String::from_utf8_lossy(stream)
        );
    }
}

thread_local! {
    /// The documents validated on this thread (each test runs on its own), by schema.
    static VALIDATED: RefCell<Vec<(&'static str, Value)>> = const { RefCell::new(Vec::new()) };
}

fn record(name: &'static str, document: Value) {
    VALIDATED.with(|v| v.borrow_mut().push((name, document)));
}

/// The documents this thread's runs printed and their schemas accepted, in order; emptied.
pub fn take_validated() -> Vec<(&'static str, Value)> {
    VALIDATED.with(|v| v.take())
}

#[test]
fn every_schema_is_a_valid_draft_2020_12_schema_with_its_own_id() {
    for (name, schema) in schema_files() {
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        let id = schema["$id"].as_str().unwrap();
        assert!(
            id.ends_with(&format!("/docs/schema/{name}.json")),
            "{name}: {id}"
        );
        if let Err(e) = jsonschema::meta::validate(&schema) {
            panic!("docs/schema/{name}.json is not a valid schema: {e}");
        }
    }
    // Each command's schema builds, its references resolved.
    assert!(validators().len() >= 16, "{:?}", validators().keys());
}

#[test]
fn a_json_command_without_a_schema_breaks_the_contract() {
    let err = validate(&["kernel", "frobnicate", "--json"], b"{}").unwrap_err();
    assert!(
        err.contains("no schema") && err.contains("kernel-frobnicate"),
        "{err}"
    );
    // Positional arguments are not part of the name; a flag can select another document.
    assert_eq!(
        schema_for(&["kernel", "pull", "void-6.12", "--json"]),
        Ok("kernel-pull")
    );
    assert_eq!(
        schema_for(&["kernel", "list", "--json", "--available"]),
        Ok("kernel-list-available")
    );
    assert_eq!(
        schema_for(&["kernel", "catalog", "status", "--json"]),
        Ok("kernel-catalog-status")
    );
    // Output that is not JSON at all is refused too.
    let err = validate(&["kernel", "gc", "--json"], b"removed 0 partial downloads").unwrap_err();
    assert!(err.starts_with("not JSON"), "{err}");
}
