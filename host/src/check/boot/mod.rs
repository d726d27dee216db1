//! `kernel check --boot`: a smoke boot of the kernel under QEMU, with an initramfs banger
//! writes ([`initramfs`]), once per way the guest can find its devices ([`qemu`]). Each run
//! says whether userspace started, and whether it saw the disk and a virtio network
//! interface; the runs join the check's verdict ([`Boot::ready`]).
//!
//! What it proves, and what not: QEMU's microvm has Firecracker's virtio-mmio transports, its
//! two discovery paths and a serial console, so a kernel that finds its disk here will find
//! it there. It is not Firecracker: no jailer, no seccomp, none of Firecracker's device
//! quirks, and the boot uses banger's initramfs, not the kernel's own `initrd.img`.
//!
//! KVM is used only where it is shown to work: a run is tried under KVM first when
//! `/dev/kvm` opens, and if that run does not reach userspace, it and every later run go to
//! TCG (some machines open `/dev/kvm` and then fail with "KVM internal error").

pub mod initramfs;
pub mod qemu;

use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, Result};
use serde::Serialize;

use super::{rules::Discovery as Supported, Machine, Mode};
use crate::{ui::hint::Hinted, ui::text::inert};
use qemu::{Accel, Console, Discovery, Ended, Vm};

/// What the user asked of the boot.
#[derive(Clone, Debug)]
pub struct Request {
    /// Each run's limit.
    pub timeout: Duration,
    /// A static busybox for the guest; else `busybox` on `PATH`.
    pub busybox: Option<PathBuf>,
}

/// The programs a boot needs, found before anything else is checked.
pub struct Tools {
    qemu: PathBuf,
    busybox: PathBuf,
}

/// The largest busybox banger copies into an initramfs (Debian's static one: about 2 MiB).
const MAX_BUSYBOX: u64 = 32 << 20;
/// A run tried under KVM gets at most this long before banger gives up on KVM.
const KVM_TRIAL: Duration = Duration::from_secs(20);
/// The raw disk each run gets: small, zeros, read-only.
const DISK_BYTES: u64 = 1 << 20;

/// Find QEMU for `machine` and a static busybox built for it; an error naming the Debian
/// packages that provide what is missing.
pub fn tools(machine: Machine, busybox: Option<&Path>) -> Result<Tools> {
    let (program, package) = match machine {
        Machine::X86_64 => ("qemu-system-x86_64", "qemu-system-x86"),
        Machine::Arm64 => ("qemu-system-aarch64", "qemu-system-arm"),
    };
    let qemu = qemu::find_on_path(program).ok_or_else(|| {
        Hinted::error(
            format!("--boot needs `{program}`, which is not on PATH"),
            format!("on Debian or Ubuntu: apt-get install --no-install-recommends {package}"),
        )
    })?;
    let busybox_package = match machine {
        Machine::X86_64 => "busybox-static".to_owned(),
        Machine::Arm64 => format!("busybox-static:{}", "arm64"),
    };
    let busybox = match busybox {
        Some(path) => path.to_owned(),
        None => qemu::find_on_path("busybox").ok_or_else(|| {
            Hinted::error(
                "--boot needs a static busybox: none is on PATH and --busybox was not given",
                format!("on Debian or Ubuntu: apt-get install {busybox_package}, or pass --busybox FILE"),
            )
        })?,
    };
    check_busybox(&busybox, machine).map_err(|problem| {
        Hinted::error(
            format!("busybox `{}` {problem}", busybox.display()),
            format!("the guest needs a static busybox for {}: Debian's {busybox_package}, passed with --busybox FILE", machine.as_str()),
        )
    })?;
    Ok(Tools { qemu, busybox })
}

/// Whether `path` is a static ELF executable for `machine`; what is wrong if not.
fn check_busybox(path: &Path, machine: Machine) -> std::result::Result<(), String> {
    let mut head = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(64 << 10).read_to_end(&mut head))
        .map_err(|e| format!("cannot be read: {e}"))?;
    // Offsets come from the file: the readers are bounds-checked and cannot overflow.
    let u16_at = |at: usize| banger_kernel_image::le::u16_at(&head, at);
    let u32_at = |at: usize| banger_kernel_image::le::u32_at(&head, at);
    let u64_at = |at: usize| banger_kernel_image::le::u64_at(&head, at);
    if !head.starts_with(b"\x7fELF\x02\x01") {
        return Err("is not a 64-bit little-endian ELF executable".into());
    }
    let wanted = match machine {
        Machine::X86_64 => banger_kernel_image::EM_X86_64,
        Machine::Arm64 => banger_kernel_image::EM_AARCH64,
    };
    let found = u16_at(18).unwrap_or(0);
    if found != wanted {
        return Err(format!(
            "is built for {}, not {}",
            banger_kernel_image::machine_name(found),
            machine.as_str()
        ));
    }
    // A dynamic executable names its loader in a PT_INTERP program header; the guest has none.
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(32), u16_at(54), u16_at(56)) else {
        return Err("has a cut-short ELF header".into());
    };
    for i in 0..u64::from(phnum) {
        let at = phoff.saturating_add(i.saturating_mul(u64::from(phentsize)));
        let kind = usize::try_from(at).ok().and_then(u32_at);
        match kind {
            Some(3) => return Err("is dynamically linked; the guest has no libc".into()),
            Some(_) => {}
            None => return Err("has program headers banger cannot read".into()),
        }
    }
    Ok(())
}

