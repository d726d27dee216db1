//! `banger kernel …`: list, pull, show and remove kernels.

use std::io::{Read, Write};

use anyhow::{Context, Result};
use banger_catalog::{host_arch, validate_arch, validate_name, Catalog, Entry};
use serde::Serialize;

use crate::{
    cli::{ImportArgs, KernelCommand, SourceArgs},
    hint::Hinted,
    images::Images,
    install::{Expected, Incomplete, KernelPaths, Kernels},
    manifest::{now_rfc3339, Manifest, Trust},
    plugins::{self, Source},
    progress,
    state::State,
};

/// Sources that move bytes for the trusted catalog: what they deliver is checked against the
/// catalog's digest, never their own, and an entry only they list needs `--allow-unverified`.
/// Any other source is checked against its own declaration.
pub(super) const CATALOG_TRANSPORTS: [&str; 3] = ["catalog", "mirror", "offline"];

pub fn run(command: KernelCommand) -> Result<()> {
    let state = State::from_env()?;
    let kernels = Kernels::new(&state);
    match command {
        KernelCommand::List {
            available: false,
            json,
            ..
        } => list_installed(&kernels, json),
        KernelCommand::List {
            available: true,
            source,
            json,
        } => list_available(&kernels, &source, json),
        KernelCommand::Pull {
            name,
            source,
            arch,
            force,
            allow_unverified,
            json,
        } => pull(
            &kernels,
            &name,
            &source,
            arch.as_deref(),
            Replace {
                force,
                allow_unverified,
            },
            json,
        ),
        KernelCommand::Import(args) => import(&kernels, args),
        KernelCommand::Publish(args) => super::publish::run(&kernels, args),
        KernelCommand::Mirror(args) => super::mirror::run(&kernels, args),
        KernelCommand::Show { name, json } => show(&kernels, &name, json),
        KernelCommand::Gc { json } => gc(&kernels, json),
        KernelCommand::Rm { name, force } => {
            remove(&kernels, &Images::new(state.images.clone()), &name, force)
        }
    }
}

fn list_installed(kernels: &Kernels, json: bool) -> Result<()> {
    let manifests = kernels.list()?;
    if json {
        return super::print_json(&manifests);
    }
    let mut out = std::io::stdout().lock();
    if manifests.is_empty() {
        writeln!(
            out,
            "no kernels installed; see `banger kernel list --available`"
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<24} {:<7} {:<12} {:<9} INSTALLED",
        "NAME", "ARCH", "VERSION", "SOURCE"
    )?;
    for m in manifests {
        writeln!(
            out,
            "{:<24} {:<7} {:<12} {:<9} {}",
            m.name, m.arch, m.kernel_version, m.source, m.installed_at
        )?;
    }
    Ok(())
}

/// An entry a source offers, and whether the trusted catalog vouches for its bytes.
#[derive(Serialize)]
struct Available {
    #[serde(flatten)]
    entry: Entry,
    /// The trusted catalog has this (name, arch) with the same sha256.
    verified: bool,
}

fn list_available(kernels: &Kernels, args: &SourceArgs, json: bool) -> Result<()> {
    let source = open_source(args, kernels)?;
    let (trusted, _) = Catalog::trusted()?;
    let available: Vec<Available> = source
        .list()?
        .into_iter()
        .map(|entry| Available {
            verified: trusted
                .find(&entry.name, &entry.arch)
                .is_some_and(|t| t.sha256 == entry.sha256),
            entry,
        })
        .collect();
    if json {
        return super::print_json(&available);
    }
    let mut out = std::io::stdout().lock();
    if available.is_empty() {
        let what = if source.name() == "catalog" {
            "the catalog is empty: no kernel bundles have been published yet".to_owned()
        } else {
            format!("source `{}` lists no kernels", source.name())
        };
        writeln!(out, "{what}")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<24} {:<7} {:<12} {:>10}  {:<8}  DESCRIPTION",
        "NAME", "ARCH", "VERSION", "SIZE", "VERIFIED"
    )?;
    for a in available {
        let e = &a.entry;
        writeln!(
            out,
            "{:<24} {:<7} {:<12} {:>10}  {:<8}  {}",
            e.name,
            e.arch,
            e.kernel_version,
            super::human_size(e.size),
            if a.verified { "yes" } else { "NO" },
            e.description
        )?;
    }
    Ok(())
}

pub(super) fn open_source(args: &SourceArgs, kernels: &Kernels) -> Result<Source> {
    let plugin = plugins::find_named(&args.source)?;
    Source::new(plugin, &args.options(), kernels.downloads().dir())
}

