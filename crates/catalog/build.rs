//! Embeds, next to `catalog.json`, what the repository may hold besides: the catalog's minisign
//! signature (`catalog.json.minisig`) and the public keys banger trusts (`keys/*.pub`). Either
//! may be absent; the generated constants then say so.

use std::{env, fmt::Write, fs, path::Path};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    println!("cargo:rerun-if-changed=../../catalog.json.minisig");
    println!("cargo:rerun-if-changed=../../keys");
    let mut code = String::new();
    let signature = root.join("catalog.json.minisig");
    let signature = if signature.is_file() {
        format!("Some(include_str!({:?}))", signature.display().to_string())
    } else {
        "None".to_owned()
    };
    writeln!(
        code,
        "pub const EMBEDDED_SIGNATURE: Option<&str> = {signature};"
    )
    .unwrap();
    let mut keys: Vec<_> = fs::read_dir(root.join("keys"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "pub") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    keys.sort();
    writeln!(code, "pub const EMBEDDED_KEYS: &[(&str, &str)] = &[").unwrap();
    for key in keys {
        let name = key.file_name().unwrap().to_string_lossy().into_owned();
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            key.display().to_string()
        )
        .unwrap();
    }
    writeln!(code, "];").unwrap();
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("embedded.rs");
    fs::write(out, code).unwrap();
}
