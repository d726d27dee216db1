//! `kernel catalog update`: fetch a `catalog.json` and its `catalog.json.minisig`, accept it
//! only if a trusted key signed it, it is newer than the rollback baseline (the highest serial
//! among the embedded catalog and a stored update that a key trusted now signed), and it has
//! not expired, then store it ([`crate::trust::catalog::Store`]).
//!
//! Every refusal leaves the stored catalog as it was. Downloads are capped like everything
//! from a source: 4 MiB for the catalog, 64 KiB for the signature, and the fetch crate's
//! timeouts and low-speed limit.

use std::{fs::File, path::PathBuf, time::SystemTime};

use anyhow::{Context, Result};
use banger_catalog::{
    capped,
    location::{signature_of, Mirror, OfflineDir},
    read_capped, Catalog,
};
use banger_fetch::{DisplaySafeUrl, Fetcher, Schemes};

use crate::{
    store::state::State,
    trust::catalog::{Store, Trusted},
    trust::keys::{KeyId, TrustedKeys},
    ui::{exit::Class, hint::Hinted},
};

/// The environment variable naming the URL updates come from by default.
pub const CATALOG_URL_ENV: &str = banger_env::BANGER_CATALOG_URL;
/// Where updates come from when nothing else is said: the bucket's public URL.
pub const DEFAULT_CATALOG_URL: &str = "https://kernels.thaloco.com/catalog.json";
/// The largest signature file read.
const MAX_SIGNATURE_BYTES: u64 = 64 << 10;

/// Where to fetch an update from.
pub enum UpdateSource {
    /// An https:// URL of `catalog.json`; the signature is at the same URL + `.minisig`.
    Url(String),
    /// A mirror's base URL (http:// or https://): `<base>/catalog.json`.
    Mirror(String),
    /// A directory: `DIR/catalog.json`.
    Dir(PathBuf),
}

/// What an update did.
pub struct Updated {
    pub catalog: Catalog,
    pub previous_serial: u64,
    pub key_id: KeyId,
    /// Where it came from, without credentials.
    pub source: String,
    /// False when the same catalog was already the effective one.
    pub changed: bool,
    /// The catalog has expired and `--allow-expired` let it in.
    pub expired: bool,
}

/// Fetch, verify and store an update.
pub fn update(state: &State, from: &UpdateSource, allow_expired: bool) -> Result<Updated> {
    let (text, signature, source) = fetch(from)?;
    let what = signature_of(&source);
    let key_id = TrustedKeys::load()?.verify(text.as_bytes(), &signature, &what)?;
    let catalog = Catalog::parse(&text, &source)?;
    if catalog.schema < 2 {
        return Err(Class::Refused.error(format!(
            "catalog `{source}` has no serial and expiry (schema {}); an update must be schema 2",
            catalog.schema
        )));
    }
    // One update at a time: the serial check and the store are one step, so two updates
    // racing can never leave the older of the two in place.
    let store = Store::new(state);
    let _lock = store.lock()?;
    // A stored update that no key trusted now signed does not count (`Trusted::ignored`): it
    // is replaced by this one, whatever its serial.
    let current = Trusted::signed_baseline(state)?;
    let previous_serial = current.catalog.serial;
    if catalog.serial < previous_serial {
        return Err(Hinted::of(
            Class::Refused,
            format!(
                "refusing catalog `{source}`: its serial {} is older than the trusted catalog's {previous_serial} (a rollback)",
                catalog.serial
            ),
            "fetch from a source that has the current catalog",
        ));
    }
    if catalog.serial == previous_serial {
        if text == current.text {
            return Ok(Updated {
                catalog,
                previous_serial,
                key_id,
                source,
                changed: false,
                expired: false,
            });
        }
        return Err(Class::Refused.error(format!(
            "refusing catalog `{source}`: it has serial {} like the trusted catalog, but other bytes; a publish always raises the serial",
            catalog.serial
        )));
    }
    let expired = catalog
        .expires_at()
        .is_some_and(|at| at <= SystemTime::now());
    if expired && !allow_expired {
        return Err(Hinted::of(
            Class::Refused,
            format!(
                "refusing catalog `{source}`: it expired at {} (a source that stopped updating, or one holding a catalog back)",
                catalog.expires.as_deref().unwrap_or_default()
            ),
            "pass --allow-expired to accept it anyway, if you know why it was not renewed",
        ));
    }
    store.replace(&text, &signature, &source, key_id)?;
    Ok(Updated {
        catalog,
        previous_serial,
        key_id,
        source,
        changed: true,
        expired,
    })
}

/// The catalog text, its signature, and a label for where they came from. A mirror and a
/// directory keep them where the mirror and offline sources look (`banger_catalog::location`).
fn fetch(from: &UpdateSource) -> Result<(String, String, String)> {
    match from {
        UpdateSource::Url(url) => fetch_url(url, &signature_of(url), Schemes::HttpsOnly),
        UpdateSource::Mirror(base) => {
            let mirror = Mirror::new(base);
            fetch_url(&mirror.index(), &mirror.signature(), Schemes::HttpAndHttps)
        }
        UpdateSource::Dir(dir) => {
            let dir = OfflineDir::new(dir);
            let (catalog, signature) = (dir.index(), dir.signature());
            let text = read_file(&catalog, banger_catalog::MAX_CATALOG_BYTES)?;
            let shown = catalog.display().to_string();
            if !signature.exists() {
                return Err(unsigned(
                    &shown,
                    format!("`{}` does not exist", signature.display()),
                ));
            }
            Ok((text, read_file(&signature, MAX_SIGNATURE_BYTES)?, shown))
        }
    }
}

fn fetch_url(url: &str, signature_url: &str, schemes: Schemes) -> Result<(String, String, String)> {
    let fetcher = Fetcher::new(schemes)?.with_notice(crate::ui::text::notice());
    let shown = DisplaySafeUrl::from(url).to_string();
    let text = read_capped(fetcher.get(url)?, &shown)?;
    let signature = fetcher.get(signature_url).map_err(|e| {
        if e.is_not_found() {
            unsigned(&shown, &e)
        } else {
            anyhow::Error::new(e).context(format!("cannot fetch the signature of `{shown}`"))
        }
    })?;
    let signature = capped::read_text(
        signature,
        MAX_SIGNATURE_BYTES,
        &DisplaySafeUrl::from(signature_url).to_string(),
    )?;
    Ok((text, signature, shown))
}

/// A catalog without a signature beside it: refused, since banger takes no unsigned update.
fn unsigned(what: &str, why: impl std::fmt::Display) -> anyhow::Error {
    Hinted::of(
        Class::Refused,
        format!("`{what}` has no signature ({why}); banger takes no unsigned catalog update"),
        "publish the catalog with its .minisig beside it (banger kernel publish signs it)",
    )
}

fn read_file(path: &std::path::Path, limit: u64) -> Result<String> {
    let file = File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(capped::read_text(file, limit, &path.display().to_string())?)
}
