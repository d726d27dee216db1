//! `banger kernel publish NAME`: the steps are `crate::publish`'s; this prints what was
//! uploaded and patched, and the git and build steps that come next.

use std::{io::Write, path::PathBuf};

use anyhow::Result;
use banger_catalog::{patch::Change, Entry};
use serde::Serialize;

use crate::{
    cli::PublishArgs,
    commands::output::print_json,
    install::Kernels,
    publish::{self, Published},
};

/// What the catalog patch did to the entry, for `--json`.
#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum ChangeKind {
    Added,
    Replaced,
    Unchanged,
}

impl From<&Change> for ChangeKind {
    fn from(change: &Change) -> Self {
        match change {
            Change::Added => Self::Added,
            Change::Replaced(_) => Self::Replaced,
            Change::Unchanged => Self::Unchanged,
        }
    }
}

pub fn run(kernels: &Kernels, args: PublishArgs) -> Result<()> {
    let published = publish::publish(
        kernels,
        &publish::Request {
            name: &args.name,
            description: args.description.clone(),
            catalog: &args.catalog,
            dry_run: args.dry_run,
            out: args.out.as_deref(),
            remote: &args.remote,
            bucket: &args.bucket,
            base_url: &args.base_url,
        },
    )?;
    let Published {
        entry,
        file,
        kept,
        upload,
        change,
    } = published;
    let verb = match change {
        Change::Added => "add",
        _ => "update",
    };
    let catalog_path = args.catalog.display();
    let result = PublishResult {
        name: entry.name.clone(),
        arch: entry.arch.clone(),
        file,
        sha256: entry.sha256.clone(),
        size: entry.size,
        url: entry.url.clone(),
        bundle: kept,
        upload,
        catalog: args.catalog.clone(),
        change: ChangeKind::from(&change),
        dry_run: args.dry_run,
        next_steps: vec![
            format!("git diff -- {catalog_path}"),
            format!("git add {catalog_path}"),
            format!("git commit -m 'kernel catalog: {verb} {}'", entry.name),
            "cargo build --release --workspace".to_owned(),
        ],
    };
    if args.json {
        return print_json(&result);
    }
    print_report(&result, &entry, &change)
}

#[derive(Serialize)]
struct PublishResult {
    name: String,
    arch: String,
    file: String,
    sha256: String,
    size: u64,
    url: String,
    /// Where the bundle was kept (`--out`), if anywhere.
    bundle: Option<PathBuf>,
    /// `REMOTE:BUCKET/FILE`, or the target it would have gone to with `--dry-run`.
    upload: String,
    catalog: PathBuf,
    change: ChangeKind,
    dry_run: bool,
    next_steps: Vec<String>,
}

fn print_report(result: &PublishResult, entry: &Entry, change: &Change) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let r = result;
    if r.dry_run {
        writeln!(out, "dry run: nothing was uploaded and nothing was patched")?;
        writeln!(
            out,
            "  would upload  {} ({} bytes, sha256 {})\n             to {}",
            r.file, r.size, r.sha256, r.upload
        )?;
        writeln!(out, "  would check   {}", r.url)?;
    } else {
        writeln!(out, "published kernel `{}` ({})", r.name, r.arch)?;
        writeln!(
            out,
            "  bundle   {} ({} bytes, sha256 {})",
            r.file, r.size, r.sha256
        )?;
        writeln!(out, "  uploaded {}", r.upload)?;
        writeln!(
            out,
            "  checked  {} (HEAD 200, Content-Length {})",
            r.url, r.size
        )?;
    }
    if let Some(bundle) = &r.bundle {
        writeln!(out, "  kept     {}", bundle.display())?;
    }
    let would = if r.dry_run { "would " } else { "" };
    match change {
        Change::Added => writeln!(
            out,
            "  catalog  {} : {would}add this entry",
            r.catalog.display()
        )?,
        Change::Replaced(old) => writeln!(
            out,
            "  catalog  {} : {would}replace the entry with sha256 {}",
            r.catalog.display(),
            old.sha256
        )?,
        Change::Unchanged => writeln!(
            out,
            "  catalog  {} : already holds this exact entry",
            r.catalog.display()
        )?,
    }
    let shown = serde_json::to_string_pretty(entry)?;
    for line in shown.lines() {
        writeln!(out, "    {line}")?;
    }
    if !r.dry_run {
        writeln!(out, "\nNext steps (nothing was committed or rebuilt):")?;
        for step in &r.next_steps {
            writeln!(out, "  {step}")?;
        }
        writeln!(
            out,
            "The last command rebuilds the catalog plugin, which embeds catalog.json."
        )?;
    }
    Ok(())
}
