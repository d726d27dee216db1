//! `banger kernel mirror DIR`: fill a directory with verified bundles and a `catalog.json`, so
//! that it can be served as a mirror or carried to an air-gapped machine as an offline source.
//!
//! Each bundle is hashed as it is written, into a temporary file beside its target, and renamed
//! into place only once its sha256 and size match; a reader never sees half a bundle. A bundle
//! already present with the right sha256 is skipped without downloading; any other file of that
//! name (partial, corrupt, older) is replaced. `DIR/catalog.json` is rewritten after every
//! bundle, so it always lists exactly the bundles that are there, with URLs relative to DIR.

use std::{
    fs,
    io::{self, Write},
    path::Path,
};

use anyhow::{bail, Context, Result};
use banger_bundle::DigestReader;
use banger_catalog::{
    bundle_file_name, host_arch, patch, validate_arch, validate_name, Catalog, Entry, ARCHES,
};
use serde::Serialize;

use super::kernel::open_source;
use crate::{
    atomic,
    cli::MirrorArgs,
    hint::Hinted,
    install::Kernels,
    plugins::Source,
    progress,
    trust::{self, Verdict},
};

/// One bundle to mirror.
struct Planned {
    /// The entry whose bytes the file must have: the trusted one when there is one.
    entry: Entry,
    file: String,
    verified: bool,
    action: Action,
}

#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Action {
    /// Not present yet.
    Add,
    /// Present with other bytes (partial, corrupt, or another version).
    Replace,
    /// Present with the right sha256.
    Skip,
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

pub fn run(kernels: &Kernels, args: MirrorArgs) -> Result<()> {
    let arches: Vec<String> = match (&args.arch, args.all_arches) {
        (_, true) => ARCHES.iter().map(|a| (*a).to_owned()).collect(),
        (Some(arch), false) => vec![arch.clone()],
        (None, false) => vec![host_arch().to_owned()],
    };
    for arch in &arches {
        validate_arch(arch).map_err(anyhow::Error::msg)?;
    }
    for name in &args.names {
        validate_name(name).map_err(anyhow::Error::msg)?;
    }
    let (trusted, origin) = Catalog::trusted()?;
    let source = open_source(&args.source, kernels)?;
    let mut candidates = trust::candidates(source.name(), &trusted, &source.list()?);
    candidates.retain(|v| arches.contains(&v.entry.arch));
    let selected = select(candidates, &args, &arches, &origin, source.name())?;

    fs::create_dir_all(&args.target)
        .with_context(|| format!("cannot create `{}`", args.target.display()))?;
    let mut plan = Vec::new();
    for Verdict { entry, trust } in selected {
        let verified = trust == crate::manifest::Trust::Catalog;
        let file = bundle_file_name(&entry.url)
            .map_err(|e| anyhow::anyhow!("entry `{}` ({}): {e}", entry.name, entry.arch))?
            .to_owned();
        if let Some(other) = plan.iter().find(|p: &&Planned| p.file == file) {
            bail!(
                "`{}` ({}) and `{}` ({}) would both be stored as `{file}`",
                other.entry.name,
                other.entry.arch,
                entry.name,
                entry.arch
            );
        }
        let action = present_action(&args.target.join(&file), &entry)?;
        plan.push(Planned {
            entry,
            file,
            verified,
            action,
        });
    }

    let index_path = args.target.join("catalog.json");
    let mut index = read_index(&index_path)?;
    if !args.dry_run {
        for planned in &plan {
            if planned.action != Action::Skip {
                fetch_into(&source, planned, &args.target)?;
            }
            let relative = Entry {
                url: planned.file.clone(),
                ..planned.entry.clone()
            };
            index = patch::upsert(&index, &index_path.display().to_string(), &relative)?.0;
            atomic::write(&index_path, prune(&index, &args.target)?.as_bytes())?;
        }
    }
    report(&args.target, args.dry_run, &plan, args.json)
}

