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
    trust::{self, Verdict},
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
            &images,
            &name,
            &source,
            arch.as_deref(),
            Replace {
                force,
                allow_unverified,
            },
            json,
        ),
        KernelCommand::Import(args) => import(&kernels, &images, args),
        KernelCommand::Publish(args) => super::publish::run(&kernels, args),
        KernelCommand::Mirror(args) => super::mirror::run(&kernels, args),
        KernelCommand::Show { name, json } => show(&kernels, &name, json),
        KernelCommand::Gc { json } => gc(&kernels, json),
        KernelCommand::Rm { name, force } => remove(&kernels, &images, &name, force),
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
            verified: trust::vouches(&trusted, &entry),
            entry: Entry {
                url: banger_fetch::redact(&entry.url),
                ..entry
            },
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
    /// Whether the sha256 is the trusted catalog's.
    verified: bool,
    path: String,
}

fn pull(
    kernels: &Kernels,
    images: &Images,
    name: &str,
    args: &SourceArgs,
    arch: Option<&str>,
    replace: Replace,
    json: bool,
) -> Result<()> {
    validate_name(name).map_err(anyhow::Error::msg)?;
    let arch = arch.unwrap_or(host_arch());
    validate_arch(arch).map_err(anyhow::Error::msg)?;
    let (catalog, origin) = Catalog::trusted()?;
    let trusted = catalog.find(name, arch);
    let source = open_source(args, kernels)?;
    let transport = trust::is_catalog_transport(source.name());
    // A catalog transport with a trusted entry needs no listing: the entry says it all.
    let offered = match (transport, trusted) {
        (true, Some(_)) => None,
        _ => offered(&source, name, arch)?,
    };
    let Some(verdict) = trust::judge(source.name(), trusted, offered.as_ref()) else {
        return Err(if transport {
            not_in_catalog(&catalog, &origin, name, arch)
        } else {
            not_offered(&source, name, arch)
        });
    };
    if verdict.needs_allow_unverified(source.name()) && !replace.allow_unverified {
        return Err(Hinted::error(
            format!(
                "`{name}` for {arch} is not in the {origin}; only source `{}`'s own catalog.json lists it, and banger does not trust that",
                source.name()
            ),
            "pass --allow-unverified to install it anyway, checked against that catalog.json's sha256; its manifest will record \"verified\": false",
        ));
    }
    install(
        kernels,
        images,
        &source,
        verdict,
        trusted,
        replace.force,
        json,
    )
}

/// The entry `source` lists for (name, arch), if any.
fn offered(source: &Source, name: &str, arch: &str) -> Result<Option<Entry>> {
    Ok(source
        .list()?
        .into_iter()
        .find(|e| e.name == name && e.arch == arch))
}

fn not_offered(source: &Source, name: &str, arch: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "source `{}` does not offer `{name}` for {arch}",
        source.name()
    )
}

fn import(kernels: &Kernels, images: &Images, args: ImportArgs) -> Result<()> {
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
    let (catalog, _) = Catalog::trusted()?;
    let trusted = catalog.find(&args.name, &args.arch);
    let offered = offered(&source, &args.name, &args.arch)?;
    let verdict = trust::judge(source.name(), trusted, offered.as_ref())
        .ok_or_else(|| not_offered(&source, &args.name, &args.arch))?;
    install(
        kernels, images, &source, verdict, trusted, args.force, args.json,
    )
}

