//! The rules a Firecracker guest kernel's config must meet: one table ([`RULES`]), and how a
//! config is judged against it for a machine and a boot mode ([`judge`]).
//!
//! The table is the only statement of the rules. `docs/kernel-check.md` renders it (a test
//! fails when the page is out of date), so the documentation cannot drift from the code.
//! Sources: Firecracker's `docs/kernel-policy.md` ("Minimal boot requirements", "Booting with
//! ACPI", the ARM and x86_64 lists), the CI configs in `resources/guest_configs/` (which
//! build virtio, ext4 and the 8250 console in), and the user reports cited per row.
//!
//! What this does not judge: whether the options work together (a config that sets
//! `VIRTIO_BLK=y` with a broken driver passes), or anything but `y`, `m` and unset.

use serde::Serialize;

use super::{
    config::{Config, Have},
    modules::Modules,
    Machine, Mode,
};

/// How much a rule matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Must be built in, or the kernel is not ready.
    Required,
    /// One of the two ways x86_64 guests find their virtio-mmio devices; one way must work.
    Discovery(Path),
    /// Wanted built in; without it a warning, and the VM lacks what the rule names.
    Wanted,
}

/// The two ways Firecracker tells an x86_64 guest where its virtio-mmio devices are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// The DSDT of Firecracker's ACPI tables, since 1.8.
    Acpi,
    /// `virtio_mmio.device=` on the kernel command line, in every version.
    Cmdline,
}

/// The group a rule is shown in, as moby's `check-config.sh` groups its options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Boot,
    Devices,
    Console,
    Features,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Boot => "Generally necessary",
            Group::Devices => "Device discovery (x86_64)",
            Group::Console => "Boot log",
            Group::Features => "Optional features",
        }
    }
}

/// Which machines a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machines {
    All,
    Only(Machine),
}

/// Which boot modes a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modes {
    Both,
    Only(Mode),
}

/// What a rule is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A Kconfig option, without `CONFIG_`.
    Option(&'static str),
    /// The root file system's driver, chosen with `--rootfs-type` ([`ROOT_FILE_SYSTEMS`]).
    RootFs,
}

/// One rule.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub subject: Subject,
    /// The module the option builds as `m`, as `modules.builtin` and `.ko` files name it.
    pub module: Option<&'static str>,
    pub machines: Machines,
    pub modes: Modes,
    pub need: Need,
    pub group: Group,
    /// What it is needed for, in a few words (the table's "needed for" column).
    pub needed_for: &'static str,
    /// What goes wrong without it.
    pub without: &'static str,
    /// Where the rule comes from.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "rendered into docs/kernel-check.md by a test")
    )]
    pub source: &'static str,
}

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

/// A root file system `--rootfs-type` names, and the option that builds its driver in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootFs {
    pub name: &'static str,
    pub option: &'static str,
    pub module: &'static str,
}

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

impl std::str::FromStr for RootFs {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        ROOT_FILE_SYSTEMS
            .iter()
            .find(|fs| fs.name == name)
            .copied()
            .ok_or_else(|| {
                let known: Vec<_> = ROOT_FILE_SYSTEMS.iter().map(|fs| fs.name).collect();
                format!(
                    "`{name}` is not a root file system banger knows ({})",
                    known.join(", ")
                )
            })
    }
}

impl Rule {
    /// Whether the rule applies to `machine` booting in `mode`.
    pub fn applies(&self, machine: Machine, mode: Mode) -> bool {
        let machine_ok = match self.machines {
            Machines::All => true,
            Machines::Only(m) => m == machine,
        };
        let mode_ok = match self.modes {
            Modes::Both => true,
            Modes::Only(m) => m == mode,
        };
        machine_ok && mode_ok
    }

    /// The option and module the rule checks, with the root file system resolved.
    fn option(&self, rootfs: RootFs) -> (&'static str, Option<&'static str>) {
        match self.subject {
            Subject::Option(option) => (option, self.module),
            Subject::RootFs => (rootfs.option, Some(rootfs.module)),
        }
    }
}

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Error,
}