/// What a pull may do beyond installing a verified kernel where none is.
#[derive(Clone, Copy, Debug)]
struct Replace {
    /// Replace an install with a different sha256.
    force: bool,
    /// Install an entry the trusted catalog does not list.
    allow_unverified: bool,
}

#[derive(Serialize)]
struct InstallResult<'a> {
    name: &'a str,
    arch: &'a str,
    sha256: &'a str,
    size: u64,
    /// `installed`, `replaced` or `unchanged`.
    status: &'static str,
    path: String,
}

fn pull(
    kernels: &Kernels,
    name: &str,
    args: &SourceArgs,
    arch: Option<&str>,
    replace: Replace,
    json: bool,
) -> Result<()> {
    validate_name(name).map_err(anyhow::Error::msg)?;
    let arch = arch.unwrap_or(host_arch());
    validate_arch(arch).map_err(anyhow::Error::msg)?;
    if !CATALOG_TRANSPORTS.contains(&args.source.as_str()) {
        let source = open_source(args, kernels)?;
        let entry = required(&source, name, arch)?;
        return install(kernels, &source, entry, Trust::Source, replace.force, json);
    }
    let (catalog, origin) = Catalog::trusted()?;
    if let Some(entry) = catalog.find(name, arch) {
        let source = open_source(args, kernels)?;
        return install(
            kernels,
            &source,
            entry.clone(),
            Trust::Catalog,
            replace.force,
            json,
        );
    }
    if args.source == "catalog" {
        return Err(not_in_catalog(&catalog, &origin, name, arch));
    }
    let source = open_source(args, kernels)?;
    match (offered(&source, name, arch)?, replace.allow_unverified) {
        (Some(entry), true) => install(kernels, &source, entry, Trust::Source, replace.force, json),
        (Some(_), false) => Err(Hinted::error(
            format!(
                "`{name}` for {arch} is not in the {origin}; only source `{}`'s own catalog.json lists it, and banger does not trust that",
                source.name()
            ),
            "pass --allow-unverified to install it anyway, checked against that catalog.json's sha256; its manifest will record \"verified\": false",
        )),
        (None, _) => Err(not_in_catalog(&catalog, &origin, name, arch)),
    }
}

/// The entry `source` lists for (name, arch), if any.
fn offered(source: &Source, name: &str, arch: &str) -> Result<Option<Entry>> {
    Ok(source
        .list()?
        .into_iter()
        .find(|e| e.name == name && e.arch == arch))
}

/// The entry `source` lists for (name, arch); an error naming the source if there is none.
fn required(source: &Source, name: &str, arch: &str) -> Result<Entry> {
    offered(source, name, arch)?.with_context(|| {
        format!(
            "source `{}` does not offer `{name}` for {arch}",
            source.name()
        )
    })
}

fn import(kernels: &Kernels, args: ImportArgs) -> Result<()> {
    validate_name(&args.name).map_err(anyhow::Error::msg)?;
    validate_arch(&args.arch).map_err(anyhow::Error::msg)?;
    let dir = std::fs::canonicalize(&args.from)
        .with_context(|| format!("cannot read the build directory `{}`", args.from.display()))?;
    let mut options = vec![
        ("dir".to_owned(), dir.display().to_string()),
        ("name".to_owned(), args.name.clone()),
        ("distro".to_owned(), args.distro),
        ("arch".to_owned(), args.arch.clone()),
    ];
    options.extend(
        args.kernel_version
            .map(|v| ("kernel_version".to_owned(), v)),
    );
    options.extend(args.description.map(|d| ("description".to_owned(), d)));
    if args.force {
        options.push(("force".to_owned(), "true".to_owned()));
    }
    let source = Source::new(
        plugins::find_named("import")?,
        &options,
        kernels.downloads().dir(),
    )?;
    let entry = required(&source, &args.name, &args.arch)?;
    install(
        kernels,
        &source,
        entry,
        Trust::Source,
        args.force,
        args.json,
    )
}