/// One run, as reported.
#[derive(Debug, Serialize)]
pub struct Run {
    pub discovery: Discovery,
    pub accel: Accel,
    /// Whether `/init` ran and printed its marker.
    pub userspace: bool,
    /// `uname -r` in the guest.
    pub release: Option<String>,
    /// Whether `/sys/block/vda` existed.
    pub disk: bool,
    /// Whether a network interface with the `virtio_net` driver existed.
    pub net: bool,
    pub seconds: f64,
    /// How it ended: `reboot`, `timeout`, `killed after the marker`, `exit N`, `QEMU killed by
    /// signal N`.
    pub ended: String,
    /// The console's last lines (and QEMU's messages), for a run that failed; untrusted text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console: Option<Vec<String>>,
}

/// The boot's result.
#[derive(Debug, Serialize)]
pub struct Boot {
    pub ready: bool,
    /// What became of KVM: used, not tried (why), or failed and replaced by TCG.
    pub kvm: String,
    pub runs: Vec<Run>,
    /// Why the boot is not ready, one sentence each.
    pub problems: Vec<String>,
}

impl Boot {
    /// A boot that did not happen, for the reason given.
    pub fn not_booted(reason: String) -> Self {
        Boot {
            ready: false,
            kvm: "not tried".into(),
            runs: Vec::new(),
            problems: vec![format!("not booted: {reason}")],
        }
    }
}

/// Boot `kernel` once per discovery path of `machine`, and judge the runs: every path the
/// config supports must reach userspace, and in `root-device` mode see the disk.
pub fn boot(
    tools: &Tools,
    machine: Machine,
    kernel: &Path,
    supported: Supported,
    mode: Mode,
    timeout: Duration,
) -> Result<Boot> {
    let scratch = tempfile::tempdir().context("cannot create a scratch directory for the boot")?;
    let initrd = scratch.path().join("init.cpio");
    let disk = scratch.path().join("disk.img");
    let nonce = nonce();
    let busybox = read_busybox(&tools.busybox)?;
    let mut cpio = Vec::with_capacity(busybox.len() + 4096);
    initramfs::write(&mut cpio, &busybox, &initramfs::init_script(&nonce))
        .context("cannot write the boot's initramfs")?;
    fs::write(&initrd, cpio).with_context(|| format!("cannot write `{}`", initrd.display()))?;
    fs::File::create(&disk)
        .and_then(|f| f.set_len(DISK_BYTES))
        .with_context(|| format!("cannot write `{}`", disk.display()))?;

    let paths: &[Discovery] = match machine {
        Machine::X86_64 => &[Discovery::Acpi, Discovery::Cmdline],
        Machine::Arm64 => &[Discovery::DeviceTree],
    };
    let mut kvm = Kvm::probe(machine);
    let mut runs = Vec::new();
    for &discovery in paths {
        let vm = |accel, timeout| Vm {
            qemu: &tools.qemu,
            machine,
            discovery,
            accel,
            kernel,
            initrd: &initrd,
            disk: &disk,
            timeout,
        };
        let console = match kvm {
            Kvm::Untried => {
                let trial = vm(Accel::Kvm, timeout.min(KVM_TRIAL)).run(&nonce)?;
                if trial.marker.is_some() {
                    kvm = Kvm::Works;
                    (Accel::Kvm, trial)
                } else {
                    kvm = Kvm::Failed(last_qemu_message(&trial));
                    (Accel::Tcg, vm(Accel::Tcg, timeout).run(&nonce)?)
                }
            }
            Kvm::Works => (Accel::Kvm, vm(Accel::Kvm, timeout).run(&nonce)?),
            Kvm::Failed(_) | Kvm::NotTried(_) => (Accel::Tcg, vm(Accel::Tcg, timeout).run(&nonce)?),
        };
        runs.push(report(discovery, console.0, console.1));
    }
    let problems = judge(&runs, supported, mode);
    Ok(Boot {
        ready: problems.is_empty(),
        kvm: kvm.describe(),
        runs,
        problems,
    })
}

