//! Where a mirror or an offline directory keeps its files: its own `catalog.json`, that file's
//! minisign signature beside it, and each bundle under the file name of its catalog URL. The
//! mirror and offline plugins, `kernel mirror` and `kernel catalog update` all find them here.
//!
//! This names places; it fetches nothing and trusts nothing. The bytes found there are checked
//! against the trusted catalog, or a trusted key, by whoever reads them.

use std::path::PathBuf;

/// The file name of a location's own index.
pub const INDEX_FILE: &str = "catalog.json";

/// The signature of the catalog at `catalog` (a URL or a path): the same name plus `.minisig`.
pub fn signature_of(catalog: &str) -> String {
    format!("{catalog}.minisig")
}

/// A mirror: any static web server, bucket or CDN, named by its base URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirror {
    base: String,
}

impl Mirror {
    /// The mirror at `base`, with or without a trailing `/`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL of `file` (a bundle file name, or [`INDEX_FILE`]).
    pub fn url(&self, file: &str) -> String {
        format!("{}/{file}", self.base)
    }

    /// The URL of the mirror's own `catalog.json`.
    pub fn index(&self) -> String {
        self.url(INDEX_FILE)
    }

    /// The URL of its signature.
    pub fn signature(&self) -> String {
        signature_of(&self.index())
    }
}

/// An offline directory, as `kernel mirror DIR` leaves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfflineDir {
    dir: PathBuf,
}

impl OfflineDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The path of `file` (a bundle file name, or [`INDEX_FILE`]).
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// The directory's own `catalog.json`.
    pub fn index(&self) -> PathBuf {
        self.path(INDEX_FILE)
    }

    /// Its signature.
    pub fn signature(&self) -> PathBuf {
        let mut name = self.index().into_os_string();
        name.push(".minisig");
        PathBuf::from(name)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_mirror_and_a_directory_keep_the_index_and_its_signature_side_by_side() {
        for base in ["https://m.example/k", "https://m.example/k/"] {
            let mirror = Mirror::new(base);
            assert_eq!(mirror.index(), "https://m.example/k/catalog.json");
            assert_eq!(
                mirror.signature(),
                "https://m.example/k/catalog.json.minisig"
            );
            assert_eq!(mirror.url("a.tar.zst"), "https://m.example/k/a.tar.zst");
        }
        let dir = OfflineDir::new("/srv/k");
        assert_eq!(dir.index(), Path::new("/srv/k/catalog.json"));
        assert_eq!(dir.signature(), Path::new("/srv/k/catalog.json.minisig"));
        assert_eq!(dir.path("a.tar.zst"), Path::new("/srv/k/a.tar.zst"));
    }
}
