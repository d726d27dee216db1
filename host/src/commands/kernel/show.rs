//! `banger kernel show NAME`: an installed kernel's manifest and file paths.

use anyhow::Result;
use banger_catalog::KernelName;
use serde::Serialize;

use crate::{
    store::kernels::{KernelPaths, Kernels},
    store::manifest::Manifest,
    ui::output::print_json,
    ui::text::say,
};

#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    manifest: &'a Manifest,
    #[serde(flatten)]
    paths: KernelPaths,
}

pub fn run(kernels: &Kernels, name: &KernelName, json: bool) -> Result<()> {
    let manifest = kernels.require(name)?;
    let shown = Shown {
        manifest: &manifest,
        paths: kernels.paths(name),
    };
    if json {
        return print_json(&shown);
    }
    let (m, paths) = (&manifest, &shown.paths);
    say!("name:           {}", m.name)?;
    say!("distro:         {}", m.distro)?;
    say!("arch:           {}", m.arch)?;
    say!("kernel version: {}", m.kernel_version)?;
    say!("description:    {}", m.description)?;
    say!("source:         {} ({})", m.source, m.url)?;
    say!(
        "sha256:         {} ({} bytes, checked against the {})",
        m.sha256,
        m.size,
        super::trust_label(m.trust)
    )?;
    say!("installed at:   {}", m.installed_at)?;
    say!(
        "check:          {}",
        m.check.as_ref().map_or_else(
            || "not checked (installed before banger checked kernels; run `banger kernel check`)"
                .to_owned(),
            |c| c.summary()
        )
    )?;
    say!("vmlinux:        {}", paths.vmlinux)?;
    say!("initrd:         {}", paths.initrd.as_deref().unwrap_or("-"))?;
    say!(
        "modules:        {}",
        paths.modules.as_deref().unwrap_or("-")
    )?;
    Ok(())
}
