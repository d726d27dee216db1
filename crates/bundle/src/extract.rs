//! Safe extraction of one bundle stream: bytes → sha256 and byte count → zstd (with a window
//! limit) on a thread of its own → the `tar` crate as a parser of raw entries only → files
//! written under a directory handle that cannot be escaped.
//!
//! It enforces the layout allowlist ([`crate::layout`]), reads extension headers under caps
//! ([`crate::headers`]), refuses every entry kind the layout does not need, caps sizes and
//! counts, and creates symlinks last, after checking them against the archive's own tree
//! ([`crate::tree`]), which also holds what is kept across entries to one budget
//! ([`Limits::max_retained`]). Files and directories are written through open handles on the
//! current directory ([`DirCursor`]), so an entry's cost does not grow with the depth of the
//! directories made before it. It does not decide whether the digest is the right one, and it does not
//! clean up after a failure: the caller owns the staging directory.

use std::{
    io::{self, Read},
    path::Path,
};

use cap_std::fs::{Dir, DirBuilder, DirBuilderExt, OpenOptions, OpenOptionsExt};

use crate::{
    digest::{CapReader, OverCap, Stream},
    headers::{Extensions, Names},
    layout::{check_config, symlink_target, BundlePath, Place, MAX_CONFIG_SIZE},
    pipe,
    tree::{Entry, Kind, NodeId, Tree, ROOT},
    BundleError, DigestReader, Extracted, Limits, DIR_MODE, FILE_MODE,
};

/// Extract a bundle stream into the existing, empty directory `dest`, reading the stream to its
/// end so the digest covers every byte.
pub fn extract(
    stream: impl Read + Send,
    dest: &Path,
    limits: &Limits,
) -> Result<Extracted, BundleError> {
    extract_from(
        &mut DigestReader::new(stream, limits.max_compressed),
        dest,
        limits,
    )
}

/// [`extract`] from a [`DigestReader`] the caller keeps, so that after a failure it can
/// [`DigestReader::drain`] the rest and tell corrupt bytes from a bad archive. The reader's cap
/// should be `limits.max_compressed`.
pub fn extract_from<R: Read + Send>(
    reader: &mut DigestReader<R>,
    dest: &Path,
    limits: &Limits,
) -> Result<Extracted, BundleError> {
    let dir = Dir::open_ambient_dir(dest, cap_std::ambient_authority()).map_err(|source| {
        BundleError::Write {
            entry: ".".into(),
            source,
        }
    })?;
    let (decompressed, mut tar_stream) = pipe::channel();
    let compressed = &mut *reader;
    let (counts, pumped) = std::thread::scope(|scope| {
        let producer = scope.spawn(move || decompress(compressed, limits, &decompressed));
        let counts = Unpacker::new(&dir, limits).run(tar::Archive::new(&mut tar_stream));
        // The tar end marker may leave padding, and the frame may be followed by more frames:
        // read them all so that every compressed byte is hashed and counted. After a failure,
        // hanging up stops the producer instead.
        let drained = match &counts {
            Ok(_) => io::copy(&mut tar_stream, &mut io::sink()).map(|_| ()),
            Err(_) => Ok(()),
        };
        drop(tar_stream);
        let pumped = producer
            .join()
            .expect("the decompression thread does not panic");
        (counts, drained.and(pumped))
    });
    let (files, unpacked) = counts?;
    pumped.map_err(read_error)?;
    Ok(Extracted {
        digest: reader.digest(),
        files,
        unpacked,
    })
}

/// The producer's side of [`extract_from`]: decompress everything the reader holds, then any
/// bytes after the last frame, sending the output to `sender`.
fn decompress<R: Read>(
    reader: &mut DigestReader<R>,
    limits: &Limits,
    sender: &pipe::Sender,
) -> io::Result<()> {
    let mut decoder = zstd::stream::read::Decoder::new(&mut *reader)?;
    decoder.window_log_max(limits.window_log_max)?;
    pipe::pump(
        &mut CapReader::new(&mut decoder, limits.max_decompressed),
        sender,
    );
    io::copy(&mut decoder.finish(), &mut io::sink()).map(|_| ())
}

/// Writes accepted entries; holds the state of one extraction.
struct Unpacker<'a> {
    limits: &'a Limits,
    tree: Tree,
    disk: DirCursor<'a>,
    entries: u64,
    files: u64,
    unpacked: u64,
}

