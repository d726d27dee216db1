//! Extraction against real GNU tar bundles and a corpus of hostile archives.

use std::{fs, os::unix::fs::PermissionsExt, path::Path};

use banger_bundle::{extract, BundleError, Limits};
use banger_testkit::{
    archive::{pack_with_gnu_tar, Kind, RawTar},
    kernel, sha256_hex,
};

/// Extract `bundle` into a fresh staging directory inside a fresh parent, returning the result
/// and the parent so tests can check that nothing was written beside the staging directory.
fn extract_bytes(
    bundle: &[u8],
    limits: &Limits,
) -> (
    Result<banger_bundle::Extracted, BundleError>,
    tempfile::TempDir,
) {
    let parent = tempfile::tempdir().unwrap();
    let staging = parent.path().join("staging");
    fs::create_dir(&staging).unwrap();
    (extract(bundle, &staging, limits), parent)
}

fn assert_only_staging(parent: &Path) {
    assert_eq!(
        kernel::list(parent)
            .into_iter()
            .filter(|p| !p.starts_with("staging"))
            .count(),
        0
    );
}

#[test]
fn gnu_tar_bundle_extracts_byte_identical_with_its_digest() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    kernel::write_tree(&tree, "6.12.3");
    let bundle = work.path().join("b.tar.zst");
    pack_with_gnu_tar(&tree, &["vmlinux", "initrd.img", "modules"], &bundle);
    let bytes = fs::read(&bundle).unwrap();

    let (result, parent) = extract_bytes(&bytes, &Limits::default());
    let extracted = result.unwrap();
    assert_eq!(extracted.digest.sha256, sha256_hex(&bytes));
    assert_eq!(extracted.digest.size, bytes.len() as u64);
    kernel::assert_same_tree(&tree, &parent.path().join("staging"), &[]);
    let vmlinux = fs::metadata(parent.path().join("staging/vmlinux")).unwrap();
    assert_eq!(vmlinux.permissions().mode() & 0o7777, 0o644);
}

