//! The effective trusted catalog, the one every command trusts: the embedded catalog or the
//! signed update stored in `<state>/catalog/`, whichever has the higher serial.
//! `$BANGER_CATALOG` overrides both, as an unsigned developer override that `kernel catalog
//! status` labels.
//!
//! The stored update is verified again each time it is read, against the keys trusted *now*.
//! One that no trusted key signed (its key was revoked, or the file changed behind banger's
//! back) is [`Ignored`]: it is not used and does not count toward the rollback baseline, so
//! revoking a key undoes whatever that key signed, a serial of `u64::MAX` included. `kernel
//! catalog status` reports it with the key that signed it; every other command warns once.
//!
//! The update is replaced as a whole directory in one step ([`atomic::swap_dir`]), flushed
//! before and after, so a reader or a crash sees the old update or the new one. A killed
//! update leaves its `.catalog-*` staging directory, which [`Store::gc`] removes.

use std::{fs, path::PathBuf};

use anyhow::{Context, Result};
use banger_catalog::{Catalog, CATALOG_ENV, EMBEDDED_JSON, EMBEDDED_SIGNATURE, MAX_CATALOG_BYTES};
use serde::Serialize;

use crate::{
    atomic, files,
    keys::{KeyId, SignatureError, TrustedKeys},
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
    /// The stored update, when it is there but does not count.
    pub ignored: Option<Ignored>,
}

/// A stored update that does not count, and why.
#[derive(Serialize, Clone, Debug)]
pub struct Ignored {
    /// Its `catalog.json`.
    pub path: String,
    /// The key its signature names, as minisign shows it, where the signature names one.
    pub key_id: Option<KeyId>,
    /// Why, as a sentence.
    pub reason: String,
}

impl Ignored {
    /// The warning the commands that use the catalog print.
    pub fn warning(&self) -> String {
        format!(
            "ignoring the stored catalog update `{}`: {}; it does not count until a trusted key signs a newer one",
            self.path, self.reason
        )
    }
}

/// What `<state>/catalog/` holds.
enum Stored {
    /// Nothing: no update was ever accepted.
    Nothing,
    /// An update a trusted key signed.
    Verified(Box<Trusted>),
    Ignored(Ignored),
}

impl Trusted {
    /// The effective catalog for `state`; warns once when the stored update is ignored.
    pub fn load(state: &State) -> Result<Self> {
        let trusted = Self::resolve(state)?;
        if let Some(ignored) = &trusted.ignored {
            text::warn(ignored.warning());
        }
        Ok(trusted)
    }

