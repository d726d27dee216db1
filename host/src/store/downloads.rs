//! Partial downloads: `<state root>/downloads/<sha256>.partial` keeps the compressed bytes of a
//! bundle as they arrive, so that an interrupted pull (network drop, Ctrl-C, `kill -9`) resumes
//! where it stopped instead of starting over.
//!
//! The file is always a prefix of the bundle as the source sent it: bytes are appended in
//! order, and a crash can only cut the tail. Whether that prefix is the right one is decided as
//! always, by the sha256 of the whole bundle; a partial whose bundle fails the check is
//! deleted. Each partial is locked (`flock`) while a pull uses it, so two processes never
//! write the same file; `banger kernel gc` removes the ones no pull holds. Partials are opened
//! without following links and must be regular files, so a link planted in their place is
//! never written, truncated or deleted through.

use std::{
    fs::{self, File},
    io::{self, Read, Seek, Write},
    path::PathBuf,
};

use anyhow::{Context, Result};
use banger_catalog::Sha256;

use crate::{store::files, store::state::State};

const SUFFIX: &str = ".partial";

/// An install failed because the transfer ended early: the bytes that did arrive may be fine,
/// and a later pull can resume after them. Every other failure means the bytes were wrong or
/// could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("the transfer of kernel `{name}` from `{url}` ended after {got} of {expected} bytes")]
pub struct Incomplete {
    pub name: String,
    pub url: String,
    pub got: u64,
    pub expected: u64,
}

/// The downloads directory.
pub struct Downloads {
    state: State,
    dir: PathBuf,
}

/// A locked partial download of one bundle.
pub struct Partial {
    path: PathBuf,
    file: File,
    len: u64,
}

impl Downloads {
    pub fn new(state: &State) -> Self {
        Self {
            state: state.clone(),
            dir: state.downloads.clone(),
        }
    }

    /// The directory; plugins get it as `banger.scratch_dir` for their own temporary files,
    /// named `*.partial` so that `gc` finds what a killed run left.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The partial download of the bundle with `sha256` (a checked digest, so the file name
    /// stays inside the directory); with `create`, an empty one if there
    /// is none. `None` when there is none, or another banger holds it (this pull then keeps
    /// nothing).
    pub fn partial(&self, sha256: &Sha256, create: bool) -> Result<Option<Partial>> {
        let path = self.dir.join(format!("{sha256}{SUFFIX}"));
        if create {
            self.state.ensure(&self.dir)?;
        } else if !self.state.check(&self.dir)? {
            return Ok(None);
        }
        let Some(file) = files::open(
            &path,
            File::options().read(true).append(true).create(create),
        )?
        else {
            return Ok(None);
        };
        if file.try_lock().is_err() {
            return Ok(None);
        }
        let len = file
            .metadata()
            .with_context(|| format!("cannot inspect `{}`", path.display()))?
            .len();
        Ok(Some(Partial { path, file, len }))
    }

    /// Remove every partial download no pull holds; returns how many and their bytes.
    pub fn gc(&self) -> Result<(u64, u64)> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((0, 0)),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read `{}`", self.dir.display()))
            }
        };
        self.state.check(&self.dir)?;
        let (mut count, mut bytes) = (0, 0);
        for entry in entries {
            let path = entry
                .with_context(|| format!("cannot read `{}`", self.dir.display()))?
                .path();
            if !path.to_string_lossy().ends_with(SUFFIX) {
                continue;
            }
            let file = match files::open(&path, File::options().read(true)) {
                Ok(Some(file)) => file,
                Ok(None) => continue,
                Err(e) => {
                    crate::ui::text::warn(format_args!("skipping: {e:#}"));
                    continue;
                }
            };
            if file.try_lock().is_err() {
                continue;
            }
            let len = file
                .metadata()
                .with_context(|| format!("cannot inspect `{}`", path.display()))?
                .len();
            fs::remove_file(&path)
                .with_context(|| format!("cannot remove `{}`", path.display()))?;
            count += 1;
            bytes += len;
        }
        Ok((count, bytes))
    }
}

