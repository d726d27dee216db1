//! A fake kernel build tree: enough of a kernel for banger to import, pack and install.

use std::{fs, os::unix::fs::symlink, path::Path};

/// ELF machine numbers.
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;

/// A small 64-bit little-endian ELF executable for `machine` whose body carries the kernel
/// banner `Linux version <version> ...`, padded to about `size` bytes with a pattern.
pub fn fake_vmlinux(machine: u16, version: &str, size: usize) -> Vec<u8> {
    let mut elf = vec![0u8; 64];
    elf[..4].copy_from_slice(b"\x7fELF");
    elf[4] = 2; // ELFCLASS64
    elf[5] = 1; // little-endian
    elf[6] = 1; // EV_CURRENT
    elf[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf[18..20].copy_from_slice(&machine.to_le_bytes());
    elf[20..24].copy_from_slice(&1u32.to_le_bytes());
    elf[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    elf.extend_from_slice(
        format!("Linux version {version} (builder@banger) (gcc 12.2.0) #1 SMP\n\0").as_bytes(),
    );
    let mut seed = 0x9e37_79b9_u32;
    while elf.len() < size {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        elf.push((seed >> 24) as u8);
    }
    elf
}

/// Write a kernel tree into `dir`: `vmlinux`, `initrd.img`, and a `modules/` tree with a
/// relative file symlink and a directory symlink, as `make modules_install` leaves them.
pub fn write_tree(dir: &Path, version: &str) {
    fs::create_dir_all(dir).unwrap();
    fs::write(
        dir.join("vmlinux"),
        fake_vmlinux(EM_X86_64, version, 256 * 1024),
    )
    .unwrap();
    fs::write(dir.join("initrd.img"), b"initramfs for tests\n".repeat(100)).unwrap();
    let release = dir.join("modules").join(version);
    let drivers = release.join("kernel/drivers/net");
    fs::create_dir_all(&drivers).unwrap();
    fs::write(
        drivers.join("virtio_net.ko"),
        b"\x7fELF module virtio_net".repeat(50),
    )
    .unwrap();
    fs::write(drivers.join("tun.ko"), b"\x7fELF module tun").unwrap();
    fs::write(
        release.join("modules.dep"),
        b"kernel/drivers/net/virtio_net.ko:\n",
    )
    .unwrap();
    fs::create_dir_all(release.join("empty")).unwrap();
    symlink("kernel/drivers/net/tun.ko", release.join("tun.ko")).unwrap();
    symlink("kernel/drivers", release.join("drivers")).unwrap();
}

/// Compare two trees: same names, kinds, file bytes and symlink targets, leaving out the
/// top-level names in `ignore`. Panics on the first difference, naming it.
pub fn assert_same_tree(expected: &Path, actual: &Path, ignore: &[&str]) {
    let kept = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter(|n| {
                !ignore
                    .iter()
                    .any(|i| n == i || n.starts_with(&format!("{i}/")))
            })
            .collect()
    };
    let mut expected_names = kept(list(expected));
    let mut actual_names = kept(list(actual));
    expected_names.sort();
    actual_names.sort();
    assert_eq!(
        expected_names, actual_names,
        "trees {expected:?} and {actual:?} hold different names"
    );
    for name in expected_names {
        let (e, a) = (expected.join(&name), actual.join(&name));
        let (em, am) = (
            fs::symlink_metadata(&e).unwrap(),
            fs::symlink_metadata(&a).unwrap(),
        );
        assert_eq!(em.file_type(), am.file_type(), "{name}: kinds differ");
        if em.file_type().is_symlink() {
            assert_eq!(
                fs::read_link(&e).unwrap(),
                fs::read_link(&a).unwrap(),
                "{name}: link targets differ"
            );
        } else if em.is_file() {
            assert!(
                fs::read(&e).unwrap() == fs::read(&a).unwrap(),
                "{name}: contents differ"
            );
        }
    }
}

/// Every path below `root`, relative, without following symlinks.
pub fn list(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}
