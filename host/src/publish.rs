//! The maintainer flow from an installed kernel to a catalog entry (`banger kernel publish`).
//!
//! Pack reproducibly (zstd -19, all cores) → sha256 and size → `rclone copyto` → HEAD check of
//! the public URL → patch `catalog.json`. Each step must succeed before the next starts, and the
//! catalog is written last, atomically, so a failure anywhere leaves it as it was. Nothing is
//! committed and nothing is rebuilt: the command prints the next steps for the maintainer.
//!
//! The remote and bucket reach rclone as positionals after `--`, and are refused if they could
//! mean anything but a remote name and a path to it. The catalog is re-read and patched under
//! an exclusive lock on its directory just before it is written, so an edit made while the
//! bundle uploaded is kept, never overwritten.

use std::{
    fs,
    io::IsTerminal,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context, Result};
use banger_bundle::pack::{Compression, Plan};
use banger_catalog::{
    patch::{self, Change},
    Catalog, Entry, KernelName,
};
use banger_fetch::{Fetcher, Schemes};

use crate::{
    atomic::{self, Partial},
    hint::Hinted,
    install::Kernels,
    manifest, progress, text,
};

/// What the maintainer asked to publish, and where.
pub struct Request<'a> {
    pub name: &'a KernelName,
    /// The catalog description; the manifest's when `None`.
    pub description: Option<String>,
    pub catalog: &'a Path,
    pub dry_run: bool,
    /// Keep the bundle in this directory.
    pub out: Option<&'a Path>,
    pub remote: &'a str,
    pub bucket: &'a str,
    pub base_url: &'a str,
}

/// What was published, or with `dry_run` would be.
pub struct Published {
    pub entry: Entry,
    pub file: String,
    /// Where the bundle was kept (`--out`), if anywhere.
    pub kept: Option<PathBuf>,
    /// `REMOTE:BUCKET/FILE`.
    pub upload: String,
    pub change: Change,
}

pub fn publish(kernels: &Kernels, request: &Request) -> Result<Published> {
    check_remote(request.remote)?;
    check_bucket(request.bucket)?;
    let manifest = kernels.require(request.name)?;
    let base_url = request.base_url.trim_end_matches('/');
    if !base_url.starts_with("https://") {
        return Err(Hinted::error(
            format!("BASE_URL `{base_url}` is not an https:// URL"),
            "the catalog source fetches bundles over HTTPS only; set BASE_URL or --base-url to the bucket's public https:// address",
        ));
    }
    // Read the catalog before the slow part, so that a wrong path fails at once.
    let catalog_path = request.catalog;
    let catalog_text = fs::read_to_string(catalog_path).map_err(|e| {
        Hinted::error(
            format!("cannot read catalog `{}`: {e}", catalog_path.display()),
            "run from the repository root, or pass --catalog PATH",
        )
    })?;
    let origin = catalog_path.display().to_string();
    Catalog::parse(&catalog_text, &origin)?;

    let file = banger_catalog::bundle_file(&manifest.name, &manifest.arch);
    let bundle = pack(&kernels.path(request.name), &file, request.out)?;
    let entry = Entry {
        name: manifest.name.clone(),
        distro: manifest.distro.clone(),
        arch: manifest.arch.clone(),
        kernel_version: manifest.kernel_version.clone(),
        url: format!("{base_url}/{file}"),
        sha256: bundle.sha256.clone(),
        size: bundle.size,
        description: request.description.clone().unwrap_or(manifest.description),
    };
    let (patched, change) = patch::upsert(&catalog_text, &origin, &entry)?;
    let patched = Patched {
        read: catalog_text,
        text: patched,
        change: change.clone(),
    };
    let upload = format!("{}:{}/{file}", request.remote, request.bucket);
    let change = if request.dry_run {
        change
    } else {
        rclone_copyto(&bundle.path, &upload, request.remote)?;
        check_public_url(&entry.url, entry.size, &upload)?;
        write_catalog(catalog_path, &entry, &patched)?
    };
    Ok(Published {
        entry,
        file,
        kept: request.out.map(|_| bundle.path.clone()),
        upload,
        change,
    })
}

/// The catalog as it was read before the upload, and as patched then.
struct Patched {
    read: String,
    text: String,
    change: Change,
}

