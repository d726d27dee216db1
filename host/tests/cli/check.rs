//! `kernel check`: exit statuses and the JSON over fixture kernels made here, the config
//! sources and their order, and Debian's real cloud kernel (fetched at test time by
//! `banger_testkit::distro`): its verdict, a smoke boot under QEMU TCG, and `kernel publish`.

use std::{collections::BTreeSet, fs, path::PathBuf, process::Output};

use banger_testkit::{
    distro,
    image::{self, Payload, Vmlinux},
    kernel::{EM_AARCH64, EM_X86_64},
};
use serde_json::Value;

use crate::util::{stderr, TestContext};

/// A config that every rule finds built in, for both machines and both modes.
pub const READY_CONFIG: &str = "\
# Linux/x86 6.1.0 Kernel Configuration
CONFIG_BLK_DEV_INITRD=y
CONFIG_KVM_GUEST=y
CONFIG_VIRTIO_MMIO=y
CONFIG_VIRTIO_BLK=y
CONFIG_EXT4_FS=y
CONFIG_ACPI=y
CONFIG_PCI=y
# CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES is not set
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_PRINTK=y
CONFIG_SERIAL_OF_PLATFORM=y
CONFIG_RTC_DRV_PL031=y
CONFIG_VIRTIO_NET=y
CONFIG_VIRTIO_VSOCKETS=y
CONFIG_HW_RANDOM_VIRTIO=y
CONFIG_VIRTIO_BALLOON=y
";

/// [`crate::import::build_dir`] with a config [`READY_CONFIG`]: a kernel `publish` accepts.
pub fn ready_build_dir(t: &TestContext, tag: &str, version: &str) -> PathBuf {
    let dir = crate::import::build_dir(t, tag, version);
    fs::write(dir.join(".config"), READY_CONFIG).unwrap();
    dir
}

/// A kernel directory `kernels/<tag>` holding `vmlinux` and, if given, `config`.
fn kernel_dir(t: &TestContext, tag: &str, vmlinux: &[u8], config: Option<&str>) -> PathBuf {
    let dir = t.path(&format!("kernels/{tag}"));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("vmlinux"), vmlinux).unwrap();
    if let Some(config) = config {
        fs::write(dir.join("config"), config).unwrap();
    }
    dir
}

/// An x86_64 `vmlinux` with the PVH note, release 6.1.0.
fn pvh_vmlinux() -> Vec<u8> {
    image::x86_vmlinux("6.1.0", 64 << 10, None)
}

/// `banger kernel check --path DIR ARGS…`.
fn check(t: &TestContext, dir: &std::path::Path, args: &[&str]) -> Output {
    let dir = dir.display().to_string();
    let mut all = vec!["kernel", "check", "--path", &dir];
    all.extend(args);
    t.banger(&all)
}

