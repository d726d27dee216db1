//! What a kernel image file is, read the way Firecracker's loaders read it.
//!
//! - [`identify`] names the format ([`Format`]: an ELF `vmlinux` with or without the PVH
//!   note, an arm64 `Image`, a bzImage and its payload codec, a gzip `Image.gz`, an EFI zboot
//!   image) and reads the release.
//! - [`release`] reads the release: the `Linux version` banner of an uncompressed image, the
//!   setup header's `kernel_version` string of a bzImage (else the banner in its payload).
//! - [`ikconfig`] reads the config that `CONFIG_IKCONFIG` stored between `IKCFG_ST` and
//!   `IKCFG_ED`, from the file or from a bzImage's payload, capped at 1 MiB.
//! - [`extract_elf`] streams the ELF `vmlinux` out of a bzImage payload (gzip, xz, lzma, lz4
//!   legacy, zstd), as `scripts/extract-vmlinux` does, capped at [`ELF_CAP`].
//! - [`Format::loadable`] says whether Firecracker on an arch loads the format, and if not,
//!   why, with a hint ([`Error::hint`]) of what to do instead.
//!
//! Every byte comes from outside: reads are bounds-checked against the file's size, searches
//! stream in 1 MiB chunks, and decompressed output is capped. Malformed input gives an
//! [`Error`] naming the file, never a panic. What this crate does not do: check the config's
//! options (that is `banger kernel check`), or verify a bundle's digest.
#![forbid(unsafe_code)]

mod bzimage;
mod elf;
mod error;
pub mod le;
mod lz4_legacy;
mod scan;

use std::{fs::File, io::Read, path::Path};

pub use bzimage::{extract_elf, Codec, ELF_CAP};
pub use elf::{EM_AARCH64, EM_X86_64};
pub use error::Error;
pub use scan::IKCONFIG_CAP;

/// `ARM\x64` at 0x38 of an arm64 Image (`Documentation/arch/arm64/booting.rst`).
const ARM64_MAGIC: u32 = 0x644d_5241;
/// The bytes read for format detection: enough for the bzImage setup header.
const HEAD: usize = 0x400;

/// A kernel image: its format, and its release if the image says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub format: Format,
    pub release: Option<String>,
}

/// The format of a kernel image file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// An ELF64 little-endian `vmlinux`; `pvh` when it carries the Xen PVH entry note.
    Elf {
        machine: u16,
        pvh: bool,
    },
    /// The uncompressed arm64 `Image` (`arch/arm64/boot/Image`).
    Arm64Image {
        text_offset: u64,
        image_size: u64,
    },
    /// An x86 bzImage (`arch/x86/boot/bzImage`, a distro's `vmlinuz`).
    BzImage {
        protocol: u16,
        payload: Codec,
    },
    /// A gzip file, such as arm64's `Image.gz`.
    Gzip,
    /// An EFI zboot image (`vmlinuz.efi`): a PE that decompresses a payload itself.
    EfiZboot {
        payload: String,
    },
    Unknown,
}

