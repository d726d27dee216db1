//! The kernel catalog: `catalog.json`, its validation rules, and the copy embedded at build time.
//!
//! This crate owns what a valid catalog is (schema, names, arches, digests, uniqueness) and the
//! canonical way to write one. It does not fetch anything: the plugins move bytes, and the host
//! decides what to trust.
#![forbid(unsafe_code)]

mod error;
mod name;
pub mod patch;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use banger_plugin_api::Entry;
pub use error::CatalogError;
pub use name::{host_arch, validate_arch, validate_name, validate_sha256, ARCHES};

/// The schema version this build reads and writes.
pub const SCHEMA: u32 = 1;

/// The top-level `catalog.json`, as it was when this binary was built.
pub const EMBEDDED_JSON: &str = include_str!("../../../catalog.json");

/// The environment variable naming a catalog file that replaces the embedded one.
pub const CATALOG_ENV: &str = "BANGER_CATALOG";

/// A validated catalog: entries unique by (name, arch).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Catalog {
    /// Always [`SCHEMA`].
    pub schema: u32,
    /// The entries, in the order of the file.
    pub entries: Vec<Entry>,
}

impl Catalog {
    /// Parse and validate catalog JSON. `origin` names the file or URL in errors.
    pub fn parse(json: &str, origin: &str) -> Result<Self, CatalogError> {
        let catalog: Catalog = serde_json::from_str(json).map_err(|source| CatalogError::Json {
            origin: origin.to_owned(),
            source,
        })?;
        if catalog.schema != SCHEMA {
            return Err(CatalogError::Schema {
                origin: origin.to_owned(),
                found: catalog.schema,
            });
        }
        for (index, entry) in catalog.entries.iter().enumerate() {
            validate_entry(entry).map_err(|problem| CatalogError::Entry {
                origin: origin.to_owned(),
                index,
                name: entry.name.clone(),
                problem,
            })?;
            if let Some(first) = catalog.entries[..index]
                .iter()
                .find(|e| e.name == entry.name && e.arch == entry.arch)
            {
                return Err(CatalogError::Duplicate {
                    origin: origin.to_owned(),
                    name: first.name.clone(),
                    arch: first.arch.clone(),
                });
            }
        }
        Ok(catalog)
    }

    /// Read and validate a catalog file.
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let json = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&json, &path.display().to_string())
    }

    /// The trusted catalog: the file named by `$BANGER_CATALOG` when set, else the embedded one.
    /// Returns the catalog and a label for where it came from.
    pub fn trusted() -> Result<(Self, String), CatalogError> {
        match std::env::var_os(CATALOG_ENV) {
            Some(path) if !path.is_empty() => {
                let path = Path::new(&path);
                Ok((Self::load(path)?, path.display().to_string()))
            }
            _ => Ok((
                Self::parse(EMBEDDED_JSON, "embedded catalog.json")?,
                "embedded catalog".to_owned(),
            )),
        }
    }

    /// The entry for (name, arch), if any.
    pub fn find(&self, name: &str, arch: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.name == name && e.arch == arch)
    }
}

/// Check one entry against the catalog rules; the error says which field is wrong and why.
pub fn validate_entry(entry: &Entry) -> Result<(), String> {
    validate_name(&entry.name).map_err(|e| format!("name: {e}"))?;
    validate_arch(&entry.arch).map_err(|e| format!("arch: {e}"))?;
    validate_sha256(&entry.sha256).map_err(|e| format!("sha256: {e}"))?;
    if entry.distro.is_empty() {
        return Err("distro: must not be empty".into());
    }
    if entry.kernel_version.is_empty() {
        return Err("kernel_version: must not be empty".into());
    }
    if entry.url.is_empty() {
        return Err("url: must not be empty".into());
    }
    if entry.size == 0 {
        return Err("size: must be greater than 0".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_json(name: &str, arch: &str, sha: &str) -> String {
        format!(
            r#"{{"name":"{name}","distro":"void","arch":"{arch}","kernel_version":"6.12.3","url":"https://k.example/{name}-{arch}.tar.zst","sha256":"{sha}","size":10,"description":"d"}}"#
        )
    }

    fn catalog_json(entries: &[String]) -> String {
        format!(r#"{{"schema":1,"entries":[{}]}}"#, entries.join(","))
    }

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn embedded_catalog_is_valid() {
        Catalog::parse(EMBEDDED_JSON, "embedded").unwrap();
    }

    #[test]
    fn parses_a_valid_catalog_and_finds_entries() {
        let json = catalog_json(&[
            entry_json("void-6.12", "x86_64", SHA),
            entry_json("void-6.12", "arm64", SHA),
        ]);
        let catalog = Catalog::parse(&json, "test").unwrap();
        assert_eq!(catalog.find("void-6.12", "arm64").unwrap().arch, "arm64");
        assert!(catalog.find("void-6.12", "riscv").is_none());
    }

    #[test]
    fn rejects_malformed_catalogs_naming_the_problem() {
        let cases = [
            ("{", "catalog `test` is not valid JSON"),
            (r#"{"schema":2,"entries":[]}"#, "schema 2"),
            (r#"{"schema":1}"#, "missing field `entries`"),
            (
                &catalog_json(&[entry_json("void-6.12", "x86_64", "ABC")]),
                "entry 0 (`void-6.12`) in catalog `test`: sha256",
            ),
            (&catalog_json(&[entry_json("Void", "x86_64", SHA)]), "name:"),
            (
                &catalog_json(&[entry_json("void-6.12", "riscv", SHA)]),
                "arch:",
            ),
            (
                &catalog_json(&[
                    entry_json("void-6.12", "x86_64", SHA),
                    entry_json("void-6.12", "x86_64", SHA),
                ]),
                "duplicate entry `void-6.12` for x86_64",
            ),
        ];
        for (json, expected) in cases {
            let err = Catalog::parse(json, "test").unwrap_err();
            let message = format!(
                "{err}: {}",
                std::error::Error::source(&err)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            );
            assert!(
                message.contains(expected),
                "{json}: `{message}` should contain `{expected}`"
            );
        }
    }
}
