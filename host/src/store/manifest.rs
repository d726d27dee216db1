//! `manifest.json`: what an installed kernel is and where it came from.

use std::path::Path;

use anyhow::{Context, Result};
use banger_catalog::{Arch, KernelName, Sha256};
use serde::{Deserialize, Serialize};

/// The file name inside each kernel directory.
pub const MANIFEST: &str = "manifest.json";

/// How far the installed bytes were checked.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    /// Against the effective trusted catalog: the embedded one or a stored signed update,
    /// whichever has the higher serial, or `$BANGER_CATALOG` when it is set.
    Catalog,
    /// Against the digest the source plugin declared; the user chose to install that plugin.
    Source,
}

/// The manifest of one installed kernel.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub name: KernelName,
    pub distro: String,
    pub arch: Arch,
    pub kernel_version: String,
    /// The source plugin it was installed through.
    pub source: String,
    /// Where the bundle came from.
    pub url: String,
    /// sha256 of the bundle it came from.
    pub sha256: Sha256,
    /// Size in bytes of the bundle it came from.
    pub size: u64,
    /// What the digest was checked against.
    pub trust: Trust,
    /// Whether the digest came from the trusted catalog.
    pub verified: bool,
    /// RFC 3339, UTC.
    pub installed_at: String,
    #[serde(default)]
    pub description: String,
    /// `banger kernel check`'s static verdict, made when it was installed; manifests written
    /// before banger checked kernels have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<crate::check::Readiness>,
}

impl Manifest {
    /// Read and check the manifest in `dir`, which must be the directory of kernel `name`.
    pub fn read(dir: &Path, name: &KernelName) -> Result<Self> {
        let path = dir.join(MANIFEST);
        let text = crate::store::files::read_text(&path)?
            .with_context(|| format!("`{}` is missing", path.display()))?;
        let manifest: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("manifest `{}` is not valid", path.display()))?;
        if &manifest.name != name {
            anyhow::bail!(
                "manifest `{}` names kernel `{}`, but it sits in the directory of `{name}`",
                path.display(),
                manifest.name
            );
        }
        let m = &manifest;
        for (field, value) in [
            ("distro", &m.distro),
            ("kernel_version", &m.kernel_version),
            ("source", &m.source),
            ("url", &m.url),
            ("installed_at", &m.installed_at),
            ("description", &m.description),
        ] {
            banger_catalog::validate_text(value).map_err(|e| {
                anyhow::anyhow!("manifest `{}` is not valid: {field}: {e}", path.display())
            })?;
        }
        Ok(manifest)
    }

    /// Write the manifest into `dir`, a staging directory the caller flushes to disk.
    pub fn write(&self, dir: &Path) -> Result<()> {
        use std::io::Write;
        let path = dir.join(MANIFEST);
        let mut json = serde_json::to_string_pretty(self)?;
        json.push('\n');
        std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut file| file.write_all(json.as_bytes()))
            .with_context(|| format!("cannot write `{}`", path.display()))
    }
}

/// The current time as RFC 3339 in UTC, to the second, e.g. `2026-11-25T18:04:05Z`.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
