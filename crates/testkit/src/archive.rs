//! Bundles for tests: real ones from GNU tar and the zstd CLI, and hostile ones built header by
//! header, since a well-behaved tar writer refuses to produce them.

use std::{
    fs,
    io::{self, Read, Write},
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
    /// GNU long name (`L`): the data is the next entry's name.
    LongName,
    /// GNU long link name (`K`).
    LongLink,
    /// PAX records for the next entry (`x`).
    Pax,
    /// PAX records for the whole archive (`g`).
    PaxGlobal,
}

impl Kind {
    /// The extension-header kinds, which describe other entries.
    pub const EXTENSIONS: [Kind; 4] = [Kind::LongName, Kind::LongLink, Kind::Pax, Kind::PaxGlobal];

    fn entry_type(self) -> tar::EntryType {
        match self {
            Kind::File => tar::EntryType::Regular,
            Kind::Dir => tar::EntryType::Directory,
            Kind::Symlink => tar::EntryType::Symlink,
            Kind::Hardlink => tar::EntryType::Link,
            Kind::Char => tar::EntryType::Char,
            Kind::Block => tar::EntryType::Block,
            Kind::Fifo => tar::EntryType::Fifo,
            Kind::Sparse => tar::EntryType::GNUSparse,
            Kind::LongName => tar::EntryType::GNULongName,
            Kind::LongLink => tar::EntryType::GNULongLink,
            Kind::Pax => tar::EntryType::XHeader,
            Kind::PaxGlobal => tar::EntryType::XGlobalHeader,
        }
    }
}

/// One PAX record, `"<len> <key>=<value>\n"`, with its length field computed.
pub fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}").len() + body.len() != len {
        len += 1;
    }
    format!("{len}{body}").into_bytes()
}

/// Write a bundle to `out` whose first entry is an extension header of `kind` that claims
/// `claimed` bytes and really carries them (repeated `a`s, which zstd shrinks to almost
/// nothing), followed by a valid `vmlinux`. A parser that reads such a header whole needs
/// `claimed` bytes of memory; the bundle itself stays small.
pub fn extension_bomb(kind: Kind, claimed: u64, out: &Path) {
    let mut encoder = zstd::Encoder::new(fs::File::create(out).unwrap(), 3).unwrap();
    let mut header = header(b"././@LongLink", kind, 0o644, b"");
    header.set_size(claimed);
    header.set_cksum();
    encoder.write_all(header.as_bytes()).unwrap();
    io::copy(&mut io::repeat(b'a').take(claimed), &mut encoder).unwrap();
    let padding = (512 - claimed % 512) % 512;
    io::copy(&mut io::repeat(0).take(padding), &mut encoder).unwrap();
    encoder
        .write_all(&RawTar::new().file("vmlinux", b"\x7fELF kernel").finish())
        .unwrap();
    encoder.finish().unwrap();
}

/// A header for [`RawTar::entry`]: the name and link go in verbatim (up to 100 bytes).
fn header(name: &[u8], kind: Kind, mode: u32, link: &[u8]) -> tar::Header {
    // A GNU header for sparse entries, so the parser gets as far as the entry type.
    let mut header = match kind {
        Kind::Sparse => tar::Header::new_gnu(),
        _ => tar::Header::new_ustar(),
    };
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    header.set_entry_type(kind.entry_type());
    header.set_mode(mode);
    header.set_mtime(1_700_000_000);
    header
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
        let mut header = header(name, kind, mode, link);
        if let Some(gnu) = header.as_gnu_mut() {
            gnu.set_real_size(data.len() as u64);
        }
        header.set_size(data.len() as u64);
        header.set_cksum();
        self.bytes.extend_from_slice(header.as_bytes());
        self.bytes.extend_from_slice(data);
        self.bytes.resize(self.bytes.len().div_ceil(512) * 512, 0);
        self
    }

    /// Any entry whose name (and link target, if not empty) go in a PAX `x` header before it,
    /// as GNU tar writes names longer than a header holds.
    pub fn pax_entry(self, name: &str, kind: Kind, data: &[u8], link: &str) -> Self {
        let mut records = pax_record("path", name);
        if !link.is_empty() {
            records.extend(pax_record("linkpath", link));
        }
        self.entry(b"PaxHeaders/entry", Kind::Pax, 0o644, &records, b"")
            .entry(b"placeholder", kind, 0o644, data, b"placeholder")
    }

    /// The entries written so far, without the end marker, leaving this archive empty: for
    /// writing a large archive out in pieces.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
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
