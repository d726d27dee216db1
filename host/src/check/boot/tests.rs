//! The smoke boot's tests that need no QEMU: busybox checks, and how runs are judged.

use super::*;

fn run(discovery: Discovery, userspace: bool, disk: bool) -> Run {
    Run {
        discovery,
        accel: Accel::Tcg,
        userspace,
        release: None,
        disk,
        net: false,
        seconds: 1.0,
        ended: "reboot".into(),
        console: None,
    }
}

const ACPI_ONLY: Supported = Supported {
    acpi: Some(true),
    cmdline: Some(false),
};

#[test]
fn only_the_paths_the_config_supports_must_work() {
    // Firecracker's 6.1 CI config: ACPI finds the disk, the command line cannot.
    let runs = [
        run(Discovery::Acpi, true, true),
        run(Discovery::Cmdline, true, false),
    ];
    assert!(judge(&runs, ACPI_ONLY, Mode::RootDevice).is_empty());
    // Debian's cloud kernel: userspace, but virtio_blk is a module.
    let runs = [
        run(Discovery::Acpi, true, false),
        run(Discovery::Cmdline, true, false),
    ];
    assert!(judge(&runs, ACPI_ONLY, Mode::Initrd).is_empty());
    let problems = judge(&runs, ACPI_ONLY, Mode::RootDevice);
    assert!(problems[0].contains("the ACPI run reached userspace without seeing /dev/vda"));
    let runs = [
        run(Discovery::Acpi, false, false),
        run(Discovery::Cmdline, false, false),
    ];
    let problems = judge(&runs, ACPI_ONLY, Mode::Initrd);
    assert!(problems[0].contains("did not reach userspace"));
    assert!(problems.iter().any(|p| p == "no run reached userspace"));
}

#[test]
fn a_busybox_must_be_static_and_for_the_machine() {
    let host = qemu::find_on_path("busybox")
        .expect("busybox (Debian busybox-static; scripts/test.sh installs it)");
    check_busybox(&host, Machine::X86_64).unwrap();
    assert!(check_busybox(&host, Machine::Arm64)
        .unwrap_err()
        .contains("built for x86_64, not arm64"));
    let dynamic = qemu::find_on_path("sh").unwrap();
    assert!(check_busybox(&dynamic, Machine::X86_64)
        .unwrap_err()
        .contains("dynamically linked"));
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("busybox");
    fs::write(&text, "#!/bin/sh\n").unwrap();
    assert!(check_busybox(&text, Machine::X86_64)
        .unwrap_err()
        .contains("not a 64-bit"));
}

#[test]
fn what_the_guest_prints_is_made_inert() {
    let console = Console {
        marker: Some("release=6.1\u{1b}[2J\u{202e} disk=yes net=no".into()),
        tail: vec!["\u{9b}31mred".into()],
        ended: Ended::TimedOut,
        elapsed: Duration::from_secs(1),
    };
    let run = report(Discovery::Acpi, Accel::Tcg, console);
    assert_eq!(run.release.as_deref(), Some("6.1\\u{1b}[2J\\u{202e}"));
    let console = Console {
        marker: None,
        tail: vec!["\u{9b}31mred".into()],
        ended: Ended::TimedOut,
        elapsed: Duration::from_secs(1),
    };
    let failed = report(Discovery::Acpi, Accel::Tcg, console);
    assert_eq!(failed.console.unwrap(), ["\\u{9b}31mred"]);
    let json = serde_json::to_string(&run).unwrap();
    assert!(
        !json.contains('\u{202e}') && !json.contains('\u{1b}'),
        "{json}"
    );
}

#[test]
fn the_marker_fields_are_read() {
    let console = Console {
        marker: Some("release=6.1.0-50-cloud-amd64 disk=no net=yes".into()),
        tail: vec!["line".into()],
        ended: Ended::Exited(Some(0)),
        elapsed: Duration::from_millis(2345),
    };
    let run = report(Discovery::Acpi, Accel::Tcg, console);
    assert!(run.userspace && run.net && !run.disk);
    assert_eq!(run.release.as_deref(), Some("6.1.0-50-cloud-amd64"));
    assert_eq!((run.seconds, run.ended.as_str()), (2.3, "reboot"));
    assert!(run.console.is_none());
}