/// What is known about KVM on this machine.
enum Kvm {
    Untried,
    Works,
    Failed(String),
    NotTried(&'static str),
}

impl Kvm {
    fn probe(machine: Machine) -> Self {
        if machine != Machine::host() {
            return Kvm::NotTried("the kernel is for another arch than this machine");
        }
        match fs::File::options().read(true).write(true).open("/dev/kvm") {
            Ok(_) => Kvm::Untried,
            Err(_) => Kvm::NotTried("/dev/kvm cannot be opened"),
        }
    }

    fn describe(&self) -> String {
        match self {
            Kvm::Untried => "not needed".into(),
            Kvm::Works => "used".into(),
            Kvm::Failed(why) => format!("failed ({why}); the runs used TCG"),
            Kvm::NotTried(why) => format!("not tried: {why}; the runs used TCG"),
        }
    }
}

/// QEMU's last message of a failed KVM trial, else how it ended.
fn last_qemu_message(console: &Console) -> String {
    console
        .tail
        .iter()
        .rev()
        .find_map(|line| line.strip_prefix("qemu: "))
        .map(|line| inert(line).into_owned())
        .unwrap_or_else(|| format!("the trial run ended with {}", ended(&console.ended)))
}

fn ended(ended: &Ended) -> String {
    match ended {
        Ended::Exited(Some(0)) => "reboot".into(),
        Ended::Exited(Some(code)) => format!("exit {code}"),
        Ended::Exited(None) => "an unknown status".into(),
        Ended::Signalled(signal) => format!("QEMU killed by signal {signal}"),
        Ended::TimedOut => "timeout".into(),
        Ended::KilledAfterMarker => "killed after the marker".into(),
    }
}

/// The run as reported. What the guest printed is made inert here, so the JSON carries no
/// control character or direction override either (serde escapes only C0 controls).
fn report(discovery: Discovery, accel: Accel, console: Console) -> Run {
    let field = |name: &str| {
        console.marker.as_deref().and_then(|marker| {
            marker
                .split_whitespace()
                .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
                .map(|value| inert(value).into_owned())
        })
    };
    let userspace = console.marker.is_some();
    Run {
        discovery,
        accel,
        userspace,
        release: field("release"),
        disk: field("disk").as_deref() == Some("yes"),
        net: field("net").as_deref() == Some("yes"),
        seconds: (console.elapsed.as_secs_f64() * 10.0).round() / 10.0,
        ended: ended(&console.ended),
        console: (!userspace).then(|| {
            console
                .tail
                .iter()
                .map(|line| inert(line).into_owned())
                .collect()
        }),
    }
}

/// Why the runs make the kernel not ready, if they do.
fn judge(runs: &[Run], supported: Supported, mode: Mode) -> Vec<String> {
    let mut problems = Vec::new();
    for run in runs {
        let expected = match run.discovery {
            Discovery::Acpi => supported.acpi == Some(true),
            Discovery::Cmdline => supported.cmdline == Some(true),
            Discovery::DeviceTree => true,
        };
        let name = discovery_name(run.discovery);
        if expected && !run.userspace {
            problems.push(format!(
                "the {name} run did not reach userspace ({})",
                run.ended
            ));
        } else if expected && mode == Mode::RootDevice && !run.disk {
            problems.push(format!(
                "the {name} run reached userspace without seeing /dev/vda: a root disk would not be found"
            ));
        }
    }
    if !runs.iter().any(|r| r.userspace) {
        problems.push("no run reached userspace".into());
    } else if mode == Mode::RootDevice && problems.is_empty() && !runs.iter().any(|r| r.disk) {
        problems.push("no run saw /dev/vda".into());
    }
    problems.dedup();
    problems
}

/// How a discovery path reads in a sentence.
pub fn discovery_name(discovery: Discovery) -> &'static str {
    match discovery {
        Discovery::Acpi => "ACPI",
        Discovery::Cmdline => "command-line (virtio_mmio.device=)",
        Discovery::DeviceTree => "device-tree",
    }
}

fn read_busybox(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(MAX_BUSYBOX + 1).read_to_end(&mut bytes))
        .with_context(|| format!("cannot read busybox `{}`", path.display()))?;
    anyhow::ensure!(
        bytes.len() as u64 <= MAX_BUSYBOX,
        "busybox `{}` is larger than {MAX_BUSYBOX} bytes",
        path.display()
    );
    Ok(bytes)
}

/// A value no kernel prints before banger's `/init` runs: the time and process id.
fn nonce() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}{:x}", std::process::id())
}

#[cfg(test)]
mod tests;
