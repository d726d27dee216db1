//! `banger kernel check`: whether a kernel will boot in Firecracker, from its files alone
//! (the static check) and, when asked, from a smoke boot under QEMU ([`boot`]).
//!
//! The static check reads the image the way Firecracker's loaders do
//! (`banger_kernel_image`), finds a config ([`source`]), judges it against the one rules
//! table ([`rules`]) for the machine and boot mode, and checks `modules/` against the image's
//! release ([`modules`]). [`check`] returns a [`Report`]; the command prints it. Failing to
//! read an input is an error (exit status 2); a kernel that is not ready is a report with
//! `ready: false` (exit status 1). [`Readiness`] is the short form stored in `manifest.json`
//! by `kernel import` and `pull`, and required by `kernel publish`.

pub mod boot;
mod config;
mod modules;
pub mod rules;
mod source;

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

pub use rules::RootFs;
pub use source::ConfigSource;

use rules::{Discovery, Finding, Severity};

/// The machines Firecracker runs guests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machine {
    X86_64,
    Arm64,
}

impl Machine {
    /// The machine of a catalog arch (`x86_64`, `arm64`).
    pub fn from_arch(arch: &str) -> Result<Self> {
        match arch {
            "x86_64" => Ok(Machine::X86_64),
            "arm64" => Ok(Machine::Arm64),
            other => anyhow::bail!("banger cannot check kernels for arch `{other}`"),
        }
    }

    pub fn host() -> Self {
        Self::from_arch(banger_catalog::host_arch()).unwrap_or(Machine::X86_64)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Machine::X86_64 => "x86_64",
            Machine::Arm64 => "arm64",
        }
    }
}

/// How the VM boots: from an initrd, or straight from a root block device (`/dev/vda`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    RootDevice,
    Initrd,
}

/// The names `--mode` takes.
pub const MODES: [&str; 2] = ["root-device", "initrd"];

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "root-device" => Ok(Mode::RootDevice),
            "initrd" => Ok(Mode::Initrd),
            other => Err(format!("`{other}` is not a mode (root-device, initrd)")),
        }
    }
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::RootDevice => "root-device",
            Mode::Initrd => "initrd",
        }
    }

    /// The mode a kernel directory boots in when none is named: `initrd` when it has an
    /// `initrd.img`, else `root-device`.
    pub fn default_for(dir: &Path) -> Self {
        if dir.join("initrd.img").symlink_metadata().is_ok() {
            Mode::Initrd
        } else {
            Mode::RootDevice
        }
    }
}

/// What to check.
pub struct Request<'a> {
    /// A kernel directory: `vmlinux`, optional `initrd.img`, `modules/`, `config`.
    pub dir: &'a Path,
    /// Follow a `vmlinux` or `modules` that is a symbolic link: for a directory the user
    /// names, never for an installed kernel (banger does not follow links it did not make in
    /// its state directory).
    pub follow_links: bool,
    pub machine: Machine,
    /// `--config FILE`, used when the kernel has no config of its own.
    pub config: Option<&'a Path>,
    /// The boot mode; [`Mode::default_for`] the directory when `None`.
    pub mode: Option<Mode>,
    pub rootfs: RootFs,
    /// The smoke boot, if asked for.
    pub boot: Option<boot::Request>,
}

/// The image as reported.
#[derive(Debug, Serialize)]
pub struct ImageReport {
    /// `elf`, `arm64-image`, `bzimage`, `gzip`, `efi-zboot`, `unknown`.
    pub format: &'static str,
    /// Whether an x86_64 ELF carries the PVH entry note (Firecracker >= 1.12 uses it).
    pub pvh: bool,
}

/// Something the check says besides the rules' findings.
#[derive(Debug, Clone)]
pub struct Note {
    pub severity: Severity,
    pub message: String,
    pub hint: Option<String>,
}

impl Note {
    fn warning(message: String) -> Self {
        Note {
            severity: Severity::Warning,
            message,
            hint: None,
        }
    }

