//! The rules table itself ([`RULES`]) and the root file systems `--rootfs-type` knows
//! ([`ROOT_FILE_SYSTEMS`]), each row with its source.

use super::{Group, Machine, Machines, Mode, Modes, Need, Path, RootFs, Rule, Subject};

const POLICY: &str = "kernel-policy.md";
const X86: Machines = Machines::Only(Machine::X86_64);
const ARM: Machines = Machines::Only(Machine::Arm64);

const fn rule(subject: Subject, group: Group, need: Need) -> Rule {
    Rule {
        subject,
        module: None,
        machines: Machines::All,
        modes: Modes::Both,
        need,
        group,
        needed_for: "",
        without: "",
        source: POLICY,
    }
}

/// The rules, in the order they are shown.
pub const RULES: &[Rule] = &[
    Rule {
        modes: Modes::Only(Mode::Initrd),
        needed_for: "initrd boot",
        without: "the kernel cannot unpack an initrd",
        ..rule(
            Subject::Option("BLK_DEV_INITRD"),
            Group::Boot,
            Need::Required,
        )
    },
    Rule {
        machines: X86,
        needed_for: "kvm-clock timekeeping",
        without: "Firecracker's minimal x86_64 boot needs it in either mode",
        ..rule(Subject::Option("KVM_GUEST"), Group::Boot, Need::Required)
    },
    Rule {
        module: Some("virtio_mmio"),
        machines: ARM,
        needed_for: "virtio devices, the serial device",
        without: "no virtio-mmio transport, so no devices and no console",
        source: "kernel-policy.md; firecracker#2021",
        ..rule(Subject::Option("VIRTIO_MMIO"), Group::Boot, Need::Required)
    },
    Rule {
        module: Some("virtio_mmio"),
        machines: X86,
        modes: Modes::Only(Mode::RootDevice),
        needed_for: "the root disk's transport",
        without: "no virtio-mmio transport, so no /dev/vda to mount",
        source: "CI configs; firecracker#2021, #173",
        ..rule(Subject::Option("VIRTIO_MMIO"), Group::Boot, Need::Required)
    },
    Rule {
        module: Some("virtio_blk"),
        modes: Modes::Only(Mode::RootDevice),
        needed_for: "the root disk (/dev/vda)",
        without: "\"Waiting for root device /dev/vda\", then a panic",
        source: "kernel-policy.md; firecracker#173, kata-containers#12581",
        ..rule(Subject::Option("VIRTIO_BLK"), Group::Boot, Need::Required)
    },
    Rule {
        modes: Modes::Only(Mode::RootDevice),
        needed_for: "mounting the root file system",
        without: "the kernel cannot mount /dev/vda before any module can load",
        source: "CI configs (EXT4_FS=y)",
        ..rule(Subject::RootFs, Group::Boot, Need::Required)
    },
    Rule {
        machines: X86,
        needed_for: "ACPI device discovery (Firecracker >= 1.8)",
        without: "Firecracker's ACPI tables go unread",
        source: "kernel-policy.md (Booting with ACPI)",
        ..rule(
            Subject::Option("ACPI"),
            Group::Devices,
            Need::Discovery(Path::Acpi),
        )
    },
    Rule {
        machines: X86,
        needed_for: "ACPI initialisation (not PCI devices)",
        without: "ACPI does not initialise without it",
        source: "kernel-policy.md (Booting with ACPI)",
        ..rule(
            Subject::Option("PCI"),
            Group::Devices,
            Need::Discovery(Path::Acpi),
        )
    },
    Rule {
        machines: X86,
        needed_for: "virtio_mmio.device= discovery (every version)",
        without: "\"virtio_mmio: unknown parameter 'device' ignored\"",
        source: "kernel-policy.md; firecracker#2021",
        ..rule(
            Subject::Option("VIRTIO_MMIO_CMDLINE_DEVICES"),
            Group::Devices,
            Need::Discovery(Path::Cmdline),
        )
    },
    Rule {
        needed_for: "the serial console",
        without: "no boot log on the serial console",
        ..rule(
            Subject::Option("SERIAL_8250_CONSOLE"),
            Group::Console,
            Need::Wanted,
        )
    },
    Rule {
        needed_for: "kernel messages",
        without: "the kernel prints nothing",
        ..rule(Subject::Option("PRINTK"), Group::Console, Need::Wanted)
    },
    Rule {
        module: Some("of_serial"),
        machines: ARM,
        needed_for: "the serial port from the device tree",
        without: "a silent console on aarch64",
        source: "kernel-policy.md (ARM); firecracker#1147",
        ..rule(
            Subject::Option("SERIAL_OF_PLATFORM"),
            Group::Console,
            Need::Wanted,
        )
    },
    Rule {
        module: Some("rtc_pl031"),
        machines: ARM,
        needed_for: "the wall clock (PL031 RTC)",
        without: "the guest's clock starts at 1970",
        source: "kernel-policy.md (ARM)",
        ..rule(
            Subject::Option("RTC_DRV_PL031"),
            Group::Console,
            Need::Wanted,
        )
    },
    Rule {
        module: Some("virtio_net"),
        needed_for: "network interfaces",
        without: "the VM has no network",
        source: "kernel-policy.md; CI configs; weaveworks/ignite#41",
        ..rule(Subject::Option("VIRTIO_NET"), Group::Features, Need::Wanted)
    },
    Rule {
        module: Some("vmw_vsock_virtio_transport"),
        needed_for: "vsock",
        without: "the VM has no vsock to talk to the host",
        source: "kernel-policy.md; CI configs",
        ..rule(
            Subject::Option("VIRTIO_VSOCKETS"),
            Group::Features,
            Need::Wanted,
        )
    },
    Rule {
        module: Some("virtio_rng"),
        needed_for: "the entropy device",
        without: "no virtio-rng: slow entropy at boot",
        source: "kernel-policy.md; CI configs",
        ..rule(
            Subject::Option("HW_RANDOM_VIRTIO"),
            Group::Features,
            Need::Wanted,
        )
    },
    Rule {
        module: Some("virtio_balloon"),
        needed_for: "the memory balloon",
        without: "the host cannot reclaim the VM's memory",
        source: "kernel-policy.md; CI configs",
        ..rule(
            Subject::Option("VIRTIO_BALLOON"),
            Group::Features,
            Need::Wanted,
        )
    },
];

/// The root file systems banger knows; `ext4` is the default, as in Firecracker's CI.
pub const ROOT_FILE_SYSTEMS: &[RootFs] = &[
    RootFs {
        name: "ext4",
        option: "EXT4_FS",
        module: "ext4",
    },
    RootFs {
        name: "xfs",
        option: "XFS_FS",
        module: "xfs",
    },
    RootFs {
        name: "btrfs",
        option: "BTRFS_FS",
        module: "btrfs",
    },
    RootFs {
        name: "squashfs",
        option: "SQUASHFS",
        module: "squashfs",
    },
    RootFs {
        name: "erofs",
        option: "EROFS_FS",
        module: "erofs",
    },
    RootFs {
        name: "f2fs",
        option: "F2FS_FS",
        module: "f2fs",
    },
];
