//! `banger kernel publish [NAME]`: the steps are `crate::flows::publish`'s; this prints what was
//! uploaded, patched and signed, and the git and build steps that come next.

use std::path::PathBuf;

use anyhow::Result;
use banger_catalog::patch::Change;
use serde::Serialize;

use crate::{
    cli::PublishArgs,
    flows::publish::{self, Published, PublishedBundle, SignedCatalog},
    store::kernels::Kernels,
    trust::keys::KeyId,
    ui::output::print_json,
    ui::text::say,
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

#[derive(Serialize)]
struct PublishResult {
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    bundle: Option<BundleResult>,
    catalog: PathBuf,
    /// The published catalog's serial, expiry and signer (not for a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    serial: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<KeyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<PathBuf>,
    dry_run: bool,
    next_steps: Vec<String>,
}

#[derive(Serialize)]
struct BundleResult {
    name: String,
    arch: String,
    file: String,
    sha256: String,
    size: u64,
    url: String,
    /// Where the bundle was kept (`--out`), if anywhere.
    #[serde(rename = "bundle")]
    kept: Option<PathBuf>,
    /// `REMOTE:BUCKET/FILE`, or where it would have gone with `--dry-run`.
    upload: String,
    change: ChangeKind,
}

pub fn run(kernels: &Kernels, args: PublishArgs) -> Result<()> {
    let registry = registry(args.to.as_deref())?;
    let published = publish::publish(
        kernels,
        &publish::Request {
            name: args.name.as_ref(),
            description: args.description.clone(),
            catalog: &args.catalog,
            dry_run: args.dry_run,
            allow_unready: args.allow_unready,
            out: args.out.as_deref(),
            remote: &args.remote,
            bucket: &args.bucket,
            base_url: &args.base_url(),
            sign_key: args.sign_key.as_deref(),
            expires_days: args.expires_days,
            to: registry.as_ref(),
        },
    )?;
    let result = PublishResult::new(&args, &published);
    if args.json {
        return print_json(&result);
    }
    print_text(&result, &published)
}

/// The OCI registry `--to` names, if it names one.
fn registry(to: Option<&str>) -> Result<Option<banger_oci::Registry>> {
    let Some(to) = to else {
        return Ok(None);
    };
    let repository = to
        .strip_prefix("oci://")
        .ok_or_else(|| anyhow::anyhow!("--to `{to}` is not an oci:// repository"))
        .and_then(|r| Ok(banger_oci::Repository::parse(r)?))?;
    Ok(Some(banger_oci::Registry::new(
        &repository,
        false,
        Some(crate::ui::text::notice()),
    )?))
}

impl PublishResult {
    fn new(args: &PublishArgs, published: &Published) -> Self {
        let Published { bundle, catalog } = published;
        let catalog_path = args.catalog.display().to_string();
        let signature_path = catalog
            .as_ref()
            .map(|c| c.signature.display().to_string())
            .unwrap_or_default();
        let message = commit_message(published);
        Self {
            bundle: bundle.as_ref().map(|b| BundleResult {
                name: b.entry.name.clone(),
                arch: b.entry.arch.clone(),
                file: b.file.clone(),
                sha256: b.entry.sha256.clone(),
                size: b.entry.size,
                url: b.entry.url.clone(),
                kept: b.kept.clone(),
                upload: b.upload.clone(),
                change: ChangeKind::from(&b.change),
            }),
            catalog: args.catalog.clone(),
            serial: catalog.as_ref().map(|c| c.serial),
            expires: catalog.as_ref().map(|c| c.expires.clone()),
            key_id: catalog.as_ref().map(|c| c.key_id),
            signature: catalog.as_ref().map(|c| c.signature.clone()),
            dry_run: args.dry_run,
            next_steps: vec![
                format!("git diff -- {catalog_path}"),
                format!("git add {catalog_path} {signature_path}"),
                format!("git commit -m '{message}'"),
                "cargo build --release --workspace".to_owned(),
            ],
        }
    }
}

/// The message the next steps commit the catalog with.
fn commit_message(published: &Published) -> String {
    match (&published.bundle, &published.catalog) {
        (Some(b), _) => format!(
            "kernel catalog: {} {}",
            match b.change {
                Change::Added => "add",
                _ => "update",
            },
            b.entry.name
        ),
        (None, Some(c)) => format!("kernel catalog: renew (serial {})", c.serial),
        (None, None) => String::new(),
    }
}

fn print_text(r: &PublishResult, published: &Published) -> Result<()> {
    if r.dry_run {
        say!("dry run: nothing was uploaded, patched or signed")?;
    }
    if let (Some(b), Some(bundle)) = (&r.bundle, &published.bundle) {
        print_bundle(r, b, bundle)?;
    }
    if let Some(c) = &published.catalog {
        print_signed(r, c)?;
    }
    Ok(())
}

/// What was (or would be) uploaded and checked, and what the catalog patch does.
fn print_bundle(r: &PublishResult, b: &BundleResult, published: &PublishedBundle) -> Result<()> {
    let catalog_path = r.catalog.display();
    let would = if r.dry_run { "would " } else { "" };
    if r.dry_run {
        say!(
            "  would upload  {} ({} bytes, sha256 {})",
            b.file,
            b.size,
            b.sha256
        )?;
        say!("             to {}", b.upload)?;
        say!("  would check   {}", b.url)?;
    } else {
        say!("published kernel `{}` ({})", b.name, b.arch)?;
        say!(
            "  bundle   {} ({} bytes, sha256 {})",
            b.file,
            b.size,
            b.sha256
        )?;
        say!("  uploaded {}", b.upload)?;
        say!("  checked  {} (HEAD 200, Content-Length {})", b.url, b.size)?;
    }
    if let Some(kept) = &b.kept {
        say!("  kept     {}", kept.display())?;
    }
    match &published.change {
        Change::Added => say!("  catalog  {catalog_path} : {would}add this entry")?,
        Change::Replaced(old) => say!(
            "  catalog  {catalog_path} : {would}replace the entry with sha256 {}",
            old.sha256
        )?,
        Change::Unchanged => say!("  catalog  {catalog_path} : already holds this exact entry")?,
    }
    for line in serde_json::to_string_pretty(&published.entry)?.lines() {
        say!("    {line}")?;
    }
    Ok(())
}

/// The signed catalog, where it was uploaded, and the steps that come next.
fn print_signed(r: &PublishResult, c: &SignedCatalog) -> Result<()> {
    say!(
        "signed catalog serial {} (expires {}) with key {}",
        c.serial,
        c.expires,
        c.key_id
    )?;
    for url in &c.urls {
        say!("  uploaded and checked {url}")?;
    }
    say!("")?;
    say!("Next steps (nothing was committed or rebuilt):")?;
    for step in &r.next_steps {
        say!("  {step}")?;
    }
    say!("The last command rebuilds the catalog plugin, which embeds catalog.json.")?;
    Ok(())
}
