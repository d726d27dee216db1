//! The initramfs of a smoke boot, written by banger: a newc cpio archive (the format
//! `usr/gen_init_cpio` writes and the kernel's `init/initramfs.c` reads) holding a static
//! busybox and an `/init` script that prints one marker line and reboots.
//!
//! The archive is left uncompressed, so a kernel without `RD_GZIP` reads it too. `/init` is a
//! `#!/bin/busybox sh` script (every Firecracker CI config has `BINFMT_SCRIPT=y`); each
//! command runs as `busybox <applet>`, so no applet links are needed.

use std::io::{self, Write};

/// The marker line's first word; a nonce follows it, so nothing the kernel prints before
/// userspace (its command line, say) can pass for the marker.
pub const MARKER: &str = "banger-probe";

/// `/init`: mount /proc and /sys, then print `banger-probe-<nonce> release=… disk=… net=…`
/// and reboot at once (`reboot=t` with QEMU's `-no-reboot` ends the VM; without ACPI,
/// `poweroff` cannot).
pub fn init_script(nonce: &str) -> String {
    format!(
        r#"#!/bin/busybox sh
bb=/bin/busybox
$bb mkdir -p /proc /sys
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
disk=no
[ -e /sys/block/vda ] && disk=yes
net=no
for dev in /sys/class/net/*; do
  case "$($bb readlink "$dev/device/driver" 2>/dev/null)" in
    */virtio_net) net=yes ;;
  esac
done
echo "{MARKER}-{nonce} release=$($bb uname -r) disk=$disk net=$net"
$bb sync
$bb reboot -f
"#
    )
}

/// Write the initramfs: `/bin/busybox` (`busybox`'s bytes), `/init`, and `/dev/console`.
pub fn write(out: &mut impl Write, busybox: &[u8], init: &str) -> io::Result<()> {
    let mut archive = Newc { out, ino: 1 };
    archive.entry("dev", DIR, 0, &[])?;
    // The kernel opens /dev/console for init's output before any devtmpfs is mounted.
    archive.entry("dev/console", CHAR_DEVICE, (5 << 8) | 1, &[])?;
    archive.entry("bin", DIR, 0, &[])?;
    archive.entry("bin/busybox", FILE_EXEC, 0, busybox)?;
    archive.entry("init", FILE_EXEC, 0, init.as_bytes())?;
    archive.entry("TRAILER!!!", 0, 0, &[])
}

const DIR: u32 = 0o040_755;
const FILE_EXEC: u32 = 0o100_755;
const CHAR_DEVICE: u32 = 0o020_600;

/// A newc ("070701") cpio writer: a 110-byte ASCII header, the name with its NUL, padding to
/// 4 bytes, the data, padding to 4 bytes.
struct Newc<'a, W> {
    out: &'a mut W,
    ino: u32,
}

impl<W: Write> Newc<'_, W> {
    /// `rdev` is `major << 8 | minor` for a device node.
    fn entry(&mut self, name: &str, mode: u32, rdev: u32, data: &[u8]) -> io::Result<()> {
        let size = u32::try_from(data.len())
            .map_err(|_| io::Error::other(format!("`{name}` is too large for a cpio archive")))?;
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            if mode & 0o040_000 != 0 { 2 } else { 1 },
            0, // mtime
            size,
            0, // devmajor
            0, // devminor
            rdev >> 8,
            rdev & 0xff,
            name.len() as u32 + 1,
            0, // check
        ];
        self.ino += 1;
        let mut header = String::from("070701");
        for field in fields {
            header.push_str(&format!("{field:08X}"));
        }
        self.out.write_all(header.as_bytes())?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&[0])?;
        self.pad(header.len() + name.len() + 1)?;
        self.out.write_all(data)?;
        self.pad(data.len())
    }

    fn pad(&mut self, len: usize) -> io::Result<()> {
        self.out.write_all(&[0; 3][..(4 - len % 4) % 4])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read a newc archive back: (name, mode, rdev major, minor, data) per entry.
    fn entries(archive: &[u8]) -> Vec<(String, u32, u32, u32, Vec<u8>)> {
        let hex = |b: &[u8]| u32::from_str_radix(std::str::from_utf8(b).unwrap(), 16).unwrap();
        let mut at = 0;
        let mut out = Vec::new();
        loop {
            let header = &archive[at..at + 110];
            assert_eq!(&header[..6], b"070701");
            let field = |i: usize| hex(&header[6 + 8 * i..14 + 8 * i]);
            let (mode, size, namesize) = (field(1), field(6) as usize, field(11) as usize);
            let name_at = at + 110;
            let name =
                String::from_utf8(archive[name_at..name_at + namesize - 1].to_vec()).unwrap();
            assert_eq!(archive[name_at + namesize - 1], 0);
            let data_at = (name_at + namesize).next_multiple_of(4);
            let data = archive[data_at..data_at + size].to_vec();
            at = (data_at + size).next_multiple_of(4);
            if name == "TRAILER!!!" {
                assert_eq!(at, archive.len());
                return out;
            }
            out.push((name, mode, field(9), field(10), data));
        }
    }

    #[test]
    fn the_archive_reads_back_entry_by_entry() {
        let mut archive = Vec::new();
        let init = init_script("n0nce");
        write(&mut archive, b"\x7fELF busybox", &init).unwrap();
        assert_eq!(archive.len() % 4, 0);
        let entries = entries(&archive);
        let names: Vec<_> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names, ["dev", "dev/console", "bin", "bin/busybox", "init"]);
        assert_eq!(
            (entries[1].1, entries[1].2, entries[1].3),
            (CHAR_DEVICE, 5, 1)
        );
        assert_eq!(entries[3].4, b"\x7fELF busybox");
        assert_eq!(entries[4].1, FILE_EXEC);
        assert_eq!(entries[4].4, init.as_bytes());
        assert!(init.contains("echo \"banger-probe-n0nce release="));
    }

    /// The archive as another implementation reads it.
    #[test]
    fn busybox_cpio_lists_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("init.cpio");
        let mut archive = Vec::new();
        write(&mut archive, b"payload", "#!/bin/busybox sh\n").unwrap();
        std::fs::write(&path, archive).unwrap();
        let listed = std::process::Command::new("busybox")
            .args(["cpio", "-t", "-F"])
            .arg(&path)
            .output()
            .expect("busybox (Debian busybox-static; scripts/test.sh installs it)");
        assert!(
            listed.status.success(),
            "{}",
            String::from_utf8_lossy(&listed.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&listed.stdout),
            "dev\ndev/console\nbin\nbin/busybox\ninit\n"
        );
    }
}
