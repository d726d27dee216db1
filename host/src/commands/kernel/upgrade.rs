//! `banger kernel upgrade [NAME...] [--all]`: install the trusted catalog's bundle for each
//! installed kernel whose sha256 differs from it. Each is a forced pull (`crate::flows::pull`), so it
//! is swapped in atomically and its images' records follow it.

use anyhow::Result;
use banger_catalog::{Catalog, KernelName};
use serde::Serialize;

use crate::{
    cli::SourceArgs,
    flows::pull,
    store::images::Images,
    store::kernels::Kernels,
    store::manifest::Manifest,
    trust::catalog::Trusted,
    ui::output::{print_json, print_table},
    ui::text::{say, tell},
};

/// What `upgrade` does, or did, to one kernel.
#[derive(Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum Action {
    Upgraded,
    WouldUpgrade,
    UpToDate,
}

#[derive(Serialize)]
struct Row {
    name: String,
    arch: String,
    from: Version,
    to: Version,
    action: Action,
}

#[derive(Serialize, Clone)]
struct Version {
    kernel_version: String,
    sha256: String,
}

/// What the user asked for.
pub struct Request {
    pub names: Vec<KernelName>,
    pub all: bool,
    pub dry_run: bool,
}

pub fn run(
    kernels: &Kernels,
    images: &Images,
    request: Request,
    args: &SourceArgs,
    json: bool,
) -> Result<()> {
    let trusted = Trusted::load(kernels.state())?;
    let installed = kernels.list()?;
    let chosen = choose(&installed, &request)?;
    let rows: Vec<Row> = chosen
        .iter()
        .map(|manifest| Row::plan(manifest, &trusted.catalog, request.dry_run))
        .collect();
    let pending: Vec<&Manifest> = chosen
        .iter()
        .zip(&rows)
        .filter(|(_, row)| row.action == Action::Upgraded)
        .map(|(manifest, _)| *manifest)
        .collect();
    upgrade(kernels, images, args, &trusted, &pending)?;
    print(&rows, json)
}

/// The installed kernels the request names, or all of them; an error for a name that is not
/// installed.
fn choose<'a>(installed: &'a [Manifest], request: &Request) -> Result<Vec<&'a Manifest>> {
    for name in &request.names {
        if !installed.iter().any(|m| &m.name == name) {
            return Err(Kernels::not_installed(name));
        }
    }
    Ok(installed
        .iter()
        .filter(|m| request.all || request.names.iter().any(|n| n == &m.name))
        .collect())
}

impl Row {
    /// What upgrading `manifest` to the trusted catalog's entry does: nothing when the sha256
    /// is the same or the catalog has none, else an upgrade (only announced on a dry run).
    fn plan(manifest: &Manifest, catalog: &Catalog, dry_run: bool) -> Self {
        let newer = catalog
            .find(&manifest.name, &manifest.arch)
            .filter(|entry| entry.sha256 != manifest.sha256.as_str());
        let from = Version {
            kernel_version: manifest.kernel_version.clone(),
            sha256: manifest.sha256.to_string(),
        };
        let to = newer.map_or(from.clone(), |e| Version {
            kernel_version: e.kernel_version.clone(),
            sha256: e.sha256.clone(),
        });
        let action = match (newer, dry_run) {
            (None, _) => Action::UpToDate,
            (Some(_), true) => Action::WouldUpgrade,
            (Some(_), false) => Action::Upgraded,
        };
        Self {
            name: manifest.name.to_string(),
            arch: manifest.arch.to_string(),
            from,
            to,
            action,
        }
    }
}

/// Pull each of `pending` again from the source `args` name, forced and verified only; the
/// source is opened only when there is something to upgrade.
fn upgrade(
    kernels: &Kernels,
    images: &Images,
    args: &SourceArgs,
    trusted: &Trusted,
    pending: &[&Manifest],
) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let source = super::open_source(args, kernels, trusted)?;
    for manifest in pending {
        let request = pull::Request {
            name: &manifest.name,
            arch: &manifest.arch,
            force: true,
            unverified: pull::Unverified::Refused,
        };
        let outcome = pull::run(kernels, images, &source, trusted, &request)?;
        if !outcome.images_updated.is_empty() {
            tell!(
                "updated image record(s) {} to the new `{}`",
                crate::flows::pull::list(&outcome.images_updated, ", "),
                manifest.name
            );
        }
    }
    Ok(())
}

/// The rows as JSON, or as a table.
fn print(rows: &[Row], json: bool) -> Result<()> {
    if json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        say!("no kernels installed; see `banger kernel list --available`")?;
        return Ok(());
    }
    let table: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                match r.action {
                    Action::Upgraded => "upgraded",
                    Action::WouldUpgrade => "would upgrade",
                    Action::UpToDate => "up to date",
                }
                .to_owned(),
                r.name.clone(),
                r.arch.clone(),
                r.from.kernel_version.clone(),
                r.to.kernel_version.clone(),
            ]
        })
        .collect();
    print_table(["ACTION", "NAME", "ARCH", "FROM", "TO"], &table)
}
