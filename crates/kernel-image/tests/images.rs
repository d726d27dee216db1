//! Every format, made by the testkit fixtures, and hostile variants of each header.

use std::{fs, io, path::PathBuf};

use banger_kernel_image::{
    extract_elf, identify, ikconfig, release, Codec, Error, Format, EM_AARCH64, EM_X86_64,
};
use banger_testkit::image::{
    arm64_image, bzimage, bzimage_with, efi_zboot, gzip, x86_vmlinux, Payload, Vmlinux,
};

struct Files(tempfile::TempDir);

impl Files {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.path().join(name);
        fs::write(&path, bytes).unwrap();
        path
    }
}

fn codec_of(payload: Payload) -> Codec {
    match payload {
        Payload::Gzip => Codec::Gzip,
        Payload::Xz => Codec::Xz,
        Payload::Lzma => Codec::Lzma,
        Payload::Lz4 { .. } => Codec::Lz4,
        Payload::Zstd => Codec::Zstd,
    }
}

#[test]
fn identifies_every_format() {
    let files = Files::new();
    let elf = x86_vmlinux("6.1.0-18-cloud-amd64", 64 << 10, None);
    let cases: Vec<(&str, Vec<u8>, Format, Option<&str>)> = vec![
        (
            "plain-elf",
            Vmlinux::new(EM_X86_64, "6.12.3").build(),
            Format::Elf {
                machine: EM_X86_64,
                pvh: false,
            },
            Some("6.12.3"),
        ),
        (
            "pvh-elf",
            elf.clone(),
            Format::Elf {
                machine: EM_X86_64,
                pvh: true,
            },
            Some("6.1.0-18-cloud-amd64"),
        ),
        (
            "arm64-elf",
            Vmlinux::new(EM_AARCH64, "6.1.7").build(),
            Format::Elf {
                machine: EM_AARCH64,
                pvh: false,
            },
            Some("6.1.7"),
        ),
        (
            "arm64-image",
            arm64_image("6.1.0-18-arm64", 70_000),
            Format::Arm64Image {
                text_offset: 0x8_0000,
                image_size: 70_000,
            },
            Some("6.1.0-18-arm64"),
        ),
        (
            "image-gz",
            gzip(&arm64_image("6.1.0", 9000)),
            Format::Gzip,
            None,
        ),
        (
            "zboot",
            efi_zboot("gzip"),
            Format::EfiZboot {
                payload: "gzip".into(),
            },
            None,
        ),
        (
            "unknown",
            b"just some text\n".repeat(100),
            Format::Unknown,
            None,
        ),
    ];
    for (name, bytes, format, expected_release) in cases {
        let path = files.write(name, &bytes);
        let image = identify(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(image.format, format, "{name}");
        assert_eq!(image.release.as_deref(), expected_release, "{name}");
        assert_eq!(
            release(&path).unwrap().as_deref(),
            expected_release,
            "{name}"
        );
    }
    // A payload banger does not decompress still identifies, without a release.
    let bzip2 = files.write("bzip2", &bzimage_with(b"BZh91AY&SY", 10, None));
    assert_eq!(
        identify(&bzip2).unwrap(),
        banger_kernel_image::Image {
            format: Format::BzImage {
                protocol: 0x020f,
                payload: Codec::Bzip2
            },
            release: None
        }
    );
    for payload in Payload::ALL {
        let path = files.write("bz", &bzimage(&elf, payload, Some("6.1.0-header")));
        let image = identify(&path).unwrap();
        assert_eq!(
            image.format,
            Format::BzImage {
                protocol: 0x020f,
                payload: codec_of(payload),
            },
            "{payload:?}"
        );
        assert_eq!(image.format.name(), "bzimage");
        // The setup header's kernel_version string, which differs from the payload's banner.
        assert_eq!(
            image.release.as_deref(),
            Some("6.1.0-header"),
            "{payload:?}"
        );
        // Without that string, the banner inside the payload.
        let path = files.write("bz-no-version", &bzimage(&elf, payload, None));
        assert_eq!(
            release(&path).unwrap().as_deref(),
            Some("6.1.0-18-cloud-amd64"),
            "{payload:?}"
        );
    }
}

#[test]
fn pvh_needs_a_xen_note_of_type_18() {
    let files = Files::new();
    let with = Vmlinux {
        pvh: true,
        ..Vmlinux::new(EM_X86_64, "6.1.0")
    }
    .build();
    assert!(identify(&files.write("pvh", &with)).unwrap().format.pvh());
    // The fixture's notes are: Xen type 6, GNU type 18, Xen type 18. Rename the last one's
    // owner and only decoys are left.
    let at = with
        .windows(4)
        .rposition(|w| w == b"Xen\0")
        .expect("the PVH note");
    let mut renamed = with.clone();
    renamed[at..at + 3].copy_from_slice(b"Xem");
    assert!(!identify(&files.write("decoys", &renamed))
        .unwrap()
        .format
        .pvh());
    // A note whose sizes run past the segment ends the walk without a panic.
    let first_note = at - 12 - 2 * 20; // three notes of 20 bytes each, PVH's last
    let mut lying = with.clone();
    lying[first_note..first_note + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(!identify(&files.write("lying", &lying))
        .unwrap()
        .format
        .pvh());
    assert!(
        !identify(&files.write("none", &Vmlinux::new(EM_X86_64, "6.1").build()))
            .unwrap()
            .format
            .pvh()
    );
}

#[test]
fn reads_ikconfig_from_an_elf_and_a_bzimage_payload() {
    let files = Files::new();
    let config = "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.1.0 Kernel Configuration\n#\nCONFIG_VIRTIO_BLK=y\nCONFIG_VIRTIO_MMIO=y\n";
    let elf = x86_vmlinux("6.1.0", 200 << 10, Some(config));
    assert_eq!(
        ikconfig(&files.write("elf", &elf)).unwrap().as_deref(),
        Some(config)
    );
    for payload in Payload::ALL {
        let path = files.write("bz", &bzimage(&elf, payload, Some("6.1.0")));
        assert_eq!(
            ikconfig(&path).unwrap().as_deref(),
            Some(config),
            "{payload:?}"
        );
    }
    let without = files.write("none", &x86_vmlinux("6.1.0", 8192, None));
    assert_eq!(ikconfig(&without).unwrap(), None);
}

#[test]
fn extracts_the_elf_from_every_payload_codec() {
    let files = Files::new();
    let elf = x86_vmlinux("6.1.0-18-cloud-amd64", 3 << 20, Some("CONFIG_PVH=y\n"));
    let payloads = Payload::ALL
        .into_iter()
        .chain([Payload::Lz4 { block: 100_000 }]);
    for payload in payloads {
        let path = files.write("bz", &bzimage(&elf, payload, None));
        let mut out = Vec::new();
        let size = extract_elf(&path, &mut out).unwrap_or_else(|e| panic!("{payload:?}: {e}"));
        assert_eq!(size, elf.len() as u64, "{payload:?}");
        assert!(out == elf, "{payload:?}: the extracted ELF differs");
        // The extracted ELF is identified as what it is.
        let extracted = files.write("extracted", &out);
        assert!(identify(&extracted).unwrap().format.pvh(), "{payload:?}");
    }
}

/// `data` as `lzma -9` compresses it, with a 64 MiB dictionary.
fn lzma_9(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let options = liblzma::stream::LzmaOptions::new_preset(9).unwrap();
    let stream = liblzma::stream::Stream::new_lzma_encoder(&options).unwrap();
    let mut out = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    out.write_all(data).unwrap();
    out.finish().unwrap()
}

/// A bzImage whose `payload_length` is changed to `length`.
fn with_payload_length(image: &[u8], length: u32) -> Vec<u8> {
    let mut image = image.to_vec();
    image[0x24c..0x250].copy_from_slice(&length.to_le_bytes());
    image
}

fn patched(bytes: &[u8], at: usize, with: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    bytes[at..at + with.len()].copy_from_slice(with);
    bytes
}

#[test]
fn hostile_headers_give_errors_that_name_the_file() {
    let files = Files::new();
    let elf = x86_vmlinux("6.1.0", 64 << 10, None);
    let bz = bzimage(&elf, Payload::Gzip, Some("6.1.0"));
    let real_length = u32::from_le_bytes(bz[0x24c..0x250].try_into().unwrap());
    let bz_lz4 = bzimage(&elf, Payload::Lz4 { block: 8 << 20 }, None);
    let lz4_length = u32::from_le_bytes(bz_lz4[0x24c..0x250].try_into().unwrap());
    type Check = fn(&Error) -> bool;
    let malformed: Check = |e| matches!(e, Error::Malformed { .. });
    let unsupported: Check = |e| matches!(e, Error::Unsupported { .. });
    let corrupt: Check = |e| matches!(e, Error::Corrupt { .. });
    // (what, bytes, expected error, substring of the message)
    let cases: Vec<(&str, Vec<u8>, Check, &str)> = vec![
        (
            "payload offset past the end",
            patched(&bz, 0x248, &u32::MAX.to_le_bytes()),
            malformed,
            "does not fit in the file",
        ),
        (
            "payload length past the end",
            with_payload_length(&bz, real_length + 10_000),
            malformed,
            "does not fit in the file",
        ),
        (
            "payload length cuts the gzip",
            with_payload_length(&bz, real_length / 2),
            corrupt,
            "gzip payload does not decompress",
        ),
        (
            "payload length cuts an lz4 block",
            with_payload_length(&bz_lz4, lz4_length / 2),
            corrupt,
            "lz4 payload does not decompress",
        ),
        (
            "setup_sects past the end",
            patched(&bzimage_with(b"\x1f\x8b", 0, None), 0x1f1, &[0xff]),
            malformed,
            "does not fit in the file",
        ),
        (
            "boot protocol 2.04",
            patched(&bz, 0x206, &0x0204u16.to_le_bytes()),
            unsupported,
            "boot protocol 2.04",
        ),
        (
            "a bzip2 payload",
            bzimage_with(b"BZh91AY&SY not really", 10, None),
            unsupported,
            "bzip2 compressed",
        ),
        (
            "an unknown payload",
            bzimage_with(&[0x42; 100], 10, None),
            unsupported,
            "not recognisably compressed",
        ),
        (
            "an lzma dictionary over the memory budget",
            bzimage_with(&lzma_9(&elf), elf.len() as u32, None),
            corrupt,
            "lzma payload does not decompress",
        ),
        (
            "a payload that is not an ELF",
            bzimage(&[7u8; 5000], Payload::Zstd, None),
            malformed,
            "does not hold an ELF",
        ),
        (
            "e_phoff past the end",
            patched(
                &patched(&elf, 32, &u64::MAX.to_le_bytes()),
                56,
                &1u16.to_le_bytes(),
            ),
            malformed,
            "program headers",
        ),
        (
            "e_phentsize not Elf64_Phdr",
            patched(&elf, 54, &32u16.to_le_bytes()),
            malformed,
            "program header size is 32",
        ),
        (
            "e_phnum huge",
            patched(&elf, 56, &u16::MAX.to_le_bytes()),
            malformed,
            "65535 program headers",
        ),
        (
            "a 32-bit ELF",
            patched(&elf, 4, &[1]),
            unsupported,
            "32-bit or big-endian",
        ),
        (
            "an ELF header cut short",
            elf[..40].to_vec(),
            malformed,
            "the ELF header",
        ),
    ];
    for (what, bytes, expected, message) in cases {
        let path = files.write("hostile", &bytes);
        let err = identify(&path)
            .and_then(|_| extract_elf(&path, &mut io::sink()).map(|_| ()))
            .expect_err(what);
        let text = err.to_string();
        assert!(expected(&err), "{what}: {err:?}");
        assert!(text.contains(message), "{what}: {text}");
        assert!(text.contains(&path.display().to_string()), "{what}: {text}");
    }
    // The lzma refusal says why.
    let path = files.write(
        "lzma9",
        &bzimage_with(&lzma_9(&elf), elf.len() as u32, None),
    );
    let err = extract_elf(&path, &mut io::sink()).unwrap_err();
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert_eq!(cause.as_deref(), Some("memory limit reached"), "{err:?}");
    // A note segment that claims more than the cap.
    let pvh = x86_vmlinux("6.1.0", 8192, None);
    let phoff = u64::from_le_bytes(pvh[32..40].try_into().unwrap()) as usize;
    let huge_note = patched(&pvh, phoff + 32, &(1u64 << 40).to_le_bytes());
    let err = identify(&files.write("note", &huge_note)).unwrap_err();
    assert!(err.to_string().contains("a note segment of"), "{err}");
}

#[test]
fn truncated_images_never_panic() {
    let files = Files::new();
    let elf = x86_vmlinux("6.1.0", 16 << 10, Some("CONFIG_A=y\n"));
    let mut images = vec![
        elf.clone(),
        arm64_image("6.1", 4096),
        efi_zboot("zstd"),
        gzip(&elf),
    ];
    images.extend(Payload::ALL.map(|p| bzimage(&elf, p, Some("6.1.0"))));
    for image in images {
        for cut in (0..image.len()).step_by(211).chain([image.len() - 1]) {
            let path = files.write("cut", &image[..cut]);
            // Errors are expected; what matters is that none of these panics.
            let _ = identify(&path);
            let _ = ikconfig(&path);
            let _ = extract_elf(&path, &mut io::sink());
        }
    }
}

#[test]
fn firecracker_loads_only_the_elf_on_x86_64_and_the_image_on_arm64() {
    let files = Files::new();
    let path = files.write("k", b"");
    let load = |format: Format, arch| format.loadable(&path, arch);
    let elf = |machine| Format::Elf {
        machine,
        pvh: false,
    };
    load(elf(EM_X86_64), "x86_64").unwrap();
    load(
        Format::Arm64Image {
            text_offset: 0,
            image_size: 0,
        },
        "arm64",
    )
    .unwrap();
    let refusals = [
        (
            elf(EM_AARCH64),
            "arm64",
            "ELF vmlinux; Firecracker on arm64",
            "arch/arm64/boot/Image",
        ),
        (
            elf(EM_X86_64),
            "arm64",
            "ELF for x86_64, not arm64",
            "--arch",
        ),
        (
            elf(EM_AARCH64),
            "x86_64",
            "ELF for arm64, not x86_64",
            "--arch",
        ),
        (
            Format::BzImage {
                protocol: 0x20f,
                payload: Codec::Lz4,
            },
            "x86_64",
            "is a bzImage",
            "kernel import",
        ),
        (Format::Gzip, "arm64", "Image.gz", "gunzip it first"),
        (
            Format::EfiZboot {
                payload: "zstd".into(),
            },
            "arm64",
            "EFI zboot image (zstd-compressed)",
            "CONFIG_EFI_ZBOOT",
        ),
        (
            Format::Unknown,
            "x86_64",
            "no kernel image format",
            "ELF vmlinux",
        ),
        (
            Format::Arm64Image {
                text_offset: 0,
                image_size: 0,
            },
            "x86_64",
            "an arm64 Image, not a kernel",
            "ELF vmlinux",
        ),
    ];
    for (format, arch, message, hint) in refusals {
        let err = load(format.clone(), arch).expect_err(message);
        assert!(err.to_string().contains(message), "{format:?}: {err}");
        assert!(
            err.hint().is_some_and(|h| h.contains(hint)),
            "{format:?}: {:?}",
            err.hint()
        );
    }
}
