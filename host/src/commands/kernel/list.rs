//! `banger kernel list [--available]`: what is installed, or what a source offers and whether
//! the trusted catalog vouches for it.

use anyhow::Result;
use banger_catalog::Entry;
use serde::Serialize;

use crate::{
    cli::SourceArgs,
    store::kernels::Kernels,
    store::manifest::Manifest,
    trust::catalog::Trusted,
    trust::policy,
    ui::output::{human_size, print_json, print_table},
    ui::text::say,
};

/// An installed kernel, and what the trusted catalog has instead, if that differs.
#[derive(Serialize)]
struct Installed {
    #[serde(flatten)]
    manifest: Manifest,
    update: Option<Update>,
}

/// The trusted catalog's bundle for an installed kernel's (name, arch), when its sha256
/// differs: what `banger kernel upgrade` would install.
#[derive(Serialize)]
struct Update {
    kernel_version: String,
    sha256: String,
}

pub fn installed(kernels: &Kernels, json: bool) -> Result<()> {
    let manifests = kernels.list()?;
    let trusted = Trusted::load(kernels.state())?;
    let listed: Vec<Installed> = manifests
        .into_iter()
        .map(|manifest| Installed {
            update: trusted
                .catalog
                .find(&manifest.name, &manifest.arch)
                .filter(|e| e.sha256 != manifest.sha256.as_str())
                .map(|e| Update {
                    kernel_version: e.kernel_version.clone(),
                    sha256: e.sha256.clone(),
                }),
            manifest,
        })
        .collect();
    if json {
        return print_json(&listed);
    }
    if listed.is_empty() {
        say!("no kernels installed; see `banger kernel list --available`")?;
        return Ok(());
    }
    let rows: Vec<[String; 6]> = listed
        .into_iter()
        .map(|i| {
            let m = i.manifest;
            let update = i.update.map_or("-".to_owned(), |u| {
                format!("{} available", u.kernel_version)
            });
            [
                m.name.to_string(),
                m.arch.to_string(),
                m.kernel_version,
                m.source,
                m.installed_at,
                update,
            ]
        })
        .collect();
    print_table(
        ["NAME", "ARCH", "VERSION", "SOURCE", "INSTALLED", "UPDATE"],
        &rows,
    )
}

/// An entry a source offers, and whether the trusted catalog vouches for its bytes.
#[derive(Serialize)]
struct Available {
    #[serde(flatten)]
    entry: Entry,
    /// The trusted catalog has this (name, arch) with the same sha256.
    verified: bool,
}

pub fn available(kernels: &Kernels, args: &SourceArgs, json: bool) -> Result<()> {
    let trusted = Trusted::load(kernels.state())?;
    let source = super::open_source(args, kernels, &trusted)?;
    let trusted = trusted.catalog;
    let available: Vec<Available> = source
        .list()?
        .into_iter()
        .map(|entry| Available {
            verified: policy::vouches(&trusted, &entry),
            entry: Entry {
                url: banger_fetch::DisplaySafeUrl::from(&entry.url).to_string(),
                ..entry
            },
        })
        .collect();
    if json {
        return print_json(&available);
    }
    if available.is_empty() {
        if source.name() == "catalog" {
            say!("the catalog is empty: no kernel bundles have been published yet")?;
        } else {
            say!("source `{}` lists no kernels", source.name())?;
        }
        return Ok(());
    }
    let rows: Vec<[String; 6]> = available
        .into_iter()
        .map(|a| {
            let e = a.entry;
            [
                e.name,
                e.arch,
                e.kernel_version,
                human_size(e.size),
                if a.verified { "yes" } else { "NO" }.to_owned(),
                e.description,
            ]
        })
        .collect();
    print_table(
        ["NAME", "ARCH", "VERSION", "SIZE", "VERIFIED", "DESCRIPTION"],
        &rows,
    )
}
