//! Changing a catalog document the way a maintainer would by hand: one entry added or
//! replaced ([`upsert`]), or entries dropped ([`retain`]), every other entry kept as it was
//! (field order and unknown fields included), entries sorted by name then arch, two-space
//! indentation and a trailing newline. [`empty`] is the document to start from.

use serde_json::Value;

use crate::{validate_entry, Catalog, CatalogError, Entry};

/// What [`upsert`] did to the entry for (name, arch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// There was none.
    Added,
    /// There was a different one, shown here.
    Replaced(Box<Entry>),
    /// There was an identical one.
    Unchanged,
}

/// A catalog document with no entries, in the canonical form: schema 1, as an unsigned index
/// (a mirror directory's) has no serial or expiry.
pub fn empty() -> String {
    "{\n  \"schema\": 1,\n  \"entries\": []\n}\n".to_owned()
}

/// The catalog text `json` as schema 2 with `serial` and `expires` (RFC 3339), as
/// `kernel publish` stamps it before signing; every entry stays as it was.
pub fn stamp(json: &str, origin: &str, serial: u64, expires: &str) -> Result<String, CatalogError> {
    let (_, mut document) = Document::parse(json, origin)?;
    let object = document
        .value
        .as_object_mut()
        .expect("Catalog::parse checked that the document is an object");
    // Keep the canonical key order: schema, serial, expires, entries.
    let entries = object.remove("entries").unwrap_or_default();
    object.insert("schema".into(), crate::SCHEMA.into());
    object.insert("serial".into(), serial.into());
    object.insert("expires".into(), expires.into());
    object.insert("entries".into(), entries);
    let text = document.canonical()?;
    Catalog::parse(&text, origin)?;
    Ok(text)
}

/// The catalog text `json` (from `origin`, for errors) with only the entries for which `keep`
/// is true; every kept entry, and every other field, stays as it was.
pub fn retain(
    json: &str,
    origin: &str,
    keep: impl Fn(&Entry) -> bool,
) -> Result<String, CatalogError> {
    let (catalog, mut document) = Document::parse(json, origin)?;
    // Parsing kept the order, so the typed entries and the JSON values pair up.
    let mut kept = catalog.entries.iter().map(&keep);
    document.entries().retain(|_| kept.next().unwrap_or(false));
    document.canonical()
}

/// A valid catalog as JSON values, so that what a patch does not touch stays as it was.
struct Document {
    value: Value,
    origin: String,
}

impl Document {
    /// Validate `json`, and keep its values.
    fn parse(json: &str, origin: &str) -> Result<(Catalog, Self), CatalogError> {
        let catalog = Catalog::parse(json, origin)?;
        let value = serde_json::from_str(json).map_err(|source| CatalogError::Json {
            origin: origin.to_owned(),
            source,
        })?;
        let origin = origin.to_owned();
        Ok((catalog, Self { value, origin }))
    }

    fn entries(&mut self) -> &mut Vec<Value> {
        self.value["entries"]
            .as_array_mut()
            .expect("Catalog::parse checked that `entries` is an array")
    }

    /// The text: two-space indentation and a trailing newline.
    fn canonical(&self) -> Result<String, CatalogError> {
        let mut text =
            serde_json::to_string_pretty(&self.value).map_err(|source| CatalogError::Json {
                origin: self.origin.clone(),
                source,
            })?;
        text.push('\n');
        Ok(text)
    }
}

