//! Files that appear whole or not at all, and stay whole across a power cut once they have
//! appeared: written to a temporary file beside the target, flushed to disk, renamed over the
//! target, and then the directory flushed, so the rename itself is on disk too.
//!
//! `BANGER_UNSAFE_NO_SYNC=1` skips every flush, here and in kernel installs, as dpkg's
//! `--force-unsafe-io` does. It exists so that the benchmark harness can measure what the
//! flushes cost; with it, a power cut can leave an installed file empty.

use std::{
    fs::{self, File},
    io::Write,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

/// A file being written beside `target`; [`Partial::commit`] puts it in place.
pub struct Partial {
    file: tempfile::NamedTempFile,
    target: PathBuf,
}

impl Partial {
    /// Start writing `target`. The temporary file is `.<name>.XXXXXX.partial` in the same
    /// directory, and disappears if this is dropped without [`Partial::commit`].
    pub fn new(target: &Path) -> Result<Self> {
        let dir = parent(target);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a file in `{}`", dir.display()))?;
        Ok(Self {
            file,
            target: target.to_owned(),
        })
    }

    pub fn file(&self) -> &fs::File {
        self.file.as_file()
    }

    /// Flush to disk, rename over the target, and flush the directory. The file keeps the
    /// target's permission bits (never setuid, setgid or sticky) if the target is a regular
    /// file, else gets 0644; a link at the target is replaced, not followed.
    pub fn commit(self) -> Result<()> {
        let mode = fs::symlink_metadata(&self.target)
            .ok()
            .filter(|m| m.is_file())
            .map_or(0o644, |m| m.permissions().mode() & 0o777);
        let file = self.file.as_file();
        file.set_permissions(fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the mode of `{}`", self.target.display()))?;
        sync_file(file).with_context(|| format!("cannot write `{}`", self.target.display()))?;
        self.file
            .persist(&self.target)
            .with_context(|| format!("cannot replace `{}`", self.target.display()))?;
        sync_dir(parent(&self.target))
    }
}

/// Replace `target` with `bytes` in one rename, durably.
pub fn write(target: &Path, bytes: &[u8]) -> Result<()> {
    let partial = Partial::new(target)?;
    partial
        .file()
        .write_all(bytes)
        .with_context(|| format!("cannot write `{}`", target.display()))?;
    partial.commit()
}

/// Whether flushes are done; see the module documentation.
pub fn syncing() -> bool {
    std::env::var_os(banger_env::BANGER_UNSAFE_NO_SYNC).is_none_or(|v| v.is_empty() || v == "0")
}

/// Flush `file`'s data and metadata to disk.
pub fn sync_file(file: &File) -> std::io::Result<()> {
    if syncing() {
        file.sync_all()?;
    }
    Ok(())
}

/// Flush directory `dir`, so that renames into it and out of it are on disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    if syncing() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot flush directory `{}` to disk", dir.display()))?;
    }
    Ok(())
}

/// Flush the whole file system that holds `dir`: one call for a tree of many files.
pub fn sync_filesystem(dir: &Path) -> Result<()> {
    if syncing() {
        let context = || {
            format!(
                "cannot flush the file system of `{}` to disk",
                dir.display()
            )
        };
        let handle = File::open(dir).with_context(context)?;
        rustix::fs::syncfs(&handle)
            .map_err(std::io::Error::from)
            .with_context(context)?;
    }
    Ok(())
}

/// Move the directory `staging` to `target` in one step: a plain rename when `target` is
/// absent, an atomic exchange (`renameat2`) when it exists, after which `staging` holds the
/// old `target` for the caller to remove. A reader sees the old directory or the new one.
pub fn swap_dir(staging: &Path, target: &Path) -> Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    let (moved, verb) = match renameat_with(CWD, staging, CWD, target, RenameFlags::NOREPLACE) {
        Err(rustix::io::Errno::EXIST) => (
            renameat_with(CWD, staging, CWD, target, RenameFlags::EXCHANGE),
            "exchange",
        ),
        other => (other, "rename"),
    };
    moved.map_err(std::io::Error::from).with_context(|| {
        format!(
            "cannot {verb} `{}` with `{}`",
            staging.display(),
            target.display()
        )
    })
}

fn parent(target: &Path) -> &Path {
    match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}
