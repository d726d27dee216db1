//! `banger image …`: register, list, show and remove images that refer to installed kernels.

use std::{io::Write, path::Path};

use anyhow::{Context, Result};
use banger_catalog::{validate_name, validate_name_of, Catalog};

use crate::{
    cli::ImageCommand,
    hint::Hinted,
    images::{rootfs_kind, Image, Images, KernelFiles},
    install::Kernels,
    manifest::now_rfc3339,
    state::State,
};

pub fn run(command: ImageCommand) -> Result<()> {
    let state = State::from_env()?;
    let images = Images::new(state.images.clone());
    match command {
        ImageCommand::Register {
            name,
            rootfs,
            kernel_ref,
            force,
            json,
        } => {
            let kernels = Kernels::new(&state);
            register(&images, &kernels, &name, &rootfs, &kernel_ref, force, json)
        }
        ImageCommand::List { json } => list(&images, json),
        ImageCommand::Show { name, json } => show(&images, &name, json),
        ImageCommand::Rm { name } => {
            validate_name_of("image", &name).map_err(anyhow::Error::msg)?;
            if !images.remove(&name)? {
                return Err(not_registered(&name));
            }
            println!("removed image `{name}`");
            Ok(())
        }
    }
}

fn register(
    images: &Images,
    kernels: &Kernels,
    name: &str,
    rootfs: &Path,
    kernel_ref: &str,
    force: bool,
    json: bool,
) -> Result<()> {
    validate_name_of("image", name).map_err(anyhow::Error::msg)?;
    validate_name(kernel_ref).map_err(anyhow::Error::msg)?;
    let rootfs_kind = rootfs_kind(rootfs)?;
    let rootfs = std::fs::canonicalize(rootfs)
        .with_context(|| format!("cannot resolve rootfs `{}`", rootfs.display()))?;
    if !kernels.path(kernel_ref).exists() {
        return Err(kernel_missing(kernel_ref));
    }
    // Under the kernel's lock, `kernel rm` cannot remove it between this check and the save.
    let _lock = kernels.lock(kernel_ref)?;
    let Some(manifest) = kernels.installed(kernel_ref)? else {
        return Err(kernel_missing(kernel_ref));
    };
    if !force && images.get(name)?.is_some() {
        return Err(Hinted::error(
            format!("image `{name}` is already registered"),
            "pass --force to replace it, or choose another --name",
        ));
    }
    let paths = kernels.paths(kernel_ref);
    let image = Image {
        name: name.to_owned(),
        rootfs: rootfs.display().to_string(),
        rootfs_kind: rootfs_kind.to_owned(),
        kernel_ref: kernel_ref.to_owned(),
        kernel: KernelFiles {
            vmlinux: paths.vmlinux,
            initrd: paths.initrd,
            modules: paths.modules,
            sha256: manifest.sha256,
            kernel_version: manifest.kernel_version,
            arch: manifest.arch,
        },
        registered_at: now_rfc3339(),
    };
    images.save(&image)?;
    if json {
        return super::print_json(&image);
    }
    println!(
        "registered image `{name}`: rootfs {} with kernel `{kernel_ref}` ({} {})",
        image.rootfs, image.kernel.kernel_version, image.kernel.arch
    );
    Ok(())
}

/// The error for a `--kernel-ref` that is not installed, with the command that would fix it.
fn kernel_missing(kernel: &str) -> anyhow::Error {
    let in_catalog = Catalog::trusted()
        .map(|(catalog, _)| catalog.entries.iter().any(|e| e.name == kernel))
        .unwrap_or(false);
    let hint = if in_catalog {
        format!("install it first: banger kernel pull {kernel}")
    } else {
        format!(
            "`{kernel}` is not in the catalog either; see `banger kernel list --available`, or build one and `banger kernel import {kernel} --from DIR ...`"
        )
    };
    Hinted::error(format!("kernel `{kernel}` is not installed"), hint)
}

fn not_registered(name: &str) -> anyhow::Error {
    Hinted::error(
        format!("image `{name}` is not registered"),
        "see `banger image list`",
    )
}

fn list(images: &Images, json: bool) -> Result<()> {
    let all = images.list()?;
    if json {
        return super::print_json(&all);
    }
    let mut out = std::io::stdout().lock();
    if all.is_empty() {
        writeln!(
            out,
            "no images registered; see `banger image register --help`"
        )?;
        return Ok(());
    }
    writeln!(out, "{:<20} {:<24} ROOTFS", "NAME", "KERNEL")?;
    for image in all {
        writeln!(
            out,
            "{:<20} {:<24} {}",
            image.name, image.kernel_ref, image.rootfs
        )?;
    }
    Ok(())
}

fn show(images: &Images, name: &str, json: bool) -> Result<()> {
    validate_name_of("image", name).map_err(anyhow::Error::msg)?;
    let image = images.get(name)?.ok_or_else(|| not_registered(name))?;
    if json {
        return super::print_json(&image);
    }
    let mut out = std::io::stdout().lock();
    let k = &image.kernel;
    writeln!(out, "name:           {}", image.name)?;
    writeln!(
        out,
        "rootfs:         {} ({})",
        image.rootfs, image.rootfs_kind
    )?;
    writeln!(
        out,
        "kernel:         {} ({} {}, sha256 {})",
        image.kernel_ref, k.kernel_version, k.arch, k.sha256
    )?;
    writeln!(out, "vmlinux:        {}", k.vmlinux)?;
    writeln!(
        out,
        "initrd:         {}",
        k.initrd.as_deref().unwrap_or("-")
    )?;
    writeln!(
        out,
        "modules:        {}",
        k.modules.as_deref().unwrap_or("-")
    )?;
    writeln!(out, "registered at:  {}", image.registered_at)?;
    Ok(())
}
