//! The x86 bzImage: its setup header, and the ELF `vmlinux` inside its compressed payload.
//!
//! The header fields used are those of the boot protocol (`Documentation/arch/x86/boot.rst`):
//! `setup_sects` at 0x1f1 (0 meaning 4), `HdrS` at 0x202, the protocol version at 0x206, the
//! `kernel_version` string pointer at 0x20e, and, since protocol 2.08, `payload_offset` and
//! `payload_length` at 0x248/0x24c, relative to the protected-mode code that starts after the
//! `setup_sects + 1` sectors of real-mode setup. The payload is decompressed the way
//! `scripts/extract-vmlinux` does, except that the codec is read from the header's payload
//! rather than guessed by searching the file for magics.
//!
//! Everything is streamed: the payload is read through a `Take` of its stated length and
//! decompressed chunk by chunk, and the output is cut at [`ELF_CAP`].

use std::{
    fs::File,
    io::{self, Read, Write},
    path::Path,
};

use crate::{elf::read_at, le, lz4_legacy, scan, Error};

/// The largest ELF extracted from a payload: a real `vmlinux` is well under 256 MiB.
pub const ELF_CAP: u64 = 256 << 20;
/// The memory liblzma may use for an xz or lzma payload: the kernel's xz uses a 32 MiB
/// dictionary, which fits. Its `lzma -9` uses 64 MiB, which took 69.7 MiB of peak RSS here,
/// over the 64 MiB budget, so such a payload is refused (extract it with `unlzma`).
const LZMA_MEMLIMIT: u64 = 40 << 20;
/// The largest zstd window accepted: 2^26 (64 MiB), which the kernel's `zstd -22 --ultra`
/// picks for a vmlinux of 32-64 MiB (Arch's kernels are such). A larger vmlinux compressed
/// that way (its window is 2^27) is refused; extract it with the `zstd` CLI.
///
/// Known limit: a payload that really uses a 64 MiB window took 70.3 MiB of peak RSS here,
/// over the 64 MiB budget. Refusing it would refuse real zstd kernels, so it is accepted;
/// 2^25 would keep within the budget.
const ZSTD_WINDOW_LOG_MAX: u32 = 26;

/// How a bzImage payload is compressed, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Codec {
    Gzip,
    Xz,
    Lzma,
    /// The LZ4 legacy frame (`02 21 4c 18`).
    Lz4,
    Zstd,
    Bzip2,
    Lzo,
    Unknown,
}

impl Codec {
    fn of(magic: &[u8]) -> Self {
        match magic {
            [0x1f, 0x8b | 0x9e, ..] => Codec::Gzip,
            [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Codec::Xz,
            [0x5d, 0, 0, ..] => Codec::Lzma,
            [0x02, 0x21, 0x4c, 0x18, ..] => Codec::Lz4,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Codec::Zstd,
            [b'B', b'Z', b'h', ..] => Codec::Bzip2,
            [0x89, b'L', b'Z', b'O', ..] => Codec::Lzo,
            _ => Codec::Unknown,
        }
    }

    /// The name used in messages and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Xz => "xz",
            Codec::Lzma => "lzma",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bzip2",
            Codec::Lzo => "lzo",
            Codec::Unknown => "unknown",
        }
    }
}

/// The setup header fields banger reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The boot protocol, major in the high byte (0x020f is 2.15).
    pub protocol: u16,
    pub payload: Codec,
    payload_start: u64,
    payload_length: u64,
    /// The release at the start of the `kernel_version` string, if there is one.
    pub release: Option<String>,
}

/// Whether `head` (the file's first bytes) is a bzImage setup header.
pub fn is_bzimage(head: &[u8]) -> bool {
    head.get(0x202..0x206) == Some(b"HdrS")
}

/// Parse the setup header of the bzImage `file` of `size` bytes, whose first bytes are `head`.
pub fn header(path: &Path, file: &mut File, head: &[u8], size: u64) -> Result<Header, Error> {
    let u16_at = |at| le::u16_at(head, at);
    let u32_at = |at| le::u32_at(head, at);
    let truncated = || Error::malformed(path, "the bzImage setup header is cut short");
    let protocol = u16_at(0x206).ok_or_else(truncated)?;
    if protocol < 0x0208 {
        return Err(Error::unsupported(
            path,
            format!(
                "is a bzImage of boot protocol {}.{:02}, which does not locate its payload",
                protocol >> 8,
                protocol & 0xff
            ),
            "banger reads the payload of boot protocol 2.08 (Linux 2.6.26) or later",
        ));
    }
    let setup_sects = match head.get(0x1f1).copied().ok_or_else(truncated)? {
        0 => 4,
        n => u64::from(n),
    };
    let payload_offset = u64::from(u32_at(0x248).ok_or_else(truncated)?);
    let payload_length = u64::from(u32_at(0x24c).ok_or_else(truncated)?);
    let payload_start = (setup_sects + 1) * 512 + payload_offset;
    if payload_start + payload_length > size || payload_length < 4 {
        return Err(Error::malformed(
            path,
            format!(
                "the bzImage payload ({payload_length} bytes at offset {payload_start}) does not fit in the file ({size} bytes)"
            ),
        ));
    }
    let mut magic = [0u8; 6];
    read_at(path, file, payload_start, &mut magic, size, "the payload")?;
    let release = match u16_at(0x20e).ok_or_else(truncated)? {
        0 => None,
        pointer => {
            let mut text = [0u8; scan::MAX_RELEASE];
            let at = u64::from(pointer) + 0x200;
            let n = (size.saturating_sub(at)).min(text.len() as u64) as usize;
            read_at(
                path,
                file,
                at,
                &mut text[..n],
                size,
                "the kernel_version string",
            )?;
            scan::release_token(&text[..n])
        }
    };
    Ok(Header {
        protocol,
        payload: Codec::of(&magic),
        payload_start,
        payload_length,
        release,
    })
}

