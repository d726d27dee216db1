//! Hashing and counting the compressed bytes as they pass: a reader for extraction, which
//! stops at a size cap, and a writer for packing.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// What went through a [`DigestReader`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digested {
    /// sha256 of every byte read, lowercase hex.
    pub sha256: String,
    /// How many bytes were read.
    pub size: u64,
}

/// Hashes and counts everything read through it; fails once more than `cap` bytes arrive.
pub struct DigestReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
    cap: u64,
}

/// The marker error a [`DigestReader`] or [`CapReader`] raises at its cap, recognised by
/// [`crate::extract`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct OverCap {
    pub(crate) stream: Stream,
    pub(crate) limit: u64,
}

/// Which stream went over its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Compressed,
    Decompressed,
}

impl std::fmt::Display for OverCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {} bytes", self.limit)
    }
}

impl std::error::Error for OverCap {}

/// Counts what is read through it and fails once more than `cap` bytes arrive: the cap on
/// decompressed bytes.
pub(crate) struct CapReader<R> {
    inner: R,
    read: u64,
    cap: u64,
}

impl<R> CapReader<R> {
    pub(crate) fn new(inner: R, cap: u64) -> Self {
        Self {
            inner,
            read: 0,
            cap,
        }
    }
}

impl<R: Read> Read for CapReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.cap {
            return Err(io::Error::other(OverCap {
                stream: Stream::Decompressed,
                limit: self.cap,
            }));
        }
        Ok(n)
    }
}

impl<R: Read> DigestReader<R> {
    /// Read through `inner`, failing once more than `cap` bytes arrive.
    pub fn new(inner: R, cap: u64) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
            cap,
        }
    }

    /// The digest and count of everything read so far.
    pub fn digest(&self) -> Digested {
        Digested {
            sha256: format!("{:x}", self.hasher.clone().finalize()),
            size: self.size,
        }
    }

    /// Read the rest of the stream, up to the cap, so that [`DigestReader::digest`] covers
    /// every byte there is; a read error ends it early and is returned.
    pub fn drain(&mut self) -> io::Result<()> {
        io::copy(self, &mut io::sink()).map(|_| ())
    }
}

impl<R: Read> Read for DigestReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        if self.size > self.cap {
            return Err(io::Error::other(OverCap {
                stream: Stream::Compressed,
                limit: self.cap,
            }));
        }
        Ok(n)
    }
}

/// Hashes and counts everything written through it.
pub(crate) struct DigestWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> DigestWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    pub(crate) fn finish(self) -> Digested {
        Digested {
            sha256: format!("{:x}", self.hasher.finalize()),
            size: self.size,
        }
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The sha256 of `bytes`, as lowercase hex: the form every digest takes in banger (catalog
/// entries, manifests, partial-download names), through the digest's own `LowerHex`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}
