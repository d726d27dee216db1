//! The effective trusted catalog, the one every command trusts: the embedded catalog or the
//! signed update stored in `<state>/catalog/`, whichever has the higher serial.
//! `$BANGER_CATALOG` overrides both, as an unsigned developer override that `kernel catalog
//! status` labels. This is the only place that chooses: every source is handed the result
//! ([`crate::plugins`], `banger.catalog`), and `banger-catalog` only parses what it is given.
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

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use banger_catalog::{Catalog, EMBEDDED_JSON, EMBEDDED_SIGNATURE, MAX_CATALOG_BYTES};
use serde::Serialize;

use crate::{
    store::atomic,
    store::files,
    store::state::State,
    trust::keys::{KeyId, SignatureError, TrustedKeys},
    ui::text,
};

/// The environment variable naming a catalog file that replaces the embedded catalog and any
/// signed update.
pub const CATALOG_ENV: &str = banger_env::BANGER_CATALOG;

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
    /// The document's exact bytes (what plugins are handed), and its signature where it has
    /// one.
    pub text: String,
    pub signature: Option<String>,
    /// The trusted key that signed it, where it is signed.
    pub key_id: Option<KeyId>,
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

/// What `<state>/catalog/` holds, verified against the keys trusted now.
#[derive(Default)]
struct Stored {
    /// The newest accepted update, when one was accepted: verified, or set aside.
    newest: Option<Result<Trusted, Ignored>>,
    /// The newest update each other key trusted now signed, verified.
    earlier: Vec<Trusted>,
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
        if let Some(path) = banger_env::non_empty(CATALOG_ENV) {
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
                url: None,
                ignored: None,
            });
        }
        let store = Store::new(state);
        let stored = store.load().unwrap_or_else(|e| Stored {
            newest: Some(Err(Ignored {
                path: store.dir.join(CATALOG).display().to_string(),
                key_id: None,
                reason: format!("{e:#}"),
            })),
            earlier: Vec::new(),
        });
        Self::newest(stored)
    }

    /// The effective catalog ignoring `$BANGER_CATALOG`: what an update must be newer than.
    /// A stored update that no key trusted now signed does not count; one that cannot be read
    /// at all is an error, since nothing can be stored over it safely.
    pub fn signed_baseline(state: &State) -> Result<Self> {
        Self::newest(Store::new(state).load()?)
    }

    /// The catalog with the highest serial among the embedded one and the stored ones a key
    /// trusted now signed.
    fn newest(stored: Stored) -> Result<Self> {
        let (newest, ignored) = match stored.newest {
            Some(Ok(newest)) => (Some(newest), None),
            Some(Err(ignored)) => (None, Some(ignored)),
            None => (None, None),
        };
        let mut best = Self::embedded()?;
        for candidate in newest.into_iter().chain(stored.earlier) {
            if candidate.catalog.serial > best.catalog.serial {
                best = candidate;
            }
        }
        best.ignored = ignored;
        Ok(best)
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
            url: None,
            ignored: None,
        })
    }
}

/// `<state>/catalog/`: the last accepted update, `catalog.json`, its `catalog.json.minisig`,
/// and `source` (the URL or directory it came from); and in `by-key/<KEY ID>/` the same three
/// files for the newest update each other trusted key signed. Those keep the rollback baseline
/// of the remaining keys when the newest update's key is revoked: a catalog an older key
/// signed cannot be replayed below what it had already reached.
pub struct Store {
    state: State,
    dir: PathBuf,
}

const CATALOG: &str = "catalog.json";
const SIGNATURE: &str = "catalog.json.minisig";
const SOURCE: &str = "source";
/// The prefix of an update's staging directory, beside `catalog/` in the state root.
const STAGING_PREFIX: &str = ".catalog-";
/// Where the newest update of each other key is kept, one directory per key id.
const BY_KEY: &str = "by-key";
/// Held while an update checks and stores a catalog, and by `gc` while it collects.
const LOCK: &str = "catalog.lock";

impl Store {
    pub fn new(state: &State) -> Self {
        Self {
            state: state.clone(),
            dir: state.root.join("catalog"),
        }
    }

    /// The stored updates, verified again against the keys trusted now.
    fn load(&self) -> Result<Stored> {
        if !self.state.check(&self.state.root)? || !self.state.check(&self.dir)? {
            return Ok(Stored::default());
        }
        let keys = TrustedKeys::load()?;
        let newest = self.read(&self.dir, &keys)?;
        let mut earlier = Vec::new();
        let by_key = self.dir.join(BY_KEY);
        if self.state.check(&by_key)? {
            for key_id in keys.ids() {
                let dir = by_key.join(key_id.to_string());
                if !self.state.check(&dir)? {
                    continue;
                }
                // One that fails verification, or that another key signed, does not count; the
                // next update drops it.
                if let Some(Ok(catalog)) = self.read(&dir, &keys)? {
                    if catalog.key_id == Some(key_id) {
                        earlier.push(catalog);
                    }
                }
            }
        }
        Ok(Stored { newest, earlier })
    }