/// Install `entry` from `source`. With [`Trust::Catalog`] the bytes must match the entry,
/// which comes from the trusted catalog; with [`Trust::Source`] they must match the source's
/// own declaration at open, and the manifest says so. A resumable source continues an
/// interrupted download from its partial file.
fn install(
    kernels: &Kernels,
    source: &Source,
    entry: Entry,
    trust: Trust,
    force: bool,
    json: bool,
) -> Result<()> {
    let (name, arch) = (entry.name.as_str(), entry.arch.as_str());
    kernels.ensure_dir()?;
    let lock = kernels.lock(name)?;
    let installed = kernels.installed(name)?;
    let mut expected = Expected {
        url: entry.url.clone(),
        sha256: entry.sha256.clone(),
        size: entry.size,
    };
    // The decision needs no download: the entry already says what the bytes must be.
    if !needs_install(installed.as_ref(), &expected, arch, force, source.name())? {
        return report(kernels, name, arch, &expected, trust, "unchanged", json);
    }

    let mut partial = kernels.downloads().partial(&expected.sha256, false)?;
    // A partial as long as the bundle or longer is not a prefix of it; start over.
    let offset = partial
        .as_ref()
        .map(|p| p.len())
        .filter(|len| *len < expected.size)
        .unwrap_or(0);
    let (opened, stream) = source.open(name, arch, offset)?;
    if opened.resumed_from != 0 && opened.resumed_from != offset {
        anyhow::bail!(
            "source `{}` resumed `{name}` at byte {}, but banger asked for byte {offset}",
            source.name(),
            opened.resumed_from
        );
    }
    // Where the bytes come from is what messages and the manifest name.
    expected.url = opened.info.url.clone();
    if trust == Trust::Source {
        banger_catalog::validate_sha256(&opened.info.sha256).map_err(|e| {
            anyhow::anyhow!("source `{}` declared a bad sha256: {e}", source.name())
        })?;
        if opened.info.sha256 != expected.sha256 {
            // The source declares other bytes than it listed: the partial is not theirs.
            partial = None;
        }
        expected.sha256 = opened.info.sha256.clone();
        expected.size = opened.info.size;
        if !needs_install(installed.as_ref(), &expected, arch, force, source.name())? {
            return report(kernels, name, arch, &expected, trust, "unchanged", json);
        }
    }
    if opened.resumable && partial.is_none() {
        partial = kernels.downloads().partial(&expected.sha256, true)?;
    }
    let stream: Box<dyn Read + Send> = match (&mut partial, opened.resumable) {
        (Some(partial), true) => {
            if opened.resumed_from > 0 {
                eprintln!(
                    "resuming the download of `{name}` at byte {} of {}",
                    opened.resumed_from, expected.size
                );
            }
            partial.resume(stream, opened.resumed_from)?
        }
        _ => Box::new(stream),
    };
    let status = if installed.is_some() {
        "replaced"
    } else {
        "installed"
    };

    let manifest = Manifest {
        name: name.to_owned(),
        distro: entry.distro.clone(),
        arch: arch.to_owned(),
        kernel_version: entry.kernel_version.clone(),
        source: source.name().to_owned(),
        url: expected.url.clone(),
        sha256: expected.sha256.clone(),
        size: expected.size,
        verified: trust == Trust::Catalog,
        trust,
        installed_at: now_rfc3339(),
        description: entry.description.clone(),
    };
    let (stream, bar) = progress::wrap(stream, expected.size, name);
    let result = kernels.install(&lock, stream, &expected, &manifest);
    bar.finish_and_clear();
    // Keep the partial only to resume a transfer that ended early; after an install, or
    // bytes that were wrong, it has no use.
    let resumable_later =
        opened.resumable && matches!(&result, Err(e) if e.downcast_ref::<Incomplete>().is_some());
    if let (Some(partial), false) = (partial, resumable_later) {
        partial.remove()?;
    }
    result?;
    report(kernels, name, arch, &expected, trust, status, json)
}

/// Whether to install `expected` over what is installed: not when the same bundle is already
/// there, and only with `force` when a different one is.
fn needs_install(
    installed: Option<&Manifest>,
    expected: &Expected,
    arch: &str,
    force: bool,
    source: &str,
) -> Result<bool> {
    match installed {
        None => Ok(true),
        Some(current) if current.sha256 == expected.sha256 && current.arch == arch => Ok(false),
        Some(_) if force => Ok(true),
        Some(current) => Err(Hinted::error(
            format!(
                "kernel `{}` is already installed with sha256 {} ({}), and source `{source}` offers {} ({arch})",
                current.name, current.sha256, current.arch, expected.sha256
            ),
            format!("pass --force to replace it: banger kernel pull {} --force", current.name),
        )),
    }
}

fn report(
    kernels: &Kernels,
    name: &str,
    arch: &str,
    expected: &Expected,
    trust: Trust,
    status: &'static str,
    json: bool,
) -> Result<()> {
    let path = kernels.path(name).display().to_string();
    if json {
        return super::print_json(&InstallResult {
            name,
            arch,
            sha256: &expected.sha256,
            size: expected.size,
            status,
            path,
        });
    }
    let mut out = std::io::stdout().lock();
    match status {
        "unchanged" => writeln!(
            out,
            "kernel `{name}` ({arch}) is already installed with sha256 {}; nothing to do",
            expected.sha256
        )?,
        _ => writeln!(
            out,
            "{status} kernel `{name}` ({arch}) in {path}\n  sha256 {}, checked against the {}",
            expected.sha256,
            trust_label(trust)
        )?,
    }
    Ok(())
}

