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

#[cfg(test)]
mod docs;
mod judge;
mod table;
#[cfg(test)]
pub(crate) mod tests;

use super::{Machine, Mode};
pub use judge::{judge, Discovery, Finding, Severity};
pub use table::{ROOT_FILE_SYSTEMS, RULES};

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

/// A root file system `--rootfs-type` names, and the option that builds its driver in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootFs {
    pub name: &'static str,
    pub option: &'static str,
    pub module: &'static str,
}

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
