//! The trusted catalog, handed to a plugin: the exact bytes the host resolved and trusts
//! ([`crate::trust::catalog::Trusted`]: embedded, signed update or `$BANGER_CATALOG`), in a
//! private file whose path the plugin gets as `banger.catalog`. So every source sees the one
//! catalog the host judges by, and no plugin chooses its own.
//!
//! The file is anonymous (unlinked from the start, in the scratch directory) and the plugin
//! reads it through `/proc/self/fd/N`, which works because plugins run in the host's process.
//! It lives exactly as long as the source, and a killed run leaves nothing for `kernel gc`.
//! Nothing stops a plugin from reading something else; the host still checks every byte
//! against its own trusted catalog.

use std::{
    fs::File,
    io::Write,
    os::fd::AsRawFd,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

/// A trusted catalog written for a plugin; gone when dropped.
pub struct Handoff {
    _file: File,
    path: PathBuf,
}

impl Handoff {
    /// Write `text` (the trusted catalog's exact bytes) to a fresh anonymous file in `scratch`.
    pub fn write(scratch: &Path, text: &str) -> Result<Self> {
        let mut file = tempfile::tempfile_in(scratch)
            .with_context(|| format!("cannot create a file in `{}`", scratch.display()))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.flush())
            .with_context(|| {
                format!(
                    "cannot write the trusted catalog in `{}`",
                    scratch.display()
                )
            })?;
        let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        Ok(Self { _file: file, path })
    }

    /// Where the plugin finds it, while this lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
