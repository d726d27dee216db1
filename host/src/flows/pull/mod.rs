//! Pulling one kernel, with no user interface: [`run`] is the one path `kernel pull`,
//! `kernel import` and `kernel upgrade` take. First which bytes to expect ([`verdict`]) and
//! whether the user allows them, then the transaction ([`install`]): resume from a kept partial
//! download, open the source, install through [`Kernels::install`], and bring the image records
//! that boot the kernel up to date. It returns an [`Outcome`]; the commands print it.
//!
//! A progress bar (drawn only on a terminal) is the one thing it shows, since only this module
//! (its [`transfer`]) sees the stream.

mod transfer;

use anyhow::Result;
use banger_catalog::{Arch, Catalog, Entry, KernelName};
use serde::Serialize;

use crate::{
    plugins::Source,
    store::expected::Expected,
    store::images::{ImageName, Images},
    store::kernels::Kernels,
    store::manifest::{now_rfc3339, Manifest},
    trust::catalog::Trusted,
    trust::policy::{self, Verdict},
    ui::{exit::Class, hint::Hinted},
};
use transfer::Transfer;

/// What became of the kernel.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// There was none of that name.
    Installed,
    /// Another bundle of that name was replaced.
    Replaced,
    /// The same bundle was installed already; nothing was downloaded.
    Unchanged,
}

/// The result of [`run`].
#[derive(Debug)]
pub struct Outcome {
    pub status: Status,
    /// The bytes the kernel was checked against, and on whose word.
    pub verdict: Verdict,
    /// The byte the download resumed at, when it continued a kept partial download.
    pub resumed_from: Option<u64>,
    /// Images whose records were rewritten for the new kernel.
    pub images_updated: Vec<ImageName>,
}

/// One kernel to pull, and what the user allows.
pub struct Request<'a> {
    pub name: &'a KernelName,
    pub arch: &'a Arch,
    /// Replace an install of another bundle.
    pub force: bool,
    pub unverified: Unverified,
}

/// Whether bytes the trusted catalog does not vouch for may be installed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    /// `--allow-unverified`: whatever the policy would otherwise refuse.
    Allowed,
    /// As the trust policy says: a catalog transport's own entries are refused, another
    /// source's declaration is not.
    AsPolicy,
    /// From no source: upgrades take only the trusted catalog's bytes.
    Refused,
}

/// The verdict for the request from `source` under `trusted`, refused unless the user allows
/// it, then the install of those bytes.
pub fn run(
    kernels: &Kernels,
    images: &Images,
    source: &Source,
    trusted: &Trusted,
    request: &Request,
) -> Result<Outcome> {
    let (catalog, name, arch) = (&trusted.catalog, request.name, request.arch);
    let allowed = request.unverified == Unverified::Allowed;
    let verdict = verdict(source, catalog, &trusted.label, name, arch, allowed)?;
    if request.unverified == Unverified::Refused && !verdict.verified() {
        return Err(Class::Refused.error(format!(
            "source `{}` would install an unverified `{name}`; upgrades take only the trusted catalog's bytes",
            source.name()
        )));
    }
    let entry = catalog.find(name, arch);
    install(kernels, images, source, verdict, entry, request.force)
}

/// The verdict for (name, arch) from `source`, under the one trust policy; an error that says
/// what to do when there is nothing to install, or when it needs `--allow-unverified`.
fn verdict(
    source: &Source,
    catalog: &Catalog,
    origin: &str,
    name: &str,
    arch: &str,
    allow_unverified: bool,
) -> Result<Verdict> {
    let trusted = catalog.find(name, arch);
    let transport = policy::is_catalog_transport(source.name());
    // A catalog transport with a trusted entry needs no listing: the entry says it all.
    let offered = match (transport, trusted) {
        (true, Some(_)) => None,
        _ => source.offered(name, arch)?,
    };
    let Some(verdict) = policy::judge(source.name(), trusted, offered.as_ref()) else {
        return Err(if transport {
            not_in_catalog(catalog, origin, name, arch)
        } else {
            Class::NotFound.error(format!(
                "source `{}` does not offer `{name}` for {arch}",
                source.name()
            ))
        });
    };
    if verdict.needs_allow_unverified(source.name()) && !allow_unverified {
        return Err(Hinted::of(
            Class::Refused,
            format!(
                "`{name}` for {arch} is not in the {origin}; only source `{}`'s own catalog.json lists it, and banger does not trust that",
                source.name()
            ),
            "pass --allow-unverified to install it anyway, checked against that catalog.json's sha256; its manifest will record \"verified\": false",
        ));
    }
    Ok(verdict)
}

