//! Bundles for tests: real ones from GNU tar and the zstd CLI, and hostile ones built header by
//! header, since a well-behaved tar writer refuses to produce them.

use std::{
    fs,
    path::Path,
    process::{Command, Stdio},
};

/// Pack `names` from `dir` with GNU tar and compress with the zstd CLI into `out`.
pub fn pack_with_gnu_tar(dir: &Path, names: &[&str], out: &Path) {
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .args(["--sort=name", "-cf", "-"])
        .args(names)
        .stdout(Stdio::piped())
        .spawn()
        .expect("GNU tar must be installed");
    let status = Command::new("zstd")
        .args(["-q", "-3", "-c"])
        .stdin(tar.stdout.take().unwrap())
        .stdout(fs::File::create(out).unwrap())
        .status()
        .expect("the zstd CLI must be installed");
    assert!(status.success(), "zstd failed");
    assert!(tar.wait().unwrap().success(), "GNU tar failed");
}

/// An entry kind for [`RawTar`].
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Char,
    Block,
    Fifo,
    Sparse,
}

/// A tar archive written header by header, with no checks at all.
#[derive(Default)]
pub struct RawTar {
    bytes: Vec<u8>,
}

impl RawTar {
    pub fn new() -> Self {
        Self::default()
    }

    /// A regular file with mode 0644.
    pub fn file(self, name: &str, data: &[u8]) -> Self {
        self.entry(name.as_bytes(), Kind::File, 0o644, data, b"")
    }

    pub fn dir(self, name: &str) -> Self {
        self.entry(name.as_bytes(), Kind::Dir, 0o755, b"", b"")
    }

    pub fn symlink(self, name: &str, target: &str) -> Self {
        self.entry(
            name.as_bytes(),
            Kind::Symlink,
            0o777,
            b"",
            target.as_bytes(),
        )
    }

    /// Any entry: the name goes into the header verbatim (up to 100 bytes).
    pub fn entry(mut self, name: &[u8], kind: Kind, mode: u32, data: &[u8], link: &[u8]) -> Self {
        // A GNU header for sparse entries, so the parser gets as far as the entry type.
        let mut header = match kind {
            Kind::Sparse => tar::Header::new_gnu(),
            _ => tar::Header::new_ustar(),
        };
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        header.set_entry_type(match kind {
            Kind::File => tar::EntryType::Regular,
            Kind::Dir => tar::EntryType::Directory,
            Kind::Symlink => tar::EntryType::Symlink,
            Kind::Hardlink => tar::EntryType::Link,
            Kind::Char => tar::EntryType::Char,
            Kind::Block => tar::EntryType::Block,
            Kind::Fifo => tar::EntryType::Fifo,
            Kind::Sparse => tar::EntryType::GNUSparse,
        });
        if let Some(gnu) = header.as_gnu_mut() {
            gnu.set_real_size(data.len() as u64);
        }
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        self.bytes.extend_from_slice(header.as_bytes());
        self.bytes.extend_from_slice(data);
        self.bytes.resize(self.bytes.len().div_ceil(512) * 512, 0);
        self
    }

    /// The tar bytes, with the two zero blocks that end an archive.
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.resize(self.bytes.len() + 1024, 0);
        self.bytes
    }

    /// The archive compressed with zstd, as a bundle.
    pub fn bundle(self) -> Vec<u8> {
        zstd::encode_all(&self.finish()[..], 3).unwrap()
    }
}
