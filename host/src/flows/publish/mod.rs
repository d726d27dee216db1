//! The maintainer flow from an installed kernel to a signed catalog (`banger kernel publish`).
//!
//! Refuse a kernel that `kernel check` finds not ready for its mode (unless allowed) → pack
//! reproducibly (zstd -19, all cores) → sha256 and size → `rclone copyto` → HEAD check of
//! the public URL → under a lock on the catalog's directory: patch `catalog.json` (re-read, so
//! an edit made during the upload is kept), raise its serial, set its expiry, sign it
//! ([`crate::trust::signing`]), upload both files and HEAD-check both → write both locally. Each step must
//! succeed before the next starts, so a failure anywhere leaves the local catalog as it was.
//! With `catalog_only`, the kernel steps are skipped: the catalog is re-signed with a new
//! serial and expiry. Nothing is committed and nothing is rebuilt: the command prints the
//! next steps for the maintainer.

mod rclone;

use std::{
    fs,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use anyhow::{Context, Result};
use banger_bundle::pack::{Compression, Plan};
use banger_catalog::{
    patch::{self, Change},
    Catalog, Entry, KernelName,
};

use crate::trust::signing::Signer;
use crate::{
    check::Readiness,
    store::atomic::{self, Partial},
    store::kernels::Kernels,
    store::manifest,
    trust::keys::KeyId,
    ui::progress,
    ui::text,
    ui::{exit::Class, hint::Hinted},
};

/// What the maintainer asked to publish, and where.
pub struct Request<'a> {
    /// The kernel; `None` to re-sign the catalog alone.
    pub name: Option<&'a KernelName>,
    /// The catalog description; the manifest's when `None`.
    pub description: Option<String>,
    pub catalog: &'a Path,
    pub dry_run: bool,
    /// Publish a kernel that the static check finds not ready for its mode.
    pub allow_unready: bool,
    /// Keep the bundle in this directory.
    pub out: Option<&'a Path>,
    pub remote: &'a str,
    pub bucket: &'a str,
    pub base_url: &'a str,
    /// The minisign secret key; needed unless `dry_run`.
    pub sign_key: Option<&'a Path>,
    /// Push to this registry instead of the bucket.
    pub to: Option<&'a banger_oci::Registry>,
    pub expires_days: u32,
}

/// A bundle that was (or with `dry_run` would be) uploaded.
pub struct PublishedBundle {
    pub entry: Entry,
    pub file: String,
    /// Where the bundle was kept (`--out`), if anywhere.
    pub kept: Option<PathBuf>,
    /// `REMOTE:BUCKET/FILE`.
    pub upload: String,
    pub change: Change,
}

/// The signed catalog that was published.
pub struct SignedCatalog {
    pub serial: u64,
    pub expires: String,
    pub key_id: KeyId,
    pub signature: PathBuf,
    /// The public URLs of the catalog and its signature, as checked (none when publishing to a
    /// registry).
    pub urls: Vec<String>,
}

/// What a publish did.
pub struct Published {
    pub bundle: Option<PublishedBundle>,
    /// `None` for a dry run.
    pub catalog: Option<SignedCatalog>,
}

pub fn publish(kernels: &Kernels, request: &Request) -> Result<Published> {
    if request.to.is_none() {
        rclone::check_remote(request.remote)?;
        rclone::check_bucket(request.bucket)?;
    }
    let base_url = request.base_url.trim_end_matches('/');
    if request.to.is_none() && !base_url.starts_with("https://") {
        return Err(Hinted::error(
            format!("the base URL `{base_url}` is not an https:// URL"),
            "the catalog source fetches bundles over HTTPS only; set --base-url or BANGER_BASE_URL to the bucket's public https:// address",
        ));
    }
    // Everything that can fail fast does, before the slow part: the catalog, the key.
    let catalog_path = request.catalog;
    let catalog_text = read_catalog(catalog_path)?;
    let signer = match (request.dry_run, request.sign_key) {
        (true, _) => None,
        (false, Some(path)) => Some(Signer::load(path)?),
        (false, None) => {
            return Err(Hinted::error(
                "publishing needs the catalog signing key: pass --sign-key FILE or set BANGER_SIGNING_KEY",
                "create one with `minisign -G -p keys/banger.pub -s ~/.minisign/banger.key`, and commit keys/banger.pub (docs/kernel-catalog.md#signing-keys)",
            ))
        }
    };
    let bundle = match request.name {
        Some(name) => Some(publish_bundle(
            kernels,
            request,
            name,
            base_url,
            &catalog_text,
        )?),
        None => None,
    };
    let Some(signer) = signer else {
        return Ok(Published {
            bundle,
            catalog: None,
        });
    };
    let (change, catalog) = publish_catalog(
        request,
        base_url,
        &signer,
        bundle.as_ref().map(|b| &b.entry),
        &catalog_text,
    )?;
    Ok(Published {
        bundle: bundle.map(|b| PublishedBundle { change, ..b }),
        catalog: Some(catalog),
    })
}