impl Partial {
    /// Bytes already kept.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The bundle's bytes: the kept prefix followed by `rest` when the source resumed at its
    /// end, else `rest` alone after discarding the prefix. Whatever `rest` yields is appended.
    /// A `rest` that starts anywhere else (neither at 0 nor at the kept length) is refused:
    /// its bytes would land at the wrong offset.
    pub fn resume<'a>(
        &mut self,
        rest: impl Read + Send + 'a,
        resumed_from: u64,
    ) -> Result<Box<dyn Read + Send + 'a>> {
        let shown = self.path.display();
        let kept = if resumed_from == self.len && self.len > 0 {
            let mut reader = self
                .file
                .try_clone()
                .with_context(|| format!("cannot reopen `{shown}`"))?;
            reader
                .rewind()
                .with_context(|| format!("cannot read `{shown}`"))?;
            Some(reader.take(self.len))
        } else if resumed_from == 0 {
            self.file
                .set_len(0)
                .with_context(|| format!("cannot truncate `{shown}`"))?;
            self.len = 0;
            None
        } else {
            anyhow::bail!(
                "the source resumed at byte {resumed_from}, but `{shown}` keeps {} bytes",
                self.len
            );
        };
        // Unbuffered: every chunk reaches the file as it arrives, so a `kill -9` loses nothing
        // the source had delivered.
        let tee = Tee {
            inner: rest,
            copy: Some(
                self.file
                    .try_clone()
                    .with_context(|| format!("cannot reopen `{shown}`"))?,
            ),
        };
        Ok(match kept {
            Some(kept) => Box::new(kept.chain(tee)),
            None => Box::new(tee),
        })
    }

    /// Delete the file: the bundle is installed, or its bytes were wrong.
    pub fn remove(self) -> Result<()> {
        fs::remove_file(&self.path)
            .with_context(|| format!("cannot remove `{}`", self.path.display()))
    }
}

/// Passes bytes through and appends a copy of each to a writer. If the copy cannot be written
/// (a full disk), copying stops with a warning and the bytes still pass: the partial file keeps
/// a shorter prefix, and the download itself goes on.
struct Tee<R, W: Write> {
    inner: R,
    copy: Option<W>,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(copy) = &mut self.copy {
            if let Err(e) = copy.write_all(&buf[..n]) {
                crate::ui::text::warn(format_args!("cannot keep the download for resuming: {e}"));
                self.copy = None;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::Downloads;
    use crate::store::state::State;

    fn downloads(root: &std::path::Path) -> Downloads {
        Downloads::new(&State {
            root: root.to_owned(),
            kernels: root.join("kernels"),
            images: root.join("images"),
            downloads: root.join("downloads"),
        })
    }

    fn read_all(mut reader: impl Read) -> Vec<u8> {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn resumed_bytes_land_after_the_kept_prefix_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let downloads = downloads(&dir.path().join("state"));
        let sha = "a".repeat(64).parse().unwrap();
        let mut partial = downloads.partial(&sha, true).unwrap().unwrap();
        drop(read_all(partial.resume(&b"0123456789"[..], 0).unwrap()));
        drop(partial);

        // Resumed at the kept length: prefix, then the rest.
        let mut partial = downloads.partial(&sha, false).unwrap().unwrap();
        assert_eq!(partial.len(), 10);
        let bytes = read_all(partial.resume(&b"abc"[..], 10).unwrap());
        assert_eq!(bytes, b"0123456789abc");
        drop(partial);

        // Resumed anywhere else: refused, and the partial keeps what it had.
        let mut partial = downloads.partial(&sha, false).unwrap().unwrap();
        let err = partial.resume(&b"xyz"[..], 5).err().unwrap().to_string();
        assert!(
            err.contains("resumed at byte 5") && err.contains("keeps 13 bytes"),
            "{err}"
        );
        drop(partial);

        // From byte 0: the prefix is discarded, never mixed in.
        let mut partial = downloads.partial(&sha, false).unwrap().unwrap();
        assert_eq!(partial.len(), 13);
        assert_eq!(
            read_all(partial.resume(&b"fresh"[..], 0).unwrap()),
            b"fresh"
        );
        drop(partial);
        let partial = downloads.partial(&sha, false).unwrap().unwrap();
        assert_eq!(partial.len(), 5);
    }
}