/// One rule, judged.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// In full: `CONFIG_VIRTIO_BLK`.
    pub option: String,
    /// Always `y`: every rule wants the option built in.
    pub want: &'static str,
    pub have: Have,
    pub severity: Severity,
    pub why: String,
    #[serde(skip)]
    pub needed_for: &'static str,
    #[serde(skip)]
    pub group: Group,
}

/// Which discovery paths an x86_64 kernel supports; `None` on arm64, whose devices come in
/// the device tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Discovery {
    pub acpi: Option<bool>,
    pub cmdline: Option<bool>,
}

impl Discovery {
    /// Whether the kernel can find its devices at all.
    pub fn any(&self) -> bool {
        self.acpi.unwrap_or(true) || self.cmdline.unwrap_or(true)
    }

    /// Which Firecracker versions can give the kernel its devices, in a sentence.
    pub fn firecracker_versions(&self) -> &'static str {
        match (self.acpi, self.cmdline) {
            (None, _) | (_, None) => "every Firecracker version (devices in the device tree)",
            (Some(true), Some(true)) => {
                "every Firecracker version (ACPI from 1.8, the command line before)"
            }
            (Some(true), Some(false)) => "Firecracker 1.8 and later (ACPI tables)",
            (Some(false), Some(true)) => "every Firecracker version (virtio_mmio.device=)",
            (Some(false), Some(false)) => "no Firecracker version: it cannot find its devices",
        }
    }
}

/// The config judged against every rule that applies to `machine` and `mode`.
pub struct Judged {
    pub findings: Vec<Finding>,
    pub discovery: Discovery,
}

impl Judged {
    /// Whether no finding is an error.
    pub fn ready(&self) -> bool {
        self.findings.iter().all(|f| f.severity != Severity::Error)
    }
}

/// Judge `config` for `machine` booting in `mode` with root file system `rootfs`. `modules`
/// (the kernel's `modules/`, if any) says whether a module the config builds as `m` is there
/// to load; `release` names its directory in messages.
pub fn judge(
    config: &Config,
    machine: Machine,
    mode: Mode,
    rootfs: RootFs,
    modules: Option<&Modules>,
    release: Option<&str>,
) -> Judged {
    let path_works = |path: Path| {
        RULES
            .iter()
            .filter(|r| r.need == Need::Discovery(path) && r.applies(machine, mode))
            .all(|r| config.have(r.option(rootfs).0) == Have::Builtin)
    };
    let discovery = match machine {
        Machine::X86_64 => Discovery {
            acpi: Some(path_works(Path::Acpi)),
            cmdline: Some(path_works(Path::Cmdline)),
        },
        Machine::Arm64 => Discovery {
            acpi: None,
            cmdline: None,
        },
    };
    let findings = RULES
        .iter()
        .filter(|rule| rule.applies(machine, mode))
        .map(|rule| {
            let (option, module) = rule.option(rootfs);
            let have = config.have(option);
            let (severity, mut why) = match (rule.need, have) {
                (_, Have::Builtin) => (Severity::Ok, "built in".to_owned()),
                (Need::Discovery(path), _) if discovery.any() => (
                    Severity::Ok,
                    format!(
                        "not needed: the kernel finds its devices through {}",
                        match path {
                            Path::Acpi => "virtio_mmio.device= on the command line",
                            Path::Cmdline => "ACPI",
                        }
                    ),
                ),
                (Need::Required | Need::Discovery(_), Have::Module) => (
                    Severity::Error,
                    format!(
                        "a module, not there when the kernel needs it: {}",
                        rule.without
                    ),
                ),
                (Need::Required, Have::Unset) => (Severity::Error, rule.without.to_owned()),
                (Need::Discovery(_), Have::Unset) => (
                    Severity::Error,
                    format!("{}; and the other discovery path is off too", rule.without),
                ),
                (Need::Wanted, Have::Module) => (
                    Severity::Warning,
                    format!(
                        "a module: {} until the initrd or root file system loads it",
                        rule.without
                    ),
                ),
                (Need::Wanted, Have::Unset) => (Severity::Warning, rule.without.to_owned()),
            };
            if let (Have::Module, Some(module)) = (have, module) {
                if let Some(missing) = missing_module(modules, module, release) {
                    why.push_str("; and ");
                    why.push_str(&missing);
                }
            }
            Finding {
                option: format!("CONFIG_{option}"),
                want: "y",
                have,
                severity,
                why,
                needed_for: rule.needed_for,
                group: rule.group,
            }
        })
        .collect();
    Judged {
        findings,
        discovery,
    }
}