impl<'a> Unpacker<'a> {
    fn new(dir: &'a Dir, limits: &'a Limits) -> Self {
        Self {
            limits,
            tree: Tree::new(limits.max_retained, limits.max_dirs),
            disk: DirCursor::new(dir),
            entries: 0,
            files: 0,
            unpacked: 0,
        }
    }

    fn run<R: Read>(mut self, mut archive: tar::Archive<R>) -> Result<(u64, u64), BundleError> {
        // Raw entries: the crate's own handling of extension headers reads them whole.
        let entries = archive.entries().map_err(read_error)?.raw(true);
        let mut extensions = Extensions::default();
        for entry in entries {
            let mut entry = entry.map_err(read_error)?;
            self.entries += 1;
            if self.entries > self.limits.max_entries {
                return Err(BundleError::Invalid(format!(
                    "more than {} entries",
                    self.limits.max_entries
                )));
            }
            if extensions.absorb(&mut entry)? {
                continue;
            }
            let names = extensions.member(&entry);
            self.entry(entry, names)?;
        }
        if extensions.pending() {
            return Err(BundleError::Invalid(
                "the archive ends with extension headers that describe no entry".into(),
            ));
        }
        let vmlinux = self.tree.child(ROOT, "vmlinux");
        if vmlinux.map(|id| self.tree.kind(id)) != Some(Kind::File) {
            return Err(BundleError::Invalid("`vmlinux` is missing".into()));
        }
        // Symlinks last, so that no entry can be written through one.
        for index in 0..self.tree.link_count() {
            let (link, _) = self.tree.link(index);
            self.tree
                .resolve(link)
                .map_err(|reason| BundleError::rejected(&self.tree.path(link), reason))?;
            let parent = self.tree.parent(link);
            let dir = self.disk.enter(&mut self.tree, parent)?;
            let (_, target) = self.tree.link(index);
            dir.symlink(target, self.tree.name(link))
                .map_err(|source| write_error(&self.tree.path(link), source))?;
        }
        Ok((self.files, self.unpacked))
    }

    /// One archive entry, checked against the layout allowlist and written below the root.
    fn entry<R: Read>(
        &mut self,
        mut entry: tar::Entry<'_, R>,
        names: Names,
    ) -> Result<(), BundleError> {
        let shown = String::from_utf8_lossy(&names.path).into_owned();
        let kind = entry.header().entry_type();
        let Some(path) = BundlePath::parse(&names.path)? else {
            return match kind {
                tar::EntryType::Directory => Ok(()),
                _ => Err(BundleError::rejected(
                    &shown,
                    "the archive root must be a directory",
                )),
            };
        };
        let place = path
            .place()
            .expect("BundlePath::parse accepts only placed names");
        let refused = |reason: &str| Err(BundleError::rejected(&shown, reason));
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                self.file(&mut entry, &path, place, &shown)
            }
            tar::EntryType::Directory => {
                if matches!(place, Place::TopFile | Place::Config) {
                    return refused("it must be a regular file");
                }
                let node = self.tree.add(&path, Entry::Dir)?;
                self.disk.enter(&mut self.tree, node)?;
                Ok(())
            }
            tar::EntryType::Symlink => {
                if place != Place::InModules {
                    return refused("symlinks are allowed only inside `modules/`");
                }
                let target = names
                    .link
                    .ok_or_else(|| BundleError::rejected(&shown, "the symlink has no target"))?;
                let target = symlink_target(&target)
                    .map_err(|reason| BundleError::rejected(&shown, reason))?;
                self.tree.add(&path, Entry::Symlink(&target))?;
                Ok(())
            }
            tar::EntryType::Link => refused("hard links are not allowed"),
            tar::EntryType::Char | tar::EntryType::Block => refused("device nodes are not allowed"),
            tar::EntryType::Fifo => refused("FIFOs are not allowed"),
            other => refused(&format!("entries of type {other:?} are not allowed")),
        }
    }

    /// A regular file entry: within the per-file and unpacked limits, and a kernel config
    /// read whole to check that it is text before it is written.
    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: &BundlePath,
        place: Place,
        shown: &str,
    ) -> Result<(), BundleError> {
        if place == Place::ModulesRoot {
            return Err(BundleError::rejected(
                shown,
                "`modules` must be a directory",
            ));
        }
        let size = entry.size();
        if size > self.limits.max_entry_size {
            return Err(BundleError::rejected(
                shown,
                format!(
                    "its {size} bytes exceed the per-file limit of {}",
                    self.limits.max_entry_size
                ),
            ));
        }
        self.unpacked += size;
        if self.unpacked > self.limits.max_unpacked {
            return Err(BundleError::Invalid(format!(
                "it unpacks to more than {} bytes",
                self.limits.max_unpacked
            )));
        }
        let node = self.tree.add(path, Entry::File)?;
        if place == Place::Config {
            // Read whole to check it is text: its size is capped just below.
            if size > MAX_CONFIG_SIZE {
                return Err(BundleError::rejected(
                    shown,
                    format!(
                        "a kernel config holds at most {MAX_CONFIG_SIZE} bytes, this one {size}"
                    ),
                ));
            }
            let mut text = Vec::with_capacity(size as usize);
            entry
                .take(MAX_CONFIG_SIZE)
                .read_to_end(&mut text)
                .map_err(read_error)?;
            check_config(&text).map_err(|reason| BundleError::rejected(shown, reason))?;
            self.write_file(node, &mut &text[..])?;
        } else {
            self.write_file(node, entry)?;
        }
        self.files += 1;
        Ok(())
    }

    fn write_file(&mut self, node: NodeId, content: &mut impl Read) -> Result<(), BundleError> {
        let parent = self.tree.parent(node);
        let dir = self.disk.enter(&mut self.tree, parent)?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true).mode(FILE_MODE);
        let write_error = |source| write_error(&self.tree.path(node), source);
        let mut file = dir
            .open_with(self.tree.name(node), &options)
            .map_err(write_error)?;
        io::copy(content, &mut file).map_err(|e| match find_over_cap(&e) {
            Some(over) => over_cap_error(over),
            None => write_error(e),
        })?;
        Ok(())
    }
}

