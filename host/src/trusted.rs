//! The effective trusted catalog, the one every command trusts: the embedded catalog or the
//! signed update stored in `<state>/catalog/`, whichever has the higher serial.
//! `$BANGER_CATALOG` overrides both, as an unsigned developer override that `kernel catalog
//! status` labels.
//!
//! The stored update is verified again each time it is read, so a file changed behind banger's
//! back, or signed by a key that is no longer trusted, is not used (a warning says so). It is
//! replaced as a whole directory in one step ([`atomic::swap_dir`]), flushed
//! before and after, so a reader or a crash sees the old update or the new one.

use std::{fs, path::PathBuf};

use anyhow::{Context, Result};
use banger_catalog::{Catalog, CATALOG_ENV, EMBEDDED_JSON, EMBEDDED_SIGNATURE, MAX_CATALOG_BYTES};
use serde::Serialize;

use crate::{
    atomic, files,
    keys::{KeyId, TrustedKeys},
    state::State,
    text,
};

/// Where the effective catalog came from.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Compiled into this build.
    Embedded,
    /// A signed update, stored in the state directory.
    Updated,
    /// `$BANGER_CATALOG`: unsigned, chosen by whoever set it.
    Override,
}

/// The effective trusted catalog.
pub struct Trusted {
    pub catalog: Catalog,
    pub origin: Origin,
    /// How errors name it ("embedded catalog", "updated catalog (serial 7)", a path).
    pub label: String,
    /// The document's exact bytes, and its signature where it has one.
    pub text: String,
    pub signature: Option<String>,
    /// The trusted key that signed it, where it is signed.
    pub key_id: Option<KeyId>,
    /// The stored file, for plugins (`banger.catalog`); only for an update.
    pub path: Option<PathBuf>,
    /// Where an update was fetched from.
    pub url: Option<String>,
}

impl Trusted {
    /// The effective catalog for `state`.
    pub fn load(state: &State) -> Result<Self> {
        if let Some(path) = std::env::var_os(CATALOG_ENV).filter(|p| !p.is_empty()) {
            let path = PathBuf::from(path);
            let label = path.display().to_string();
            let file = fs::File::open(&path)
                .with_context(|| format!("cannot read {CATALOG_ENV} `{label}`"))?;
            let text = banger_catalog::read_capped(file, &label)?;
            let catalog = Catalog::parse(&text, &label)?;
            return Ok(Self {
                catalog,
                origin: Origin::Override,
                label,
                text,
                signature: None,
                key_id: None,
                path: None,
                url: None,
            });
        }
        let embedded = Self::embedded()?;
        match Store::new(state).load() {
            Ok(Some(updated)) if updated.catalog.serial > embedded.catalog.serial => Ok(updated),
            Ok(_) => Ok(embedded),
            Err(e) => {
                text::warn(format_args!(
                    "ignoring the stored catalog update: {e:#}; using the embedded catalog"
                ));
                Ok(embedded)
            }
        }
    }

    fn embedded() -> Result<Self> {
        let signature = EMBEDDED_SIGNATURE.map(str::to_owned);
        Ok(Self {
            catalog: Catalog::embedded()?,
            origin: Origin::Embedded,
            label: "embedded catalog".to_owned(),
            text: EMBEDDED_JSON.to_owned(),
            key_id: signature.as_deref().and_then(KeyId::of_signature),
            signature,
            path: None,
            url: None,
        })
    }

    /// The effective catalog ignoring `$BANGER_CATALOG`: what an update must be newer than.
    pub fn signed_baseline(state: &State) -> Result<Self> {
        let embedded = Self::embedded()?;
        Ok(match Store::new(state).load()? {
            Some(updated) if updated.catalog.serial > embedded.catalog.serial => updated,
            _ => embedded,
        })
    }
}

/// `<state>/catalog/`: the last accepted update, `catalog.json`, its `catalog.json.minisig`,
/// and `source` (the URL or directory it came from).
pub struct Store {
    state: State,
    dir: PathBuf,
}

const CATALOG: &str = "catalog.json";
const SIGNATURE: &str = "catalog.json.minisig";
const SOURCE: &str = "source";

impl Store {
    pub fn new(state: &State) -> Self {
        Self {
            state: state.clone(),
            dir: state.root.join("catalog"),
        }
    }

    /// The stored update, verified again; `None` when there is none.
    pub fn load(&self) -> Result<Option<Trusted>> {
        if !self.state.check(&self.state.root)? || !self.state.check(&self.dir)? {
            return Ok(None);
        }
        let path = self.dir.join(CATALOG);
        let Some(text) = files::read_text_up_to(&path, MAX_CATALOG_BYTES)? else {
            return Ok(None);
        };
        let signature_path = self.dir.join(SIGNATURE);
        let signature = files::read_text(&signature_path)?
            .with_context(|| format!("`{}` is missing", signature_path.display()))?;
        let key_id = TrustedKeys::load()?.verify(
            text.as_bytes(),
            &signature,
            &signature_path.display().to_string(),
        )?;
        let catalog = Catalog::parse(&text, &path.display().to_string())?;
        let url = files::read_text(&self.dir.join(SOURCE))?.map(|s| s.trim().to_owned());
        Ok(Some(Trusted {
            label: format!("updated catalog (serial {})", catalog.serial),
            catalog,
            origin: Origin::Updated,
            text,
            signature: Some(signature),
            key_id: Some(key_id),
            path: Some(path),
            url,
        }))
    }

    /// Store a verified update in place of the last one, in one step.
    pub fn replace(&self, text: &str, signature: &str, source: &str) -> Result<()> {
        self.state.ensure(&self.state.root)?;
        let staging = tempfile::Builder::new()
            .prefix(".catalog-")
            .tempdir_in(&self.state.root)
            .with_context(|| {
                format!(
                    "cannot create a directory in `{}`",
                    self.state.root.display()
                )
            })?;
        for (name, content) in [(CATALOG, text), (SIGNATURE, signature), (SOURCE, source)] {
            let path = staging.path().join(name);
            fs::write(&path, content)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
        }
        atomic::sync_filesystem(staging.path())?;
        atomic::swap_dir(staging.path(), &self.dir).with_context(|| {
            format!(
                "cannot move the catalog update into `{}`",
                self.dir.display()
            )
        })?;
        atomic::sync_dir(&self.state.root)
        // `staging` now holds the previous update, if there was one; dropping it removes it.
    }
}