    /// The effective catalog for `state`, saying nothing: [`Trusted::ignored`] tells whether
    /// the stored update was set aside.
    pub fn resolve(state: &State) -> Result<Self> {
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
                ignored: None,
            });
        }
        let store = Store::new(state);
        let stored = store.load().unwrap_or_else(|e| {
            Stored::Ignored(Ignored {
                path: store.dir.join(CATALOG).display().to_string(),
                key_id: None,
                reason: format!("{e:#}"),
            })
        });
        Self::newest(stored)
    }

    /// The effective catalog ignoring `$BANGER_CATALOG`: what an update must be newer than.
    /// A stored update that no key trusted now signed does not count; one that cannot be read
    /// at all is an error, since nothing can be stored over it safely.
    pub fn signed_baseline(state: &State) -> Result<Self> {
        Self::newest(Store::new(state).load()?)
    }

    /// The embedded catalog or the verified stored one, whichever has the higher serial.
    fn newest(stored: Stored) -> Result<Self> {
        let mut embedded = Self::embedded()?;
        match stored {
            Stored::Verified(updated) if updated.catalog.serial > embedded.catalog.serial => {
                Ok(*updated)
            }
            Stored::Verified(_) | Stored::Nothing => Ok(embedded),
            Stored::Ignored(ignored) => {
                embedded.ignored = Some(ignored);
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
            ignored: None,
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
/// The prefix of an update's staging directory, beside `catalog/` in the state root.
const STAGING_PREFIX: &str = ".catalog-";
/// Held while an update checks and stores a catalog, and by `gc` while it collects.
const LOCK: &str = "catalog.lock";

impl Store {
    pub fn new(state: &State) -> Self {
        Self {
            state: state.clone(),
            dir: state.root.join("catalog"),
        }
    }

    /// The stored update, verified again against the keys trusted now.
    fn load(&self) -> Result<Stored> {
        if !self.state.check(&self.state.root)? || !self.state.check(&self.dir)? {
            return Ok(Stored::Nothing);
        }
        let path = self.dir.join(CATALOG);
        let Some(text) = files::read_text_up_to(&path, MAX_CATALOG_BYTES)? else {
            return Ok(Stored::Nothing);
        };
        let shown = path.display().to_string();
        let signature_path = self.dir.join(SIGNATURE);
        let Some(signature) = files::read_text(&signature_path)? else {
            return Ok(Stored::Ignored(Ignored {
                path: shown,
                key_id: None,
                reason: format!("its signature `{}` is missing", signature_path.display()),
            }));
        };
        let key_id = match TrustedKeys::load()?.verify(
            text.as_bytes(),
            &signature,
            &signature_path.display().to_string(),
        ) {
            Ok(key_id) => key_id,
            Err(refused) => {
                return Ok(Stored::Ignored(Ignored {
                    path: shown,
                    key_id: KeyId::of_signature(&signature),
                    reason: match refused {
                        SignatureError::UntrustedKey { key_id, .. } => {
                            format!("it is signed by key {key_id}, which banger no longer trusts")
                        }
                        other => other.to_string(),
                    },
                }))
            }
        };
        let catalog = Catalog::parse(&text, &shown)?;
        let url = files::read_text(&self.dir.join(SOURCE))?.map(|s| s.trim().to_owned());
        Ok(Stored::Verified(Box::new(Trusted {
            label: format!("updated catalog (serial {})", catalog.serial),
            catalog,
            origin: Origin::Updated,
            text,
            signature: Some(signature),
            key_id: Some(key_id),
            path: Some(path),
            url,
            ignored: None,
        })))
    }

    /// An exclusive hold on `<state>/catalog.lock`, waiting for it; released on drop. An update
    /// holds it from its serial check to its store, so two updates cannot interleave.
    pub fn lock(&self) -> Result<fs::File> {
        let file = self.lock_file()?;
        file.lock()
            .with_context(|| format!("cannot lock `{}`", self.state.root.join(LOCK).display()))?;
        Ok(file)
    }

    fn lock_file(&self) -> Result<fs::File> {
        self.state.ensure(&self.state.root)?;
        let path = self.state.root.join(LOCK);
        files::open(
            &path,
            fs::File::options().create(true).truncate(false).write(true),
        )?
        .with_context(|| format!("cannot open `{}`", path.display()))
    }

    /// Store a verified update in place of the last one, in one step. The caller holds
    /// [`Store::lock`].
    pub fn replace(&self, text: &str, signature: &str, source: &str) -> Result<()> {
        let staging = self.state.fresh_dir(&self.state.root, STAGING_PREFIX)?;
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

    /// Remove the staging directories killed updates left (`<state>/.catalog-*`), unless an
    /// update is running now: its own staging directory is not stale. Returns how many were
    /// removed and their bytes.
    pub fn gc(&self) -> Result<(u64, u64)> {
        if !self.state.check(&self.state.root)? {
            return Ok((0, 0));
        }
        let leftovers: Vec<PathBuf> = fs::read_dir(&self.state.root)
            .with_context(|| format!("cannot read `{}`", self.state.root.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_type().is_ok_and(|t| t.is_dir())
                    && e.file_name()
                        .to_str()
                        .is_some_and(|n| n.starts_with(STAGING_PREFIX))
            })
            .map(|e| e.path())
            .collect();
        if leftovers.is_empty() {
            return Ok((0, 0));
        }
        let lock = self.lock_file()?;
        if lock.try_lock().is_err() {
            return Ok((0, 0));
        }
        let (mut count, mut bytes) = (0, 0);
        for path in leftovers {
            bytes += crate::state::remove_leftover(&path)?;
            count += 1;
        }
        Ok((count, bytes))
    }
}