pub(super) fn not_in_catalog(
    catalog: &Catalog,
    origin: &str,
    name: &str,
    arch: &str,
) -> anyhow::Error {
    let other_arches: Vec<&str> = catalog
        .entries
        .iter()
        .filter(|e| e.name == name)
        .map(|e| e.arch.as_str())
        .collect();
    let message = format!("no kernel `{name}` for {arch} in the {origin}");
    if !other_arches.is_empty() {
        Hinted::error(
            message,
            format!("it exists for {}; pass --arch", other_arches.join(", ")),
        )
    } else {
        Hinted::error(
            message,
            "run `banger kernel list --available` to see what the catalog offers",
        )
    }
}

#[derive(Serialize)]
struct ShowResult<'a> {
    #[serde(flatten)]
    manifest: &'a Manifest,
    #[serde(flatten)]
    paths: KernelPaths,
}

fn show(kernels: &Kernels, name: &str, json: bool) -> Result<()> {
    validate_name(name).map_err(anyhow::Error::msg)?;
    let Some(manifest) = kernels.installed(name)? else {
        return Err(not_installed(name));
    };
    let result = ShowResult {
        manifest: &manifest,
        paths: kernels.paths(name),
    };
    if json {
        return super::print_json(&result);
    }
    let mut out = std::io::stdout().lock();
    let m = &manifest;
    writeln!(out, "name:           {}", m.name)?;
    writeln!(out, "distro:         {}", m.distro)?;
    writeln!(out, "arch:           {}", m.arch)?;
    writeln!(out, "kernel version: {}", m.kernel_version)?;
    writeln!(out, "description:    {}", m.description)?;
    writeln!(out, "source:         {} ({})", m.source, m.url)?;
    writeln!(
        out,
        "sha256:         {} ({} bytes, checked against the {})",
        m.sha256,
        m.size,
        trust_label(m.trust)
    )?;
    writeln!(out, "installed at:   {}", m.installed_at)?;
    writeln!(out, "vmlinux:        {}", result.paths.vmlinux)?;
    writeln!(
        out,
        "initrd:         {}",
        result.paths.initrd.as_deref().unwrap_or("-")
    )?;
    writeln!(
        out,
        "modules:        {}",
        result.paths.modules.as_deref().unwrap_or("-")
    )?;
    Ok(())
}

fn trust_label(trust: Trust) -> &'static str {
    match trust {
        Trust::Catalog => "trusted catalog",
        Trust::Source => "source's own declaration",
    }
}

fn remove(kernels: &Kernels, images: &Images, name: &str, force: bool) -> Result<()> {
    validate_name(name).map_err(anyhow::Error::msg)?;
    // Checked before locking too, so that removing nothing creates no state directories.
    if !kernels.path(name).exists() {
        return Err(not_installed(name));
    }
    let lock = kernels.lock(name)?;
    let users = images.referencing(name)?;
    if !users.is_empty() && !force {
        return Err(Hinted::error(
            format!(
                "kernel `{name}` is used by image{} {}",
                if users.len() == 1 { "" } else { "s" },
                users
                    .iter()
                    .map(|u| format!("`{u}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "remove the images first (banger image rm {}), or pass --force",
                users.join(" ")
            ),
        ));
    }
    if !kernels.remove(&lock)? {
        return Err(not_installed(name));
    }
    println!("removed kernel `{name}`");
    if !users.is_empty() {
        eprintln!(
            "warning: image(s) {} refer to the removed kernel until it is installed again",
            users.join(", ")
        );
    }
    Ok(())
}

#[derive(Serialize)]
struct GcResult {
    partial_downloads: u64,
    staging_directories: u64,
    bytes_freed: u64,
}

fn gc(kernels: &Kernels, json: bool) -> Result<()> {
    let (partial_downloads, partial_bytes) = kernels.downloads().gc()?;
    let (staging_directories, staging_bytes) = kernels.gc()?;
    let result = GcResult {
        partial_downloads,
        staging_directories,
        bytes_freed: partial_bytes + staging_bytes,
    };
    if json {
        return super::print_json(&result);
    }
    println!(
        "removed {partial_downloads} partial download(s) and {staging_directories} staging director(ies), freeing {}",
        super::human_size(result.bytes_freed)
    );
    Ok(())
}

pub(super) fn not_installed(name: &str) -> anyhow::Error {
    Hinted::error(
        format!("kernel `{name}` is not installed"),
        format!("run `banger kernel pull {name}` to install it"),
    )
}