#[test]
fn modes_from_the_archive_are_ignored() {
    let bundle = RawTar::new()
        .entry(b"vmlinux", Kind::File, 0o6777, b"kernel", b"")
        .entry(b"modules/", Kind::Dir, 0o1777, b"", b"")
        .entry(b"modules/a.ko", Kind::File, 0o4755, b"module", b"")
        .bundle();
    let (result, parent) = extract_bytes(&bundle, &Limits::default());
    result.unwrap();
    let mode = |p: &str| {
        fs::metadata(parent.path().join("staging").join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("vmlinux"), 0o644);
    assert_eq!(mode("modules/a.ko"), 0o644);
    assert_eq!(mode("modules"), 0o755);
}

#[test]
fn hostile_archives_are_rejected_naming_the_entry() {
    let k = |t: RawTar| t.file("vmlinux", b"kernel");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "traversal",
            k(RawTar::new()).file("modules/../../evil", b"x").bundle(),
            "`modules/../../evil` rejected: `..`",
        ),
        (
            "leading dotdot",
            k(RawTar::new()).file("../evil", b"x").bundle(),
            "`../evil` rejected",
        ),
        (
            "absolute name",
            k(RawTar::new()).file("/etc/evil", b"x").bundle(),
            "`/etc/evil` rejected: absolute",
        ),
        (
            "outside layout",
            k(RawTar::new()).file("System.map", b"x").bundle(),
            "`System.map` rejected: only",
        ),
        (
            "absolute link target",
            k(RawTar::new())
                .symlink("modules/passwd", "/etc/passwd")
                .bundle(),
            "`modules/passwd` rejected: the symlink target `/etc/passwd` is absolute",
        ),
        (
            "escaping link target",
            k(RawTar::new()).symlink("modules/up", "../../etc").bundle(),
            "`modules/up` rejected: its target `../../etc` climbs out of the archive",
        ),
        (
            "link leaving modules",
            k(RawTar::new()).symlink("modules/k", "../vmlinux").bundle(),
            "outside `modules/`",
        ),
        (
            "chain escaping",
            k(RawTar::new())
                .dir("modules/")
                .symlink("modules/a", "b")
                .symlink("modules/b", "../..")
                .bundle(),
            "climbs out of the archive",
        ),
        (
            "dangling link",
            k(RawTar::new()).symlink("modules/a", "nothing").bundle(),
            "does not exist in the archive",
        ),
        (
            "link through a file with a trailing slash (found by the fuzzer)",
            k(RawTar::new())
                .symlink("modules/l", "d/x/")
                .dir("modules/d/")
                .file("modules/d/x", b"m")
                .bundle(),
            "goes through `modules/d/x`, which is not a directory",
        ),
        (
            "link through a file and back up",
            k(RawTar::new())
                .file("modules/f", b"m")
                .symlink("modules/l", "f/../f")
                .bundle(),
            "goes through `modules/f`, which is not a directory",
        ),
        (
            "symlink loop",
            k(RawTar::new())
                .symlink("modules/a", "b")
                .symlink("modules/b", "a")
                .bundle(),
            "too many levels of symlinks",
        ),
        (
            "symlink outside modules",
            RawTar::new().symlink("vmlinux", "modules/x").bundle(),
            "only inside `modules/`",
        ),
        (
            "symlink then write",
            k(RawTar::new())
                .dir("modules/")
                .symlink("modules/x", ".")
                .file("modules/x/evil", b"x")
                .bundle(),
            "`modules/x/evil` rejected: it lies below the symlink `modules/x`",
        ),
        (
            "hardlink",
            k(RawTar::new())
                .entry(b"modules/h", Kind::Hardlink, 0o644, b"", b"vmlinux")
                .bundle(),
            "hard links are not allowed",
        ),
        (
            "char device",
            k(RawTar::new())
                .entry(b"modules/null", Kind::Char, 0o666, b"", b"")
                .bundle(),
            "device nodes are not allowed",
        ),
        (
            "block device",
            k(RawTar::new())
                .entry(b"modules/sda", Kind::Block, 0o666, b"", b"")
                .bundle(),
            "device nodes are not allowed",
        ),
        (
            "fifo",
            k(RawTar::new())
                .entry(b"modules/p", Kind::Fifo, 0o666, b"", b"")
                .bundle(),
            "FIFOs are not allowed",
        ),
        (
            "sparse",
            k(RawTar::new())
                .entry(b"modules/s", Kind::Sparse, 0o644, b"", b"")
                .bundle(),
            "sparse files are not allowed",
        ),
        (
            "duplicate file",
            k(k(RawTar::new())).bundle(),
            "`vmlinux` rejected: duplicate entry",
        ),
        (
            "duplicate as symlink",
            k(RawTar::new())
                .file("modules/a", b"x")
                .symlink("modules/a", "b")
                .bundle(),
            "`modules/a` rejected: duplicate entry",
        ),
        (
            "backslash",
            k(RawTar::new()).file("modules\\evil", b"x").bundle(),
            "backslash",
        ),
        (
            "non-UTF-8 name",
            k(RawTar::new())
                .entry(b"modules/\xff", Kind::File, 0o644, b"x", b"")
                .bundle(),
            "not valid UTF-8",
        ),
        (
            "vmlinux as a directory",
            RawTar::new().dir("vmlinux/").bundle(),
            "`vmlinux/` rejected: it must be a regular file",
        ),
        (
            "modules as a file",
            k(RawTar::new()).file("modules", b"x").bundle(),
            "`modules` must be a directory",
        ),
        (
            "missing vmlinux",
            RawTar::new().file("initrd.img", b"x").bundle(),
            "`vmlinux` is missing",
        ),
        (
            "below a file",
            k(RawTar::new()).file("vmlinux/x", b"x").bundle(),
            "`vmlinux/x` rejected",
        ),
    ];
    for (what, bundle, expected) in cases {
        let (result, parent) = extract_bytes(&bundle, &Limits::default());
        let err = result.expect_err(what).to_string();
        assert!(
            err.contains(expected),
            "{what}: `{err}` should contain `{expected}`"
        );
        assert_only_staging(parent.path());
    }
}

#[test]
fn size_and_count_caps_are_enforced() {
    let bundle = RawTar::new()
        .file("vmlinux", &[7u8; 4096])
        .file("initrd.img", &[1u8; 4096])
        .bundle();
    let cases = [
        (
            Limits {
                max_entry_size: 4095,
                ..Limits::default()
            },
            "exceed the per-file limit of 4095",
        ),
        (
            Limits {
                max_unpacked: 8191,
                ..Limits::default()
            },
            "unpacks to more than 8191 bytes",
        ),
        (
            Limits {
                max_entries: 1,
                ..Limits::default()
            },
            "more than 1 entries",
        ),
        (
            Limits {
                max_compressed: 10,
                ..Limits::default()
            },
            "larger than the 10 bytes expected",
        ),
    ];
    for (limits, expected) in cases {
        let (result, parent) = extract_bytes(&bundle, &limits);
        let err = result.unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "`{err}` should contain `{expected}`"
        );
        assert_only_staging(parent.path());
    }
}

