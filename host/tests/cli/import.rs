//! `kernel import`: a local build directory through the same install pipeline as a pull.

use std::{fs, os::unix::fs::symlink, path::Path};

use banger_testkit::kernel::{self, fake_vmlinux, EM_AARCH64};
use serde_json::Value;

use crate::util::{kernels_listing, stderr, TestContext};

/// A build directory like the kernel's `make` leaves it: the bundle files plus leftovers.
pub fn build_dir(t: &TestContext, tag: &str, version: &str) -> std::path::PathBuf {
    let dir = t.path(&format!("build/{tag}"));
    kernel::write_tree(&dir, version);
    fs::write(dir.join(".config"), "CONFIG_VIRTIO_NET=y\n").unwrap();
    fs::write(dir.join("System.map"), "ffffffff81000000 T _text\n").unwrap();
    dir
}

fn import_args<'a>(name: &'a str, dir: &'a Path, arch: &'a str) -> Vec<&'a str> {
    vec![
        "kernel",
        "import",
        name,
        "--from",
        dir.to_str().unwrap(),
        "--distro",
        "void",
        "--arch",
        arch,
    ]
}

#[test]
fn import_installs_the_build_directory_and_reads_the_banner() {
    let t = TestContext::new();
    let dir = build_dir(&t, "b", "6.12.3");
    let mut args = import_args("void-6.12", &dir, "x86_64");
    args.extend(["--description", "Void 6.12 for tests", "--json"]);
    let out = t.banger(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["status"], "installed");
    let warning = stderr(&out);
    assert!(
        warning.contains("ignoring `.config`, `System.map`"),
        "{warning}"
    );

    let installed = t.kernels().join("void-6.12");
    kernel::assert_same_tree(
        &dir,
        &installed,
        &[".config", "System.map", "manifest.json"],
    );
    let manifest: Value =
        serde_json::from_slice(&fs::read(installed.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["source"], "import");
    assert_eq!(manifest["kernel_version"], "6.12.3");
    assert_eq!(manifest["distro"], "void");
    assert_eq!(manifest["description"], "Void 6.12 for tests");
    assert_eq!(manifest["verified"], false);
    assert_eq!(
        manifest["url"],
        fs::canonicalize(&dir).unwrap().to_str().unwrap()
    );
    assert_eq!(manifest["sha256"], result["sha256"]);

    // The temporary bundle was packed in the scratch directory and is gone again.
    let scratch: Vec<_> = fs::read_dir(t.path("state/downloads"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(scratch.is_empty(), "{scratch:?}");

    // The same directory again packs to the same bytes, so there is nothing to do.
    let again = t.ok(&import_args("void-6.12", &dir, "x86_64"));
    assert!(again.contains("already installed"), "{again}");

    // A rebuilt kernel replaces the install only with --force.
    fs::write(dir.join("initrd.img"), "rebuilt initrd").unwrap();
    let refused = t.fails(&import_args("void-6.12", &dir, "x86_64"), "pass --force");
    // The hint is about this command: an import is not retried as a pull.
    assert!(
        refused.contains("hint: pass --force to replace it"),
        "{refused}"
    );
    assert!(!refused.contains("kernel pull"), "{refused}");
    let mut forced = import_args("void-6.12", &dir, "x86_64");
    forced.push("--force");
    assert!(t.ok(&forced).contains("replaced kernel `void-6.12`"));
    assert_eq!(
        fs::read(installed.join("initrd.img")).unwrap(),
        b"rebuilt initrd"
    );
}

#[test]
fn a_kernel_version_that_contradicts_the_banner_needs_force() {
    let t = TestContext::new();
    let dir = build_dir(&t, "b", "6.12.3");
    let mut args = import_args("void-6.12", &dir, "x86_64");
    args.extend(["--kernel-version", "6.12.4"]);
    t.fails(&args, "`Linux version 6.12.3`; pass --force");
    assert!(kernels_listing(&t).is_empty());

    args.push("--force");
    let out = t.banger(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("using kernel version 6.12.4"));
    let show: Value =
        serde_json::from_str(&t.ok(&["kernel", "show", "void-6.12", "--json"])).unwrap();
    assert_eq!(show["kernel_version"], "6.12.4");
}

#[test]
fn bad_build_directories_fail_clearly_and_install_nothing() {
    let t = TestContext::new();
    type Breakage = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, &str, Breakage, &str)> = vec![
        (
            "vmlinux for another arch",
            "x86_64",
            Box::new(|d: &Path| {
                fs::write(d.join("vmlinux"), fake_vmlinux(EM_AARCH64, "6.12.3", 4096)).unwrap()
            }),
            "is an ELF for arm64, not x86_64",
        ),
        (
            "wrong --arch",
            "arm64",
            Box::new(|_: &Path| {}),
            "is an ELF for x86_64, not arm64",
        ),
        (
            "missing vmlinux",
            "x86_64",
            Box::new(|d: &Path| fs::remove_file(d.join("vmlinux")).unwrap()),
            "no `vmlinux` in",
        ),
        (
            "compressed kernel image",
            "x86_64",
            Box::new(|d: &Path| fs::write(d.join("vmlinux"), b"MZ\x00bzImage").unwrap()),
            "is not an ELF file",
        ),
        (
            "no banner and no --kernel-version",
            "x86_64",
            Box::new(|d: &Path| {
                let mut elf = fake_vmlinux(banger_testkit::kernel::EM_X86_64, "6.12.3", 0);
                elf.truncate(64);
                fs::write(d.join("vmlinux"), elf).unwrap()
            }),
            "has no `Linux version` banner; pass --kernel-version",
        ),
        (
            "symlink escaping modules/",
            "x86_64",
            Box::new(|d: &Path| {
                symlink("../../vmlinux", d.join("modules/6.12.3/escape")).unwrap()
            }),
            "modules/6.12.3/escape` cannot go into a bundle: its target `../../vmlinux` resolves to `vmlinux`, outside `modules/`",
        ),
        (
            "absolute symlink in modules/",
            "x86_64",
            Box::new(|d: &Path| symlink("/usr/src/linux", d.join("modules/6.12.3/build")).unwrap()),
            "the symlink target `/usr/src/linux` is absolute",
        ),
    ];
    for (i, (what, arch, breakage, expected)) in cases.into_iter().enumerate() {
        let dir = build_dir(&t, &format!("case{i}"), "6.12.3");
        breakage(&dir);
        let err = t.fails(&import_args("void-6.12", &dir, arch), expected);
        assert!(!err.is_empty(), "{what}");
        assert!(
            kernels_listing(&t).is_empty(),
            "{what}: something was installed: {:?}",
            kernels_listing(&t)
        );
    }
    t.fails(
        &import_args("void-6.12", &t.path("no-such-dir"), "x86_64"),
        "cannot read the build directory",
    );
    t.fails(
        &import_args("Void 6.12", &t.path("build/case0"), "x86_64"),
        "name",
    );
}
