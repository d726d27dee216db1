//! Packing a kernel directory into a reproducible bundle.
//!
//! [`Plan::scan`] reads a directory that holds `vmlinux`, optional `initrd.img`, optional
//! `config` and optional `modules/`, checks it against the same layout and symlink rules that
//! [`crate::extract`] enforces, and notes every other top-level name as ignored.
//! [`Plan::from_sources`] does the same for members gathered from several places
//! ([`Sources`]), as `kernel import` finds them in a distro tree. [`Plan::write`] then writes
//! the tar stream through zstd, hashing and counting the compressed bytes.
//!
//! The same files always give the same bytes: entries in a fixed order (`vmlinux`,
//! `initrd.img`, `config`, then `modules/` depth first, names sorted bytewise), owner 0/0, one fixed
//! mtime, modes normalised to 0644, 0755 and 0777 (symlinks), no user or group names. With one
//! worker thread or more, zstd's output does not depend on their number (fixed job size).
//!
//! Top-level `vmlinux`, `initrd.img` and `modules` may be symlinks on disk (build directories
//! often link them); they are followed. Below `modules/`, symlinks are kept as symlinks and
//! must resolve inside `modules/`.

use std::{
    fs::{self, File},
    io::{self, Read, Write},
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

use zstd::stream::raw::CParameter;

use crate::{
    digest::DigestWriter,
    layout::{check_config, symlink_target, BundlePath, MAX_CONFIG_SIZE},
    tree::{Entry, Tree},
    BundleError, Digested, Limits, DIR_MODE, FILE_MODE,
};

/// The mtime of every entry: 2000-01-01T00:00:00Z. Old enough to mean nothing, new enough that
/// no tool calls it implausible.
pub const PACK_MTIME: u64 = 946_684_800;

/// Bytes per zstd worker job when compressing on several threads.
const JOB_SIZE: u32 = 8 << 20;

/// The top-level names a bundle holds, in archive order.
const TOP_LEVEL: [&str; 4] = ["vmlinux", "initrd.img", "config", "modules"];

/// Where each top-level member of a bundle comes from on disk.
#[derive(Clone, Debug)]
pub struct Sources {
    pub vmlinux: PathBuf,
    pub initrd: Option<PathBuf>,
    /// The kernel's config, packed as `config`.
    pub config: Option<PathBuf>,
    /// A directory packed as `modules/`; see `modules_release`.
    pub modules: Option<PathBuf>,
    /// When set, `modules` is one release's directory (a distro's `lib/modules/<release>`),
    /// packed as `modules/<release>/`. Its `build` and `source` links, which point into
    /// kernel headers elsewhere, are left out and listed as ignored.
    pub modules_release: Option<String>,
}

/// Why a directory could not be packed. Every variant names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// A file's name or kind breaks the bundle layout or a safety rule.
    #[error("`{}` cannot go into a bundle: {reason}", path.display())]
    Rejected { path: PathBuf, reason: String },
    /// Reading a file, or writing its entry, failed.
    #[error("cannot pack `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// How hard to compress.
#[derive(Clone, Copy, Debug)]
pub struct Compression {
    /// zstd level, 1 to 22.
    pub level: i32,
    /// zstd worker threads; 0 compresses on the calling thread. Does not change the output.
    pub threads: u32,
}

impl Compression {
    /// zstd level 19 on every core: what `banger kernel publish` uses.
    pub fn publish() -> Self {
        Self {
            level: 19,
            threads: cores(),
        }
    }

    /// A fast level on every core, for bundles that never leave this machine.
    pub fn local() -> Self {
        Self {
            level: 3,
            threads: cores(),
        }
    }
}

fn cores() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// What [`Plan::write`] produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    /// sha256 and size of the compressed bundle.
    pub digest: Digested,
}

/// A checked directory, ready to be written as a bundle.
#[derive(Debug)]
pub struct Plan {
    root: PathBuf,
    items: Vec<Item>,
    ignored: Vec<String>,
}

#[derive(Debug)]
struct Item {
    path: BundlePath,
    source: PathBuf,
    kind: ItemKind,
}

#[derive(Debug)]
enum ItemKind {
    File { size: u64 },
    Dir,
    Symlink(String),
}

impl Plan {
    /// Check `root` and list what goes into the bundle.
    pub fn scan(root: &Path) -> Result<Self, PackError> {
        let mut plan = Self {
            root: root.to_owned(),
            items: Vec::new(),
            ignored: Vec::new(),
        };
        for entry in read_dir_sorted(root)? {
            let name = entry.to_string_lossy().into_owned();
            if !TOP_LEVEL.contains(&name.as_str()) {
                plan.ignored.push(name);
            }
        }
        let optional =
            |name: &str| Some(root.join(name)).filter(|p| fs::symlink_metadata(p).is_ok());
        let sources = Sources {
            vmlinux: root.join("vmlinux"),
            initrd: optional("initrd.img"),
            config: optional("config"),
            modules: optional("modules"),
            modules_release: None,
        };
        plan.add(&sources)?;
        plan.check_tree()?;
        Ok(plan)
    }