fn read_catalog(path: &Path) -> Result<String> {
    let text = fs::read_to_string(path).map_err(|e| {
        Hinted::error(
            format!("cannot read catalog `{}`: {e}", path.display()),
            "run from the repository root, or pass --catalog PATH",
        )
    })?;
    Catalog::parse(&text, &path.display().to_string())?;
    Ok(text)
}

/// Pack the kernel and, unless it is a dry run, upload it and check its public URL.
fn publish_bundle(
    kernels: &Kernels,
    request: &Request,
    name: &KernelName,
    base_url: &str,
    catalog_text: &str,
) -> Result<PublishedBundle> {
    let manifest = kernels.require(name)?;
    require_ready(kernels, &manifest, request.allow_unready)?;
    let file = banger_catalog::bundle_file(&manifest.name, &manifest.arch);
    let bundle = pack(&kernels.path(name), &file, request.out)?;
    let url = match request.to {
        Some(registry) => registry.repository.bundle_url(&bundle.sha256),
        None => format!("{base_url}/{file}"),
    };
    let entry = Entry {
        name: manifest.name.to_string(),
        distro: manifest.distro.clone(),
        arch: manifest.arch.to_string(),
        kernel_version: manifest.kernel_version.clone(),
        url,
        sha256: bundle.sha256.clone(),
        size: bundle.size,
        description: request.description.clone().unwrap_or(manifest.description),
    };
    let origin = request.catalog.display().to_string();
    let (_, change) = patch::upsert(catalog_text, &origin, &entry)?;
    let upload = match request.to {
        Some(registry) => format!("{}:{}", registry.repository, entry.name),
        None => format!("{}:{}/{file}", request.remote, request.bucket),
    };
    if !request.dry_run {
        match request.to {
            Some(registry) => push_to_registry(registry, &entry, &bundle.path)?,
            None => {
                rclone::rclone_copyto(&bundle.path, &upload, request.remote)?;
                rclone::check_public_url(&entry.url, entry.size, &upload)?;
            }
        }
    }
    Ok(PublishedBundle {
        entry,
        file,
        kept: request.out.map(|_| bundle.path.clone()),
        upload,
        change,
    })
}

/// Refuse to publish a kernel that `banger kernel check` finds not ready for its default
/// mode, unless the maintainer allows it; then warn.
fn require_ready(
    kernels: &Kernels,
    manifest: &manifest::Manifest,
    allow_unready: bool,
) -> Result<()> {
    let readiness = Readiness::of(&kernels.path(&manifest.name), &manifest.arch);
    if readiness.ready {
        return Ok(());
    }
    let (name, mode) = (&manifest.name, readiness.mode.as_str());
    let problems = readiness.errors.join(", ");
    if allow_unready {
        text::warn(format_args!(
            "publishing kernel `{name}`, which is not ready for {mode}: {problems}"
        ));
        return Ok(());
    }
    Err(Hinted::of(
        Class::Refused,
        format!("kernel `{name}` is not ready for {mode}: {problems}"),
        format!(
            "`banger kernel check {name}` shows why; pass --allow-unready to publish it anyway"
        ),
    ))
}

/// Push the bundle, its manifest and the index tagged with its name, then check them as the
/// bucket flow checks its URL: `HEAD` of the blob, and a `GET` of the manifest by digest.
fn push_to_registry(registry: &banger_oci::Registry, entry: &Entry, bundle: &Path) -> Result<()> {
    let oci = anyhow::Error::new;
    registry
        .push_kernel(entry, || {
            fs::File::open(bundle)
                .map(|f| Box::new(f) as Box<dyn std::io::Read>)
                .map_err(banger_oci::OciError::Read)
        })
        .map_err(oci)?;
    let not_there = |what: &str| {
        anyhow::anyhow!(
            "`{}` does not serve the {what} it accepted for `{}`; the catalog was not changed",
            registry.repository,
            entry.name
        )
    };
    if !registry.has_blob(&entry.sha256, false).map_err(oci)? {
        return Err(not_there("blob"));
    }
    let manifest = banger_oci::layout::manifest_for(entry).map_err(oci)?;
    let digest = banger_oci::client::sha256_digest(&manifest);
    if registry.manifest(&digest).map_err(oci)?.is_none() {
        return Err(not_there("manifest"));
    }
    Ok(())
}