/// Why module `module` cannot be loaded from the kernel's `modules/`, if it cannot.
fn missing_module(
    modules: Option<&Modules>,
    module: &str,
    release: Option<&str>,
) -> Option<String> {
    let release = release.unwrap_or("<release>");
    match modules {
        None => Some(format!(
            "the kernel has no modules/ to load `{module}` from"
        )),
        Some(m) if !m.has_release => Some(format!(
            "modules/ has no `{release}` directory to load `{module}` from"
        )),
        Some(m) if !m.is_loadable(module) => {
            Some(format!("modules/{release}/ has no `{module}.ko`"))
        }
        Some(_) => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The rules table as docs/kernel-check.md shows it.
    fn rules_markdown() -> String {
        let mut out = String::from(
            "| option | machine | mode | need | needed for | without it | source |\n|---|---|---|---|---|---|---|\n",
        );
        for rule in RULES {
            let option = match rule.subject {
                Subject::Option(option) => format!("`CONFIG_{option}`"),
                Subject::RootFs => "the root file system (`--rootfs-type`, below)".to_owned(),
            };
            let machine = match rule.machines {
                Machines::All => "all",
                Machines::Only(machine) => machine.as_str(),
            };
            let mode = match rule.modes {
                Modes::Both => "both",
                Modes::Only(mode) => mode.as_str(),
            };
            let need = match rule.need {
                Need::Required => "error unless `y`",
                Need::Discovery(Path::Acpi) => "one path `y`: ACPI (with `PCI`)",
                Need::Discovery(Path::Cmdline) => "one path `y`: command line",
                Need::Wanted => "warning unless `y`",
            };
            out.push_str(&format!(
                "| {option} | {machine} | {mode} | {need} | {} | {} | {} |\n",
                rule.needed_for,
                rule.without.replace('|', "\\|"),
                rule.source
            ));
        }
        out
    }

    fn rootfs_markdown() -> String {
        let mut out = String::from("| `--rootfs-type` | option | module |\n|---|---|---|\n");
        for fs in ROOT_FILE_SYSTEMS {
            out.push_str(&format!(
                "| `{}` | `CONFIG_{}` | `{}` |\n",
                fs.name, fs.option, fs.module
            ));
        }
        out
    }

    /// docs/kernel-check.md shows the tables above between its markers. Run with
    /// `BANGER_BLESS=1` to rewrite them after changing the rules.
    #[test]
    fn the_docs_render_this_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/kernel-check.md");
        let mut doc = std::fs::read_to_string(&path).unwrap();
        let mut stale = Vec::new();
        for (name, table) in [("rules", rules_markdown()), ("rootfs", rootfs_markdown())] {
            let (begin, end) = (
                format!("<!-- {name}:begin -->\n"),
                format!("<!-- {name}:end -->"),
            );
            let start = doc
                .find(&begin)
                .unwrap_or_else(|| panic!("no {begin:?} in the docs"))
                + begin.len();
            let stop = start
                + doc[start..]
                    .find(&end)
                    .unwrap_or_else(|| panic!("no {end:?}"));
            if doc[start..stop] != table {
                stale.push(name);
                doc.replace_range(start..stop, &table);
            }
        }
        if std::env::var_os("BANGER_BLESS").is_some() {
            std::fs::write(&path, doc).unwrap();
        } else {
            assert!(
                stale.is_empty(),
                "docs/kernel-check.md is out of date ({stale:?}); run with BANGER_BLESS=1"
            );
        }
    }

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
}