    /// Check the members named in `sources` and list what goes into the bundle; `root` is
    /// the directory reported as the plan's.
    pub fn from_sources(root: &Path, sources: &Sources) -> Result<Self, PackError> {
        let mut plan = Self {
            root: root.to_owned(),
            items: Vec::new(),
            ignored: Vec::new(),
        };
        plan.add(sources)?;
        plan.check_tree()?;
        Ok(plan)
    }

    fn add(&mut self, sources: &Sources) -> Result<(), PackError> {
        let members = [
            Some(&sources.vmlinux),
            sources.initrd.as_ref(),
            sources.config.as_ref(),
            sources.modules.as_ref(),
        ];
        for (name, source) in TOP_LEVEL.into_iter().zip(members) {
            let Some(source) = source else { continue };
            let metadata = match fs::metadata(source) {
                Ok(metadata) => metadata,
                Err(e) if e.kind() == io::ErrorKind::NotFound && name == "vmlinux" => {
                    return Err(rejected(
                        source,
                        "it does not exist; a kernel needs `vmlinux`",
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(rejected(source, "it does not exist"))
                }
                Err(source_error) => return Err(io_error(source, source_error)),
            };
            let path = bundle_path(source, name.as_bytes())?;
            match (name, metadata.is_dir()) {
                ("modules", true) => {
                    self.items.push(Item {
                        path: path.clone(),
                        source: source.clone(),
                        kind: ItemKind::Dir,
                    });
                    match &sources.modules_release {
                        None => self.scan_modules(source, &path, false)?,
                        Some(release) => {
                            let raw = format!("modules/{release}");
                            let release_path = bundle_path(source, raw.as_bytes())?;
                            self.items.push(Item {
                                path: release_path.clone(),
                                source: source.clone(),
                                kind: ItemKind::Dir,
                            });
                            self.scan_modules(source, &release_path, true)?;
                        }
                    }
                }
                ("modules", false) => return Err(rejected(source, "it must be a directory")),
                (_, false) if metadata.is_file() => {
                    if name == "config" {
                        check_config_file(source, metadata.len())?;
                    }
                    self.items.push(Item {
                        path,
                        source: source.clone(),
                        kind: ItemKind::File {
                            size: metadata.len(),
                        },
                    })
                }
                _ => return Err(rejected(source, "it must be a regular file")),
            }
        }
        Ok(())
    }

    /// Add what is below `dir` as `at/…`; `skip_header_links` leaves out `build` and
    /// `source` symlinks directly in `dir`.
    fn scan_modules(
        &mut self,
        dir: &Path,
        at: &BundlePath,
        skip_header_links: bool,
    ) -> Result<(), PackError> {
        for name in read_dir_sorted(dir)? {
            let source = dir.join(&name);
            if skip_header_links && (name == "build" || name == "source") && source.is_symlink() {
                self.ignored
                    .push(format!("{at}/{}", name.to_string_lossy()));
                continue;
            }
            let mut raw = at.to_string().into_bytes();
            raw.push(b'/');
            raw.extend_from_slice(name.as_bytes());
            let path = bundle_path(&source, &raw)?;
            let metadata = fs::symlink_metadata(&source).map_err(|e| io_error(&source, e))?;
            let kind = if metadata.is_symlink() {
                let target = fs::read_link(&source).map_err(|e| io_error(&source, e))?;
                ItemKind::Symlink(
                    symlink_target(target.as_os_str().as_bytes())
                        .map_err(|reason| rejected(&source, reason))?,
                )
            } else if metadata.is_dir() {
                ItemKind::Dir
            } else if metadata.is_file() {
                ItemKind::File {
                    size: metadata.len(),
                }
            } else {
                return Err(rejected(
                    &source,
                    "only regular files, directories and symlinks can go into `modules/`",
                ));
            };
            let is_dir = matches!(kind, ItemKind::Dir);
            self.items.push(Item {
                path: path.clone(),
                source: source.clone(),
                kind,
            });
            if is_dir {
                self.scan_modules(&source, &path, false)?;
            }
        }
        Ok(())
    }

    /// Apply the extraction's tree rules, so that a bundle this makes is one banger accepts.
    fn check_tree(&self) -> Result<(), PackError> {
        let limits = Limits::default();
        let mut tree = Tree::new(limits.max_retained, limits.max_dirs);
        let mut links = Vec::new();
        for item in &self.items {
            let entry = match &item.kind {
                ItemKind::File { .. } => Entry::File,
                ItemKind::Dir => Entry::Dir,
                ItemKind::Symlink(target) => Entry::Symlink(target),
            };
            let node = tree
                .add(&item.path, entry)
                .map_err(|e| rejected(&item.source, e.to_string()))?;
            if matches!(item.kind, ItemKind::Symlink(_)) {
                links.push((node, &item.source));
            }
        }
        for (node, source) in links {
            tree.resolve(node)
                .map_err(|reason| rejected(source, reason))?;
        }
        Ok(())
    }

    /// Top-level names in the directory that are not part of a bundle, sorted.
    pub fn ignored(&self) -> &[String] {
        &self.ignored
    }

    /// Total bytes of file content the bundle will hold.
    pub fn unpacked(&self) -> u64 {
        self.items
            .iter()
            .map(|item| match item.kind {
                ItemKind::File { size } => size,
                _ => 0,
            })
            .sum()
    }

    /// The directory this plan reads.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Write the bundle to `out`. `progress` is told the file bytes packed so far.
    pub fn write(
        &self,
        out: impl Write,
        compression: Compression,
        mut progress: impl FnMut(u64),
    ) -> Result<Packed, PackError> {
        let whole = |e| io_error(&self.root, e);
        let mut encoder =
            zstd::stream::write::Encoder::new(DigestWriter::new(out), compression.level)
                .map_err(whole)?;
        encoder.include_checksum(true).map_err(whole)?;
        if compression.threads > 0 {
            encoder.multithread(compression.threads).map_err(whole)?;
            // zstd's default job at level 19 is 4 windows (32 MiB), which leaves a 60 MB
            // bundle with one or two jobs and a core idle. 8 MiB jobs that overlap by an
            // eighth of the window keep every core busy and cost about 0.2% in size. Fixed
            // values, so the output does not depend on the number of threads.
            encoder
                .set_parameter(CParameter::JobSize(JOB_SIZE))
                .map_err(whole)?;
            encoder
                .set_parameter(CParameter::OverlapSizeLog(7))
                .map_err(whole)?;
        }
        let mut builder = tar::Builder::new(encoder);
        let mut done = 0;
        for item in &self.items {
            self.append(&mut builder, item, &mut |n| {
                done += n;
                progress(done);
            })
            .map_err(|e| io_error(&item.source, e))?;
        }
        let encoder = builder.into_inner().map_err(whole)?;
        let mut digest_writer = encoder.finish().map_err(whole)?;
        digest_writer.flush().map_err(whole)?;
        Ok(Packed {
            digest: digest_writer.finish(),
        })
    }

    fn append<W: Write>(
        &self,
        builder: &mut tar::Builder<W>,
        item: &Item,
        progress: &mut dyn FnMut(u64),
    ) -> io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(PACK_MTIME);
        let name = item.path.to_string();
        match &item.kind {
            ItemKind::File { size } => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(FILE_MODE);
                header.set_size(*size);
                let file = File::open(&item.source)?;
                let content = Exact {
                    inner: file,
                    left: *size,
                    progress,
                };
                builder.append_data(&mut header, name, content)
            }
            ItemKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(DIR_MODE);
                header.set_size(0);
                builder.append_data(&mut header, format!("{name}/"), io::empty())
            }
            ItemKind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                builder.append_link(&mut header, name, target)
            }
        }
    }
}