impl Format {
    /// The format's name, for messages and JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Elf { .. } => "elf",
            Format::Arm64Image { .. } => "arm64-image",
            Format::BzImage { .. } => "bzimage",
            Format::Gzip => "gzip",
            Format::EfiZboot { .. } => "efi-zboot",
            Format::Unknown => "unknown",
        }
    }

    /// Whether this is the ELF of `machine` with the PVH entry note.
    pub fn pvh(&self) -> bool {
        matches!(self, Format::Elf { pvh: true, .. })
    }

    /// Whether released Firecracker on `arch` (`x86_64` or `arm64`) loads an image of this
    /// format, which `path` names in the error. x86_64 takes the ELF `vmlinux`, arm64 the
    /// arm64 Image.
    pub fn loadable(&self, path: &Path, arch: &str) -> Result<(), Error> {
        let wanted = match arch {
            "x86_64" => EM_X86_64,
            "arm64" => EM_AARCH64,
            other => {
                return Err(Error::unsupported(
                    path,
                    format!("unknown arch `{other}`"),
                    "banger knows x86_64 and arm64",
                ))
            }
        };
        let refuse = |what: String, hint: &str| Err(Error::unsupported(path, what, hint));
        match (self, arch) {
            (Format::Elf { machine, .. }, "x86_64") if *machine == wanted => Ok(()),
            (Format::Arm64Image { .. }, "arm64") => Ok(()),
            (Format::Elf { machine, .. }, _) if *machine != wanted => refuse(
                format!("is an ELF for {}, not {arch}", machine_name(*machine)),
                "pass the kernel built for this arch, or --arch for the one it is built for",
            ),
            (Format::Elf { .. }, _) => refuse(
                "is an ELF vmlinux; Firecracker on arm64 loads only the arm64 Image".into(),
                "use arch/arm64/boot/Image from the build directory (a distro's arm64 vmlinuz is one)",
            ),
            (Format::BzImage { .. }, "x86_64") => refuse(
                "is a bzImage; released Firecracker loads only the ELF vmlinux inside it".into(),
                "`banger kernel import` extracts it; or use vmlinux from the build directory",
            ),
            (Format::Gzip, "arm64") => refuse(
                "is gzip-compressed (an Image.gz); Firecracker loads only the uncompressed arm64 Image".into(),
                "gunzip it first, or use arch/arm64/boot/Image",
            ),
            (Format::EfiZboot { payload }, "arm64") => refuse(
                format!("is an EFI zboot image ({payload}-compressed); Firecracker loads only the uncompressed arm64 Image"),
                "use arch/arm64/boot/Image from a build with CONFIG_EFI_ZBOOT unset",
            ),
            (other, _) => refuse(
                format!("is {}, not a kernel Firecracker loads on {arch}", describe(other)),
                if arch == "x86_64" {
                    "Firecracker on x86_64 loads the ELF vmlinux"
                } else {
                    "Firecracker on arm64 loads the arm64 Image (arch/arm64/boot/Image)"
                },
            ),
        }
    }
}

fn describe(format: &Format) -> &'static str {
    match format {
        Format::Arm64Image { .. } => "an arm64 Image",
        Format::BzImage { .. } => "an x86 bzImage",
        Format::Gzip => "a gzip file",
        Format::EfiZboot { .. } => "an EFI zboot image",
        Format::Elf { .. } => "an ELF file",
        Format::Unknown => "no kernel image format banger knows",
    }
}

/// The arch name of an ELF machine number, or the number itself.
pub fn machine_name(machine: u16) -> String {
    match machine {
        EM_X86_64 => "x86_64".into(),
        EM_AARCH64 => "arm64".into(),
        other => format!("machine {other}"),
    }
}

/// Open the regular file at `path`. Anything else (a FIFO, which would block the read
/// forever, a device, a directory) is refused before it is opened.
fn open_regular(path: &Path) -> Result<File, Error> {
    let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !metadata.is_file() {
        return Err(Error::malformed(path, "it is not a regular file"));
    }
    File::open(path).map_err(|e| Error::io(path, e))
}

