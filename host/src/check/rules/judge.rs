//! Judging a config against the rules table for a machine and a boot mode: one finding per
//! rule that applies, and which ways an x86_64 kernel can find its devices.

use serde::Serialize;

use super::{
    super::{
        config::{Config, Have},
        modules::Modules,
        Machine, Mode,
    },
    Group, Need, Path, RootFs, Rule, RULES,
};

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
            let (severity, mut why) = verdict(rule, have, discovery);
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

/// How much `rule` matters with the option at `have`, and why, given the discovery paths
/// the config leaves the kernel.
fn verdict(rule: &Rule, have: Have, discovery: Discovery) -> (Severity, String) {
    match (rule.need, have) {
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