/// Put `entry` into the catalog text `json` (from `origin`, for errors), replacing any entry
/// with the same (name, arch). Returns the new text and what changed.
pub fn upsert(json: &str, origin: &str, entry: &Entry) -> Result<(String, Change), CatalogError> {
    let (catalog, mut document) = Document::parse(json, origin)?;
    validate_entry(entry).map_err(|problem| CatalogError::Entry {
        origin: "the new entry".to_owned(),
        index: 0,
        name: entry.name.clone(),
        problem,
    })?;
    let change = match catalog.find(&entry.name, &entry.arch) {
        None => Change::Added,
        Some(old) if old == entry => Change::Unchanged,
        Some(old) => Change::Replaced(Box::new(old.clone())),
    };
    let key = |value: &Value| {
        (
            value["name"].as_str().unwrap_or_default().to_owned(),
            value["arch"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let new_key = (entry.name.clone(), entry.arch.clone());
    let value = serde_json::to_value(entry).map_err(|source| CatalogError::Json {
        origin: origin.to_owned(),
        source,
    })?;
    let entries = document.entries();
    entries.retain(|value| key(value) != new_key);
    entries.push(value);
    entries.sort_by_key(key);
    Ok((document.canonical()?, change))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn entry(name: &str, arch: &str, sha256: &str) -> Entry {
        Entry {
            name: name.into(),
            distro: "void".into(),
            arch: arch.into(),
            kernel_version: "6.12.3".into(),
            url: format!("https://k.example/{name}-{arch}.tar.zst"),
            sha256: sha256.into(),
            size: 10,
            description: "d".into(),
        }
    }

    /// A hand-written catalog: unsorted, with an unknown field, in a field order of its own.
    const HAND_WRITTEN: &str = r#"{"schema": 1, "entries": [
      {"name": "void-6.12", "arch": "x86_64", "distro": "void", "kernel_version": "6.12.3",
       "url": "https://k.example/v.tar.zst", "size": 5, "sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
       "notes": {"built_by": "ci"}},
      {"name": "alpine-6.6", "distro": "alpine", "arch": "x86_64", "kernel_version": "6.6.1",
       "url": "https://k.example/a.tar.zst", "sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": 7}
    ]}"#;

    fn values(json: &str) -> Vec<Value> {
        serde_json::from_str::<Value>(json).unwrap()["entries"]
            .as_array()
            .unwrap()
            .clone()
    }

    #[test]
    fn adds_sorted_and_keeps_other_entries_exactly() {
        let (text, change) =
            upsert(HAND_WRITTEN, "t", &entry("void-6.12", "arm64", SHA_B)).unwrap();
        assert_eq!(change, Change::Added);
        assert!(text.ends_with("}\n") && text.contains("\n  \"entries\": [\n    {\n"));
        let before = values(HAND_WRITTEN);
        let after = values(&text);
        let names: Vec<(&str, &str)> = after
            .iter()
            .map(|v| (v["name"].as_str().unwrap(), v["arch"].as_str().unwrap()))
            .collect();
        assert_eq!(
            names,
            [
                ("alpine-6.6", "x86_64"),
                ("void-6.12", "arm64"),
                ("void-6.12", "x86_64")
            ]
        );
        assert_eq!(after[0], before[1]);
        assert_eq!(after[2], before[0]);
        // Field order survives too, so a later patch leaves these lines alone in `git diff`.
        assert!(text
            .find("\"arch\": \"x86_64\",\n      \"distro\"")
            .is_some());
    }

    #[test]
    fn replaces_exactly_one_entry_and_is_stable() {
        let (first, _) = upsert(HAND_WRITTEN, "t", &entry("void-6.12", "arm64", SHA_A)).unwrap();
        let (second, change) = upsert(&first, "t", &entry("void-6.12", "arm64", SHA_B)).unwrap();
        assert!(matches!(change, Change::Replaced(old) if old.sha256 == SHA_A));
        let (a, b) = (values(&first), values(&second));
        assert_eq!(a.len(), b.len());
        assert_eq!((a[0].clone(), a[2].clone()), (b[0].clone(), b[2].clone()));
        assert_eq!(b[1]["sha256"], SHA_B);
        let (third, change) = upsert(&second, "t", &entry("void-6.12", "arm64", SHA_B)).unwrap();
        assert_eq!(change, Change::Unchanged);
        assert_eq!(third, second);
    }

    #[test]
    fn retain_drops_entries_and_keeps_the_rest_exactly() {
        let text = retain(HAND_WRITTEN, "t", |e| e.name == "alpine-6.6").unwrap();
        let after = values(&text);
        assert_eq!(after, [values(HAND_WRITTEN)[1].clone()]);
        let none = retain(HAND_WRITTEN, "t", |_| false).unwrap();
        assert_eq!(Catalog::parse(&none, "t").unwrap().entries, []);
        assert!(retain("{", "t", |_| true).is_err());
    }

    #[test]
    fn the_empty_document_is_a_valid_catalog() {
        let catalog = Catalog::parse(&empty(), "empty").unwrap();
        assert!(catalog.entries.is_empty());
        let (text, change) =
            upsert(&empty(), "empty", &entry("void-6.12", "arm64", SHA_A)).unwrap();
        assert_eq!(change, Change::Added);
        assert_eq!(Catalog::parse(&text, "t").unwrap().entries.len(), 1);
    }

    #[test]
    fn stamping_makes_a_schema_2_document_and_keeps_the_entries() {
        let text = stamp(HAND_WRITTEN, "t", 7, "2027-02-23T00:00:00Z").unwrap();
        let catalog = Catalog::parse(&text, "t").unwrap();
        assert_eq!((catalog.schema, catalog.serial), (2, 7));
        assert_eq!(catalog.expires.as_deref(), Some("2027-02-23T00:00:00Z"));
        assert_eq!(values(&text), values(HAND_WRITTEN));
        assert!(text.starts_with("{\n  \"schema\": 2,\n  \"serial\": 7,\n  \"expires\""));
        assert!(stamp(HAND_WRITTEN, "t", 8, "next tuesday").is_err());
    }

    #[test]
    fn refuses_an_invalid_catalog_or_entry() {
        let err = upsert("{", "catalog.json", &entry("void-6.12", "arm64", SHA_A)).unwrap_err();
        assert!(err.to_string().contains("catalog.json"));
        let err = upsert(HAND_WRITTEN, "t", &entry("void-6.12", "arm64", "nope")).unwrap_err();
        assert!(err.to_string().contains("sha256"), "{err}");
    }
}
