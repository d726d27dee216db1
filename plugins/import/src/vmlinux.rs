//! What a `vmlinux` says about itself: its ELF machine, and the release in its
//! `Linux version X.Y.Z` banner.

use std::{
    fs::File,
    io::{self, Read},
    path::Path,
};

use memchr::memmem;

/// The ELF machine numbers of the architectures banger knows.
const MACHINES: [(&str, u16); 2] = [("x86_64", 62), ("arm64", 183)];

const BANNER: &[u8] = b"Linux version ";
/// Longest release string read after the banner; real ones are under 65 bytes (`uname -r`).
const MAX_RELEASE: usize = 64;
const CHUNK: usize = 1 << 20;

/// The architecture name of an ELF machine number, or the number itself.
fn arch_of(machine: u16) -> String {
    MACHINES.iter().find(|(_, m)| *m == machine).map_or_else(
        || format!("machine {machine}"),
        |(arch, _)| (*arch).to_owned(),
    )
}

/// Check that `path` is a 64-bit ELF file for `arch`.
pub fn check_machine(path: &Path, arch: &str) -> Result<(), String> {
    let mut header = Vec::with_capacity(20);
    File::open(path)
        .and_then(|f| f.take(20).read_to_end(&mut header))
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    if !header.starts_with(b"\x7fELF") {
        return Err(format!(
            "`{}` is not an ELF file; banger needs the uncompressed `vmlinux`, not a bzImage or Image",
            path.display()
        ));
    }
    if header.len() < 20 {
        return Err(format!(
            "`{}` is too short to be an ELF file",
            path.display()
        ));
    }
    if header[4] != 2 {
        return Err(format!("`{}` is not a 64-bit ELF file", path.display()));
    }
    let bytes = [header[18], header[19]];
    let machine = match header[5] {
        1 => u16::from_le_bytes(bytes),
        2 => u16::from_be_bytes(bytes),
        other => {
            return Err(format!(
                "`{}` has an unknown ELF byte order {other}",
                path.display()
            ))
        }
    };
    let wanted = MACHINES
        .iter()
        .find(|(a, _)| *a == arch)
        .map(|(_, m)| *m)
        .ok_or_else(|| format!("unknown arch `{arch}`"))?;
    if machine != wanted {
        return Err(format!(
            "`{}` is an ELF for {}, not {arch}",
            path.display(),
            arch_of(machine)
        ));
    }
    Ok(())
}

/// The release in the first `Linux version <release>` banner of `path`, if there is one.
pub fn banner_release(path: &Path) -> io::Result<Option<String>> {
    let mut file = File::open(path)?;
    let finder = memmem::Finder::new(BANNER);
    let keep = BANNER.len() + MAX_RELEASE;
    let mut buf = Vec::with_capacity(CHUNK + keep);
    loop {
        let start = buf.len();
        buf.resize(start + CHUNK, 0);
        let n = file.read(&mut buf[start..])?;
        buf.truncate(start + n);
        let at_end = n == 0;
        for found in finder.find_iter(&buf) {
            let rest = &buf[found + BANNER.len()..];
            if rest.len() < MAX_RELEASE && !at_end {
                break; // the release may continue in the next chunk
            }
            let release: Vec<u8> = rest
                .iter()
                .take(MAX_RELEASE)
                .take_while(|b| b.is_ascii_graphic())
                .copied()
                .collect();
            if release.first().is_some_and(u8::is_ascii_digit) {
                return Ok(Some(String::from_utf8(release).expect("ASCII")));
            }
        }
        if at_end {
            return Ok(None);
        }
        let drop = buf.len().saturating_sub(keep);
        buf.drain(..drop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use banger_testkit::kernel::{fake_vmlinux, EM_AARCH64, EM_X86_64};

    fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        file
    }

    #[test]
    fn reads_the_machine() {
        let x86 = write(&fake_vmlinux(EM_X86_64, "6.1.2", 4096));
        let arm = write(&fake_vmlinux(EM_AARCH64, "6.1.2", 4096));
        check_machine(x86.path(), "x86_64").unwrap();
        check_machine(arm.path(), "arm64").unwrap();
        let err = check_machine(arm.path(), "x86_64").unwrap_err();
        assert!(err.contains("is an ELF for arm64, not x86_64"), "{err}");
        let err = check_machine(write(b"MZ not an elf at all").path(), "x86_64").unwrap_err();
        assert!(err.contains("not an ELF file"), "{err}");
        let err = check_machine(write(b"\x7fELF").path(), "x86_64").unwrap_err();
        assert!(err.contains("too short"), "{err}");
    }

    #[test]
    fn finds_the_banner_across_chunk_boundaries() {
        for offset in [0, CHUNK - 20, CHUNK - 3, CHUNK, 3 * CHUNK + 7] {
            let mut bytes = vec![0u8; offset];
            // A decoy that is not followed by a digit comes first.
            bytes.extend_from_slice(b"Linux version %s\0");
            bytes.extend_from_slice(b"Linux version 6.12.3-void (gcc) #1\0");
            bytes.resize(bytes.len() + 100, 0);
            assert_eq!(
                banner_release(write(&bytes).path()).unwrap().as_deref(),
                Some("6.12.3-void"),
                "banner at {offset}"
            );
        }
        let at_eof = write(b"\0\0Linux version 5.10.1");
        assert_eq!(
            banner_release(at_eof.path()).unwrap().as_deref(),
            Some("5.10.1")
        );
        assert_eq!(banner_release(write(&[7u8; 5000]).path()).unwrap(), None);
    }
}
