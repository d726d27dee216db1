//! The rules table's own tests, and fixtures other tests of `check` share.

use super::{
    super::{
        config::{Config, Have},
        modules::Modules,
    },
    judge::Judged,
    *,
};

/// The default root file system.
pub const EXT4: RootFs = ROOT_FILE_SYSTEMS[0];

/// A config with exactly `options` built in.
pub fn built_in(options: &[&str]) -> Config {
    Config::from_options(options.iter().map(|o| ((*o).to_owned(), Have::Builtin)))
}

/// The least each machine and mode needs, per the table, to be ready.
fn minimal(machine: Machine, mode: Mode) -> Vec<&'static str> {
    match (machine, mode) {
        (Machine::X86_64, Mode::Initrd) => vec!["BLK_DEV_INITRD", "KVM_GUEST", "ACPI", "PCI"],
        (Machine::X86_64, Mode::RootDevice) => vec![
            "KVM_GUEST",
            "VIRTIO_MMIO",
            "VIRTIO_BLK",
            "EXT4_FS",
            "ACPI",
            "PCI",
        ],
        (Machine::Arm64, Mode::Initrd) => vec!["BLK_DEV_INITRD", "VIRTIO_MMIO"],
        (Machine::Arm64, Mode::RootDevice) => vec!["VIRTIO_MMIO", "VIRTIO_BLK", "EXT4_FS"],
    }
}

fn judge_plain(config: &Config, machine: Machine, mode: Mode) -> Judged {
    judge(config, machine, mode, EXT4, None, Some("6.1.0"))
}

fn finding<'a>(judged: &'a Judged, option: &str) -> &'a Finding {
    judged
        .findings
        .iter()
        .find(|f| f.option == format!("CONFIG_{option}"))
        .unwrap_or_else(|| panic!("no finding for {option}"))
}

const ALL: [(Machine, Mode); 4] = [
    (Machine::X86_64, Mode::Initrd),
    (Machine::X86_64, Mode::RootDevice),
    (Machine::Arm64, Mode::Initrd),
    (Machine::Arm64, Mode::RootDevice),
];

/// Firecracker's own CI configs are ready in both modes, and find their devices the way
/// their names say.
#[test]
fn firecrackers_ci_configs_are_ready() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/firecracker");
    let cases = [
        (
            "microvm-kernel-ci-x86_64-6.1.config",
            Machine::X86_64,
            Some(true),
            Some(false),
        ),
        (
            "microvm-kernel-ci-x86_64-5.10-no-acpi.config",
            Machine::X86_64,
            Some(false),
            Some(true),
        ),
        (
            "microvm-kernel-ci-aarch64-6.1.config",
            Machine::Arm64,
            None,
            None,
        ),
    ];
    for (file, machine, acpi, cmdline) in cases {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let config = Config::parse(&text).unwrap();
        for mode in [Mode::Initrd, Mode::RootDevice] {
            let judged = judge_plain(&config, machine, mode);
            let problems: Vec<_> = judged
                .findings
                .iter()
                .filter(|f| f.severity != Severity::Ok)
                .collect();
            assert!(problems.is_empty(), "{file} {mode:?}: {problems:?}");
            assert_eq!(
                (judged.discovery.acpi, judged.discovery.cmdline),
                (acpi, cmdline),
                "{file}"
            );
        }
    }
}

#[test]
fn the_minimal_configs_are_ready_with_warnings_only() {
    for (machine, mode) in ALL {
        let judged = judge_plain(&built_in(&minimal(machine, mode)), machine, mode);
        assert!(
            judged.ready(),
            "{machine:?} {mode:?}: {:?}",
            judged.findings
        );
        assert!(judged
            .findings
            .iter()
            .any(|f| f.severity == Severity::Warning && f.option == "CONFIG_VIRTIO_NET"));
    }
}

/// Each required option, dropped from a minimal config or built as a module, makes it
/// not ready, with the error on that option's row.
#[test]
fn each_required_option_is_needed_built_in() {
    for (machine, mode) in ALL {
        let minimal = minimal(machine, mode);
        for dropped in &minimal {
            // The ACPI pair alone is a discovery path: tested apart.
            if machine == Machine::X86_64 && ["ACPI", "PCI"].contains(dropped) {
                continue;
            }
            let kept: Vec<_> = minimal.iter().copied().filter(|o| o != dropped).collect();
            for have in [Have::Unset, Have::Module] {
                let mut options: Vec<_> = kept
                    .iter()
                    .map(|o| ((*o).to_owned(), Have::Builtin))
                    .collect();
                options.push(((*dropped).to_owned(), have));
                let judged = judge_plain(&Config::from_options(options), machine, mode);
                assert!(!judged.ready(), "{machine:?} {mode:?} without {dropped}");
                let row = finding(&judged, dropped);
                assert_eq!((row.severity, row.have), (Severity::Error, have));
            }
        }
    }
}

#[test]
fn initrd_mode_needs_no_disk_and_root_device_no_initrd() {
    let judged = judge_plain(
        &built_in(&minimal(Machine::X86_64, Mode::Initrd)),
        Machine::X86_64,
        Mode::Initrd,
    );
    assert!(!judged
        .findings
        .iter()
        .any(|f| f.option == "CONFIG_VIRTIO_BLK"));
    let judged = judge_plain(
        &built_in(&minimal(Machine::X86_64, Mode::RootDevice)),
        Machine::X86_64,
        Mode::RootDevice,
    );
    assert!(!judged
        .findings
        .iter()
        .any(|f| f.option == "CONFIG_BLK_DEV_INITRD"));
}

