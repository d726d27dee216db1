//! Files that appear whole or not at all: written to a temporary file beside the target, then
//! renamed over it. A reader sees the old file or the new one, never half of either.

use std::{
    fs,
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
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
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

    /// Flush to disk and rename over the target, keeping the target's permissions if it
    /// exists, else 0644.
    pub fn commit(self) -> Result<()> {
        let mode = fs::metadata(&self.target).map_or(0o644, |m| m.permissions().mode());
        let file = self.file.as_file();
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.sync_all()
            .with_context(|| format!("cannot write `{}`", self.target.display()))?;
        self.file
            .persist(&self.target)
            .with_context(|| format!("cannot replace `{}`", self.target.display()))?;
        Ok(())
    }
}

/// Replace `target` with `bytes` in one rename.
pub fn write(target: &Path, bytes: &[u8]) -> Result<()> {
    let partial = Partial::new(target)?;
    partial
        .file()
        .write_all(bytes)
        .with_context(|| format!("cannot write `{}`", target.display()))?;
    partial.commit()
}
