//! `banger kernel catalog update|status`: accept a signed catalog update
//! (`crate::trust::update`), or show which trusted catalog is in force (`crate::trust::catalog`).

use std::time::{Duration, SystemTime};

use anyhow::Result;
use serde::Serialize;

use crate::{
    cli::{CatalogCommand, UpdateFrom},
    store::state::State,
    trust::catalog::{Ignored, Origin, Trusted},
    trust::keys::{KeyId, KeysOrigin, TrustedKeys},
    trust::update::{self, UpdateSource, CATALOG_URL_ENV, DEFAULT_CATALOG_URL},
    ui::hint::Hinted,
    ui::output::print_json,
    ui::text::{self, say},
};

/// How close to its expiry a catalog gets a warning.
const EXPIRY_WARNING: Duration = Duration::from_secs(7 * 86_400);

pub fn run(state: &State, command: CatalogCommand) -> Result<()> {
    match command {
        CatalogCommand::Update {
            url,
            source,
            mirror,
            dir,
            allow_expired,
            json,
        } => {
            let from = match (source, url, mirror, dir) {
                (UpdateFrom::Catalog, Some(url), _, _) => UpdateSource::Url(url),
                (UpdateFrom::Catalog, None, _, _) => UpdateSource::Url(
                    banger_env::non_empty_string(CATALOG_URL_ENV)
                        .unwrap_or_else(|| DEFAULT_CATALOG_URL.to_owned()),
                ),
                (UpdateFrom::Mirror, _, Some(mirror), _) => UpdateSource::Mirror(mirror),
                (UpdateFrom::Offline, _, _, Some(dir)) => UpdateSource::Dir(dir),
                (UpdateFrom::Mirror, ..) => {
                    return Err(Hinted::error(
                        "--source mirror needs the mirror's base URL",
                        "pass --mirror URL or set BANGER_MIRROR_URL",
                    ))
                }
                (UpdateFrom::Offline, ..) => {
                    return Err(Hinted::error(
                        "--source offline needs the directory",
                        "pass --dir DIR or set BANGER_OFFLINE_DIR",
                    ))
                }
            };
            update(state, &from, allow_expired, json)
        }
        CatalogCommand::Status { json } => status(state, json),
    }
}

#[derive(Serialize)]
struct UpdateReport<'a> {
    changed: bool,
    serial: u64,
    previous_serial: u64,
    expires: Option<&'a str>,
    key_id: KeyId,
    entries: usize,
    url: &'a str,
}

fn update(state: &State, from: &UpdateSource, allow_expired: bool, json: bool) -> Result<()> {
    let updated = update::update(state, from, allow_expired)?;
    if updated.expired {
        text::warn(format_args!(
            "ACCEPTED AN EXPIRED CATALOG (--allow-expired): serial {} expired at {}; a source that serves only expired catalogs may be holding newer ones back",
            updated.catalog.serial,
            updated.catalog.expires.as_deref().unwrap_or_default()
        ));
    }
    let report = UpdateReport {
        changed: updated.changed,
        serial: updated.catalog.serial,
        previous_serial: updated.previous_serial,
        expires: updated.catalog.expires.as_deref(),
        key_id: updated.key_id,
        entries: updated.catalog.entries.len(),
        url: &updated.source,
    };
    if json {
        return print_json(&report);
    }
    if updated.changed {
        say!(
            "updated the trusted catalog from serial {} to {} ({} entries, expires {}, signed by key {})",
            report.previous_serial,
            report.serial,
            report.entries,
            report.expires.unwrap_or("never"),
            report.key_id,
        )?;
        say!("  from {}", report.url)?;
    } else {
        say!(
            "the trusted catalog is already serial {} from {}; nothing to do",
            report.serial,
            report.url
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Status<'a> {
    origin: Origin,
    serial: u64,
    expires: Option<&'a str>,
    key_id: Option<KeyId>,
    entries: usize,
    url: Option<&'a str>,
    /// `$BANGER_CATALOG_KEYS`, when it replaces the embedded keys.
    keys_override: Option<String>,
    /// Set when the catalog has expired or expires within 7 days.
    warning: Option<String>,
    /// The stored update, when it is there but does not count (its key is no longer trusted,
    /// or it fails verification).
    ignored: Option<&'a Ignored>,
}

fn status(state: &State, json: bool) -> Result<()> {
    let trusted = Trusted::resolve(state)?;
    let catalog = &trusted.catalog;
    let warning = catalog.expires_at().and_then(|at| {
        let expires = catalog.expires.as_deref().unwrap_or_default();
        match at.duration_since(SystemTime::now()) {
            Err(_) => Some(format!(
                "the trusted catalog expired at {expires}: run `banger kernel catalog update`"
            )),
            Ok(left) if left < EXPIRY_WARNING => Some(format!(
                "the trusted catalog expires at {expires}, in less than 7 days: run `banger kernel catalog update`"
            )),
            Ok(_) => None,
        }
    });
    let keys_override = match TrustedKeys::load()?.origin {
        KeysOrigin::Embedded => None,
        KeysOrigin::Replaced(path) => Some(path.display().to_string()),
    };
    let report = Status {
        origin: trusted.origin,
        serial: catalog.serial,
        expires: catalog.expires.as_deref(),
        key_id: trusted.key_id,
        entries: catalog.entries.len(),
        url: trusted.url.as_deref(),
        keys_override,
        warning,
        ignored: trusted.ignored.as_ref(),
    };
    if let Some(warning) = &report.warning {
        text::warn(warning);
    }
    if json {
        return print_json(&report);
    }
    let origin = match report.origin {
        Origin::Embedded => "embedded (compiled into this banger)".to_owned(),
        Origin::Updated => "updated (a signed catalog stored in the state directory)".to_owned(),
        Origin::Override => format!(
            "override: {} from $BANGER_CATALOG, unsigned, for development",
            trusted.label
        ),
    };
    say!("origin:   {origin}")?;
    say!("serial:   {}", report.serial)?;
    say!("expires:  {}", report.expires.unwrap_or("never (schema 1)"))?;
    say!(
        "signed:   {}",
        report
            .key_id
            .map_or("no".to_owned(), |k| format!("by key {k}"))
    )?;
    say!("entries:  {}", report.entries)?;
    if let Some(url) = report.url {
        say!("from:     {url}")?;
    }
    if let Some(keys) = &report.keys_override {
        say!("keys:     $BANGER_CATALOG_KEYS ({keys}), not the embedded ones")?;
    }
    if let Some(ignored) = report.ignored {
        say!(
            "ignored:  the stored update `{}`: {}",
            ignored.path,
            ignored.reason
        )?;
        say!("          it does not count toward the rollback baseline; a newer catalog signed by a trusted key replaces it")?;
    }
    Ok(())
}
