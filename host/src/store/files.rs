//! Files in banger's state directory, opened as hostile ground: without following links
//! (`O_NOFOLLOW`), without blocking on a FIFO planted in place of a file (`O_NONBLOCK`), and
//! only if they are regular files; and read with a cap checked before the bytes are in memory
//! (`banger_catalog::capped`, the one capped reader).
//!
//! Directories are [`crate::store::state`]'s business; atomic, durable writes are [`crate::store::atomic`]'s.

use std::{
    fs::{File, OpenOptions},
    io,
    os::unix::fs::OpenOptionsExt,
    path::Path,
};

use anyhow::{Context, Result};
use rustix::fs::OFlags;

/// The largest state file banger reads: a manifest or an image record is a few hundred bytes.
pub const MAX_STATE_FILE: u64 = 1 << 20;

/// Open `path` with `options`, never through a link, and require a regular file. `Ok(None)`
/// when it does not exist.
pub fn open(path: &Path, options: &mut OpenOptions) -> Result<Option<File>> {
    let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK;
    let file = match options.custom_flags(flags.bits() as i32).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(planted(path, "a symbolic link"))
        }
        Err(e) => return Err(e).with_context(|| format!("cannot open `{}`", path.display())),
    };
    let metadata = file
        .metadata()
        .with_context(|| format!("cannot inspect `{}`", path.display()))?;
    if !metadata.is_file() {
        return Err(planted(path, "not a regular file"));
    }
    Ok(Some(file))
}

/// Read the state file at `path` as text, refusing one over [`MAX_STATE_FILE`] bytes.
/// `Ok(None)` when it does not exist.
pub fn read_text(path: &Path) -> Result<Option<String>> {
    read_text_up_to(path, MAX_STATE_FILE)
}

/// [`read_text`] with another cap, for the larger state files (a stored catalog).
pub fn read_text_up_to(path: &Path, cap: u64) -> Result<Option<String>> {
    let Some(file) = open(path, OpenOptions::new().read(true))? else {
        return Ok(None);
    };
    let text = banger_catalog::capped::read_text(file, cap, &path.display().to_string())?;
    Ok(Some(text))
}

fn planted(path: &Path, what: &str) -> anyhow::Error {
    crate::ui::hint::Hinted::error(
        format!(
            "`{}` is {what}; banger opens only regular files it made in its state directory",
            path.display()
        ),
        format!(
            "remove it (`rm {}`) if you did not put it there",
            path.display()
        ),
    )
}