/// Open handles on the directory last written to and on each of its ancestors, so that an
/// entry costs one `openat` or `mkdirat` per component that differs from the previous entry's
/// directory, and names only one component when it is written: never a walk from the root.
struct DirCursor<'a> {
    root: &'a Dir,
    /// Outermost first; at most [`crate::layout::MAX_DEPTH`] of them.
    open: Vec<(NodeId, Dir)>,
    /// Scratch for [`DirCursor::enter`]'s chain of ancestors.
    chain: Vec<NodeId>,
}

impl<'a> DirCursor<'a> {
    fn new(root: &'a Dir) -> Self {
        Self {
            root,
            open: Vec::new(),
            chain: Vec::new(),
        }
    }

    /// A handle on the directory `dir` of the tree, creating it and any missing ancestors,
    /// each once, with [`DIR_MODE`].
    fn enter(&mut self, tree: &mut Tree, dir: NodeId) -> Result<&Dir, BundleError> {
        self.chain.clear();
        let mut at = dir;
        while at != ROOT {
            self.chain.push(at);
            at = tree.parent(at);
        }
        self.chain.reverse();
        let kept = self
            .open
            .iter()
            .zip(&self.chain)
            .take_while(|((open, _), wanted)| open == *wanted)
            .count();
        self.open.truncate(kept);
        let mut builder = DirBuilder::new();
        builder.mode(DIR_MODE);
        for &id in &self.chain[kept..] {
            let parent = self.open.last().map_or(self.root, |(_, handle)| handle);
            if !tree.created(id) {
                parent
                    .create_dir_with(tree.name(id), &builder)
                    .map_err(|source| write_error(&tree.path(id), source))?;
                tree.mark_created(id);
            }
            let handle = parent
                .open_dir(tree.name(id))
                .map_err(|source| write_error(&tree.path(id), source))?;
            self.open.push((id, handle));
        }
        Ok(self.open.last().map_or(self.root, |(_, handle)| handle))
    }
}

fn write_error(path: &str, source: io::Error) -> BundleError {
    BundleError::Write {
        entry: path.to_owned(),
        source,
    }
}

pub(crate) fn read_error(error: io::Error) -> BundleError {
    match find_over_cap(&error) {
        Some(over) => over_cap_error(over),
        None => BundleError::Read(error),
    }
}

fn over_cap_error(over: OverCap) -> BundleError {
    match over.stream {
        Stream::Compressed => BundleError::TooLarge { limit: over.limit },
        Stream::Decompressed => {
            BundleError::Invalid(format!("it decompresses to more than {} bytes", over.limit))
        }
    }
}

/// Find the [`OverCap`] marker inside an I/O error, through the tar and zstd wrappers.
fn find_over_cap(error: &io::Error) -> Option<OverCap> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(over) = e.downcast_ref::<OverCap>() {
            return Some(*over);
        }
        current = match e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner),
            None => e.source(),
        };
    }
    None
}
