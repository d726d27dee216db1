//! `banger kernel check NAME | --path DIR`: the check is `crate::check`'s; this resolves what
//! to check, prints the report as a table or JSON, and sets the exit status (0 ready, 1 not
//! ready, 2 cannot be checked).

use std::time::Duration;

use anyhow::Result;

use crate::{
    check::{self, boot, rules::Severity, Machine, Report, Request},
    cli::CheckArgs,
    store::kernels::Kernels,
    ui::exit::{CannotCheck, NotReady},
    ui::output::{print_json, print_table},
    ui::text::say,
};

pub fn run(kernels: &Kernels, args: CheckArgs) -> Result<()> {
    let subject = match (&args.name, &args.path) {
        (Some(name), _) => format!("kernel `{name}`"),
        (None, Some(path)) => format!("`{}`", path.display()),
        (None, None) => "the kernel".to_owned(),
    };
    let report = checked(kernels, &args).map_err(|e| e.context(CannotCheck(subject.clone())))?;
    if args.json {
        // The JSON's shape is fixed; what does not fit it goes to stderr.
        for note in &report.notes {
            crate::ui::text::warn(&note.message);
        }
        print_json(&report)?;
    } else {
        print_text(&subject, &report)?;
    }
    if report.ready {
        Ok(())
    } else {
        Err(NotReady.into())
    }
}

fn checked(kernels: &Kernels, args: &CheckArgs) -> Result<Report> {
    let (dir, arch) = match (&args.name, &args.path) {
        (Some(name), _) => {
            let manifest = kernels.require(name)?;
            if let Some(arch) = args.arch.as_ref().filter(|a| **a != manifest.arch) {
                anyhow::bail!(
                    "kernel `{name}` is installed for {}, not {arch}",
                    manifest.arch
                );
            }
            (kernels.path(name), manifest.arch.to_string())
        }
        (None, Some(path)) => (
            path.clone(),
            args.arch
                .as_ref()
                .map_or_else(|| Machine::host().as_str().to_owned(), ToString::to_string),
        ),
        (None, None) => anyhow::bail!("name a kernel, or pass --path DIR"),
    };
    check::check(&Request {
        dir: &dir,
        follow_links: args.path.is_some(),
        machine: Machine::from_arch(&arch)?,
        config: args.config.as_deref(),
        mode: args.mode,
        rootfs: args.rootfs_type,
        boot: args.boot.then(|| boot::Request {
            timeout: Duration::from_secs(args.boot_timeout),
            busybox: args.busybox.clone(),
        }),
    })
}

fn print_text(subject: &str, report: &Report) -> Result<()> {
    print_summary(subject, report)?;
    say!("")?;
    print_findings(report)?;
    print_notes(report)?;
    if let Some(boot) = &report.boot {
        print_boot(boot)?;
    }
    say!("")?;
    print_verdict(report)
}

/// The kernel in a few lines: release, machine and mode, image, config, device discovery.
fn print_summary(subject: &str, r: &Report) -> Result<()> {
    say!(
        "{}: release {}, {}, {} mode",
        subject,
        r.release.as_deref().unwrap_or("unknown"),
        r.arch,
        r.mode.as_str()
    )?;
    let image = match (r.image.format, r.image.pvh) {
        ("elf", true) => "ELF vmlinux with the PVH entry note (Firecracker >= 1.12 enters through it)",
        ("elf", false) => "ELF vmlinux without the PVH entry note (Firecracker enters through the 64-bit boot protocol)",
        ("arm64-image", _) => "arm64 Image",
        (other, _) => other,
    };
    let image = if r.notes.iter().any(|n| n.severity == Severity::Error) {
        format!("{image} (refused: see below)")
    } else {
        image.to_owned()
    };
    say!("  image    {image}")?;
    let from = r
        .config_path
        .as_ref()
        .map(|p| format!(" (`{}`)", p.display()))
        .unwrap_or_default();
    say!("  config   {}{from}", r.config_source.describe())?;
    if r.arch == "x86_64" {
        let paths = match (r.discovery.acpi, r.discovery.cmdline) {
            (Some(true), Some(true)) => "ACPI and virtio_mmio.device=",
            (Some(true), _) => "ACPI",
            (_, Some(true)) => "virtio_mmio.device=",
            _ => "none",
        };
        say!("  devices  {paths}: {}", r.discovery.firecracker_versions())?;
    }
    Ok(())
}

/// The findings as one table, grouped as the rules table groups them.
fn print_findings(r: &Report) -> Result<()> {
    let mut rows = Vec::new();
    let mut group = None;
    for finding in &r.findings {
        if group != Some(finding.group) {
            group = Some(finding.group);
            rows.push([
                format!("{}:", finding.group.title()),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        let verdict = match finding.severity {
            Severity::Ok => format!("ok ({})", finding.why),
            Severity::Warning => format!("warning: {}", finding.why),
            Severity::Error => format!("ERROR: {}", finding.why),
        };
        rows.push([
            format!("  {}", finding.option),
            finding.needed_for.to_owned(),
            finding.have.as_str().to_owned(),
            verdict,
        ]);
    }
    print_table(["OPTION", "NEEDED FOR", "HAVE", "VERDICT"], &rows)
}

/// Each note, with its hint.
fn print_notes(r: &Report) -> Result<()> {
    for note in &r.notes {
        let label = match note.severity {
            Severity::Error => "ERROR",
            _ => "warning",
        };
        say!("")?;
        say!("{label}: {}", note.message)?;
        if let Some(hint) = &note.hint {
            say!("  hint: {hint}")?;
        }
    }
    Ok(())
}

/// The last line: ready, or not ready and everything that blocks it.
fn print_verdict(r: &Report) -> Result<()> {
    let mut blocking: Vec<String> = r
        .notes
        .iter()
        .filter(|n| n.severity == Severity::Error)
        .map(|_| format!("the {} image", r.image.format))
        .collect();
    blocking.extend(
        r.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| format!("{}={}", f.option, f.have.as_str())),
    );
    if let Some(boot) = r.boot.as_ref().filter(|b| !b.ready) {
        blocking.extend(boot.problems.iter().cloned());
    }
    if r.ready {
        say!("ready for {} on {}", r.mode.as_str(), r.arch)?;
    } else {
        say!(
            "NOT READY for {} on {}: {}",
            r.mode.as_str(),
            r.arch,
            blocking.join("; ")
        )?;
    }
    Ok(())
}

fn print_boot(boot: &boot::Boot) -> Result<()> {
    say!("")?;
    say!("boot under QEMU (KVM: {}):", boot.kvm)?;
    let rows: Vec<[String; 7]> = boot
        .runs
        .iter()
        .map(|run| {
            let yes = |b: bool| if b { "yes" } else { "no" }.to_owned();
            [
                format!("  {}", boot::discovery_name(run.discovery)),
                format!("{:?}", run.accel).to_lowercase(),
                yes(run.userspace),
                yes(run.disk),
                yes(run.net),
                format!("{:.1}", run.seconds),
                run.ended.clone(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        print_table(
            [
                "  DISCOVERY",
                "ACCEL",
                "USERSPACE",
                "DISK",
                "NET",
                "SECONDS",
                "ENDED",
            ],
            &rows,
        )?;
    }
    for run in &boot.runs {
        if let Some(console) = run.console.as_ref().filter(|c| !c.is_empty()) {
            say!(
                "console of the {} run, last {} lines:",
                boot::discovery_name(run.discovery),
                console.len()
            )?;
            for line in console {
                say!("  | {line}")?;
            }
        }
    }
    for problem in &boot.problems {
        say!("  {problem}")?;
    }
    Ok(())
}
