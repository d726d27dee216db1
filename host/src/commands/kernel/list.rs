//! `banger kernel list [--available]`: what is installed, or what a source offers and whether
//! the trusted catalog vouches for it.

use anyhow::Result;
use banger_catalog::{Catalog, Entry};
use serde::Serialize;

use crate::{
    cli::SourceArgs,
    commands::output::{human_size, print_json, print_table},
    install::Kernels,
    plugins, trust,
};

pub fn installed(kernels: &Kernels, json: bool) -> Result<()> {
    let manifests = kernels.list()?;
    if json {
        return print_json(&manifests);
    }
    if manifests.is_empty() {
        println!("no kernels installed; see `banger kernel list --available`");
        return Ok(());
    }
    let rows: Vec<[String; 5]> = manifests
        .into_iter()
        .map(|m| [m.name, m.arch, m.kernel_version, m.source, m.installed_at])
        .collect();
    print_table(["NAME", "ARCH", "VERSION", "SOURCE", "INSTALLED"], &rows)
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
    let source = plugins::open_source(&args.source, &args.options(), kernels.scratch_dir())?;
    let (trusted, _) = Catalog::trusted()?;
    let available: Vec<Available> = source
        .list()?
        .into_iter()
        .map(|entry| Available {
            verified: trust::vouches(&trusted, &entry),
            entry: Entry {
                url: banger_fetch::redact(&entry.url),
                ..entry
            },
        })
        .collect();
    if json {
        return print_json(&available);
    }
    if available.is_empty() {
        if source.name() == "catalog" {
            println!("the catalog is empty: no kernel bundles have been published yet");
        } else {
            println!("source `{}` lists no kernels", source.name());
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
