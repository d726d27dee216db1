//! Packing: round trips through extraction, reproducibility, GNU tar compatibility, and the
//! directories it must refuse.

use std::{
    fs,
    os::unix::fs::{symlink, PermissionsExt},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, SystemTime},
};

use banger_bundle::{
    extract,
    pack::{Compression, PackError, Plan, Sources},
    Limits,
};
use banger_testkit::{kernel, sha256_hex};

const FAST: Compression = Compression {
    level: 3,
    threads: 0,
};

fn pack(dir: &Path, compression: Compression) -> Vec<u8> {
    let mut out = Vec::new();
    let packed = Plan::scan(dir)
        .unwrap()
        .write(&mut out, compression, |_| {})
        .unwrap();
    assert_eq!(packed.digest.sha256, sha256_hex(&out));
    assert_eq!(packed.digest.size, out.len() as u64);
    out
}

#[test]
fn a_packed_tree_extracts_byte_identical_and_extra_files_are_ignored() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    kernel::write_tree(&tree, "6.12.3");
    fs::write(tree.join(".config"), "CONFIG_VIRTIO=y\n").unwrap();
    fs::write(tree.join("System.map"), "ffffffff81000000 T _text\n").unwrap();
    fs::create_dir(tree.join("arch")).unwrap();

    let plan = Plan::scan(&tree).unwrap();
    assert_eq!(plan.ignored(), [".config", "System.map", "arch"]);
    let mut progress = 0;
    let mut bytes = Vec::new();
    plan.write(&mut bytes, FAST, |done| progress = done)
        .unwrap();
    assert_eq!(progress, plan.unpacked());

    let staging = work.path().join("staging");
    fs::create_dir(&staging).unwrap();
    let extracted = extract(&bytes[..], &staging, &Limits::default()).unwrap();
    assert_eq!(extracted.unpacked, plan.unpacked());
    kernel::assert_same_tree(&tree, &staging, &[".config", "System.map", "arch"]);
}

