//! `banger kernel mirror DIR [NAME...]`: the work is `crate::flows::mirror`'s; this prints what was
//! added, replaced and skipped, with sizes.

use std::path::Path;

use anyhow::Result;
use banger_catalog::{Arch, ARCHES};
use serde::Serialize;

use crate::{
    cli::MirrorArgs,
    flows::mirror::{self, Action, Planned},
    store::kernels::Kernels,
    trust::catalog::Trusted,
    ui::output::{human_size, print_json, print_table},
    ui::text::{self, say},
};

pub fn run(kernels: &Kernels, args: MirrorArgs) -> Result<()> {
    let arches: Vec<Arch> = match (&args.arch, args.all_arches) {
        (_, true) => ARCHES.iter().filter_map(|a| a.parse().ok()).collect(),
        (Some(arch), false) => vec![arch.clone()],
        (None, false) => vec![Arch::host()],
    };
    let trusted = Trusted::load(kernels.state())?;
    let source = super::open_source(&args.source, kernels, &trusted)?;
    let request = mirror::Request {
        dir: &args.target,
        names: &args.names,
        arches,
        allow_unverified: args.allow_unverified,
        dry_run: args.dry_run,
    };
    let target = args.target.to_string_lossy();
    let mirrored = if target.starts_with("oci://") {
        let repository = banger_oci::Repository::parse(&target)?;
        let registry =
            banger_oci::Registry::new(&repository, false, Some(crate::ui::text::notice()))?;
        mirror::to_registry(&source, &trusted, &request, &registry)?
    } else {
        mirror::run(&source, &trusted, &request)?
    };
    if let Some((message, hint)) = &mirrored.skipped {
        text::warn(format_args!("skipping: {message}"));
        text::hint(hint);
    }
    report(&args.target, args.dry_run, &mirrored.bundles, args.json)
}

#[derive(Serialize)]
struct MirrorResult<'a> {
    dir: &'a Path,
    dry_run: bool,
    bundles: Vec<BundleResult<'a>>,
}

#[derive(Serialize)]
struct BundleResult<'a> {
    name: &'a str,
    arch: &'a str,
    file: &'a str,
    size: u64,
    sha256: &'a str,
    verified: bool,
    action: Action,
}

fn report(dir: &Path, dry_run: bool, plan: &[Planned], json: bool) -> Result<()> {
    let bundles: Vec<BundleResult> = plan
        .iter()
        .map(|p| BundleResult {
            name: &p.entry.name,
            arch: &p.entry.arch,
            file: &p.file,
            size: p.entry.size,
            sha256: &p.entry.sha256,
            verified: p.verified,
            action: p.action,
        })
        .collect();
    if json {
        return print_json(&MirrorResult {
            dir,
            dry_run,
            bundles,
        });
    }
    if bundles.is_empty() {
        say!("nothing to mirror")?;
        return Ok(());
    }
    let mut rows = Vec::new();
    for b in &bundles {
        let action = match (b.action, dry_run) {
            (Action::Add, false) => "added",
            (Action::Replace, false) => "replaced",
            (Action::Skip, false) => "skipped",
            (Action::Add, true) => "would add",
            (Action::Replace, true) => "would replace",
            (Action::Skip, true) => "would skip",
        };
        let note = match (b.action, b.verified) {
            (Action::Skip, _) => "present, sha256 matches",
            (_, false) => "unverified",
            _ => "",
        };
        rows.push([
            action.to_owned(),
            b.name.to_owned(),
            b.arch.to_owned(),
            human_size(b.size),
            b.file.to_owned(),
            note.to_owned(),
        ]);
    }
    print_table(["ACTION", "NAME", "ARCH", "SIZE", "FILE", "NOTE"], &rows)?;
    let total = |action| -> u64 {
        bundles
            .iter()
            .filter(|b| b.action == action)
            .map(|b| b.size)
            .sum()
    };
    say!(
        "{}{} to download, {} already present, in {}",
        if dry_run { "dry run: " } else { "" },
        human_size(total(Action::Add) + total(Action::Replace)),
        human_size(total(Action::Skip)),
        dir.display()
    )?;
    Ok(())
}