/// Under an exclusive lock on the catalog's directory: re-read the catalog (so an edit made
/// during the upload is kept), put `entry` in, raise the serial, set the expiry, sign, upload
/// and check both files, then write both locally. Returns what the patch did to `entry`.
fn publish_catalog(
    request: &Request,
    base_url: &str,
    signer: &Signer,
    entry: Option<&Entry>,
    read_before: &str,
) -> Result<(Change, SignedCatalog)> {
    let path = request.catalog;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let lock = fs::File::open(dir)
        .with_context(|| format!("cannot open `{}` to lock it", dir.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock `{}`", dir.display()))?;
    let origin = path.display().to_string();
    let now = read_catalog(path)
        .with_context(|| format!("catalog `{origin}` changed during the upload and is no longer valid; the upload stays on the remote"))?;
    if now != read_before {
        text::warn(format_args!(
            "`{origin}` changed during the upload; patching on top of the new text"
        ));
    }
    let (patched, change) = match entry {
        Some(entry) => patch::upsert(&now, &origin, entry)?,
        None => (now.clone(), Change::Unchanged),
    };
    let serial = Catalog::parse(&now, &origin)?.serial + 1;
    let expires_at =
        SystemTime::now() + Duration::from_secs(u64::from(request.expires_days) * 86_400);
    let expires = humantime::format_rfc3339_seconds(expires_at).to_string();
    let text = patch::stamp(&patched, &origin, serial, &expires)?;
    let signature = signer.sign(
        text.as_bytes(),
        &format!("banger catalog serial {serial}, expires {expires}"),
    )?;

    // Upload from a scratch copy, so the local files change only once both are public. With a
    // registry there is no bucket: the signed catalog is committed and served from elsewhere.
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let mut urls = Vec::new();
    let uploads = if request.to.is_some() {
        Vec::new()
    } else {
        vec![
            ("catalog.json", &text),
            ("catalog.json.minisig", &signature),
        ]
    };
    for (file, content) in uploads {
        let local = scratch.path().join(file);
        fs::write(&local, content.as_bytes())
            .with_context(|| format!("cannot write `{}`", local.display()))?;
        let upload = format!("{}:{}/{file}", request.remote, request.bucket);
        rclone::rclone_copyto(&local, &upload, request.remote)?;
        let url = format!("{base_url}/{file}");
        rclone::check_public_url(&url, content.len() as u64, &upload)?;
        urls.push(url);
    }
    let signature_path = dir.join(format!(
        "{}.minisig",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("catalog.json")
    ));
    atomic::write(path, text.as_bytes())?;
    atomic::write(&signature_path, signature.as_bytes())?;
    Ok((
        change,
        SignedCatalog {
            serial,
            expires,
            key_id: signer.key_id,
            signature: signature_path,
            urls,
        },
    ))
}

/// A packed bundle on disk.
struct Bundle {
    path: PathBuf,
    sha256: String,
    size: u64,
    /// Holds the bundle when it is not kept with `--out`.
    _scratch: Option<tempfile::TempDir>,
}

/// Pack the kernel directory `dir` into `<out or a scratch dir>/<file>`. The file appears only
/// once it is complete.
fn pack(dir: &Path, file: &str, out: Option<&Path>) -> Result<Bundle> {
    let plan = Plan::scan(dir)?;
    let extra: Vec<&str> = plan
        .ignored()
        .iter()
        .map(String::as_str)
        .filter(|name| *name != manifest::MANIFEST)
        .collect();
    if !extra.is_empty() {
        text::warn(format_args!(
            "ignoring {} in `{}`: a bundle holds only vmlinux, initrd.img, config and modules/",
            extra.join(", "),
            dir.display()
        ));
    }
    let (out_dir, scratch) = match out {
        Some(out) => {
            fs::create_dir_all(out)
                .with_context(|| format!("cannot create `{}`", out.display()))?;
            (out.to_owned(), None)
        }
        None => {
            let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
            (scratch.path().to_owned(), Some(scratch))
        }
    };
    let path = out_dir.join(file);
    let partial = Partial::new(&path)?;
    let bar = progress::bar(plan.unpacked(), &format!("packing {file} (zstd -19)"));
    let packed = plan.write(partial.file(), Compression::publish(), |done| {
        bar.set_position(done)
    });
    bar.finish_and_clear();
    let packed = packed?;
    partial.commit()?;
    Ok(Bundle {
        path,
        sha256: packed.digest.sha256,
        size: packed.digest.size,
        _scratch: scratch,
    })
}