/// Yields exactly `left` bytes of a file, and fails if the file turns out shorter or longer:
/// it changed after the scan, and its header already carries the old size.
struct Exact<'a, R> {
    inner: R,
    left: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for Exact<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return match self.inner.read(&mut [0u8; 1])? {
                0 => Ok(0),
                _ => Err(io::Error::other("the file grew while it was being packed")),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::other(
                "the file shrank while it was being packed",
            ));
        }
        self.left -= n as u64;
        (self.progress)(n as u64);
        Ok(n)
    }
}

/// Check that the file at `source` of `size` bytes can be a bundle's `config`.
fn check_config_file(source: &Path, size: u64) -> Result<(), PackError> {
    if size > MAX_CONFIG_SIZE {
        return Err(rejected(
            source,
            format!("a kernel config holds at most {MAX_CONFIG_SIZE} bytes, this one {size}"),
        ));
    }
    let mut text = Vec::new();
    File::open(source)
        .and_then(|f| f.take(MAX_CONFIG_SIZE + 1).read_to_end(&mut text))
        .map_err(|e| io_error(source, e))?;
    check_config(&text).map_err(|reason| rejected(source, reason))
}

/// The names in `dir`, sorted bytewise.
fn read_dir_sorted(dir: &Path) -> Result<Vec<std::ffi::OsString>, PackError> {
    let mut names = fs::read_dir(dir)
        .and_then(|entries| {
            entries
                .map(|entry| entry.map(|e| e.file_name()))
                .collect::<io::Result<Vec<_>>>()
        })
        .map_err(|e| io_error(dir, e))?;
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

fn bundle_path(source: &Path, raw: &[u8]) -> Result<BundlePath, PackError> {
    match BundlePath::parse(raw) {
        Ok(Some(path)) => Ok(path),
        Ok(None) => Err(rejected(source, "it has no name")),
        Err(BundleError::Rejected { reason, .. }) => Err(rejected(source, reason)),
        Err(other) => Err(rejected(source, other.to_string())),
    }
}

fn rejected(path: &Path, reason: impl Into<String>) -> PackError {
    PackError::Rejected {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn io_error(path: &Path, source: io::Error) -> PackError {
    PackError::Io {
        path: path.to_owned(),
        source,
    }
}
