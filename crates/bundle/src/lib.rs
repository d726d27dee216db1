//! Kernel bundles (`<name>-<arch>.tar.zst`): the layout rules ([`layout`]), safe extraction
//! ([`extract`], in `extract.rs`), and reproducible packing ([`pack`]).
//!
//! [`extract`] streams a bundle once and enforces every rule of the layout; it does not decide
//! whether the digest is the right one, and it does not clean up after a failure: the caller
//! owns the staging directory, compares [`Extracted::digest`] with what it trusts, and removes
//! the directory on any error.
#![forbid(unsafe_code)]

mod digest;
mod error;
mod extract;
pub mod headers;
pub mod layout;
pub mod pack;
mod pipe;
mod tree;

pub use digest::{sha256_hex, DigestReader, Digested};
pub use error::BundleError;
pub(crate) use extract::read_error;
pub use extract::{extract, extract_from};

/// Mode of every extracted file, whatever the archive says.
pub const FILE_MODE: u32 = 0o644;
/// Mode of every extracted directory, whatever the archive says.
pub const DIR_MODE: u32 = 0o755;

/// Caps on what one bundle may hold.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Compressed bytes read from the stream.
    pub max_compressed: u64,
    /// Sum of all file sizes once unpacked.
    pub max_unpacked: u64,
    /// Size of any one file.
    pub max_entry_size: u64,
    /// Number of archive entries, extension headers included.
    pub max_entries: u64,
    /// Decompressed bytes, all of them: headers, contents, padding, and anything after the
    /// end-of-archive marker.
    pub max_decompressed: u64,
    /// Largest zstd window accepted, as log2 of bytes; bounds the decoder's memory.
    pub window_log_max: u32,
    /// Bytes the extractor may keep across entries, for paths, link targets and directories
    /// together, whatever the archive's shape (see `tree.rs`).
    pub max_retained: u64,
    /// Directories, whether the archive has entries for them or only entries below them.
    pub max_dirs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_compressed: 4 << 30,
            max_unpacked: 16 << 30,
            max_entry_size: 4 << 30,
            max_entries: 200_000,
            max_decompressed: 17 << 30,
            // 16 MiB: the decoder allocates the window a frame asks for, and the whole pull must
            // stay within 64 MiB. Level 19, as `kernel publish` packs, uses 8 MiB.
            window_log_max: 24,
            // Real module trees need well under 1 MiB; the rest of the 64 MiB goes to the
            // decoder's window, the pipe and the I/O buffers.
            max_retained: 16 << 20,
            // Real module trees have about a thousand; each costs a `mkdir` on disk.
            max_dirs: 8192,
        }
    }
}

/// What [`extract`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    /// sha256 and size of the compressed stream, every byte of it.
    pub digest: Digested,
    /// Regular files written.
    pub files: u64,
    /// Bytes of file content written.
    pub unpacked: u64,
}