#[test]
fn a_window_above_the_limit_is_refused() {
    let tar = RawTar::new().file("vmlinux", &[0u8; 1 << 16]).finish();
    let mut encoder = zstd::Encoder::new(Vec::new(), 3).unwrap();
    encoder.window_log(24).unwrap();
    std::io::copy(&mut &tar[..], &mut encoder).unwrap();
    let bundle = encoder.finish().unwrap();
    let (result, _parent) = extract_bytes(
        &bundle,
        &Limits {
            window_log_max: 20,
            ..Limits::default()
        },
    );
    assert!(matches!(result, Err(BundleError::Read(_))), "{result:?}");
}

#[test]
fn truncated_and_garbage_streams_fail_cleanly() {
    let bundle = RawTar::new().file("vmlinux", &[3u8; 100_000]).bundle();
    for bytes in [
        &bundle[..bundle.len() / 2],
        b"not zstd at all".as_slice(),
        &[],
    ] {
        let (result, parent) = extract_bytes(bytes, &Limits::default());
        assert!(matches!(result, Err(BundleError::Read(_))), "{result:?}");
        assert_only_staging(parent.path());
    }
}

#[test]
fn extension_headers_over_their_caps_are_refused_before_they_are_read() {
    use banger_bundle::headers::{MAX_LONG_NAME, MAX_PAX};
    for kind in Kind::EXTENSIONS {
        let cap = match kind {
            Kind::LongName | Kind::LongLink => MAX_LONG_NAME,
            _ => MAX_PAX,
        };
        let body = vec![b'a'; cap as usize + 1];
        let bundle = RawTar::new()
            .entry(b"././@LongLink", kind, 0o644, &body, b"")
            .file("vmlinux", b"kernel")
            .bundle();
        let (result, parent) = extract_bytes(&bundle, &Limits::default());
        let err = result.unwrap_err().to_string();
        assert!(
            err.contains("././@LongLink") && err.contains(&format!("claims {} bytes", cap + 1)),
            "{kind:?}: {err}"
        );
        assert_only_staging(parent.path());
    }
}

#[test]
fn names_from_gnu_and_pax_extension_headers_are_applied() {
    use banger_testkit::archive::pax_record;
    let long = format!("modules/{}/a.ko", "d".repeat(150));
    let pax_path = format!("modules/{}/b.ko", "p".repeat(120));
    let mut pax_link = pax_record("linkpath", "winner");
    pax_link.extend(pax_record("mtime", "1700000000.5"));
    let bundle = RawTar::new()
        .file("vmlinux", b"kernel")
        .entry(
            b"././@LongLink",
            Kind::LongName,
            0o644,
            long.as_bytes(),
            b"",
        )
        .file("ignored-short-name", b"gnu")
        .entry(
            b"PaxHeaders/x",
            Kind::Pax,
            0o644,
            &pax_record("path", &pax_path),
            b"",
        )
        .file("ignored-too", b"pax")
        // A PAX path wins over a GNU long name given for the same entry, as in GNU tar.
        .entry(
            b"././@LongLink",
            Kind::LongName,
            0o644,
            b"modules/loser\0",
            b"",
        )
        .entry(
            b"PaxHeaders/y",
            Kind::Pax,
            0o644,
            &pax_record("path", "modules/winner"),
            b"",
        )
        .file("x", b"w")
        .entry(b"PaxHeaders/z", Kind::Pax, 0o644, &pax_link, b"")
        .symlink("modules/link", "ignored")
        .entry(
            b"PaxHeaders/g",
            Kind::PaxGlobal,
            0o644,
            &pax_record("comment", "hi"),
            b"",
        )
        .bundle();
    let (result, parent) = extract_bytes(&bundle, &Limits::default());
    result.unwrap();
    let staging = parent.path().join("staging");
    assert_eq!(fs::read(staging.join(&long)).unwrap(), b"gnu");
    assert_eq!(fs::read(staging.join(&pax_path)).unwrap(), b"pax");
    assert_eq!(fs::read(staging.join("modules/winner")).unwrap(), b"w");
    assert!(!staging.join("modules/loser").exists());
    // The PAX `linkpath` replaced the header's target.
    assert_eq!(
        fs::read_link(staging.join("modules/link")).unwrap(),
        Path::new("winner")
    );
}

