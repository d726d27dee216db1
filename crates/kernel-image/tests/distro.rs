//! Debian's real cloud kernel (fetched at test time by the testkit): its bzImage's ELF, as
//! banger extracts it, is the one an independent extraction gets with the `lz4` CLI, the way
//! `scripts/extract-vmlinux` does it.

use std::fs;

use banger_kernel_image::{extract_elf, identify, ikconfig, Codec, Format, EM_X86_64};

#[test]
fn debian_cloud_kernel_bzimage_gives_the_elf_extract_vmlinux_gives() {
    let kernel = banger_testkit::distro::cloud_kernel();
    let vmlinuz = kernel.vmlinuz();
    let image = identify(&vmlinuz).unwrap();
    let Format::BzImage { payload, .. } = image.format else {
        panic!("{vmlinuz:?} is {:?}, not a bzImage", image.format);
    };
    assert_eq!(payload, Codec::Lz4, "Debian's cloud kernel payload");
    assert_eq!(image.release.as_deref(), Some(kernel.release.as_str()));

    let scratch = tempfile::tempdir().unwrap();
    let ours = scratch.path().join("vmlinux");
    let size = extract_elf(&vmlinuz, &mut fs::File::create(&ours).unwrap()).unwrap();
    let ours_bytes = fs::read(&ours).unwrap();
    assert_eq!(size, ours_bytes.len() as u64);

    let theirs = banger_testkit::distro::extract_like_extract_vmlinux(
        &vmlinuz,
        b"\x02\x21\x4c\x18",
        &["lz4", "-dc"],
    );
    assert_eq!(
        banger_testkit::sha256_hex(&ours_bytes),
        banger_testkit::sha256_hex(&theirs),
        "banger's ELF ({} bytes) and the lz4 CLI's ({} bytes) differ",
        ours_bytes.len(),
        theirs.len()
    );

    let elf = identify(&ours).unwrap();
    assert_eq!(
        elf.format,
        Format::Elf {
            machine: EM_X86_64,
            pvh: true
        }
    );
    assert_eq!(elf.release.as_deref(), Some(kernel.release.as_str()));
    // Debian does not set CONFIG_IKCONFIG; it ships boot/config-<release> instead.
    assert_eq!(ikconfig(&ours).unwrap(), None);
    assert!(kernel.config().is_file());
}