    /// The image's refusal by Firecracker's loader, with its hint.
    fn refused(refused: &banger_kernel_image::Error) -> Self {
        Note {
            severity: Severity::Error,
            message: refused.to_string(),
            hint: refused.hint().map(str::to_owned),
        }
    }
}

/// The result of a check. Its JSON form is stable (docs/kernel-check.md).
#[derive(Debug, Serialize)]
pub struct Report {
    pub ready: bool,
    pub mode: Mode,
    pub arch: &'static str,
    pub release: Option<String>,
    pub image: ImageReport,
    pub config_source: ConfigSource,
    pub discovery: Discovery,
    pub findings: Vec<Finding>,
    pub boot: Option<boot::Boot>,
    /// The file the config was read from.
    #[serde(skip)]
    pub config_path: Option<PathBuf>,
    /// The image's refusal, a config for another series, `modules/` for another release.
    #[serde(skip)]
    pub notes: Vec<Note>,
}

/// Check the kernel `request` names.
pub fn check(request: &Request) -> Result<Report> {
    let machine = request.machine;
    let vmlinux = request.dir.join("vmlinux");
    require_file(&vmlinux, request.follow_links)?;
    // Fail fast on what the boot needs, before the slow reads.
    let tools = match &request.boot {
        Some(boot) => Some(boot::tools(machine, boot.busybox.as_deref())?),
        None => None,
    };
    // Nothing is decompressed here: a bzImage is refused as it is (it must be imported), so
    // reading its payload for a release or an IKCONFIG copy would only cost memory.
    let image = banger_kernel_image::identify_header(&vmlinux)?;
    let mut notes = Vec::new();
    let loadable = image.format.loadable(&vmlinux, machine.as_str());
    if let Err(refused) = &loadable {
        notes.push(Note::refused(refused));
    }
    let release = image.release.clone();
    let modules = modules::Modules::scan(request.dir, release.as_deref(), request.follow_links)?;
    notes.extend(release_note(&vmlinux, release.as_deref(), modules.as_ref()));
    let found = source::find(
        request.dir,
        request.follow_links,
        request.config,
        loadable.is_ok().then_some(vmlinux.as_path()),
        modules.as_ref(),
        request.rootfs,
        &mut notes,
    )?;
    if let (Some(header), Some(release)) = (&found.config.version, &release) {
        if !config::same_series(header, release) {
            notes.push(Note::warning(format!(
                "the config is for Linux {header} (its header), but the image is release `{release}`: is it this kernel's config?"
            )));
        }
    }
    let mode = request
        .mode
        .unwrap_or_else(|| Mode::default_for(request.dir));
    let judged = rules::judge(
        &found.config,
        machine,
        mode,
        request.rootfs,
        modules.as_ref(),
        release.as_deref(),
    );
    let static_ready = judged.ready() && loadable.is_ok();
    let boot = smoke_boot(
        request,
        tools.as_ref(),
        &vmlinux,
        &loadable,
        image.format.pvh(),
        judged.discovery,
        mode,
    )?;
    Ok(Report {
        ready: static_ready && boot.as_ref().is_none_or(|b| b.ready),
        mode,
        arch: machine.as_str(),
        release,
        image: ImageReport {
            format: image.format.name(),
            pvh: image.format.pvh(),
        },
        config_source: found.source,
        discovery: judged.discovery,
        findings: judged.findings,
        boot,
        config_path: found.path,
        notes,
    })
}

/// The smoke boot, when the request asks for one; none is tried when the image is refused,
/// or is an x86_64 ELF without the PVH entry note QEMU's microvm needs.
fn smoke_boot(
    request: &Request,
    tools: Option<&boot::Tools>,
    vmlinux: &Path,
    loadable: &Result<(), banger_kernel_image::Error>,
    pvh: bool,
    discovery: Discovery,
    mode: Mode,
) -> Result<Option<boot::Boot>> {
    let (Some(asked), Some(tools)) = (&request.boot, tools) else {
        return Ok(None);
    };
    let machine = request.machine;
    Ok(Some(match loadable {
        Err(refused) => boot::Boot::not_booted(refused.to_string()),
        Ok(()) if machine == Machine::X86_64 && !pvh => boot::Boot::not_booted(
            "QEMU's microvm boots an ELF vmlinux only through its PVH entry note, which this one lacks (CONFIG_PVH)".into(),
        ),
        Ok(()) => boot::boot(tools, machine, vmlinux, discovery, mode, asked.timeout)?,
    }))
}