/// A reader of the decompressed payload of the bzImage at `path`, cut at [`ELF_CAP`] + 1 bytes
/// so that a caller sees when it runs past the cap.
pub(crate) fn payload(path: &Path) -> Result<(Codec, Box<dyn Read>), Error> {
    let (mut file, head, size) = crate::open(path)?;
    if !is_bzimage(&head) {
        return Err(Error::malformed(
            path,
            "is not a bzImage (no `HdrS` at 0x202)",
        ));
    }
    let header = header(path, &mut file, &head, size)?;
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(header.payload_start))
        .map_err(|e| Error::io(path, e))?;
    let input = io::BufReader::new(file.take(header.payload_length));
    let codec = header.payload;
    let setup = |e: io::Error| Error::Corrupt {
        path: path.to_owned(),
        codec: codec.name(),
        source: e,
    };
    let lzma = |e: liblzma::stream::Error| setup(io::Error::other(e));
    let decoder: Box<dyn Read> = match codec {
        Codec::Gzip => Box::new(flate2::read::GzDecoder::new(input)),
        Codec::Xz => Box::new(liblzma::read::XzDecoder::new_stream(
            input,
            liblzma::stream::Stream::new_stream_decoder(LZMA_MEMLIMIT, 0).map_err(lzma)?,
        )),
        Codec::Lzma => Box::new(liblzma::read::XzDecoder::new_stream(
            input,
            liblzma::stream::Stream::new_lzma_decoder(LZMA_MEMLIMIT).map_err(lzma)?,
        )),
        Codec::Lz4 => {
            let mut input = input;
            let mut magic = [0u8; 4];
            input.read_exact(&mut magic).map_err(setup)?;
            Box::new(lz4_legacy::Decoder::new(input))
        }
        Codec::Zstd => {
            let mut decoder = zstd::stream::read::Decoder::with_buffer(input)
                .map_err(setup)?
                .single_frame();
            decoder
                .window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(setup)?;
            Box::new(decoder)
        }
        Codec::Bzip2 | Codec::Lzo | Codec::Unknown => {
            return Err(Error::unsupported(
                path,
                format!("the bzImage payload is {} compressed", describe(codec)),
                "banger extracts gzip, xz, lzma, lz4 and zstd payloads; extract the vmlinux with the kernel's scripts/extract-vmlinux and import that",
            ))
        }
    };
    Ok((codec, Box::new(decoder.take(ELF_CAP + 1))))
}

fn describe(codec: Codec) -> &'static str {
    match codec {
        Codec::Unknown => "not recognisably",
        other => other.name(),
    }
}

/// Write the ELF `vmlinux` inside the bzImage at `path` to `out`, streaming, and return its
/// size. A payload that is not an ELF, or that inflates past [`ELF_CAP`], is refused; what was
/// written by then is the caller's to discard.
pub fn extract_elf(path: &Path, out: &mut impl Write) -> Result<u64, Error> {
    let (codec, mut payload) = payload(path)?;
    let corrupt = |e: io::Error| Error::Corrupt {
        path: path.to_owned(),
        codec: codec.name(),
        source: e,
    };
    let mut head = [0u8; 4];
    let n = scan::read_full(&mut payload, &mut head).map_err(corrupt)?;
    if head[..n] != *b"\x7fELF" {
        return Err(Error::malformed(
            path,
            format!("the {} payload does not hold an ELF vmlinux", codec.name()),
        ));
    }
    out.write_all(&head).map_err(Error::Write)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut written = 4u64;
    loop {
        let n = match payload.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(corrupt(e)),
        };
        written += n as u64;
        if written > ELF_CAP {
            return Err(Error::TooLarge {
                path: path.to_owned(),
                what: "the bzImage payload",
                cap: ELF_CAP,
            });
        }
        out.write_all(&buf[..n]).map_err(Error::Write)?;
    }
    Ok(written)
}