/// Write the patched catalog under an exclusive lock on its directory. If the file changed
/// since it was first read (someone edited it during the upload), the entry is patched again
/// on top of the new text, so that edit is kept. Returns what the write changed.
fn write_catalog(path: &Path, entry: &Entry, patched: &Patched) -> Result<Change> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let lock = fs::File::open(dir)
        .with_context(|| format!("cannot open `{}` to lock it", dir.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock `{}`", dir.display()))?;
    let origin = path.display().to_string();
    let now = fs::read_to_string(path)
        .with_context(|| format!("cannot read catalog `{origin}` again before writing it"))?;
    let (text, change) = if now == patched.read {
        (patched.text.clone(), patched.change.clone())
    } else {
        text::warn(format_args!(
            "`{origin}` changed during the upload; patching the entry on top of the new text"
        ));
        patch::upsert(&now, &origin, entry)
            .with_context(|| format!("catalog `{origin}` changed during the upload and is no longer valid; the upload stays on the remote"))?
    };
    atomic::write(path, text.as_bytes())?;
    Ok(change)
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
        eprintln!(
            "warning: ignoring {} in `{}`: a bundle holds only vmlinux, initrd.img and modules/",
            extra.join(", "),
            dir.display()
        );
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

/// `rclone copyto <bundle> <target>`; rclone's own output goes to stderr.
fn rclone_copyto(bundle: &Path, target: &str, remote: &str) -> Result<()> {
    let mut command = Command::new("rclone");
    command.arg("copyto");
    if std::io::stderr().is_terminal() {
        command.arg("--progress");
    }
    // After `--`, nothing is taken as a flag, whatever it starts with.
    command.arg("--").arg(bundle).arg(target);
    let stderr = std::os::fd::AsFd::as_fd(&std::io::stderr()).try_clone_to_owned()?;
    command.stdout(Stdio::from(stderr));
    let status = match command.status() {
        Ok(status) => status,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Hinted::error(
                "cannot upload: `rclone` is not installed or not on PATH; the catalog was not changed",
                format!("install rclone (`apt-get install rclone` or https://rclone.org/install/) and configure the remote `{remote}`"),
            ))
        }
        Err(e) => return Err(e).context("cannot run rclone"),
    };
    if !status.success() {
        return Err(Hinted::error(
            format!("rclone could not upload `{}` to `{target}` ({status}); the catalog was not changed", bundle.display()),
            format!("check the remote with `rclone lsd {remote}:` and its credentials (rclone.conf or RCLONE_CONFIG_* variables, e.g. from .env)"),
        ));
    }
    Ok(())
}

/// Refuse an rclone remote name that rclone could read as anything but a configured remote:
/// a flag, an on-the-fly backend (`:s3:`), a connection string (`r2,opt=x`) or a path.
fn check_remote(remote: &str) -> Result<()> {
    let valid = remote
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && remote
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '@'));
    if valid {
        Ok(())
    } else {
        Err(Hinted::error(
            format!("rclone remote `{remote}` is not a plain remote name"),
            "use the name of a remote from your rclone config (letters, digits, `_`, `-`, `.`, `+`, `@`), via --remote or RCLONE_REMOTE",
        ))
    }
}

/// Refuse a bucket (a path on the remote) that could be read as a flag or carry a remote of
/// its own (`:`), or that climbs out of where it points (`..`).
fn check_bucket(bucket: &str) -> Result<()> {
    let problem = if bucket.is_empty() {
        Some("it is empty")
    } else if bucket.starts_with('-') {
        Some("it starts with `-`")
    } else if bucket.split('/').any(|part| part == "..") {
        Some("it has a `..` component")
    } else if !bucket.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '+' | '@' | '=' | '~')
    }) {
        Some("it holds characters other than letters, digits and `_-./+@=~`")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Hinted::error(
            format!("bucket `{bucket}` is refused: {problem}"),
            "pass the bucket (or path) on the remote, e.g. --bucket banger-kernels or RCLONE_BUCKET=banger-kernels",
        )),
    }
}

/// Require that `url` answers a HEAD request with 200 and `Content-Length: size`.
fn check_public_url(url: &str, size: u64, upload: &str) -> Result<()> {
    let fetcher = Fetcher::new(Schemes::HttpsOnly)?;
    let not_changed = "the upload stays on the remote; the catalog was not changed";
    match fetcher.head_length(url) {
        Ok(Some(length)) if length == size => Ok(()),
        Ok(Some(length)) => Err(Hinted::error(
            format!("`{url}` announces {length} bytes, but the bundle uploaded to `{upload}` has {size}; {not_changed}"),
            "BASE_URL may serve a different bucket than RCLONE_BUCKET, or a cache still holds an older upload",
        )),
        Ok(None) => Err(Hinted::error(
            format!("`{url}` sends no Content-Length, so its size cannot be checked; {not_changed}"),
            "serve the bucket as static files, which carry a Content-Length",
        )),
        Err(e) if e.is_not_found() => Err(Hinted::error(
            format!("`{url}` answers 404 after the upload to `{upload}`; {not_changed}"),
            "the bucket may not allow public access, or BASE_URL does not serve RCLONE_BUCKET (wrong bucket or URL)",
        )),
        Err(e) => Err(anyhow::Error::new(e)
            .context(format!("cannot check the public URL `{url}`; {not_changed}"))),
    }
}