#[test]
fn either_discovery_path_will_do_and_neither_will_not() {
    let base = ["BLK_DEV_INITRD", "KVM_GUEST"];
    let with = |extra: &[&str]| {
        let options: Vec<_> = base.iter().chain(extra).copied().collect();
        judge_plain(&built_in(&options), Machine::X86_64, Mode::Initrd)
    };
    let acpi = with(&["ACPI", "PCI"]);
    assert!(acpi.ready());
    assert_eq!(
        (acpi.discovery.acpi, acpi.discovery.cmdline),
        (Some(true), Some(false))
    );
    assert_eq!(
        finding(&acpi, "VIRTIO_MMIO_CMDLINE_DEVICES").severity,
        Severity::Ok
    );
    assert!(acpi
        .discovery
        .firecracker_versions()
        .contains("1.8 and later"));

    let cmdline = with(&["VIRTIO_MMIO_CMDLINE_DEVICES"]);
    assert!(cmdline.ready());
    assert_eq!(cmdline.discovery.acpi, Some(false));
    assert!(cmdline
        .discovery
        .firecracker_versions()
        .starts_with("every"));

    // ACPI without PCI does not initialise: that path is off.
    for options in [&["ACPI"][..], &["PCI"], &[]] {
        let judged = with(options);
        assert!(!judged.ready(), "{options:?}");
        assert!(!judged.discovery.any());
        assert_eq!(
            finding(&judged, "VIRTIO_MMIO_CMDLINE_DEVICES").severity,
            Severity::Error
        );
    }
}

#[test]
fn the_root_file_system_follows_rootfs_type() {
    let xfs: RootFs = "xfs".parse().unwrap();
    let mut options = minimal(Machine::X86_64, Mode::RootDevice);
    let judged = |options: &[&str], rootfs| {
        judge(
            &built_in(options),
            Machine::X86_64,
            Mode::RootDevice,
            rootfs,
            None,
            None,
        )
    };
    assert!(judged(&options, EXT4).ready());
    let with_xfs = judged(&options, xfs);
    assert!(!with_xfs.ready());
    assert_eq!(finding(&with_xfs, "XFS_FS").severity, Severity::Error);
    options.push("XFS_FS");
    assert!(judged(&options, xfs).ready());
    assert!("ntfs".parse::<RootFs>().unwrap_err().contains("ext4, xfs"));
}

#[test]
fn each_warning_rule_warns_and_never_blocks() {
    for (machine, mode) in ALL {
        let everything: Vec<_> = RULES
            .iter()
            .filter(|r| r.applies(machine, mode))
            .map(|r| r.option(EXT4).0)
            .collect();
        let wanted: Vec<_> = RULES
            .iter()
            .filter(|r| r.need == Need::Wanted && r.applies(machine, mode))
            .map(|r| r.option(EXT4).0)
            .collect();
        assert!(judge_plain(&built_in(&everything), machine, mode)
            .findings
            .iter()
            .all(|f| f.severity == Severity::Ok));
        for option in wanted {
            let others: Vec<_> = everything
                .iter()
                .copied()
                .filter(|o| *o != option)
                .collect();
            let judged = judge_plain(&built_in(&others), machine, mode);
            assert!(judged.ready());
            let row = finding(&judged, option);
            assert_eq!(row.severity, Severity::Warning, "{option}");
            assert!(judged
                .findings
                .iter()
                .filter(|f| f.option != row.option)
                .all(|f| f.severity == Severity::Ok));
        }
    }
}

#[test]
fn the_arm64_console_rule_applies_only_there() {
    let arm = judge_plain(&built_in(&[]), Machine::Arm64, Mode::Initrd);
    assert_eq!(
        finding(&arm, "SERIAL_OF_PLATFORM").severity,
        Severity::Warning
    );
    assert_eq!(arm.discovery.acpi, None);
    let x86 = judge_plain(&built_in(&[]), Machine::X86_64, Mode::Initrd);
    assert!(!x86
        .findings
        .iter()
        .any(|f| f.option == "CONFIG_SERIAL_OF_PLATFORM"));
}

#[test]
fn a_module_missing_from_modules_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let ko = dir
        .path()
        .join("modules/6.1.0/kernel/drivers/net/virtio_net.ko");
    std::fs::create_dir_all(ko.parent().unwrap()).unwrap();
    std::fs::write(&ko, b"").unwrap();
    let modules = Modules::scan(dir.path(), Some("6.1.0"), false)
        .unwrap()
        .unwrap();
    let mut options: Vec<_> = minimal(Machine::X86_64, Mode::Initrd)
        .into_iter()
        .map(|o| (o.to_owned(), Have::Builtin))
        .collect();
    options.push(("VIRTIO_NET".into(), Have::Module));
    options.push(("VIRTIO_BALLOON".into(), Have::Module));
    let config = Config::from_options(options);
    let judged = judge(
        &config,
        Machine::X86_64,
        Mode::Initrd,
        EXT4,
        Some(&modules),
        Some("6.1.0"),
    );
    assert!(!finding(&judged, "VIRTIO_NET").why.contains("virtio_net.ko"));
    let balloon = finding(&judged, "VIRTIO_BALLOON");
    assert_eq!(balloon.severity, Severity::Warning);
    assert!(
        balloon
            .why
            .contains("modules/6.1.0/ has no `virtio_balloon.ko`"),
        "{}",
        balloon.why
    );
    let judged = judge(
        &config,
        Machine::X86_64,
        Mode::Initrd,
        EXT4,
        None,
        Some("6.1.0"),
    );
    assert!(finding(&judged, "VIRTIO_NET").why.contains("no modules/"));
}
