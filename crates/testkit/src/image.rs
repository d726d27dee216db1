//! Fixture kernel images, made at test time: ELF `vmlinux`es with notes and an IKCONFIG
//! blob, arm64 Image headers, bzImages with each payload codec, Image.gz and EFI zboot
//! images. Each carries only what banger reads (headers, notes, the banner, markers); none
//! boots.

use std::io::Write;

use crate::kernel::{fake_vmlinux, EM_X86_64};

/// What goes into a fixture ELF besides its banner.
#[derive(Debug, Clone, Default)]
pub struct Vmlinux {
    pub machine: u16,
    pub release: String,
    /// About this many bytes in all, padded with a pattern.
    pub size: usize,
    /// A `PT_NOTE` with the Xen PVH entry note (name `Xen`, type 18), after a decoy note.
    pub pvh: bool,
    /// A config stored as `CONFIG_IKCONFIG` does: `IKCFG_ST`, its gzip, `IKCFG_ED`.
    pub ikconfig: Option<String>,
}

impl Vmlinux {
    pub fn new(machine: u16, release: &str) -> Self {
        Self {
            machine,
            release: release.to_owned(),
            size: 4096,
            ..Self::default()
        }
    }

    pub fn build(&self) -> Vec<u8> {
        let mut elf = fake_vmlinux(self.machine, &self.release, 0);
        if let Some(config) = &self.ikconfig {
            elf.extend_from_slice(b"IKCFG_ST");
            elf.extend_from_slice(&gzip(config.as_bytes()));
            elf.extend_from_slice(b"IKCFG_ED");
        }
        if self.pvh {
            // Two notes in one segment: a Xen note of another type first, then PVH's.
            let mut notes = Vec::new();
            for (name, kind, desc) in [
                (&b"Xen\0"[..], 6u32, &b"linux\0\0\0"[..]),
                (&b"GNU\0"[..], 18, &[0u8; 4][..]),
                (&b"Xen\0"[..], 18, &0x0100_0000u32.to_le_bytes()[..]),
            ] {
                notes.extend_from_slice(&(name.len() as u32).to_le_bytes());
                notes.extend_from_slice(&(desc.len() as u32).to_le_bytes());
                notes.extend_from_slice(&kind.to_le_bytes());
                notes.extend_from_slice(name);
                notes.extend_from_slice(desc);
            }
            while !elf.len().is_multiple_of(8) {
                elf.push(0);
            }
            let notes_at = elf.len() as u64;
            elf.extend_from_slice(&notes);
            let phdr_at = elf.len() as u64;
            let mut phdr = [0u8; 56];
            phdr[0..4].copy_from_slice(&4u32.to_le_bytes()); // PT_NOTE
            phdr[8..16].copy_from_slice(&notes_at.to_le_bytes());
            phdr[32..40].copy_from_slice(&(notes.len() as u64).to_le_bytes());
            elf.extend_from_slice(&phdr);
            elf[32..40].copy_from_slice(&phdr_at.to_le_bytes()); // e_phoff
            elf[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
            elf[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        }
        pad(&mut elf, self.size);
        elf
    }
}

/// Pad with a pattern that compresses, like code, to about `size` bytes.
fn pad(bytes: &mut Vec<u8>, size: usize) {
    let mut seed = 0x9e37_79b9_u32;
    while bytes.len() < size {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        bytes.push(b"\0\0\0\x48\x89\xe5\xc3\x90"[(seed >> 29) as usize]);
    }
}

/// An uncompressed arm64 Image: `MZ`, `text_offset` and `image_size` at 8 and 16, `ARM\x64`
/// at 0x38, then the banner.
pub fn arm64_image(release: &str, size: usize) -> Vec<u8> {
    let mut image = vec![0u8; 64];
    image[0..2].copy_from_slice(b"MZ");
    image[8..16].copy_from_slice(&0x8_0000u64.to_le_bytes());
    image[16..24].copy_from_slice(&(size as u64).to_le_bytes());
    image[24..32].copy_from_slice(&0xau64.to_le_bytes());
    image[0x38..0x3c].copy_from_slice(&0x644d_5241u32.to_le_bytes());
    image.extend_from_slice(
        format!("Linux version {release} (builder@banger) (gcc 12.2.0) #1 SMP\n\0").as_bytes(),
    );
    pad(&mut image, size);
    image
}

/// An EFI zboot image header: `MZ`, `zimg`, and the payload's compression at 0x18.
pub fn efi_zboot(codec: &str) -> Vec<u8> {
    let mut image = vec![0u8; 512];
    image[0..2].copy_from_slice(b"MZ");
    image[4..8].copy_from_slice(b"zimg");
    image[0x18..0x18 + codec.len()].copy_from_slice(codec.as_bytes());
    image.extend_from_slice(&gzip(&arm64_image("6.1.0", 4096)));
    image
}

/// How a bzImage fixture's payload is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    Gzip,
    Xz,
    Lzma,
    /// The LZ4 legacy frame, in blocks of `block` uncompressed bytes (8 MiB in the kernel).
    Lz4 {
        block: usize,
    },
    Zstd,
}

impl Payload {
    pub const ALL: [Payload; 5] = [
        Payload::Gzip,
        Payload::Xz,
        Payload::Lzma,
        Payload::Lz4 { block: 8 << 20 },
        Payload::Zstd,
    ];

