//! Where `kernel check` gets a kernel's config: the first of the kernel's own `config` (or a
//! build directory's `.config`), `--config FILE`, and the `CONFIG_IKCONFIG` copy inside the
//! image. Without any, what `modules/<release>/` tells: a module `modules.builtin` lists is
//! `y`, one with a `.ko` file is `m`, and everything else, bool options included, is not
//! known, which the rules treat as unset: unknown is never ready.

use std::os::unix::fs::OpenOptionsExt;
use std::{
    io::Read,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{
    config::{Config, Have, MAX_CONFIG},
    modules::Modules,
    rules::{RootFs, RULES},
    Note,
};

/// Where the config came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigSource {
    /// The kernel directory's `config` (a bundle member) or `.config` (a build directory).
    Bundle,
    /// `--config FILE`.
    File,
    /// `CONFIG_IKCONFIG` in the image.
    Ikconfig,
    /// No config: what `modules/<release>/` tells.
    Modules,
    /// Nothing at all: every option is unknown.
    None,
}

impl ConfigSource {
    /// How the source reads in a sentence.
    pub fn describe(self) -> &'static str {
        match self {
            ConfigSource::Bundle => "the kernel's own config file",
            ConfigSource::File => "--config",
            ConfigSource::Ikconfig => "the copy in the image (CONFIG_IKCONFIG)",
            ConfigSource::Modules => {
                "no config: modules.builtin and the .ko files (bool options unknown)"
            }
            ConfigSource::None => "none: no config, no modules/ (every option unknown)",
        }
    }
}

/// The config, where it came from, and the file it was read from.
pub struct Found {
    pub config: Config,
    pub source: ConfigSource,
    pub path: Option<PathBuf>,
}

/// Find the config of the kernel in `dir`, trying `flag` second, then an IKCONFIG copy in
/// `vmlinux` (none when the image is refused as it is).
pub fn find(
    dir: &Path,
    follow_links: bool,
    flag: Option<&Path>,
    vmlinux: Option<&Path>,
    modules: Option<&Modules>,
    rootfs: RootFs,
    notes: &mut Vec<Note>,
) -> Result<Found> {
    let own = ["config", ".config"]
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.symlink_metadata().is_ok());
    if let Some(path) = own {
        if let Some(flag) = flag {
            notes.push(Note::warning(format!(
                "--config `{}` is not used: the kernel has its own config `{}`",
                flag.display(),
                path.display()
            )));
        }
        return read(&path, ConfigSource::Bundle, follow_links);
    }
    if let Some(flag) = flag {
        return read(flag, ConfigSource::File, true);
    }
    let ikconfig = match vmlinux {
        Some(vmlinux) => banger_kernel_image::ikconfig(vmlinux)?.map(|text| (vmlinux, text)),
        None => None,
    };
    if let Some((vmlinux, text)) = ikconfig {
        let config = Config::parse(&text).with_context(|| {
            format!(
                "the IKCONFIG copy in `{}` holds no CONFIG_ line",
                vmlinux.display()
            )
        })?;
        return Ok(Found {
            config,
            source: ConfigSource::Ikconfig,
            path: Some(vmlinux.to_owned()),
        });
    }
    match modules.filter(|m| m.has_release) {
        Some(modules) => Ok(Found {
            config: from_modules(modules, rootfs),
            source: ConfigSource::Modules,
            path: Some(modules.dir.clone()),
        }),
        None => Ok(Found {
            config: Config::default(),
            source: ConfigSource::None,
            path: None,
        }),
    }
}

/// Read the config at `path`, capped at [`MAX_CONFIG`].
/// A FIFO planted in its place is refused, never waited on; in an installed kernel's directory
/// (`follow_links` false) a link is refused too.
fn read(path: &Path, source: ConfigSource, follow_links: bool) -> Result<Found> {
    let mut flags = rustix::fs::OFlags::NONBLOCK;
    if !follow_links {
        flags |= rustix::fs::OFlags::NOFOLLOW;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .with_context(|| format!("cannot read config `{}`", path.display()))?;
    let is_file = file.metadata().is_ok_and(|m| m.is_file());
    anyhow::ensure!(is_file, "config `{}` is not a regular file", path.display());
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read config `{}`", path.display()))?;
    anyhow::ensure!(
        bytes.len() as u64 <= MAX_CONFIG,
        "config `{}` is larger than {MAX_CONFIG} bytes; a kernel config is a few hundred KiB",
        path.display()
    );
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("config `{}` is not UTF-8 text", path.display()))?;
    let config = Config::parse(&text).with_context(|| {
        format!(
            "`{}` holds no CONFIG_ line: it is not a kernel config",
            path.display()
        )
    })?;
    Ok(Found {
        config,
        source,
        path: Some(path.to_owned()),
    })
}

/// What the modules tell about the options the rules name.
fn from_modules(modules: &Modules, rootfs: RootFs) -> Config {
    let named = RULES.iter().filter_map(|rule| match rule.subject {
        super::rules::Subject::Option(option) => Some((option, rule.module?)),
        super::rules::Subject::RootFs => Some((rootfs.option, rootfs.module)),
    });
    Config::from_options(named.filter_map(|(option, module)| {
        let have = if modules.is_builtin(module) {
            Have::Builtin
        } else if modules.is_loadable(module) {
            Have::Module
        } else {
            return None;
        };
        Some((option.to_owned(), have))
    }))
}