/// Install what `verdict` names from `source`: the bytes must match its entry, and once the
/// source has opened the bundle, a source's own entry is settled against its declaration
/// ([`Verdict::settle`]). A resumable source continues an interrupted download from its
/// partial file. Images that boot the replaced kernel are rewritten under the same lock.
fn install(
    kernels: &Kernels,
    images: &Images,
    source: &Source,
    verdict: Verdict,
    trusted: Option<&Entry>,
    force: bool,
    json: bool,
) -> Result<()> {
    let (name, arch) = (verdict.entry.name.clone(), verdict.entry.arch.clone());
    let (name, arch) = (name.as_str(), arch.as_str());
    kernels.ensure_dir()?;
    let lock = kernels.lock(name)?;
    let installed = kernels.installed(name)?;
    let replacing = Replacing {
        installed: installed.as_ref(),
        images,
        force,
        source: source.name(),
    };
    // The decision needs no download: the entry already says what the bytes must be.
    if !replacing.needs_install(&verdict.entry)? {
        return report(kernels, &verdict, "unchanged", json);
    }

    let mut partial = kernels.downloads().partial(&verdict.entry.sha256, false)?;
    // A partial as long as the bundle or longer is not a prefix of it; start over.
    let offset = partial
        .as_ref()
        .map(|p| p.len())
        .filter(|len| *len < verdict.entry.size)
        .unwrap_or(0);
    let (mut opened, mut stream) = source.open(name, arch, offset)?;
    if opened.resumed_from != 0 && opened.resumed_from != offset {
        anyhow::bail!(
            "source `{}` resumed `{name}` at byte {}, but banger asked for byte {offset}",
            source.name(),
            opened.resumed_from
        );
    }
    let listed_sha256 = verdict.entry.sha256.clone();
    let verdict = verdict.settle(&opened.info, trusted);
    if verdict.entry.sha256 != listed_sha256 {
        // The source declares other bytes than it listed: the partial is not theirs.
        partial = None;
        if !replacing.needs_install(&verdict.entry)? {
            return report(kernels, &verdict, "unchanged", json);
        }
    }
    if opened.resumable && partial.is_none() {
        partial = kernels.downloads().partial(&verdict.entry.sha256, true)?;
    }
    // A resumed stream's bytes belong after the kept prefix and nowhere else: without that
    // prefix, start again from byte 0.
    let keeps_prefix = opened.resumable && partial.as_ref().is_some_and(|p| p.len() > 0);
    if opened.resumed_from > 0 && !keeps_prefix {
        drop(stream);
        (opened, stream) = source.open(name, arch, 0)?;
        if opened.resumed_from != 0 {
            anyhow::bail!(
                "source `{}` resumed `{name}` at byte {} when asked for the whole bundle",
                source.name(),
                opened.resumed_from
            );
        }
    }
    let expected = Expected {
        // Where the bytes come from is what messages and the manifest name, without secrets.
        url: banger_fetch::redact(&opened.info.url),
        sha256: verdict.entry.sha256.clone(),
        size: verdict.entry.size,
    };
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

    let entry = &verdict.entry;
    let manifest = Manifest {
        name: name.to_owned(),
        distro: entry.distro.clone(),
        arch: arch.to_owned(),
        kernel_version: entry.kernel_version.clone(),
        source: source.name().to_owned(),
        url: expected.url.clone(),
        sha256: expected.sha256.clone(),
        size: expected.size,
        verified: verdict.verified(),
        trust: verdict.trust,
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
    let rewritten = images.follow_kernel(&manifest, &kernels.paths(name))?;
    if !rewritten.is_empty() {
        eprintln!(
            "updated image record(s) {} to the new kernel",
            rewritten.join(", ")
        );
    }
    report(kernels, &verdict, status, json)
}

/// What an install would replace, and the rules for replacing it.
struct Replacing<'a> {
    installed: Option<&'a Manifest>,
    images: &'a Images,
    force: bool,
    source: &'a str,
}

impl Replacing<'_> {
    /// Whether to install `entry` over what is installed: not when the same bundle is already
    /// there, and only with `force` when a different one is. An install for another
    /// architecture is refused while images boot the kernel, since their VMs could not.
    fn needs_install(&self, entry: &Entry) -> Result<bool> {
        let (arch, source) = (&entry.arch, self.source);
        let Some(current) = self.installed else {
            return Ok(true);
        };
        if current.sha256 == entry.sha256 && &current.arch == arch {
            return Ok(false);
        }
        if !self.force {
            return Err(Hinted::error(
                format!(
                    "kernel `{}` is already installed with sha256 {} ({}), and source `{source}` offers {} ({arch})",
                    current.name, current.sha256, current.arch, entry.sha256
                ),
                format!("pass --force to replace it: banger kernel pull {} --force", current.name),
            ));
        }
        let users = self.images.referencing(&current.name)?;
        if &current.arch != arch && !users.is_empty() {
            return Err(Hinted::error(
                format!(
                    "kernel `{}` is {} and image(s) {} boot it; replacing it with an {arch} kernel is refused",
                    current.name,
                    current.arch,
                    users.join(", ")
                ),
                format!(
                    "remove or re-register those images first (banger image rm {})",
                    users.join(" ")
                ),
            ));
        }
        Ok(true)
    }
}

fn report(kernels: &Kernels, verdict: &Verdict, status: &'static str, json: bool) -> Result<()> {
    let Entry {
        name, arch, sha256, ..
    } = &verdict.entry;
    let path = kernels.path(name).display().to_string();
    if json {
        return super::print_json(&InstallResult {
            name,
            arch,
            sha256,
            size: verdict.entry.size,
            status,
            verified: verdict.verified(),
            path,
        });
    }
    let mut out = std::io::stdout().lock();
    match status {
        "unchanged" => writeln!(
            out,
            "kernel `{name}` ({arch}) is already installed with sha256 {sha256}; nothing to do",
        )?,
        _ => writeln!(
            out,
            "{status} kernel `{name}` ({arch}) in {path}\n  sha256 {sha256}, checked against the {}",
            trust_label(verdict.trust)
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
    if std::fs::symlink_metadata(kernels.path(name)).is_err() {
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
