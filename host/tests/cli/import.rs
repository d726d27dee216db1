//! `kernel import`: a build directory or an extracted distro kernel, through the same
//! install pipeline as a pull; bzImages and arm64 Images as Firecracker needs them.

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

pub(crate) fn import_args<'a>(name: &'a str, dir: &'a Path, arch: &'a str) -> Vec<&'a str> {
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
    assert!(warning.contains("ignoring `System.map`"), "{warning}");

    let installed = t.kernels().join("void-6.12");
    kernel::assert_same_tree(
        &dir,
        &installed,
        &[".config", "config", "System.map", "manifest.json"],
    );
    // The build directory's .config is the kernel's config.
    assert_eq!(
        fs::read(installed.join("config")).unwrap(),
        fs::read(dir.join(".config")).unwrap()
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
    let err = t.fails(&args, "`Linux version 6.12.3`");
    assert!(err.contains("\nhint: pass --force to record"), "{err}");
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
            "no kernel image in",
        ),
        (
            "compressed kernel image",
            "x86_64",
            Box::new(|d: &Path| fs::write(d.join("vmlinux"), b"MZ\x00bzImage").unwrap()),
            "is no kernel image format banger knows, not a kernel Firecracker loads on x86_64\nhint: Firecracker on x86_64 loads the ELF vmlinux",
        ),
        (
            "no banner and no --kernel-version",
            "x86_64",
            Box::new(|d: &Path| {
                let mut elf = fake_vmlinux(banger_testkit::kernel::EM_X86_64, "6.12.3", 0);
                elf.truncate(64);
                fs::write(d.join("vmlinux"), elf).unwrap()
            }),
            "has no `Linux version` banner\nhint: pass --kernel-version",
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

fn import(t: &TestContext, name: &str, dir: &Path, arch: &str, extra: &[&str]) -> Value {
    let mut args = import_args(name, dir, arch);
    args.extend(extra);
    args.push("--json");
    let out = t.banger(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The names of the installed kernels.
fn installed_names(t: &TestContext) -> Vec<String> {
    kernels_listing(t)
        .into_iter()
        .filter(|n| !n.contains('/'))
        .collect()
}

fn manifest(t: &TestContext, name: &str) -> Value {
    serde_json::from_slice(&fs::read(t.kernels().join(name).join("manifest.json")).unwrap())
        .unwrap()
}

#[test]
fn a_bzimage_is_imported_as_the_elf_inside_it() {
    use banger_testkit::image::{bzimage, x86_vmlinux, Payload};
    let mut t = TestContext::new();
    t.env("BANGER_VERBOSE", "1");
    let elf = x86_vmlinux("6.1.0-9-amd64", 2 << 20, None);
    // Each codec under each name a bzImage goes by in a build directory.
    let places = [
        "bzImage",
        "vmlinuz-6.1.0-9-amd64",
        "vmlinux",
        "arch/x86/boot/bzImage",
    ];
    for (i, payload) in Payload::ALL.into_iter().enumerate() {
        let place = places[i % places.len()];
        let dir = t.path(&format!("bz{i}"));
        fs::create_dir_all(dir.join(place).parent().unwrap()).unwrap();
        fs::write(
            dir.join(place),
            bzimage(&elf, payload, Some("6.1.0-9-amd64")),
        )
        .unwrap();
        let name = format!("debian-bz{i}");
        let out = t.banger(&[
            "kernel",
            "import",
            &name,
            "--from",
            dir.to_str().unwrap(),
            "--distro",
            "debian",
            "--arch",
            "x86_64",
        ]);
        assert!(
            out.status.success(),
            "{payload:?} in {place}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("extracted the ELF vmlinux"),
            "{payload:?}: {}",
            stderr(&out)
        );
        let installed = fs::read(t.kernels().join(&name).join("vmlinux")).unwrap();
        assert!(
            installed == elf,
            "{payload:?} in {place}: the installed vmlinux differs"
        );
        assert_eq!(manifest(&t, &name)["kernel_version"], "6.1.0-9-amd64");
    }
    // The extracted ELF does not outlive the import.
    let leftovers: Vec<_> = fs::read_dir(t.path("state/downloads"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A bzImage is no arm64 kernel, and a broken payload fails naming the file.
    let dir = t.path("bz0");
    t.fails(
        &import_args("x", &dir, "arm64"),
        "is an x86 bzImage, not a kernel Firecracker loads on arm64",
    );
    let broken = t.path("broken");
    fs::create_dir_all(&broken).unwrap();
    let mut image = bzimage(&elf, Payload::Xz, None);
    let end = image.len() - 800;
    image[end - 200..end].fill(0x55);
    fs::write(broken.join("bzImage"), image).unwrap();
    t.fails(
        &import_args("x", &broken, "x86_64"),
        "bzImage`: the xz payload does not decompress",
    );
    assert_eq!(installed_names(&t).len(), Payload::ALL.len());
}

#[test]
fn arm64_takes_the_image_and_refuses_what_firecracker_cannot_load() {
    use banger_testkit::image::{arm64_image, efi_zboot, gzip};
    let t = TestContext::new();
    let image = arm64_image("6.1.0-18-arm64", 300 << 10);
    let dir = t.path("arm");
    kernel::write_tree(&dir, "6.1.0-18-arm64");
    fs::write(dir.join("vmlinux"), &image).unwrap();
    let result = import(&t, "debian-6.1", &dir, "arm64", &[]);
    assert_eq!(result["status"], "installed");
    assert!(fs::read(t.kernels().join("debian-6.1/vmlinux")).unwrap() == image);
    assert_eq!(
        manifest(&t, "debian-6.1")["kernel_version"],
        "6.1.0-18-arm64"
    );

    // A build directory: arch/arm64/boot/Image is taken over the ELF vmlinux beside it.
    let build = t.path("arm-build");
    kernel::write_tree(&build, "6.1.0");
    fs::write(
        build.join("vmlinux"),
        fake_vmlinux(EM_AARCH64, "6.1.0", 4096),
    )
    .unwrap();
    fs::create_dir_all(build.join("arch/arm64/boot")).unwrap();
    fs::write(
        build.join("arch/arm64/boot/Image"),
        arm64_image("6.1.0", 8192),
    )
    .unwrap();
    import(&t, "build-6.1", &build, "arm64", &[]);
    assert!(fs::read(t.kernels().join("build-6.1/vmlinux")).unwrap() == arm64_image("6.1.0", 8192));

    let refusals: [(&str, Vec<u8>, &str); 3] = [
        (
            "elf",
            fake_vmlinux(EM_AARCH64, "6.1.0", 4096),
            "is an ELF vmlinux; Firecracker on arm64 loads only the arm64 Image\nhint: use arch/arm64/boot/Image",
        ),
        (
            "image.gz",
            gzip(&image),
            "is gzip-compressed (an Image.gz); Firecracker loads only the uncompressed arm64 Image\nhint: gunzip it first",
        ),
        (
            "zboot",
            efi_zboot("zstd"),
            "is an EFI zboot image (zstd-compressed); Firecracker loads only the uncompressed arm64 Image",
        ),
    ];
    for (what, bytes, expected) in refusals {
        let dir = t.path(&format!("arm-{what}"));
        kernel::write_tree(&dir, "6.1.0");
        fs::write(dir.join("vmlinux"), bytes).unwrap();
        let err = t.fails(&import_args("bad-6.1", &dir, "arm64"), expected);
        assert!(err.contains("vmlinux`"), "{what}: {err}");
    }
    assert_eq!(installed_names(&t), ["build-6.1", "debian-6.1"]);
}

/// An extracted distro kernel package for `releases`, each with its bzImage, config and
/// modules, as `dpkg-deb -x` leaves it.
fn distro_tree(t: &TestContext, tag: &str, releases: &[&str]) -> std::path::PathBuf {
    use banger_testkit::image::{bzimage, x86_vmlinux, Payload};
    let root = t.path(tag);
    for release in releases {
        let boot = root.join("boot");
        fs::create_dir_all(&boot).unwrap();
        let elf = x86_vmlinux(release, 256 << 10, None);
        fs::write(
            boot.join(format!("vmlinuz-{release}")),
            bzimage(&elf, Payload::Lz4 { block: 8 << 20 }, Some(release)),
        )
        .unwrap();
        fs::write(
            boot.join(format!("config-{release}")),
            format!("# Linux/x86 {release} Kernel Configuration\nCONFIG_VIRTIO_BLK=m\n"),
        )
        .unwrap();
        fs::write(
            boot.join(format!("System.map-{release}")),
            "ffffffff81000000 T _text\n",
        )
        .unwrap();
        let modules = root.join("lib/modules").join(release);
        fs::create_dir_all(modules.join("kernel/drivers/block")).unwrap();
        fs::write(
            modules.join("kernel/drivers/block/virtio_blk.ko"),
            b"\x7fELF module",
        )
        .unwrap();
        fs::write(
            modules.join("modules.builtin"),
            "kernel/drivers/virtio/virtio.ko\n",
        )
        .unwrap();
        symlink(
            format!("/usr/src/linux-headers-{release}"),
            modules.join("build"),
        )
        .unwrap();
    }
    fs::create_dir_all(root.join("usr/share/doc/linux-image")).unwrap();
    root
}

#[test]
fn an_extracted_distro_package_is_recognised() {
    let t = TestContext::new();
    let root = distro_tree(&t, "deb", &["6.1.0-9-cloud-amd64"]);
    import(&t, "debian-6.1", &root, "x86_64", &[]);
    let installed = t.kernels().join("debian-6.1");
    assert_eq!(
        manifest(&t, "debian-6.1")["kernel_version"],
        "6.1.0-9-cloud-amd64"
    );
    assert_eq!(
        fs::read(installed.join("config")).unwrap(),
        fs::read(root.join("boot/config-6.1.0-9-cloud-amd64")).unwrap()
    );
    assert!(installed
        .join("modules/6.1.0-9-cloud-amd64/kernel/drivers/block/virtio_blk.ko")
        .is_file());
    assert!(!installed.join("modules/6.1.0-9-cloud-amd64/build").exists());
    assert!(fs::read(installed.join("vmlinux"))
        .unwrap()
        .starts_with(b"\x7fELF"));

    // Several releases: refused, naming them, until one is chosen.
    let two = distro_tree(&t, "two", &["6.1.0-9-cloud-amd64", "6.1.0-10-cloud-amd64"]);
    t.fails(
        &import_args("debian-6.1b", &two, "x86_64"),
        "holds kernels of several releases: `6.1.0-10-cloud-amd64`, `6.1.0-9-cloud-amd64`\nhint: pass --kernel-version RELEASE to choose one",
    );
    t.fails(
        &[
            &import_args("debian-6.1b", &two, "x86_64")[..],
            &["--kernel-version", "6.1.0-11-cloud-amd64"],
        ]
        .concat(),
        "holds no kernel of release `6.1.0-11-cloud-amd64`",
    );
    import(
        &t,
        "debian-6.1b",
        &two,
        "x86_64",
        &["--kernel-version", "6.1.0-10-cloud-amd64"],
    );
    let chosen = t.kernels().join("debian-6.1b");
    assert_eq!(
        manifest(&t, "debian-6.1b")["kernel_version"],
        "6.1.0-10-cloud-amd64"
    );
    assert!(chosen.join("modules/6.1.0-10-cloud-amd64").is_dir());
    assert!(!chosen.join("modules/6.1.0-9-cloud-amd64").exists());

    // Only the image is required: a copy of boot/ alone imports, without modules.
    let boot_only = t.path("boot-only");
    fs::create_dir_all(boot_only.join("boot")).unwrap();
    fs::copy(
        root.join("boot/vmlinuz-6.1.0-9-cloud-amd64"),
        boot_only.join("boot/vmlinuz-6.1.0-9-cloud-amd64"),
    )
    .unwrap();
    import(&t, "debian-boot", &boot_only, "x86_64", &[]);
    assert!(!t.kernels().join("debian-boot/modules").exists());
    assert!(!t.kernels().join("debian-boot/config").exists());

    // --config FILE wins over boot/config-X.
    let config = t.path("my.config");
    fs::write(&config, "CONFIG_VIRTIO_BLK=y\n").unwrap();
    import(
        &t,
        "debian-6.1c",
        &root,
        "x86_64",
        &["--config", config.to_str().unwrap()],
    );
    assert_eq!(
        fs::read(t.kernels().join("debian-6.1c/config")).unwrap(),
        b"CONFIG_VIRTIO_BLK=y\n"
    );
    // A config that is not text is refused, naming it.
    fs::write(&config, b"\x7fELF\x02\x01\x01").unwrap();
    t.fails(
        &[
            &import_args("debian-6.1d", &root, "x86_64")[..],
            &["--config", config.to_str().unwrap()],
        ]
        .concat(),
        "my.config` cannot go into a bundle: a kernel config is plain text",
    );
    t.fails(
        &[
            &import_args("debian-6.1d", &root, "x86_64")[..],
            &["--config", "/no/such/config"],
        ]
        .concat(),
        "cannot read the config `/no/such/config`",
    );
}

#[test]
fn debian_cloud_kernel_package_imports_with_its_elf_config_and_release() {
    let debian = banger_testkit::distro::cloud_kernel();
    let t = TestContext::new();
    let result = import(&t, "debian-6.1", &debian.root, "x86_64", &[]);
    assert_eq!(result["status"], "installed");
    let installed = t.kernels().join("debian-6.1");
    let vmlinux = fs::read(installed.join("vmlinux")).unwrap();
    let independent = banger_testkit::distro::extract_like_extract_vmlinux(
        &debian.vmlinuz(),
        b"\x02\x21\x4c\x18",
        &["lz4", "-dc"],
    );
    assert_eq!(
        banger_testkit::sha256_hex(&vmlinux),
        banger_testkit::sha256_hex(&independent),
        "banger's vmlinux ({} bytes) is not what the lz4 CLI extracts ({} bytes)",
        vmlinux.len(),
        independent.len()
    );
    assert!(vmlinux.starts_with(b"\x7fELF"));
    assert_eq!(
        fs::read(installed.join("config")).unwrap(),
        fs::read(debian.config()).unwrap()
    );
    assert_eq!(
        manifest(&t, "debian-6.1")["kernel_version"],
        debian.release.as_str()
    );
    assert!(installed
        .join("modules")
        .join(&debian.release)
        .join("modules.builtin")
        .is_file());
}
