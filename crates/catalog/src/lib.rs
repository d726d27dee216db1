//! The kernel catalog: `catalog.json`, its validation rules, and the copy embedded at build time.
//!
//! This crate owns what a valid catalog is (schema, names, arches, digests, uniqueness) and the
//! canonical way to write one. It does not fetch anything: the plugins move bytes, and the host
//! decides what to trust.
#![forbid(unsafe_code)]

mod error;
pub mod patch;

use std::{io::Read, path::Path};

use serde::{Deserialize, Serialize};

pub use banger_plugin_api::Entry;
pub use error::CatalogError;
// The naming rules are part of the plugin contract, so they live in the interface crate, where
// plugins can use them too; the catalog re-exports them as its own.
pub use banger_plugin_api::names::{
    bundle_file, host_arch, parse_bundle_file, validate_arch, validate_name, validate_name_of,
    validate_sha256, validate_text, Arch, KernelName, Sha256, ARCHES,
};

/// The schema version this build reads and writes.
pub const SCHEMA: u32 = 1;

/// The top-level `catalog.json`, as it was when this binary was built.
pub const EMBEDDED_JSON: &str = include_str!("../../../catalog.json");

/// The environment variable naming a catalog file that replaces the embedded one.
pub const CATALOG_ENV: &str = "BANGER_CATALOG";

/// The largest catalog document banger reads, from a file, a server or a plugin's listing. A
/// real entry takes about 400 bytes, so this holds some ten thousand; it also keeps parsing
/// well within banger's 64 MiB memory budget.
pub const MAX_CATALOG_BYTES: u64 = 4 << 20;

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
        if json.len() as u64 > MAX_CATALOG_BYTES {
            return Err(CatalogError::TooLarge {
                origin: origin.to_owned(),
                limit: MAX_CATALOG_BYTES,
            });
        }
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

    /// Read and validate a catalog from `reader` (a file or a response body), reading no more
    /// than [`MAX_CATALOG_BYTES`]. `origin` names it in errors.
    pub fn read(reader: impl Read, origin: &str) -> Result<Self, CatalogError> {
        Self::parse(&read_capped(reader, origin)?, origin)
    }

    /// Read and validate a catalog file.
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let origin = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| CatalogError::Read {
            origin: origin.clone(),
            source,
        })?;
        Self::read(file, &origin)
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

    /// The entries with each URL replaced by `location(file name)`: how a mirror or a
    /// directory presents what its own index lists.
    pub fn relocated(&self, location: impl Fn(&str) -> String) -> Result<Vec<Entry>, String> {
        self.entries
            .iter()
            .map(|entry| {
                Ok(Entry {
                    url: location(bundle_file_name(&entry.url)?),
                    ..entry.clone()
                })
            })
            .collect()
    }

    /// The entry for (name, arch), if any.
    pub fn find(&self, name: &str, arch: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.name == name && e.arch == arch)
    }
}

/// The file name under which mirrors and offline directories keep an entry's bundle: the last
/// segment of its URL (`https://host/void-6.12-x86_64.tar.zst` → `void-6.12-x86_64.tar.zst`).
/// A file name alone is its own file name.
pub fn bundle_file_name(url: &str) -> Result<&str, String> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let name = path.rsplit('/').next().unwrap_or_default();
    if name.is_empty() || name == "." || name == ".." || name.contains(['\\', '\0']) {
        return Err(format!("`{url}` does not end in a usable file name"));
    }
    Ok(name)
}

/// Where a mirror or an offline directory finds (name, arch): the trusted entry when there is
/// one, else the entry in the location's own index; with the file name of its bundle.
pub fn locate<'a>(
    trusted: &'a Catalog,
    index: Option<&'a Catalog>,
    name: &str,
    arch: &str,
) -> Result<Option<(&'a Entry, &'a str)>, String> {
    let Some(entry) = trusted
        .find(name, arch)
        .or_else(|| index.and_then(|index| index.find(name, arch)))
    else {
        return Ok(None);
    };
    Ok(Some((entry, bundle_file_name(&entry.url)?)))
}

/// The text of a catalog document from `reader`, refusing one over [`MAX_CATALOG_BYTES`]
/// before it is all in memory.
pub fn read_capped(reader: impl Read, origin: &str) -> Result<String, CatalogError> {
    let mut text = String::new();
    reader
        .take(MAX_CATALOG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|source| CatalogError::Read {
            origin: origin.to_owned(),
            source,
        })?;
    if text.len() as u64 > MAX_CATALOG_BYTES {
        return Err(CatalogError::TooLarge {
            origin: origin.to_owned(),
            limit: MAX_CATALOG_BYTES,
        });
    }
    Ok(text)
}

/// Check one entry against the catalog rules; the error says which field is wrong and why.
/// No field may hold a control character (C0, DEL or C1): entries are shown in terminals, and
/// an escape sequence in a description could redraw what the user sees.
pub fn validate_entry(entry: &Entry) -> Result<(), String> {
    for (field, value) in [
        ("name", &entry.name),
        ("distro", &entry.distro),
        ("arch", &entry.arch),
        ("kernel_version", &entry.kernel_version),
        ("url", &entry.url),
        ("sha256", &entry.sha256),
        ("description", &entry.description),
    ] {
        validate_text(value).map_err(|e| format!("{field}: {e}"))?;
    }
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
    fn bundle_file_names_come_from_the_end_of_the_url() {
        for (url, name) in [
            (
                "https://k.example/a/void-6.12-x86_64.tar.zst",
                "void-6.12-x86_64.tar.zst",
            ),
            ("void-6.12-x86_64.tar.zst", "void-6.12-x86_64.tar.zst"),
            ("https://k.example/b.tar.zst?sig=1#x", "b.tar.zst"),
        ] {
            assert_eq!(bundle_file_name(url).unwrap(), name);
        }
        for url in ["https://k.example/", "..", "https://k.example/..", "a\\b"] {
            assert!(bundle_file_name(url).is_err(), "{url}");
        }
    }

    #[test]
    fn locate_prefers_the_trusted_entry() {
        let trusted = Catalog::parse(
            &catalog_json(&[entry_json("void-6.12", "x86_64", SHA)]),
            "trusted",
        )
        .unwrap();
        let other = SHA.replace('0', "f");
        let index = Catalog::parse(
            &catalog_json(&[
                entry_json("void-6.12", "x86_64", &other),
                entry_json("alpine-6.6", "x86_64", &other),
            ]),
            "index",
        )
        .unwrap();
        let (entry, file) = locate(&trusted, Some(&index), "void-6.12", "x86_64")
            .unwrap()
            .unwrap();
        assert_eq!(
            (entry.sha256.as_str(), file),
            (SHA, "void-6.12-x86_64.tar.zst")
        );
        let (entry, _) = locate(&trusted, Some(&index), "alpine-6.6", "x86_64")
            .unwrap()
            .unwrap();
        assert_eq!(entry.sha256, other);
        assert!(locate(&trusted, None, "alpine-6.6", "x86_64")
            .unwrap()
            .is_none());
    }

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