/// Keep the requested names (all when none are named), refusing unverified entries unless
/// the user allowed them.
fn select(
    candidates: Vec<Verdict>,
    args: &MirrorArgs,
    arches: &[String],
    origin: &str,
    source: &str,
) -> Result<Vec<Verdict>> {
    for name in &args.names {
        if !candidates.iter().any(|v| &v.entry.name == name) {
            bail!(
                "no kernel `{name}` for {} in the {origin} or in source `{source}`",
                arches.join(" or ")
            );
        }
    }
    let (wanted, unverified): (Vec<_>, Vec<_>) = candidates
        .into_iter()
        .filter(|v| args.names.is_empty() || args.names.contains(&v.entry.name))
        .partition(|v| !v.needs_allow_unverified(source) || args.allow_unverified);
    if !unverified.is_empty() {
        let names: Vec<String> = unverified
            .iter()
            .map(|v| format!("`{}` ({})", v.entry.name, v.entry.arch))
            .collect();
        let message = format!(
            "{} {} not in the {origin}; only source `{source}`'s own catalog lists {}",
            names.join(", "),
            if names.len() == 1 { "is" } else { "are" },
            if names.len() == 1 { "it" } else { "them" },
        );
        let hint =
            "pass --allow-unverified to mirror them anyway, checked against that catalog's sha256";
        if !args.names.is_empty() {
            return Err(Hinted::error(message, hint));
        }
        crate::text::warn(format!("skipping: {message}"));
        eprintln!("hint: {hint}");
    }
    Ok(wanted)
}

/// Whether the file at `path` already holds the entry's bytes. Reads it whole: a file of the
/// right size may still be corrupt.
fn present_action(path: &Path, entry: &Entry) -> Result<Action> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Action::Add),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    if file.metadata()?.len() != entry.size {
        return Ok(Action::Replace);
    }
    let mut reader = DigestReader::new(file, entry.size);
    io::copy(&mut reader, &mut io::sink())
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(if reader.digest().sha256 == entry.sha256 {
        Action::Skip
    } else {
        Action::Replace
    })
}

/// Download one bundle through `source` into `dir`, verified before it appears.
fn fetch_into(source: &Source, planned: &Planned, dir: &Path) -> Result<()> {
    let entry = &planned.entry;
    let (claims, stream) = source.open(&entry.name, &entry.arch, 0)?;
    let target = dir.join(&planned.file);
    let partial = atomic::Partial::new(&target)?;
    let (stream, bar) = progress::wrap(stream, entry.size, &planned.file);
    let mut reader = DigestReader::new(stream, entry.size);
    let copied = io::copy(&mut reader, &mut partial.file());
    bar.finish_and_clear();
    let from = banger_fetch::redact(&claims.info.url);
    copied.with_context(|| {
        format!(
            "cannot mirror `{}` ({}) from `{from}`",
            entry.name, entry.arch
        )
    })?;
    let got = reader.digest();
    if got.size != entry.size || got.sha256 != entry.sha256 {
        bail!(
            "integrity error: `{from}` delivered {} bytes with sha256 {}, but `{}` ({}) must have {} bytes with sha256 {}; nothing was written",
            got.size,
            got.sha256,
            entry.name,
            entry.arch,
            entry.size,
            entry.sha256
        );
    }
    partial.commit()?;
    Ok(())
}

/// The directory's `catalog.json`, or an empty catalog when there is none (or it is damaged,
/// which is said, since this command rewrites it anyway).
fn read_index(path: &Path) -> Result<String> {
    let empty = patch::empty();
    let origin = path.display().to_string();
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(empty),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{origin}`")),
    };
    let text = banger_catalog::read_capped(file, &origin)
        .and_then(|text| Catalog::parse(&text, &origin).map(|_| text));
    match text {
        Ok(text) => Ok(text),
        Err(e) => {
            crate::text::warn(format!("{e}; it will be rewritten"));
            Ok(empty)
        }
    }
}

/// `index` without entries whose bundle is not in `dir`.
fn prune(index: &str, dir: &Path) -> Result<String> {
    let origin = dir.join("catalog.json").display().to_string();
    Ok(patch::retain(index, &origin, |entry| {
        bundle_file_name(&entry.url).is_ok_and(|file| dir.join(file).is_file())
    })?)
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
        return super::print_json(&MirrorResult {
            dir,
            dry_run,
            bundles,
        });
    }
    let mut out = io::stdout().lock();
    if bundles.is_empty() {
        writeln!(out, "nothing to mirror")?;
        return Ok(());
    }
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
            (Action::Skip, _) => "  (present, sha256 matches)",
            (_, false) => "  (unverified)",
            _ => "",
        };
        writeln!(
            out,
            "{action:<14} {:<24} {:<7} {:>10}  {}{note}",
            b.name,
            b.arch,
            super::human_size(b.size),
            b.file
        )?;
    }
    let total = |action| -> u64 {
        bundles
            .iter()
            .filter(|b| b.action == action)
            .map(|b| b.size)
            .sum()
    };
    writeln!(
        out,
        "{}{} to download, {} already present, in {}",
        if dry_run { "dry run: " } else { "" },
        super::human_size(total(Action::Add) + total(Action::Replace)),
        super::human_size(total(Action::Skip)),
        dir.display()
    )?;
    Ok(())
}
