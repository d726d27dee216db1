//! `banger kernel …`: one module per subcommand. This one only dispatches; shared pieces live
//! below the commands (`plugins` opens sources, `Kernels` knows what is installed, `trust`
//! decides what is verified, `pull` installs).

mod catalog;
mod check;
mod gc;
mod import;
mod list;
mod mirror;
mod publish;
mod pull;
mod rm;
mod show;
mod upgrade;

use anyhow::Result;
use serde::Serialize;

use crate::{
    check::Readiness,
    cli::{KernelCommand, SourceArgs},
    flows::pull::{Outcome, Status},
    plugins::{self, HostOptions, Source},
    store::images::{ImageName, Images},
    store::kernels::Kernels,
    store::manifest::Trust,
    store::state::State,
    trust::catalog::Trusted,
    ui::output::print_json,
    ui::text::{say, tell},
};

pub fn run(command: KernelCommand) -> Result<()> {
    let state = State::from_env()?;
    let kernels = Kernels::new(&state);
    let images = Images::new(&state);
    match command {
        KernelCommand::List {
            available: false,
            json,
            ..
        } => list::installed(&kernels, json),
        KernelCommand::List {
            available: true,
            source,
            json,
        } => list::available(&kernels, &source, json),
        KernelCommand::Pull {
            name,
            source,
            arch,
            force,
            allow_unverified,
            json,
        } => pull::run(
            &kernels,
            &images,
            pull::Request {
                name,
                arch,
                force,
                allow_unverified,
            },
            &source,
            json,
        ),
        KernelCommand::Import(args) => import::run(&kernels, &images, args),
        KernelCommand::Check(args) => check::run(&kernels, args),
        KernelCommand::Publish(args) => publish::run(&kernels, args),
        KernelCommand::Mirror(args) => mirror::run(&kernels, args),
        KernelCommand::Show { name, json } => show::run(&kernels, &name, json),
        KernelCommand::Gc { json } => gc::run(&kernels, json),
        KernelCommand::Rm { name, force } => rm::run(&kernels, &images, &name, force),
        KernelCommand::Catalog(command) => catalog::run(&state, command),
        KernelCommand::Upgrade {
            names,
            all,
            source,
            dry_run,
            json,
        } => upgrade::run(
            &kernels,
            &images,
            upgrade::Request {
                names,
                all,
                dry_run,
            },
            &source,
            json,
        ),
    }
}

/// What plugins are told besides the user's options: the scratch directory, and the effective
/// trusted catalog.
fn host_options<'a>(kernels: &'a Kernels, trusted: &'a Trusted) -> Result<HostOptions<'a>> {
    Ok(HostOptions {
        scratch: kernels.scratch_dir()?,
        catalog: &trusted.text,
    })
}

/// Open the source `args` name, with its options and the host's.
fn open_source(args: &SourceArgs, kernels: &Kernels, trusted: &Trusted) -> Result<Source> {
    plugins::open_source(
        args.source(),
        &args.options(),
        &host_options(kernels, trusted)?,
    )
}

/// How a manifest's trust reads in a sentence.
fn trust_label(trust: Trust) -> &'static str {
    match trust {
        Trust::Catalog => "trusted catalog",
        Trust::Source => "source's own declaration",
    }
}

#[derive(Serialize)]
struct Report<'a> {
    name: &'a str,
    arch: &'a str,
    sha256: &'a str,
    size: u64,
    status: Status,
    /// Whether the sha256 is the trusted catalog's.
    verified: bool,
    path: String,
    images_updated: &'a [ImageName],
    /// `kernel check`'s static verdict on what is installed.
    check: Option<&'a Readiness>,
}

/// Print the outcome of an install, from `kernel pull` or `kernel import`.
pub(super) fn report_install(kernels: &Kernels, outcome: &Outcome, json: bool) -> Result<()> {
    let entry = &outcome.verdict.entry;
    let (name, arch, sha256) = (&entry.name, &entry.arch, &entry.sha256);
    let key = outcome.verdict.key()?.0;
    let path = kernels.path(&key).display().to_string();
    if let Some(at) = outcome.resumed_from {
        tell!(
            "the download of `{name}` resumed at byte {at} of {}",
            entry.size
        );
    }
    if !outcome.images_updated.is_empty() {
        tell!(
            "updated image record(s) {} to the new kernel",
            crate::flows::pull::list(&outcome.images_updated, ", ")
        );
    }
    let check = kernels.installed(&key)?.and_then(|m| m.check);
    if json {
        return print_json(&Report {
            name,
            arch,
            sha256,
            size: entry.size,
            status: outcome.status,
            verified: outcome.verdict.verified(),
            path,
            images_updated: &outcome.images_updated,
            check: check.as_ref(),
        });
    }
    match outcome.status {
        Status::Unchanged => say!(
            "kernel `{name}` ({arch}) is already installed with sha256 {sha256}; nothing to do"
        )?,
        status => {
            say!(
                "{} kernel `{name}` ({arch}) in {path}",
                match status {
                    Status::Replaced => "replaced",
                    _ => "installed",
                }
            )?;
            say!(
                "  sha256 {sha256}, checked against the {}",
                trust_label(outcome.verdict.trust)
            )?;
        }
    }
    if let Some(check) = &check {
        say!("  check: {}", check.summary())?;
    }
    Ok(())
}
