//! `image register/list/show/rm` with kernel refs, and `kernel rm` refusing while referenced.

use std::{fs, process::Command};

use serde_json::Value;

use crate::util::TestContext;

/// `banger image register` of `rootfs` as `name`, booting the installed kernel `kernel`.
pub(crate) fn register_args<'a>(name: &'a str, rootfs: &'a str, kernel: &'a str) -> Vec<&'a str> {
    vec![
        "image",
        "register",
        "--name",
        name,
        "--rootfs",
        rootfs,
        "--kernel-ref",
        kernel,
    ]
}

fn args(owned: &[String]) -> Vec<&str> {
    owned.iter().map(String::as_str).collect()
}

#[test]
fn register_needs_an_installed_kernel_and_kernel_rm_respects_references() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let void = t.publish("void", "void-6.12", "6.12.3", &server);
    t.write_catalog(&[&void.entry]);
    let rootfs = t.path("void.ext4");
    fs::write(&rootfs, vec![0u8; 4096]).unwrap();
    let rootfs_arg = rootfs.to_str().unwrap();
    let register = |name: &str, kernel: &str| {
        vec![
            "image".to_owned(),
            "register".into(),
            "--name".into(),
            name.into(),
            "--rootfs".into(),
            rootfs_arg.into(),
            "--kernel-ref".into(),
            kernel.into(),
        ]
    };

    // Not installed: the hint says how to get it, or that the catalog lacks it too.
    t.fails(
        &args(&register("void", "void-6.12")),
        "hint: install it first: banger kernel pull void-6.12",
    );
    t.fails(
        &args(&register("void", "alpine-3.20")),
        "`alpine-3.20` is not in the catalog either",
    );
    assert!(
        !t.path("state/images").exists(),
        "a failed register wrote state"
    );

    t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);
    let mut json_register = register("void", "void-6.12");
    json_register.push("--json".into());
    let image: Value = serde_json::from_str(&t.ok(&args(&json_register))).unwrap();
    let kernel_dir = t.kernels().join("void-6.12");
    assert_eq!(
        image["rootfs"],
        fs::canonicalize(&rootfs).unwrap().to_str().unwrap()
    );
    assert_eq!(image["rootfs_kind"], "file");
    assert_eq!(
        image["kernel"]["vmlinux"],
        kernel_dir.join("vmlinux").to_str().unwrap()
    );
    assert_eq!(
        image["kernel"]["initrd"],
        kernel_dir.join("initrd.img").to_str().unwrap()
    );
    assert_eq!(
        image["kernel"]["modules"],
        kernel_dir.join("modules").to_str().unwrap()
    );
    assert_eq!(image["kernel"]["sha256"], void.entry["sha256"]);
    assert!(t.path("state/images/void.json").is_file());

    // `show` and `list` add whether the record still matches the installed kernel.
    let mut current = image.clone();
    current["kernel_status"] = serde_json::json!({"status": "current"});
    let shown: Value = serde_json::from_str(&t.ok(&["image", "show", "void", "--json"])).unwrap();
    assert_eq!(shown, current);
    let listed: Value = serde_json::from_str(&t.ok(&["image", "list", "--json"])).unwrap();
    assert_eq!(listed, Value::Array(vec![current]));
    t.fails(&args(&register("void", "void-6.12")), "already registered");
    t.ok(&args(&register("void2", "void-6.12")));

    // The kernel cannot go while images use it, unless forced.
    let err = t.fails(
        &["kernel", "rm", "void-6.12"],
        "kernel `void-6.12` is used by images `void`, `void2`",
    );
    assert!(err.contains("banger image rm void void2"), "{err}");
    assert!(kernel_dir.join("vmlinux").is_file());
    t.ok(&["image", "rm", "void2"]);
    t.fails(&["image", "rm", "void2"], "image `void2` is not registered");
    t.fails(&["kernel", "rm", "void-6.12"], "is used by image `void`");
    let out = t.banger(&["kernel", "rm", "void-6.12", "--force"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("image(s) void refer to the removed kernel")
    );
    assert!(!kernel_dir.exists());
}

#[test]
fn register_checks_its_rootfs_and_names() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let void = t.publish("void", "void-6.12", "6.12.3", &server);
    t.write_catalog(&[&void.entry]);
    t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);
    let register = |name: &str, rootfs: &str| t.banger(&register_args(name, rootfs, "void-6.12"));
    let fails = |name: &str, rootfs: &str, expected: &str| {
        let out = register(name, rootfs);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(matches!(out.status.code(), Some(1..=6)), "{err}");
        assert!(err.contains(expected), "`{expected}` not in: {err}");
    };
    let missing = t.path("missing.ext4");
    fails("void", missing.to_str().unwrap(), "cannot use rootfs");
    fails(
        "void",
        t.path("state").to_str().unwrap(),
        "is not a regular file or a block device",
    );
    fails(
        "void",
        "/dev/null",
        "is not a regular file or a block device",
    );
    fails(
        "Void",
        "/dev/null",
        "image name `Void` must start with a lowercase letter",
    );
    fails("../x", "/dev/null", "image name `../x`");

    // A block device is a valid rootfs (CI runs as root, so mknod works).
    let device = t.path("rootdev");
    let status = Command::new("mknod")
        .arg(&device)
        .args(["b", "7", "200"])
        .status()
        .unwrap();
    assert!(status.success(), "mknod needs root");
    assert!(register("dev", device.to_str().unwrap()).status.success());
    let shown: Value = serde_json::from_str(&t.ok(&["image", "show", "dev", "--json"])).unwrap();
    assert_eq!(shown["rootfs_kind"], "block-device");
}