#[test]
fn the_same_files_give_the_same_bytes_whatever_the_disk_says() {
    let work = tempfile::tempdir().unwrap();
    let (a, b) = (work.path().join("a"), work.path().join("b"));
    kernel::write_tree(&a, "6.12.3");
    kernel::write_tree(&b, "6.12.3");
    // Different times, modes and an extra ignored file on one side.
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    fs::File::options()
        .write(true)
        .open(b.join("vmlinux"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    fs::set_permissions(b.join("vmlinux"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(
        b.join("modules/6.12.3/modules.dep"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    fs::write(b.join("Module.symvers"), "x").unwrap();

    let one = pack(&a, FAST);
    assert_eq!(sha256_hex(&one), sha256_hex(&pack(&b, FAST)));
    let threaded = Compression {
        level: 3,
        threads: 2,
    };
    assert_eq!(sha256_hex(&one), sha256_hex(&pack(&a, threaded)));

    fs::write(b.join("initrd.img"), "a different initrd").unwrap();
    assert_ne!(sha256_hex(&one), sha256_hex(&pack(&b, FAST)));
}

#[test]
fn gnu_tar_and_zstd_read_a_packed_bundle_with_normalised_headers() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    kernel::write_tree(&tree, "6.12.3");
    let long = tree.join("modules/6.12.3").join("l".repeat(120));
    fs::create_dir(&long).unwrap();
    fs::write(long.join("m".repeat(120) + ".ko"), "long name").unwrap();
    let bundle = work.path().join("b.tar.zst");
    fs::write(&bundle, pack(&tree, Compression::publish())).unwrap();

    let mut zstd = Command::new("zstd")
        .args(["-d", "-c"])
        .arg(&bundle)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let listing = Command::new("tar")
        .args(["--numeric-owner", "--full-time", "-tvf", "-"])
        .stdin(zstd.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(
        zstd.wait().unwrap().success(),
        "zstd -d could not read the bundle"
    );
    assert!(
        listing.status.success(),
        "GNU tar could not read the bundle"
    );
    let listing = String::from_utf8(listing.stdout).unwrap();
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.split_whitespace().nth(5).unwrap())
        .collect();
    assert_eq!(
        names[..4],
        ["vmlinux", "initrd.img", "modules/", "modules/6.12.3/"]
    );
    let mut sorted = names.clone();
    sorted[2..].sort_by_key(|n| n.trim_end_matches('/').to_owned());
    assert_eq!(names, sorted, "entries are not in sorted order");
    assert!(names
        .iter()
        .any(|n| n.ends_with(&("m".repeat(120) + ".ko"))));
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1], "0/0", "{line}");
        assert_eq!(fields[3], "2000-01-01", "{line}");
        assert!(
            ["-rw-r--r--", "drwxr-xr-x", "lrwxrwxrwx"].contains(&fields[0]),
            "{line}"
        );
    }

    let out = work.path().join("gnu");
    fs::create_dir(&out).unwrap();
    let status = Command::new("tar")
        .arg("--zstd")
        .arg("-xf")
        .arg(&bundle)
        .arg("-C")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    kernel::assert_same_tree(&tree, &out, &[]);
}

type Setup = Box<dyn FnOnce(&Path)>;

fn scan_error(setup: impl FnOnce(&Path)) -> String {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    kernel::write_tree(&tree, "6.12.3");
    setup(&tree);
    match Plan::scan(&tree) {
        Ok(_) => panic!("the scan should fail"),
        Err(e @ PackError::Rejected { .. }) => e.to_string(),
        Err(e) => panic!("expected a rejection, got {e}"),
    }
}

#[test]
fn directories_that_would_make_a_bad_bundle_are_refused_naming_the_file() {
    let release = "modules/6.12.3";
    let cases: Vec<(&str, Setup, &str)> = vec![
        (
            "missing vmlinux",
            Box::new(|t: &Path| fs::remove_file(t.join("vmlinux")).unwrap()),
            "vmlinux` cannot go into a bundle: it does not exist",
        ),
        (
            "vmlinux is a directory",
            Box::new(|t: &Path| {
                fs::remove_file(t.join("vmlinux")).unwrap();
                fs::create_dir(t.join("vmlinux")).unwrap();
            }),
            "must be a regular file",
        ),
        (
            "modules is a file",
            Box::new(|t: &Path| {
                fs::remove_dir_all(t.join("modules")).unwrap();
                fs::write(t.join("modules"), "x").unwrap();
            }),
            "must be a directory",
        ),
        (
            "symlink climbing out of modules",
            Box::new(move |t: &Path| {
                symlink("../../vmlinux", t.join(release).join("escape")).unwrap()
            }),
            "outside `modules/`",
        ),
        (
            "absolute symlink (the `build` link of modules_install)",
            Box::new(move |t: &Path| {
                symlink("/usr/src/linux", t.join(release).join("build")).unwrap()
            }),
            "is absolute",
        ),
        (
            "dangling symlink",
            Box::new(move |t: &Path| {
                symlink("nothing-here", t.join(release).join("dangling")).unwrap()
            }),
            "does not exist in the archive",
        ),
        (
            "fifo",
            Box::new(move |t: &Path| {
                let status = Command::new("mkfifo")
                    .arg(t.join(release).join("pipe"))
                    .status()
                    .unwrap();
                assert!(status.success());
            }),
            "only regular files, directories and symlinks",
        ),
    ];
    for (what, setup, expected) in cases {
        let error = scan_error(setup);
        assert!(
            error.contains(expected),
            "{what}: `{error}` should contain `{expected}`"
        );
    }
}

#[test]
fn a_config_is_packed_after_initrd_and_checked() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    kernel::write_tree(&tree, "6.12.3");
    fs::write(tree.join("config"), "CONFIG_VIRTIO_BLK=y\n").unwrap();
    let bundle = work.path().join("b.tar.zst");
    fs::write(&bundle, pack(&tree, FAST)).unwrap();
    let listing = Command::new("tar")
        .arg("-tf")
        .arg(&bundle)
        .arg("--zstd")
        .output()
        .unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    let names: Vec<&str> = listing.lines().take(4).collect();
    assert_eq!(names, ["vmlinux", "initrd.img", "config", "modules/"]);
    let staging = work.path().join("staging");
    fs::create_dir(&staging).unwrap();
    extract(
        &fs::read(&bundle).unwrap()[..],
        &staging,
        &Limits::default(),
    )
    .unwrap();
    kernel::assert_same_tree(&tree, &staging, &[]);

    // From sources gathered elsewhere, as import does for a distro tree.
    let elsewhere = work.path().join("boot-config-6.12.3");
    fs::write(&elsewhere, "CONFIG_A=m\n").unwrap();
    let sources = Sources {
        vmlinux: tree.join("vmlinux"),
        initrd: None,
        config: Some(elsewhere.clone()),
        modules: Some(tree.join("modules")),
        modules_release: None,
    };
    let mut out = Vec::new();
    Plan::from_sources(&tree, &sources)
        .unwrap()
        .write(&mut out, FAST, |_| {})
        .unwrap();
    let staging = work.path().join("staging2");
    fs::create_dir(&staging).unwrap();
    extract(&out[..], &staging, &Limits::default()).unwrap();
    assert_eq!(fs::read(staging.join("config")).unwrap(), b"CONFIG_A=m\n");
    assert!(!staging.join("initrd.img").exists());

    // One release of a distro's lib/modules, without its links into kernel headers.
    let release_dir = tree.join("modules/6.12.3");
    symlink("/usr/src/linux-headers-6.12.3", release_dir.join("build")).unwrap();
    symlink("/usr/src/linux-6.12.3", release_dir.join("source")).unwrap();
    let distro = Sources {
        modules: Some(release_dir.clone()),
        modules_release: Some("6.12.3".into()),
        ..sources.clone()
    };
    let plan = Plan::from_sources(&tree, &distro).unwrap();
    assert_eq!(
        plan.ignored(),
        ["modules/6.12.3/build", "modules/6.12.3/source"]
    );
    let mut out = Vec::new();
    plan.write(&mut out, FAST, |_| {}).unwrap();
    let staging = work.path().join("staging3");
    fs::create_dir(&staging).unwrap();
    extract(&out[..], &staging, &Limits::default()).unwrap();
    fs::remove_file(release_dir.join("build")).unwrap();
    fs::remove_file(release_dir.join("source")).unwrap();
    kernel::assert_same_tree(&tree.join("modules"), &staging.join("modules"), &[]);

    for (bytes, reason) in [
        (vec![b'#'; (1 << 20) + 1], "at most 1048576 bytes"),
        (b"CONFIG_A=\0".to_vec(), "plain text"),
    ] {
        fs::write(tree.join("config"), &bytes).unwrap();
        let err = Plan::scan(&tree).unwrap_err().to_string();
        assert!(err.contains("config` cannot go into a bundle"), "{err}");
        assert!(err.contains(reason), "{err}");
    }
    let missing = Sources {
        config: Some(work.path().join("nope")),
        ..sources
    };
    let err = Plan::from_sources(&tree, &missing).unwrap_err().to_string();
    assert!(
        err.contains("nope` cannot go into a bundle: it does not exist"),
        "{err}"
    );
}
