//! The ELF `vmlinux`: its machine and whether it carries the PVH entry note.
//!
//! Firecracker's x86_64 loader (linux-loader's `elf`) takes an ELF64 little-endian file whose
//! program headers are `Elf64_Phdr`s. Since v1.12 it enters through PVH when a `PT_NOTE`
//! segment holds a note named `Xen` of type 18 (`XEN_ELFNOTE_PHYS32_ENTRY`), which kernels
//! built with `CONFIG_PVH=y` emit. Only the header, the program headers and the note
//! segments are read, each bounds-checked against the file and capped.

use std::{
    fs::File,
    io::{Read, Seek, SeekFrom},
    path::Path,
};

use crate::Error;

/// ELF machine numbers.
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;

const PT_NOTE: u32 = 4;
const PHDR_SIZE: u16 = 56;
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;
/// The most program headers read; a vmlinux has about five.
const MAX_PHDRS: u16 = 256;
/// The most bytes of one note segment read; a vmlinux's notes are a few KiB.
const MAX_NOTES: u64 = 1 << 20;

/// What the ELF header and notes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elf {
    pub machine: u16,
    pub pvh: bool,
}

/// Read the ELF header of `file` (already known to start with `\x7fELF`).
pub fn read(path: &Path, file: &mut File, size: u64) -> Result<Elf, Error> {
    let mut header = [0u8; 64];
    read_at(path, file, 0, &mut header, size, "the ELF header")?;
    if header[4] != 2 || header[5] != 1 {
        return Err(Error::unsupported(
            path,
            "is a 32-bit or big-endian ELF",
            "Firecracker loads only an ELF64 little-endian vmlinux",
        ));
    }
    let machine = u16::from_le_bytes([header[18], header[19]]);
    let phoff = u64::from_le_bytes(header[32..40].try_into().expect("8 bytes"));
    let phentsize = u16::from_le_bytes([header[54], header[55]]);
    let phnum = u16::from_le_bytes([header[56], header[57]]);
    if phnum == 0 {
        return Ok(Elf {
            machine,
            pvh: false,
        });
    }
    if phentsize != PHDR_SIZE {
        return Err(Error::malformed(
            path,
            format!("program header size is {phentsize}, not {PHDR_SIZE} (Elf64_Phdr)"),
        ));
    }
    if phnum > MAX_PHDRS {
        return Err(Error::malformed(
            path,
            format!("{phnum} program headers, more than {MAX_PHDRS}"),
        ));
    }
    let mut phdrs = vec![0u8; usize::from(phnum) * usize::from(PHDR_SIZE)];
    read_at(path, file, phoff, &mut phdrs, size, "the program headers")?;
    let mut pvh = false;
    for phdr in phdrs.chunks_exact(usize::from(PHDR_SIZE)) {
        if u32::from_le_bytes(phdr[0..4].try_into().expect("4 bytes")) != PT_NOTE {
            continue;
        }
        let offset = u64::from_le_bytes(phdr[8..16].try_into().expect("8 bytes"));
        let filesz = u64::from_le_bytes(phdr[32..40].try_into().expect("8 bytes"));
        if filesz > MAX_NOTES {
            return Err(Error::malformed(
                path,
                format!("a note segment of {filesz} bytes, more than {MAX_NOTES}"),
            ));
        }
        let mut notes = vec![0u8; filesz as usize];
        read_at(path, file, offset, &mut notes, size, "a note segment")?;
        pvh |= has_pvh_note(&notes);
    }
    Ok(Elf { machine, pvh })
}

/// Whether a note segment holds `Xen` / `XEN_ELFNOTE_PHYS32_ENTRY`. A note that runs past
/// the segment ends the walk.
fn has_pvh_note(mut notes: &[u8]) -> bool {
    let align = |n: u32| (n as usize).div_ceil(4) * 4;
    while notes.len() >= 12 {
        let word = |at: usize| u32::from_le_bytes(notes[at..at + 4].try_into().expect("4 bytes"));
        let (namesz, descsz, kind) = (word(0), word(4), word(8));
        let Some(end) = 12usize
            .checked_add(align(namesz))
            .and_then(|n| n.checked_add(align(descsz)))
            .filter(|end| *end <= notes.len())
        else {
            return false;
        };
        let name = &notes[12..12 + namesz as usize];
        if name.strip_suffix(b"\0").unwrap_or(name) == b"Xen" && kind == XEN_ELFNOTE_PHYS32_ENTRY {
            return true;
        }
        notes = &notes[end..];
    }
    false
}

/// Read `buf.len()` bytes at `offset`, refusing a range that runs past the file's `size`.
pub(crate) fn read_at(
    path: &Path,
    file: &mut File,
    offset: u64,
    buf: &mut [u8],
    size: u64,
    what: &str,
) -> Result<(), Error> {
    if offset
        .checked_add(buf.len() as u64)
        .is_none_or(|end| end > size)
    {
        return Err(Error::malformed(
            path,
            format!(
                "{what} ({} bytes at offset {offset}) runs past the end of the file ({size} bytes)",
                buf.len()
            ),
        ));
    }
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(buf))
        .map_err(|e| Error::io(path, e))
}
