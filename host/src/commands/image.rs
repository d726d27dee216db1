//! `banger image …`: register, list, show and remove images that refer to installed kernels.

use std::path::Path;

use anyhow::{Context, Result};
use banger_catalog::KernelName;
use serde::Serialize;

use crate::{
    cli::ImageCommand,
    store::images::{rootfs_kind, Image, ImageName, Images, KernelFiles, KernelStatus},
    store::kernels::Kernels,
    store::manifest::now_rfc3339,
    store::state::State,
    trust::catalog::Trusted,
    ui::output::{print_json, print_table},
    ui::text::say,
    ui::{exit::Class, hint::Hinted},
};

pub fn run(command: ImageCommand) -> Result<()> {
    let state = State::from_env()?;
    let images = Images::new(&state);
    let kernels = Kernels::new(&state);
    match command {
        ImageCommand::Register {
            name,
            rootfs,
            kernel_ref,
            force,
            json,
        } => register(&images, &kernels, &name, &rootfs, &kernel_ref, force, json),
        ImageCommand::List { json } => list(&images, &kernels, json),
        ImageCommand::Show { name, json } => show(&images, &kernels, &name, json),
        ImageCommand::Rm { name } => {
            if !images.remove(&name)? {
                return Err(not_registered(&name));
            }
            say!("removed image `{name}`")?;
            Ok(())
        }
    }
}

fn register(
    images: &Images,
    kernels: &Kernels,
    name: &ImageName,
    rootfs: &Path,
    kernel_ref: &KernelName,
    force: bool,
    json: bool,
) -> Result<()> {
    let rootfs_kind = rootfs_kind(rootfs)?;
    let rootfs = std::fs::canonicalize(rootfs)
        .with_context(|| format!("cannot resolve rootfs `{}`", rootfs.display()))?;
    if !kernels.is_installed(kernel_ref)? {
        return Err(kernel_missing(kernels, kernel_ref));
    }
    // Under the kernel's lock, `kernel rm` cannot remove it between this check and the save.
    let _lock = kernels.lock(kernel_ref)?;
    let Some(manifest) = kernels.installed(kernel_ref)? else {
        return Err(kernel_missing(kernels, kernel_ref));
    };
    if !force && images.get(name)?.is_some() {
        return Err(Hinted::error(
            format!("image `{name}` is already registered"),
            "pass --force to replace it, or choose another --name",
        ));
    }
    let image = Image {
        name: name.clone(),
        rootfs: rootfs.display().to_string(),
        rootfs_kind,
        kernel_ref: kernel_ref.clone(),
        kernel: KernelFiles::of(&manifest, &kernels.paths(kernel_ref)),
        registered_at: now_rfc3339(),
    };
    images.save(&image)?;
    if json {
        return print_json(&image);
    }
    say!(
        "registered image `{name}`: rootfs {} with kernel `{kernel_ref}` ({} {})",
        image.rootfs,
        image.kernel.kernel_version,
        image.kernel.arch
    )?;
    Ok(())
}

/// The error for a `--kernel-ref` that is not installed, with the command that would fix it.
fn kernel_missing(kernels: &Kernels, kernel: &str) -> anyhow::Error {
    let in_catalog = Trusted::load(kernels.state())
        .map(|trusted| trusted.catalog.entries.iter().any(|e| e.name == kernel))
        .unwrap_or(false);
    let hint = if in_catalog {
        format!("install it first: banger kernel pull {kernel}")
    } else {
        format!(
            "`{kernel}` is not in the catalog either; see `banger kernel list --available`, or build one and `banger kernel import {kernel} --from DIR ...`"
        )
    };
    Hinted::of(
        Class::NotFound,
        format!("kernel `{kernel}` is not installed"),
        hint,
    )
}

fn not_registered(name: &str) -> anyhow::Error {
    Hinted::of(
        Class::NotFound,
        format!("image `{name}` is not registered"),
        "see `banger image list`",
    )
}

/// An image with whether its record still matches the installed kernel.
#[derive(Serialize)]
struct Checked {
    #[serde(flatten)]
    image: Image,
    kernel_status: KernelStatus,
}

fn checked(kernels: &Kernels, image: Image) -> Result<Checked> {
    let installed = kernels.installed(&image.kernel_ref)?;
    Ok(Checked {
        kernel_status: Images::status(&image, installed.as_ref()),
        image,
    })
}

/// A short word for the table, and a sentence for `show`.
fn describe(status: &KernelStatus, kernel: &str) -> (&'static str, String) {
    match status {
        KernelStatus::Current => ("ok", String::new()),
        KernelStatus::Stale { installed_sha256 } => (
            "STALE",
            format!(
                "STALE: kernel `{kernel}` now installed has sha256 {installed_sha256}; the paths below may not be what this record describes (re-register with `banger image register --force`)"
            ),
        ),
        KernelStatus::Missing => (
            "MISSING",
            format!("MISSING: kernel `{kernel}` is not installed (banger kernel pull {kernel})"),
        ),
    }
}

fn list(images: &Images, kernels: &Kernels, json: bool) -> Result<()> {
    let all = images
        .list()?
        .into_iter()
        .map(|image| checked(kernels, image))
        .collect::<Result<Vec<_>>>()?;
    if json {
        return print_json(&all);
    }
    if all.is_empty() {
        say!("no images registered; see `banger image register --help`")?;
        return Ok(());
    }
    let rows: Vec<[String; 4]> = all
        .into_iter()
        .map(|c| {
            let (status, _) = describe(&c.kernel_status, &c.image.kernel_ref);
            [
                c.image.name.to_string(),
                c.image.kernel_ref.to_string(),
                status.to_owned(),
                c.image.rootfs,
            ]
        })
        .collect();
    print_table(["NAME", "KERNEL", "STATUS", "ROOTFS"], &rows)
}

fn show(images: &Images, kernels: &Kernels, name: &ImageName, json: bool) -> Result<()> {
    let image = images.get(name)?.ok_or_else(|| not_registered(name))?;
    let checked = checked(kernels, image)?;
    if json {
        return print_json(&checked);
    }
    let (image, status) = (&checked.image, &checked.kernel_status);
    let k = &image.kernel;
    say!("name:           {}", image.name)?;
    let kind = match image.rootfs_kind {
        crate::store::images::RootfsKind::File => "file",
        crate::store::images::RootfsKind::BlockDevice => "block device",
    };
    say!("rootfs:         {} ({kind})", image.rootfs)?;
    say!(
        "kernel:         {} ({} {}, sha256 {})",
        image.kernel_ref,
        k.kernel_version,
        k.arch,
        k.sha256
    )?;
    let (_, warning) = describe(status, &image.kernel_ref);
    if !warning.is_empty() {
        say!("status:         {warning}")?;
    }
    let mark = if warning.is_empty() { "" } else { " (stale)" };
    say!("vmlinux:        {}{mark}", k.vmlinux)?;
    say!(
        "initrd:         {}{mark}",
        k.initrd.as_deref().unwrap_or("-")
    )?;
    say!(
        "modules:        {}{mark}",
        k.modules.as_deref().unwrap_or("-")
    )?;
    say!("registered at:  {}", image.registered_at)?;
    Ok(())
}