    /// The update stored in `dir`, verified; `None` when there is none.
    fn read(&self, dir: &Path, keys: &TrustedKeys) -> Result<Option<Result<Trusted, Ignored>>> {
        let path = dir.join(CATALOG);
        let Some(text) = files::read_text_up_to(&path, MAX_CATALOG_BYTES)? else {
            return Ok(None);
        };
        let shown = path.display().to_string();
        let signature_path = dir.join(SIGNATURE);
        let Some(signature) = files::read_text(&signature_path)? else {
            return Ok(Some(Err(Ignored {
                path: shown,
                key_id: None,
                reason: format!("its signature `{}` is missing", signature_path.display()),
            })));
        };
        let key_id = match keys.verify(
            text.as_bytes(),
            &signature,
            &signature_path.display().to_string(),
        ) {
            Ok(key_id) => key_id,
            Err(refused) => {
                return Ok(Some(Err(Ignored {
                    path: shown,
                    key_id: KeyId::of_signature(&signature),
                    reason: match refused {
                        SignatureError::UntrustedKey { key_id, .. } => {
                            format!("it is signed by key {key_id}, which banger no longer trusts")
                        }
                        other => other.to_string(),
                    },
                })))
            }
        };
        let catalog = Catalog::parse(&text, &shown)?;
        let url = files::read_text(&dir.join(SOURCE))?.map(|s| s.trim().to_owned());
        Ok(Some(Ok(Trusted {
            label: format!("updated catalog (serial {})", catalog.serial),
            catalog,
            origin: Origin::Updated,
            text,
            signature: Some(signature),
            key_id: Some(key_id),
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

    /// Store a verified update, signed by `key_id`, in place of the last one, in one step.
    /// The verified updates of other keys trusted now move to `by-key/`, the newest of each;
    /// those of keys no longer trusted are dropped. The caller holds [`Store::lock`].
    pub fn replace(&self, text: &str, signature: &str, source: &str, key_id: KeyId) -> Result<()> {
        let previous = self.load()?;
        let staging = self.state.fresh_dir(&self.state.root, STAGING_PREFIX)?;
        write_update(staging.path(), text, signature, source)?;
        let mut kept: Vec<Trusted> = Vec::new();
        for earlier in previous
            .newest
            .and_then(Result::ok)
            .into_iter()
            .chain(previous.earlier)
        {
            let Some(earlier_key) = earlier.key_id.filter(|k| *k != key_id) else {
                continue;
            };
            match kept.iter_mut().find(|k| k.key_id == Some(earlier_key)) {
                Some(k) if k.catalog.serial >= earlier.catalog.serial => {}
                Some(k) => *k = earlier,
                None => kept.push(earlier),
            }
        }
        for earlier in &kept {
            let Some((earlier_key, signature)) = earlier.key_id.zip(earlier.signature.as_deref())
            else {
                continue;
            };
            let dir = staging.path().join(BY_KEY).join(earlier_key.to_string());
            self.state.ensure(&dir)?;
            write_update(
                &dir,
                &earlier.text,
                signature,
                earlier.url.as_deref().unwrap_or_default(),
            )?;
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
        if self.leftovers()?.is_empty() {
            return Ok((0, 0));
        }
        let lock = self.lock_file()?;
        if lock.try_lock().is_err() {
            return Ok((0, 0));
        }
        // Listed again under the lock: an update that ran meanwhile removed its own.
        let leftovers = self.leftovers()?;
        let (mut count, mut bytes) = (0, 0);
        for path in leftovers {
            bytes += crate::store::state::remove_leftover(&path)?;
            count += 1;
        }
        Ok((count, bytes))
    }

    /// The `.catalog-*` directories in the state root.
    fn leftovers(&self) -> Result<Vec<PathBuf>> {
        let root = &self.state.root;
        let entries =
            fs::read_dir(root).with_context(|| format!("cannot read `{}`", root.display()))?;
        Ok(entries
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_type().is_ok_and(|t| t.is_dir())
                    && e.file_name()
                        .to_str()
                        .is_some_and(|n| n.starts_with(STAGING_PREFIX))
            })
            .map(|e| e.path())
            .collect())
    }
}

/// Write an update's three files into `dir`.
fn write_update(dir: &Path, text: &str, signature: &str, source: &str) -> Result<()> {
    for (name, content) in [(CATALOG, text), (SIGNATURE, signature), (SOURCE, source)] {
        let path = dir.join(name);
        fs::write(&path, content).with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(())
}