fn not_in_catalog(catalog: &Catalog, origin: &str, name: &str, arch: &str) -> anyhow::Error {
    let other_arches: Vec<&str> = catalog
        .entries
        .iter()
        .filter(|e| e.name == name)
        .map(|e| e.arch.as_str())
        .collect();
    let message = format!("no kernel `{name}` for {arch} in the {origin}");
    if other_arches.is_empty() {
        Hinted::of(
            Class::NotFound,
            message,
            "run `banger kernel list --available` to see what the catalog offers",
        )
    } else {
        Hinted::of(
            Class::NotFound,
            message,
            format!("it exists for {}; pass --arch", other_arches.join(", ")),
        )
    }
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
) -> Result<Outcome> {
    let (name, arch, listed_sha256) = verdict.key()?;
    kernels.ensure_dir()?;
    let lock = kernels.lock(&name)?;
    let installed = kernels.installed(&name)?;
    let replacing = Replacing {
        installed: installed.as_ref(),
        images,
        force,
        source: source.name(),
    };
    // The decision needs no download: the entry already says what the bytes must be.
    if !replacing.needs_install(&verdict.entry)? {
        return Ok(Outcome::unchanged(verdict));
    }
    let size = verdict.entry.size;
    let mut transfer = Transfer::open(kernels, source, (&name, &arch), &listed_sha256, size)?;
    let verdict = verdict.settle(&transfer.declared, trusted);
    let (_, _, sha256) = verdict.key()?;
    if sha256 != listed_sha256 {
        // The source declares other bytes than it listed: the partial is not theirs.
        transfer.partial = None;
        if !replacing.needs_install(&verdict.entry)? {
            return Ok(Outcome::unchanged(verdict));
        }
    }
    let transfer = transfer.fit_partial(kernels, source, (&name, &arch), &sha256)?;
    let expected = Expected {
        // Where the bytes come from is what messages and the manifest name, without secrets.
        url: banger_fetch::DisplaySafeUrl::from(&transfer.declared.url).to_string(),
        sha256,
        size: verdict.entry.size,
    };
    let manifest = manifest_for(&name, &arch, source.name(), &verdict, &expected);
    let resumed_from = transfer.declared.resumed_from;
    transfer.write(kernels, &lock, &expected, &manifest)?;
    let images_updated = images.follow_kernel(&manifest, &kernels.paths(&name))?;
    Ok(Outcome {
        status: if installed.is_some() {
            Status::Replaced
        } else {
            Status::Installed
        },
        verdict,
        resumed_from: (resumed_from > 0).then_some(resumed_from),
        images_updated,
    })
}

impl Outcome {
    /// The same bundle is installed already.
    fn unchanged(verdict: Verdict) -> Self {
        Self {
            status: Status::Unchanged,
            verdict,
            resumed_from: None,
            images_updated: Vec::new(),
        }
    }
}

/// The manifest an install of `verdict`'s entry writes; `check` is made by
/// [`Kernels::install`] from the extracted files.
fn manifest_for(
    name: &KernelName,
    arch: &Arch,
    source: &str,
    verdict: &Verdict,
    expected: &Expected,
) -> Manifest {
    let entry = &verdict.entry;
    Manifest {
        name: name.clone(),
        distro: entry.distro.clone(),
        arch: arch.clone(),
        kernel_version: entry.kernel_version.clone(),
        source: source.to_owned(),
        url: expected.url.clone(),
        sha256: expected.sha256.clone(),
        size: expected.size,
        verified: verdict.verified(),
        trust: verdict.trust,
        installed_at: now_rfc3339(),
        description: entry.description.clone(),
        check: None,
    }
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
        if current.sha256.as_str() == entry.sha256 && current.arch.as_str() == arch {
            return Ok(false);
        }
        if !self.force {
            return Err(Hinted::error(
                format!(
                    "kernel `{}` is already installed with sha256 {} ({}), and source `{source}` offers {} ({arch})",
                    current.name, current.sha256, current.arch, entry.sha256
                ),
                // Pull, import and upgrade all come here: the hint names the flag, not one of
                // their command lines.
                "pass --force to replace it",
            ));
        }
        let users = self.images.referencing(&current.name)?;
        if current.arch.as_str() != arch && !users.is_empty() {
            return Err(Hinted::error(
                format!(
                    "kernel `{}` is {} and image(s) {} boot it; replacing it with an {arch} kernel is refused",
                    current.name,
                    current.arch,
                    list(&users, ", ")
                ),
                format!(
                    "remove or re-register those images first (banger image rm {})",
                    list(&users, " ")
                ),
            ));
        }
        Ok(true)
    }
}

/// `names` joined by `separator`.
pub fn list(names: &[impl AsRef<str>], separator: &str) -> String {
    names
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(separator)
}
