//! `banger kernel upgrade [NAME...] [--all]`: install the trusted catalog's bundle for each
//! installed kernel whose sha256 differs from it. Each is a forced pull (`crate::flows::pull`), so it
//! is swapped in atomically and its images' records follow it.

use anyhow::{bail, Result};
use banger_catalog::{Entry, KernelName};
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
    for name in &request.names {
        if !installed.iter().any(|m| &m.name == name) {
            return Err(Kernels::not_installed(name));
        }
    }
    let chosen: Vec<&Manifest> = installed
        .iter()
        .filter(|m| request.all || request.names.iter().any(|n| n == &m.name))
        .collect();
    let mut rows = Vec::new();
    let mut pending: Vec<(&Manifest, &Entry)> = Vec::new();
    for manifest in chosen {
        let newer = trusted
            .catalog
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
        let action = match (newer, request.dry_run) {
            (None, _) => Action::UpToDate,
            (Some(_), true) => Action::WouldUpgrade,
            (Some(entry), false) => {
                pending.push((manifest, entry));
                Action::Upgraded
            }
        };
        rows.push(Row {
            name: manifest.name.to_string(),
            arch: manifest.arch.to_string(),
            from,
            to,
            action,
        });
    }
    if !pending.is_empty() {
        let source = super::open_source(args, kernels, &trusted)?;
        for (manifest, entry) in pending {
            let verdict = pull::verdict(
                &source,
                &trusted.catalog,
                &trusted.label,
                &manifest.name,
                &manifest.arch,
                false,
            )?;
            if !verdict.verified() {
                bail!(
                    "source `{}` would install an unverified `{}`; upgrades take only the trusted catalog's bytes",
                    source.name(),
                    manifest.name
                );
            }
            let outcome = pull::install(kernels, images, &source, verdict, Some(entry), true)?;
            if !outcome.images_updated.is_empty() {
                tell!(
                    "updated image record(s) {} to the new `{}`",
                    crate::flows::pull::list(&outcome.images_updated, ", "),
                    manifest.name
                );
            }
        }
    }
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