/// The JSON report of a check that exits with `status`.
fn report(t: &TestContext, dir: &std::path::Path, args: &[&str], status: i32) -> Value {
    let mut all = vec!["--json"];
    all.extend(args);
    let out = check(t, dir, &all);
    assert_eq!(out.status.code(), Some(status), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn finding<'a>(report: &'a Value, option: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["option"] == option)
        .unwrap_or_else(|| panic!("no finding {option} in {report:#}"))
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn a_ready_kernel_exits_0_with_the_documented_json() {
    let t = TestContext::new();
    let dir = kernel_dir(&t, "ready", &pvh_vmlinux(), Some(READY_CONFIG));
    let report = report(&t, &dir, &["--arch", "x86_64"], 0);
    assert_eq!(
        keys(&report),
        BTreeSet::from([
            "ready",
            "mode",
            "arch",
            "release",
            "image",
            "config_source",
            "discovery",
            "findings",
            "boot"
        ])
    );
    assert_eq!(report["ready"], true);
    assert_eq!(report["mode"], "root-device");
    assert_eq!(report["arch"], "x86_64");
    assert_eq!(report["release"], "6.1.0");
    assert_eq!(
        report["image"],
        serde_json::json!({"format": "elf", "pvh": true})
    );
    assert_eq!(report["config_source"], "bundle");
    assert_eq!(
        report["discovery"],
        serde_json::json!({"acpi": true, "cmdline": false})
    );
    assert_eq!(report["boot"], Value::Null);
    for finding in report["findings"].as_array().unwrap() {
        assert_eq!(
            keys(finding),
            BTreeSet::from(["option", "want", "have", "severity", "why"])
        );
        assert!(finding["option"].as_str().unwrap().starts_with("CONFIG_"));
        assert!(["y", "m", "unset"].contains(&finding["have"].as_str().unwrap()));
        assert_eq!(finding["severity"], "ok", "{finding}");
    }
    // root-device on x86_64: the disk's path and the file system, no initrd rule.
    for option in [
        "CONFIG_VIRTIO_BLK",
        "CONFIG_VIRTIO_MMIO",
        "CONFIG_EXT4_FS",
        "CONFIG_KVM_GUEST",
    ] {
        assert_eq!(finding(&report, option)["have"], "y");
    }
    assert!(!report["findings"].to_string().contains("BLK_DEV_INITRD"));

    // The text form: the table grouped, and the verdict last.
    let out = check(&t, &dir, &[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "OPTION",
        "Generally necessary:",
        "Device discovery (x86_64):",
        "Optional features:",
        "ACPI: Firecracker 1.8 and later",
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    }
    assert!(
        text.trim_end().ends_with("ready for root-device on x86_64"),
        "{text}"
    );
}

#[test]
fn a_kernel_that_is_not_ready_exits_1_and_names_the_option() {
    let t = TestContext::new();
    let config = READY_CONFIG.replace("CONFIG_VIRTIO_BLK=y", "CONFIG_VIRTIO_BLK=m");
    let dir = kernel_dir(&t, "blk-m", &pvh_vmlinux(), Some(&config));
    let report = report(&t, &dir, &[], 1);
    assert_eq!(report["ready"], false);
    let blk = finding(&report, "CONFIG_VIRTIO_BLK");
    assert_eq!(
        (&blk["have"], &blk["severity"], &blk["want"]),
        (&"m".into(), &"error".into(), &"y".into())
    );
    // The same kernel boots from an initrd.
    let report = self::report(&t, &dir, &["--mode", "initrd"], 0);
    assert_eq!(report["mode"], "initrd");
    assert_eq!(finding(&report, "CONFIG_BLK_DEV_INITRD")["have"], "y");

    let out = check(&t, &dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        text.contains("NOT READY for root-device on x86_64: CONFIG_VIRTIO_BLK=m"),
        "{text}"
    );
    // The report is the answer: no `error:` line on top of it.
    assert!(!stderr(&out).contains("error:"), "{}", stderr(&out));
}

#[test]
fn an_initrd_img_makes_initrd_the_default_mode() {
    let t = TestContext::new();
    let config = READY_CONFIG.replace(
        "CONFIG_BLK_DEV_INITRD=y",
        "# CONFIG_BLK_DEV_INITRD is not set",
    );
    let dir = kernel_dir(&t, "initrd", &pvh_vmlinux(), Some(&config));
    assert_eq!(report(&t, &dir, &[], 0)["mode"], "root-device");
    fs::write(dir.join("initrd.img"), b"initramfs").unwrap();
    let report = report(&t, &dir, &[], 1);
    assert_eq!(report["mode"], "initrd");
    assert_eq!(
        finding(&report, "CONFIG_BLK_DEV_INITRD")["severity"],
        "error"
    );
}

#[test]
fn what_cannot_be_checked_exits_2() {
    let mut t = TestContext::new();
    // No vmlinux.
    let empty = t.path("kernels/empty");
    fs::create_dir_all(&empty).unwrap();
    let out = check(&t, &empty, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("`{}/vmlinux`", empty.display())),
        "{}",
        stderr(&out)
    );
    // An ELF whose program headers lie.
    let mut broken = pvh_vmlinux();
    broken.truncate(200);
    let dir = kernel_dir(&t, "broken", &broken, None);
    let out = check(&t, &dir, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // A --config that is missing, or not a config.
    let dir = kernel_dir(&t, "no-config", &pvh_vmlinux(), None);
    let out = check(&t, &dir, &["--config", "/nonexistent/config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read config `/nonexistent/config`"),
        "{}",
        stderr(&out)
    );
    let junk = t.path("junk");
    fs::write(&junk, "hello\n").unwrap();
    let out = check(&t, &dir, &["--config", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("holds no CONFIG_ line"),
        "{}",
        stderr(&out)
    );
    // An installed kernel that is not there.
    let out = t.banger(&["kernel", "check", "void-6.12"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("kernel `void-6.12` is not installed"),
        "{}",
        stderr(&out)
    );

    // --boot without QEMU, then without busybox: the packages are named.
    let ready = kernel_dir(&t, "ready", &pvh_vmlinux(), Some(READY_CONFIG));
    let bin = t.path("bin");
    fs::create_dir_all(&bin).unwrap();
    t.env("PATH", bin.display().to_string());
    let out = check(&t, &ready, &["--boot"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("`qemu-system-x86_64`") && err.contains("qemu-system-x86"),
        "{err}"
    );
    let out = check(&t, &ready, &["--boot", "--arch", "arm64"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("apt-get install --no-install-recommends qemu-system-arm"));
    std::os::unix::fs::symlink(
        "/usr/bin/qemu-system-x86_64",
        bin.join("qemu-system-x86_64"),
    )
    .unwrap();
    let out = check(&t, &ready, &["--boot"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("busybox-static"), "{}", stderr(&out));
    // A dynamic busybox is refused before QEMU starts.
    let out = check(&t, &ready, &["--boot", "--busybox", "/bin/sh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("dynamically linked"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_config_comes_from_the_kernel_then_the_flag_then_ikconfig_then_modules() {
    let t = TestContext::new();
    let not_ready = READY_CONFIG.replace("CONFIG_KVM_GUEST=y", "");
    let flag = t.path("flag.config");
    fs::write(&flag, READY_CONFIG).unwrap();
    let flag_arg = flag.to_str().unwrap();

    // The kernel's own config wins over --config, with a warning.
    let dir = kernel_dir(&t, "own", &pvh_vmlinux(), Some(&not_ready));
    let out = check(&t, &dir, &["--json", "--config", flag_arg]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["config_source"], "bundle");
    assert!(stderr(&out).contains("--config `"), "{}", stderr(&out));

    // --config when the kernel has none.
    let ikconfig = image::x86_vmlinux("6.1.0", 64 << 10, Some(&not_ready));
    let dir = kernel_dir(&t, "ik", &ikconfig, None);
    let report = self::report(&t, &dir, &["--config", flag_arg], 0);
    assert_eq!(report["config_source"], "file");
    // Else the image's IKCONFIG.
    let report = self::report(&t, &dir, &[], 1);
    assert_eq!(report["config_source"], "ikconfig");
    assert_eq!(finding(&report, "CONFIG_KVM_GUEST")["have"], "unset");
    assert_eq!(finding(&report, "CONFIG_VIRTIO_BLK")["have"], "y");

    // Else modules/<release>/: built-in and loadable modules are known, bool options are not,
    // and unknown is never ready.
    let dir = kernel_dir(&t, "mods", &pvh_vmlinux(), None);
    let release = dir.join("modules/6.1.0");
    fs::create_dir_all(release.join("kernel/drivers/net")).unwrap();
    fs::write(
        release.join("modules.builtin"),
        "kernel/drivers/virtio/virtio_mmio.ko\nkernel/drivers/block/virtio_blk.ko\nkernel/fs/ext4/ext4.ko\n",
    )
    .unwrap();
    fs::write(release.join("kernel/drivers/net/virtio_net.ko"), b"\x7fELF").unwrap();
    let report = self::report(&t, &dir, &[], 1);
    assert_eq!(report["config_source"], "modules");
    for (option, have) in [
        ("CONFIG_VIRTIO_BLK", "y"),
        ("CONFIG_VIRTIO_MMIO", "y"),
        ("CONFIG_EXT4_FS", "y"),
        ("CONFIG_VIRTIO_NET", "m"),
        ("CONFIG_KVM_GUEST", "unset"),
    ] {
        assert_eq!(finding(&report, option)["have"], have, "{option}");
    }
    assert_eq!(finding(&report, "CONFIG_KVM_GUEST")["severity"], "error");
    // Nothing at all.
    fs::remove_dir_all(dir.join("modules")).unwrap();
    assert_eq!(self::report(&t, &dir, &[], 1)["config_source"], "none");
}

#[test]
fn a_config_or_modules_of_another_release_are_warned_about() {
    let t = TestContext::new();
    let config = READY_CONFIG.replace("Linux/x86 6.1.0", "Linux/x86 5.10.0");
    let dir = kernel_dir(&t, "other", &pvh_vmlinux(), Some(&config));
    fs::create_dir_all(dir.join("modules/5.10.0/kernel")).unwrap();
    let out = check(&t, &dir, &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "the config is for Linux 5.10.0 (its header), but the image is release `6.1.0`"
        ),
        "{text}"
    );
    assert!(
        text.contains("holds `5.10.0`, not the image's release `6.1.0`"),
        "{text}"
    );
    // A needed module that is not in modules/ is named in its row.
    let config = READY_CONFIG.replace("CONFIG_VIRTIO_NET=y", "CONFIG_VIRTIO_NET=m");
    let dir = kernel_dir(&t, "net-m", &pvh_vmlinux(), Some(&config));
    fs::create_dir_all(dir.join("modules/6.1.0/kernel")).unwrap();
    let report = report(&t, &dir, &[], 0);
    let net = finding(&report, "CONFIG_VIRTIO_NET");
    assert_eq!(net["severity"], "warning");
    assert!(
        net["why"]
            .as_str()
            .unwrap()
            .contains("modules/6.1.0/ has no `virtio_net.ko`"),
        "{net}"
    );
}

#[test]
fn images_firecracker_cannot_load_are_refused_precisely() {
    let t = TestContext::new();
    let elf = pvh_vmlinux();
    let cases: [(&str, Vec<u8>, &str, &str, &str); 5] = [
        (
            "bz",
            image::bzimage(&elf, Payload::Gzip, Some("6.1.0")),
            "x86_64",
            "bzimage",
            "`banger kernel import` extracts it",
        ),
        (
            "arm-elf",
            Vmlinux::new(EM_AARCH64, "6.1.0").build(),
            "arm64",
            "elf",
            "arch/arm64/boot/Image",
        ),
        (
            "gz",
            image::gzip(&image::arm64_image("6.1.0", 4096)),
            "arm64",
            "gzip",
            "Image.gz",
        ),
        (
            "zboot",
            image::efi_zboot("zstd"),
            "arm64",
            "efi-zboot",
            "EFI zboot image (zstd-compressed)",
        ),
        (
            "x86-for-arm",
            Vmlinux::new(EM_X86_64, "6.1.0").build(),
            "arm64",
            "elf",
            "is an ELF for x86_64, not arm64",
        ),
    ];
    for (tag, bytes, arch, format, says) in cases {
        let dir = kernel_dir(&t, tag, &bytes, Some(READY_CONFIG));
        let out = check(&t, &dir, &["--arch", arch]);
        assert_eq!(out.status.code(), Some(1), "{tag}: {}", stderr(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(says), "{tag}: no `{says}` in:\n{text}");
        let report = report(&t, &dir, &["--arch", arch], 1);
        assert_eq!(report["image"]["format"], format, "{tag}");
    }
    // The arm64 Image Firecracker does load, and an x86_64 ELF without the PVH note.
    let dir = kernel_dir(
        &t,
        "arm",
        &image::arm64_image("6.1.0", 4096),
        Some(READY_CONFIG),
    );
    let report = report(&t, &dir, &["--arch", "arm64"], 0);
    assert_eq!(
        report["image"],
        serde_json::json!({"format": "arm64-image", "pvh": false})
    );
    assert_eq!(
        report["discovery"],
        serde_json::json!({"acpi": null, "cmdline": null})
    );
    assert_eq!(finding(&report, "CONFIG_SERIAL_OF_PLATFORM")["have"], "y");
    let dir = kernel_dir(
        &t,
        "nopvh",
        &Vmlinux::new(EM_X86_64, "6.1.0").build(),
        Some(READY_CONFIG),
    );
    let report = self::report(&t, &dir, &[], 0);
    assert_eq!(report["image"]["pvh"], false);
}

#[test]
fn the_verdict_is_stored_at_import_and_shown() {
    let t = TestContext::new();
    let dir = ready_build_dir(&t, "ready", "6.12.3");
    let dir_arg = dir.to_str().unwrap();
    t.ok(&[
        "kernel",
        "import",
        "void-6.12",
        "--from",
        dir_arg,
        "--distro",
        "void",
        "--arch",
        "x86_64",
    ]);
    let not_ready = crate::import::build_dir(&t, "plain", "6.12.3");
    let plain_arg = not_ready.to_str().unwrap();
    let imported = t.ok(&[
        "kernel",
        "import",
        "plain-6.12",
        "--from",
        plain_arg,
        "--distro",
        "void",
        "--arch",
        "x86_64",
    ]);

    assert!(
        imported.contains("  check: not ready for initrd: CONFIG_BLK_DEV_INITRD=unset"),
        "{imported}"
    );
    let manifest = |name: &str| -> Value {
        serde_json::from_slice(&fs::read(t.kernels().join(name).join("manifest.json")).unwrap())
            .unwrap()
    };
    let ready = manifest("void-6.12");
    assert_eq!(ready["check"]["ready"], true, "{ready:#}");
    assert_eq!(ready["check"]["mode"], "initrd");
    assert_eq!(ready["check"]["config_source"], "bundle");
    let plain = manifest("plain-6.12");
    assert_eq!(plain["check"]["ready"], false);
    let errors = plain["check"]["errors"].to_string();
    assert!(
        errors.contains("CONFIG_BLK_DEV_INITRD=unset") && errors.contains("CONFIG_KVM_GUEST=unset"),
        "{errors}"
    );

    // kernel show, kernel show --json, kernel list --json.
    let shown = t.ok(&["kernel", "show", "plain-6.12"]);
    assert!(
        shown.contains("check:          not ready for initrd: CONFIG_BLK_DEV_INITRD=unset"),
        "{shown}"
    );
    let shown: Value =
        serde_json::from_str(&t.ok(&["kernel", "show", "void-6.12", "--json"])).unwrap();
    assert_eq!(shown["check"], ready["check"]);
    let listed: Value = serde_json::from_str(&t.ok(&["kernel", "list", "--json"])).unwrap();
    let checks: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["check"]["ready"])
        .collect();
    assert_eq!(checks, [&Value::Bool(false), &Value::Bool(true)]);
    // check NAME agrees, and --arch must be the kernel's.
    assert_eq!(
        t.banger(&["kernel", "check", "void-6.12"]).status.code(),
        Some(0)
    );
    assert_eq!(
        t.banger(&["kernel", "check", "plain-6.12"]).status.code(),
        Some(1)
    );
    let out = t.banger(&["kernel", "check", "void-6.12", "--arch", "arm64"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("installed for x86_64, not arm64"));

    // A manifest from before banger checked kernels still reads, and says so.
    let path = t.kernels().join("void-6.12/manifest.json");
    let mut old = ready.clone();
    old.as_object_mut().unwrap().remove("check");
    fs::write(&path, serde_json::to_string_pretty(&old).unwrap()).unwrap();
    let shown = t.ok(&["kernel", "show", "void-6.12"]);
    assert!(shown.contains("check:          not checked"), "{shown}");
    let shown: Value =
        serde_json::from_str(&t.ok(&["kernel", "show", "void-6.12", "--json"])).unwrap();
    assert_eq!(shown.get("check"), None);
}

/// A pull stores the verdict too: this fixture bundle has no config, so what its modules tell
/// is all there is, and that is never ready.
#[test]
fn a_pull_stores_the_verdict_of_what_it_installed() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let void = t.publish("void", "void-6.12", "6.12.3", &server);
    t.write_catalog(&[&void.entry]);
    t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);
    let manifest: Value =
        serde_json::from_slice(&fs::read(t.kernels().join("void-6.12/manifest.json")).unwrap())
            .unwrap();
    let check = &manifest["check"];
    assert_eq!(check["ready"], false, "{manifest:#}");
    assert_eq!(check["mode"], "initrd");
    assert_eq!(check["config_source"], "modules");
    assert!(
        check["errors"]
            .to_string()
            .contains("CONFIG_KVM_GUEST=unset"),
        "{check}"
    );
    assert!(
        check["warnings"]
            .to_string()
            .contains("CONFIG_VIRTIO_NET=m"),
        "{check}"
    );
}

/// Debian's cloud kernel, imported from its unpacked package: `VIRTIO_BLK=m`, so not ready
/// for a root disk, ready for an initrd; the smoke boot under TCG reaches userspace and does
/// not see the disk.
#[test]
fn debians_cloud_kernel_boots_from_an_initrd_not_a_root_disk() {
    let debian = distro::cloud_kernel();
    let t = TestContext::new();
    let root = debian.root.to_str().unwrap();
    t.ok(&[
        "kernel",
        "import",
        "debian-6.1",
        "--from",
        root,
        "--distro",
        "debian",
        "--arch",
        "x86_64",
    ]);
    let check = |args: &[&str], status: i32| -> Value {
        let mut all = vec!["kernel", "check", "debian-6.1", "--json"];
        all.extend(args);
        let out = t.banger(&all);
        assert_eq!(
            out.status.code(),
            Some(status),
            "{args:?}: {}",
            stderr(&out)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let root_device = check(&[], 1);
    assert_eq!(root_device["mode"], "root-device");
    assert_eq!(root_device["release"], debian.release);
    assert_eq!(
        root_device["image"],
        serde_json::json!({"format": "elf", "pvh": true})
    );
    assert_eq!(root_device["config_source"], "bundle");
    assert_eq!(
        root_device["discovery"],
        serde_json::json!({"acpi": true, "cmdline": false})
    );
    let blk = finding(&root_device, "CONFIG_VIRTIO_BLK");
    assert_eq!(
        (&blk["have"], &blk["severity"]),
        (&"m".into(), &"error".into())
    );
    assert_eq!(finding(&root_device, "CONFIG_VIRTIO_MMIO")["have"], "m");
    // Its modules are there, so the module rows do not say they are missing.
    assert!(!finding(&root_device, "CONFIG_VIRTIO_NET")["why"]
        .as_str()
        .unwrap()
        .contains(".ko"));
    let initrd = check(&["--mode", "initrd"], 0);
    assert_eq!(finding(&initrd, "CONFIG_BLK_DEV_INITRD")["have"], "y");
    let stored: Value =
        serde_json::from_slice(&fs::read(t.kernels().join("debian-6.1/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(stored["check"]["ready"], false);
    assert!(stored["check"]["errors"]
        .to_string()
        .contains("CONFIG_VIRTIO_BLK=m"));

    // The boot: both discovery paths reach userspace, neither sees the disk.
    let started = std::time::Instant::now();
    let booted = check(&["--boot", "--boot-timeout", "45"], 1);
    let runs = booted["boot"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{booted:#}");
    for (run, discovery) in runs.iter().zip(["acpi", "cmdline"]) {
        assert_eq!(run["discovery"], discovery);
        assert_eq!(run["userspace"], true, "{run:#}");
        assert_eq!(run["release"], debian.release);
        assert_eq!(run["disk"], false);
        assert_eq!(run["net"], false, "virtio_net is a module");
        assert_eq!(run["accel"], "tcg");
    }
    assert_eq!(booted["boot"]["ready"], false);
    assert!(booted["boot"]["problems"][0]
        .as_str()
        .unwrap()
        .contains("the ACPI run reached userspace without seeing /dev/vda"));
    // From an initrd the same boot is ready.
    let booted = check(&["--mode", "initrd", "--boot", "--boot-timeout", "45"], 0);
    assert_eq!(booted["boot"]["ready"], true, "{booted:#}");
    eprintln!(
        "two smoke boots of Debian's kernel (four runs) took {:?}",
        started.elapsed()
    );
}

/// `kernel publish` (a dry run with --out) refuses Debian's kernel, naming what blocks it,
/// and goes ahead with --allow-unready. Only vmlinuz and config are imported: packing the
/// modules too at zstd -19 would take minutes.
#[test]
fn publish_refuses_debians_cloud_kernel_unless_allowed() {
    let debian = distro::cloud_kernel();
    let t = TestContext::new();
    let build = t.path("debian");
    fs::create_dir_all(&build).unwrap();
    fs::copy(debian.vmlinuz(), build.join("vmlinuz")).unwrap();
    fs::copy(debian.config(), build.join(".config")).unwrap();
    let build_arg = build.to_str().unwrap();
    t.ok(&[
        "kernel",
        "import",
        "debian-6.1",
        "--from",
        build_arg,
        "--distro",
        "debian",
        "--arch",
        "x86_64",
    ]);
    let catalog = t.path("catalog-repo.json");
    fs::write(&catalog, "{\"schema\": 1, \"entries\": []}\n").unwrap();
    let out_dir = t.path("dist");
    let args = [
        "kernel",
        "publish",
        "debian-6.1",
        "--dry-run",
        "--out",
        out_dir.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
        "--json",
    ];
    let out = t.banger(&args);
    assert_eq!(
        out.status.code(),
        Some(6),
        "refused by policy (docs/errors.md)"
    );
    let err = stderr(&out);
    assert!(err.contains("kernel `debian-6.1` is not ready for root-device: CONFIG_VIRTIO_MMIO=m, CONFIG_VIRTIO_BLK=m"), "{err}");
    assert!(err.contains("pass --allow-unready"), "{err}");
    assert!(!out_dir.join("debian-6.1-x86_64.tar.zst").exists());

    let mut allowed = args.to_vec();
    allowed.push("--allow-unready");
    let out = t.banger(&allowed);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning: publishing kernel `debian-6.1`, which is not ready"));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let bundle = fs::read(out_dir.join("debian-6.1-x86_64.tar.zst")).unwrap();
    assert_eq!(result["sha256"], banger_testkit::sha256_hex(&bundle));
    assert_eq!(
        fs::read_to_string(&catalog).unwrap(),
        "{\"schema\": 1, \"entries\": []}\n"
    );
}

/// A kernel that never reaches userspace: a fixture ELF (its PVH entry leads nowhere), then
/// Debian's kernel with too short a timeout. Either way the runs fail, say how they ended,
/// keep their console, and the kernel is not ready although its config is.
#[test]
fn a_boot_that_does_not_reach_userspace_is_not_ready() {
    let t = TestContext::new();
    let dir = kernel_dir(&t, "nowhere", &pvh_vmlinux(), Some(READY_CONFIG));
    assert_eq!(report(&t, &dir, &[], 0)["ready"], true);
    let booted = report(&t, &dir, &["--boot", "--boot-timeout", "5"], 1);
    let boot = &booted["boot"];
    assert_eq!(boot["ready"], false);
    assert!(
        boot["problems"]
            .to_string()
            .contains("the ACPI run did not reach userspace"),
        "{boot:#}"
    );
    for run in boot["runs"].as_array().unwrap() {
        assert_eq!(run["userspace"], false);
        assert_ne!(run["ended"], "reboot");
        assert!(run["console"].is_array(), "{run:#}");
    }

    let debian = distro::cloud_kernel();
    let dir = t.path("kernels/debian");
    fs::create_dir_all(&dir).unwrap();
    let mut elf = fs::File::create(dir.join("vmlinux")).unwrap();
    banger_kernel_image::extract_elf(&debian.vmlinuz(), &mut elf).unwrap();
    fs::copy(debian.config(), dir.join("config")).unwrap();
    let started = std::time::Instant::now();
    let booted = report(
        &t,
        &dir,
        &["--mode", "initrd", "--boot", "--boot-timeout", "1"],
        1,
    );
    let runs = booted["boot"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for run in runs {
        assert_eq!(
            (&run["ended"], &run["userspace"]),
            (&"timeout".into(), &false.into()),
            "{run:#}"
        );
        assert!(run["seconds"].as_f64().unwrap() < 5.0, "{run:#}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

/// A directory the user names may link its files from elsewhere; an installed kernel's
/// files are never read through a link.
#[test]
fn links_are_followed_for_path_only() {
    let t = TestContext::new();
    let real = kernel_dir(&t, "real", &pvh_vmlinux(), Some(READY_CONFIG));
    fs::create_dir_all(real.join("modules/6.1.0/kernel")).unwrap();
    let linked = t.path("kernels/linked");
    fs::create_dir_all(&linked).unwrap();
    for name in ["vmlinux", "config", "modules"] {
        std::os::unix::fs::symlink(real.join(name), linked.join(name)).unwrap();
    }
    let out = check(&t, &linked, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!String::from_utf8(out.stdout).unwrap().contains("modules/"));

    let dir = ready_build_dir(&t, "ready", "6.12.3");
    t.ok(&crate::import::import_args("void-6.12", &dir, "x86_64"));
    let vmlinux = t.kernels().join("void-6.12/vmlinux");
    fs::rename(&vmlinux, t.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink(t.path("elsewhere"), &vmlinux).unwrap();
    let out = t.banger(&["kernel", "check", "void-6.12"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a regular file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_fifo_in_place_of_a_file_is_refused_not_waited_on() {
    let t = TestContext::new();
    let mkfifo = |path: &std::path::Path| {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    };
    // A FIFO named `config` beside the kernel: reading it would block forever.
    let dir = kernel_dir(&t, "fifo-config", &pvh_vmlinux(), None);
    mkfifo(&dir.join("config"));
    let out = check(&t, &dir, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not a regular file"),
        "{}",
        stderr(&out)
    );
    // A FIFO as the kernel image itself.
    let dir = t.path("kernels/fifo-image");
    fs::create_dir_all(&dir).unwrap();
    mkfifo(&dir.join("vmlinux"));
    let out = check(&t, &dir, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    // And a single `vmlinuz*` that is a FIFO, given to `kernel import`.
    let build = t.path("fifo-build");
    fs::create_dir_all(&build).unwrap();
    mkfifo(&build.join("vmlinuz-6.1.0"));
    let out = t.banger(&[
        "kernel",
        "import",
        "fifo-6.1",
        "--from",
        build.to_str().unwrap(),
        "--distro",
        "void",
        "--arch",
        "x86_64",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
}
