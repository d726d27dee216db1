//! `banger kernel show NAME`: an installed kernel's manifest and file paths.

use anyhow::Result;
use banger_catalog::KernelName;
use serde::Serialize;

use crate::{
    commands::output::print_json,
    install::{KernelPaths, Kernels},
    manifest::Manifest,
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
    println!("name:           {}", m.name);
    println!("distro:         {}", m.distro);
    println!("arch:           {}", m.arch);
    println!("kernel version: {}", m.kernel_version);
    println!("description:    {}", m.description);
    println!("source:         {} ({})", m.source, m.url);
    println!(
        "sha256:         {} ({} bytes, checked against the {})",
        m.sha256,
        m.size,
        super::trust_label(m.trust)
    );
    println!("installed at:   {}", m.installed_at);
    println!(
        "check:          {}",
        m.check.as_ref().map_or_else(
            || "not checked (installed before banger checked kernels; run `banger kernel check`)"
                .to_owned(),
            |c| crate::text::inert(&c.summary()).into_owned()
        )
    );
    println!("vmlinux:        {}", paths.vmlinux);
    println!("initrd:         {}", paths.initrd.as_deref().unwrap_or("-"));
    println!(
        "modules:        {}",
        paths.modules.as_deref().unwrap_or("-")
    );
    Ok(())
}