#[test]
fn unsupported_or_dangling_extension_headers_are_refused() {
    use banger_testkit::archive::pax_record;
    let k = |t: RawTar| t.file("vmlinux", b"kernel");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "pax size",
            k(RawTar::new())
                .entry(
                    b"PaxHeaders/a",
                    Kind::Pax,
                    0o644,
                    &pax_record("size", "5"),
                    b"",
                )
                .file("modules/a", b"abcde")
                .bundle(),
            "PAX `size` records are not supported",
        ),
        (
            "pax sparse",
            k(RawTar::new())
                .entry(
                    b"PaxHeaders/a",
                    Kind::Pax,
                    0o644,
                    &pax_record("GNU.sparse.map", "0,1"),
                    b"",
                )
                .file("modules/a", b"a")
                .bundle(),
            "sparse files are not allowed",
        ),
        (
            "two long names",
            k(RawTar::new())
                .entry(b"././@LongLink", Kind::LongName, 0o644, b"modules/a", b"")
                .entry(b"././@LongLink", Kind::LongName, 0o644, b"modules/b", b"")
                .file("modules/c", b"c")
                .bundle(),
            "a second GNU long name",
        ),
        (
            "dangling",
            k(RawTar::new())
                .entry(b"././@LongLink", Kind::LongName, 0o644, b"modules/a", b"")
                .bundle(),
            "extension headers that describe no entry",
        ),
        (
            "escaping pax path",
            k(RawTar::new())
                .entry(
                    b"PaxHeaders/a",
                    Kind::Pax,
                    0o644,
                    &pax_record("path", "modules/../../x"),
                    b"",
                )
                .file("modules/a", b"a")
                .bundle(),
            "`..` components are not allowed",
        ),
    ];
    for (what, bundle, expected) in cases {
        let (result, parent) = extract_bytes(&bundle, &Limits::default());
        let err = result.unwrap_err().to_string();
        assert!(err.contains(expected), "{what}: {err}");
        assert_only_staging(parent.path());
    }
}

#[test]
fn decompressed_bytes_are_capped_even_after_the_end_of_the_archive() {
    let mut tar = RawTar::new().file("vmlinux", b"kernel").finish();
    tar.extend(vec![0u8; 4 << 20]);
    let bundle = zstd::encode_all(&tar[..], 3).unwrap();
    let limits = Limits {
        max_decompressed: 1 << 20,
        ..Limits::default()
    };
    let (result, _parent) = extract_bytes(&bundle, &limits);
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains(&format!("decompresses to more than {} bytes", 1 << 20)),
        "{err}"
    );
    // The same bundle within the default cap is fine: trailing zeros are legal padding.
    let (result, _parent) = extract_bytes(&bundle, &Limits::default());
    result.unwrap();
}

#[test]
fn a_config_member_extracts_and_hostile_ones_are_refused() {
    let config = b"# Linux/x86 6.1.0 Kernel Configuration\nCONFIG_VIRTIO_BLK=y\n";
    let bundle = RawTar::new()
        .file("vmlinux", b"kernel")
        .file("./config", config)
        .bundle();
    let (result, parent) = extract_bytes(&bundle, &Limits::default());
    result.unwrap();
    assert_eq!(
        fs::read(parent.path().join("staging/config")).unwrap(),
        config
    );
    let k = |t: RawTar| t.file("vmlinux", b"kernel");
    let big = vec![b'#'; (1 << 20) + 1];
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "over 1 MiB",
            k(RawTar::new()).file("config", &big).bundle(),
            "`config` rejected: a kernel config holds at most 1048576 bytes",
        ),
        (
            "binary",
            k(RawTar::new()).file("config", b"\x7fELF\x02\x01").bundle(),
            "`config` rejected: a kernel config is plain text",
        ),
        (
            "terminal escapes",
            k(RawTar::new())
                .file("config", b"CONFIG_A=\x1b]0;owned\x07")
                .bundle(),
            "`config` rejected: a kernel config is plain text",
        ),
        (
            "a directory",
            k(RawTar::new()).dir("config").bundle(),
            "`config` rejected: it must be a regular file",
        ),
        (
            "a symlink",
            k(RawTar::new()).symlink("config", "vmlinux").bundle(),
            "`config` rejected: symlinks are allowed only inside `modules/`",
        ),
        (
            "below config",
            k(RawTar::new()).file("config/x", b"x").bundle(),
            "`config/x` rejected: only",
        ),
    ];
    for (what, bundle, expected) in cases {
        let (result, parent) = extract_bytes(&bundle, &Limits::default());
        let err = result.expect_err(what).to_string();
        assert!(err.contains(expected), "{what}: `{err}`");
        assert_only_staging(parent.path());
    }
}