/// Open `path` and read its first bytes and size.
fn open(path: &Path) -> Result<(File, Vec<u8>, u64), Error> {
    let mut file = open_regular(path)?;
    let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut head = Vec::with_capacity(HEAD);
    (&mut file)
        .take(HEAD as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    Ok((file, head, size))
}

/// The format of the file at `path`, and the release it states.
pub fn identify(path: &Path) -> Result<Image, Error> {
    let (format, release) = detect(path)?;
    let release = match release {
        Some(release) => Some(release),
        None => release_of(path, &format)?,
    };
    Ok(Image { format, release })
}

/// [`identify`] without decompressing anything: a bzImage's release is the one its setup
/// header states, or none. For checks of images that will not be loaded as they are, where a
/// payload's decompression (which can take a 64 MiB zstd window) would buy nothing.
pub fn identify_header(path: &Path) -> Result<Image, Error> {
    let (format, release) = detect(path)?;
    let release = match (&format, release) {
        (_, Some(release)) => Some(release),
        (Format::BzImage { .. }, None) => None,
        (format, None) => release_of(path, format)?,
    };
    Ok(Image { format, release })
}

/// The format, and the release if the header already gave it.
fn detect(path: &Path) -> Result<(Format, Option<String>), Error> {
    let (mut file, head, size) = open(path)?;
    if head.starts_with(b"\x7fELF") {
        let elf = elf::read(path, &mut file, size)?;
        return Ok((
            Format::Elf {
                machine: elf.machine,
                pvh: elf.pvh,
            },
            None,
        ));
    }
    // A bzImage with an EFI stub starts with `MZ` too: the setup header decides first.
    if bzimage::is_bzimage(&head) {
        let header = bzimage::header(path, &mut file, &head, size)?;
        return Ok((
            Format::BzImage {
                protocol: header.protocol,
                payload: header.payload,
            },
            header.release,
        ));
    }
    if head.starts_with(b"MZ") && head.get(4..8) == Some(b"zimg") {
        // The zboot header names its compression at 0x18, NUL-padded to 32 bytes.
        let payload = head
            .get(0x18..0x38)
            .map(|name| {
                name.iter()
                    .take_while(|b| b.is_ascii_alphanumeric())
                    .map(|b| char::from(*b))
                    .collect::<String>()
            })
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "unknown".into());
        return Ok((Format::EfiZboot { payload }, None));
    }
    if le::u32_at(&head, 0x38) == Some(ARM64_MAGIC) {
        // The magic at 0x38 means that the fields before it are there.
        let field = |at| le::u64_at(&head, at).unwrap_or_default();
        return Ok((
            Format::Arm64Image {
                text_offset: field(8),
                image_size: field(16),
            },
            None,
        ));
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok((Format::Gzip, None));
    }
    Ok((Format::Unknown, None))
}

/// The release that the image at `path` states: the `kernel_version` string of a bzImage's
/// setup header (else the banner in its payload), the `Linux version` banner of anything
/// else. Compressed images other than a bzImage give `None`: their banner is not visible.
pub fn release(path: &Path) -> Result<Option<String>, Error> {
    match detect(path)? {
        (_, Some(release)) => Ok(Some(release)),
        (format, None) => release_of(path, &format),
    }
}

fn release_of(path: &Path, format: &Format) -> Result<Option<String>, Error> {
    match format {
        Format::Gzip | Format::EfiZboot { .. } => Ok(None),
        Format::BzImage { payload, .. } => match bzimage::payload(path) {
            // A codec banger does not decompress hides the banner; the format still stands.
            Err(Error::Unsupported { .. }) => Ok(None),
            Err(e) => Err(e),
            Ok((_, input)) => scan::banner(input).map_err(|e| corrupt(path, *payload, e)),
        },
        _ => {
            let file = open_regular(path)?;
            scan::banner(file).map_err(|e| Error::io(path, e))
        }
    }
}

fn corrupt(path: &Path, codec: Codec, source: std::io::Error) -> Error {
    Error::Corrupt {
        path: path.to_owned(),
        codec: codec.name(),
        source,
    }
}

/// The config that `CONFIG_IKCONFIG` stored in the image at `path`, if it did: searched in
/// the file, or in the decompressed payload of a bzImage. Capped at [`IKCONFIG_CAP`].
pub fn ikconfig(path: &Path) -> Result<Option<String>, Error> {
    let found = match detect(path)?.0 {
        Format::BzImage { payload, .. } => {
            let (_, input) = bzimage::payload(path)?;
            scan::ikconfig(input).map_err(|e| corrupt(path, payload, e))?
        }
        _ => {
            let file = open_regular(path)?;
            scan::ikconfig(file).map_err(|e| Error::io(path, e))?
        }
    };
    match found {
        scan::Ikconfig::None => Ok(None),
        scan::Ikconfig::Config(text) => String::from_utf8(text)
            .map(Some)
            .map_err(|_| Error::malformed(path, "the IKCONFIG config is not UTF-8 text")),
        scan::Ikconfig::Corrupt(e) => Err(Error::Corrupt {
            path: path.to_owned(),
            codec: "IKCONFIG gzip",
            source: e,
        }),
        scan::Ikconfig::TooLarge => Err(Error::TooLarge {
            path: path.to_owned(),
            what: "the IKCONFIG config",
            cap: IKCONFIG_CAP,
        }),
    }
}