    /// `data` compressed in the kernel build's formats, at fast levels, without the appended
    /// size.
    pub fn compress(self, data: &[u8]) -> Vec<u8> {
        match self {
            Payload::Gzip => gzip(data),
            Payload::Xz => {
                let mut out = liblzma::write::XzEncoder::new(Vec::new(), 1);
                out.write_all(data).unwrap();
                out.finish().unwrap()
            }
            Payload::Lzma => {
                let options = liblzma::stream::LzmaOptions::new_preset(1).unwrap();
                let stream = liblzma::stream::Stream::new_lzma_encoder(&options).unwrap();
                let mut out = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
                out.write_all(data).unwrap();
                out.finish().unwrap()
            }
            Payload::Lz4 { block } => {
                let mut out = vec![0x02, 0x21, 0x4c, 0x18];
                for chunk in data.chunks(block) {
                    let compressed = lz4_flex::block::compress(chunk);
                    out.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
                    out.extend_from_slice(&compressed);
                }
                out
            }
            Payload::Zstd => zstd::bulk::compress(data, 3).unwrap(),
        }
    }
}

/// A bzImage of boot protocol 2.15 whose payload is `compressed` (followed, as the kernel
/// build leaves it, by the uncompressed size `size_append`), with `kernel_version` naming
/// `release` when given.
pub fn bzimage_with(compressed: &[u8], size_append: u32, release: Option<&str>) -> Vec<u8> {
    const SETUP_SECTS: usize = 3;
    let mut image = vec![0u8; (SETUP_SECTS + 1) * 512];
    image[0..2].copy_from_slice(b"MZ");
    image[0x1f1] = SETUP_SECTS as u8;
    image[0x1fe..0x200].copy_from_slice(&0xaa55u16.to_le_bytes());
    image[0x202..0x206].copy_from_slice(b"HdrS");
    image[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
    if let Some(release) = release {
        let text = format!("{release} (builder@banger) #1 SMP\0");
        let at = 0x300;
        image[at..at + text.len()].copy_from_slice(text.as_bytes());
        image[0x20e..0x210].copy_from_slice(&((at - 0x200) as u16).to_le_bytes());
    }
    // Protected-mode code before the payload, as the decompressor stub sits there.
    let payload_offset = 0x1234u32;
    image.resize(image.len() + payload_offset as usize, 0xcc);
    let payload_length = compressed.len() as u32 + 4;
    image[0x248..0x24c].copy_from_slice(&payload_offset.to_le_bytes());
    image[0x24c..0x250].copy_from_slice(&payload_length.to_le_bytes());
    image.extend_from_slice(compressed);
    image.extend_from_slice(&size_append.to_le_bytes());
    image.extend_from_slice(&[0xcc; 700]); // the stub's tail
    image
}

/// A bzImage holding `elf`, compressed with `payload`.
pub fn bzimage(elf: &[u8], payload: Payload, release: Option<&str>) -> Vec<u8> {
    bzimage_with(&payload.compress(elf), elf.len() as u32, release)
}

/// An x86_64 ELF with the PVH note and an IKCONFIG `config`, about `size` bytes.
pub fn x86_vmlinux(release: &str, size: usize, config: Option<&str>) -> Vec<u8> {
    Vmlinux {
        size,
        pvh: true,
        ikconfig: config.map(str::to_owned),
        ..Vmlinux::new(EM_X86_64, release)
    }
    .build()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    out.write_all(data).unwrap();
    out.finish().unwrap()
}