/// Refuse a `vmlinux` that is not a regular file; a symbolic link counts as one only with
/// `follow_links`.
fn require_file(vmlinux: &Path, follow_links: bool) -> Result<()> {
    let metadata = match follow_links {
        true => vmlinux.metadata(),
        false => vmlinux.symlink_metadata(),
    };
    match metadata {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => anyhow::bail!("`{}` is not a regular file", vmlinux.display()),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "cannot read the kernel image `{}`",
            vmlinux.display()
        ))),
    }
}

/// The warning on the image's release: it states none, so `modules/` cannot be matched to it, or
/// `modules/` holds only other releases.
fn release_note(
    vmlinux: &Path,
    release: Option<&str>,
    modules: Option<&modules::Modules>,
) -> Option<Note> {
    let Some(release) = release else {
        return Some(Note::warning(format!(
            "`{}` states no release (no `Linux version` banner): modules/ cannot be matched to it",
            vmlinux.display()
        )));
    };
    modules?.mismatch(release).map(Note::warning)
}

/// The static verdict in short, as `manifest.json` keeps it (field `check`): the kernel's
/// default mode, ext4, its own config, no boot.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    pub mode: Mode,
    pub config_source: Option<ConfigSource>,
    /// What makes it not ready: `CONFIG_VIRTIO_BLK=m`, `image: bzimage`, or why it could not be
    /// checked.
    pub errors: Vec<String>,
    /// Options worth a warning: `CONFIG_VIRTIO_NET=m`.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl Readiness {
    /// The static check of the kernel in `dir` for `arch`, in its default mode; a kernel that
    /// cannot be checked is not ready, with the reason as its error.
    pub fn of(dir: &Path, arch: &str) -> Self {
        let mode = Mode::default_for(dir);
        let report = Machine::from_arch(arch).and_then(|machine| {
            check(&Request {
                dir,
                follow_links: false,
                machine,
                config: None,
                mode: Some(mode),
                rootfs: rules::ROOT_FILE_SYSTEMS[0],
                boot: None,
            })
        });
        match report {
            Ok(report) => Self::from_report(&report),
            Err(error) => Readiness {
                ready: false,
                mode,
                config_source: None,
                errors: vec![
                    crate::ui::text::inert(&format!("cannot be checked: {error:#}")).into_owned(),
                ],
                warnings: Vec::new(),
            },
        }
    }

    pub fn from_report(report: &Report) -> Self {
        let listed = |severity| {
            report
                .findings
                .iter()
                .filter(|f| f.severity == severity)
                .map(|f| format!("{}={}", f.option, f.have.as_str()))
                .collect::<Vec<_>>()
        };
        let mut errors = Vec::new();
        if report.notes.iter().any(|n| n.severity == Severity::Error) {
            errors.push(format!("image: {}", report.image.format));
        }
        errors.extend(listed(Severity::Error));
        Readiness {
            ready: report.ready,
            mode: report.mode,
            config_source: Some(report.config_source),
            errors,
            warnings: listed(Severity::Warning),
        }
    }

    /// One line for `kernel show`.
    pub fn summary(&self) -> String {
        let mut line = if self.ready {
            format!("ready for {}", self.mode.as_str())
        } else {
            format!(
                "not ready for {}: {}",
                self.mode.as_str(),
                self.errors.join(", ")
            )
        };
        if let Some(source) = self.config_source {
            line.push_str(&format!(" (config: {})", source.describe()));
        }
        line
    }
}
