//! The trusted catalog, handed to a plugin: the exact bytes the host resolved and trusts
//! ([`crate::trust::catalog::Trusted`]: embedded, signed update or `$BANGER_CATALOG`), written
//! to a private file in the scratch directory whose path the plugin gets as `banger.catalog`.
//! So every source sees the one catalog the host judges by, and no plugin chooses its own.
//!
//! The file lives as long as the source: it is removed when the source is dropped, and held
//! with a shared `flock` meanwhile so that `kernel gc` leaves it alone. A killed run leaves it
//! as a `*.partial`, which the next `kernel gc` removes. Nothing stops a plugin from reading
//! something else; the host still checks every byte against its own trusted catalog.

use std::{io::Write, path::Path};

use anyhow::{Context, Result};

/// A trusted catalog written for a plugin; removed on drop.
pub struct Handoff {
    file: tempfile::NamedTempFile,
}

impl Handoff {
    /// Write `text` (the trusted catalog's exact bytes) to a fresh file in `scratch`.
    pub fn write(scratch: &Path, text: &str) -> Result<Self> {
        let mut file = tempfile::Builder::new()
            .prefix(".trusted-catalog.")
            .suffix(".partial")
            .tempfile_in(scratch)
            .with_context(|| format!("cannot create a file in `{}`", scratch.display()))?;
        let path = file.path().display().to_string();
        file.as_file()
            .lock_shared()
            .with_context(|| format!("cannot lock `{path}`"))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.flush())
            .with_context(|| format!("cannot write `{path}`"))?;
        Ok(Self { file })
    }

    /// Where the plugin finds it.
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}
