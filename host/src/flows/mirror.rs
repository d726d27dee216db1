//! Filling a directory with verified bundles and a `catalog.json`, so that it can be served as
//! a mirror or carried to an air-gapped machine as an offline source (`banger kernel mirror`).
//!
//! Each bundle is hashed as it is written, into a temporary file beside its target, and renamed
//! into place (flushed) only once its sha256 and size match; a reader never sees half a bundle.
//! A bundle already present with the right sha256 is skipped without downloading; any other
//! file of that name (partial, corrupt, older) is replaced. When the trusted catalog is signed,
//! `DIR/catalog.json` is that catalog byte for byte, with its `catalog.json.minisig`, so that
//! machines can update from DIR; otherwise it is rewritten after every bundle, so it always
//! lists exactly the bundles that are there, with URLs relative to DIR. What is verified, and what needs `--allow-unverified`, is the trust
//! policy's decision ([`crate::trust::policy`]).

use std::{fs, io, path::Path};

use anyhow::{bail, Context, Result};
use banger_bundle::DigestReader;
use banger_catalog::{
    bundle_file_name, location::OfflineDir, patch, Arch, Catalog, Entry, KernelName,
};
use serde::Serialize;

use crate::{
    plugins::Source,
    store::atomic,
    trust::catalog::Trusted,
    trust::policy::{self, Verdict},
    ui::progress,
    ui::{exit::Class, hint::Hinted},
};

/// One bundle to mirror.
pub struct Planned {
    /// The entry whose bytes the file must have: the trusted one when there is one.
    pub entry: Entry,
    pub file: String,
    pub verified: bool,
    pub action: Action,
}

/// What happens to one bundle.
#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Not present yet.
    Add,
    /// Present with other bytes (partial, corrupt, or another version).
    Replace,
    /// Present with the right sha256.
    Skip,
}

/// What the user asked to mirror.
pub struct Request<'a> {
    pub dir: &'a Path,
    /// All of the source's kernels when empty.
    pub names: &'a [KernelName],
    pub arches: Vec<Arch>,
    pub allow_unverified: bool,
    pub dry_run: bool,
}

/// What a mirror run did, or with `dry_run` would do.
pub struct Mirrored {
    pub bundles: Vec<Planned>,
    /// Entries left out because they need `--allow-unverified`: a warning and its hint.
    pub skipped: Option<(String, &'static str)>,
}

/// The entries `request` names that `source` can provide, under the trust policy.
fn selection(source: &Source, trusted: &Trusted, request: &Request) -> Result<Selected> {
    let mut candidates = policy::candidates(source.name(), &trusted.catalog, &source.list()?);
    candidates.retain(|v| request.arches.iter().any(|a| a.as_str() == v.entry.arch));
    select(candidates, request, &trusted.label, source.name())
}

/// Mirror what `request` names from `source` into a registry repository: each bundle's blob
/// (skipped when the registry has it, verified while it is written otherwise), its manifest,
/// and its name's index, keeping the index's other arches.
pub fn to_registry(
    source: &Source,
    trusted: &Trusted,
    request: &Request,
    registry: &banger_oci::Registry,
) -> Result<Mirrored> {
    let (selected, skipped) = selection(source, trusted, request)?;
    let mut plan = Vec::new();
    for verdict in selected {
        let verified = verdict.verified();
        let entry = verdict.entry;
        let present = registry.has_blob(&entry.sha256, true)?;
        let planned = Planned {
            file: registry.repository.bundle_url(&entry.sha256),
            verified,
            action: if present { Action::Skip } else { Action::Add },
            entry,
        };
        if !request.dry_run {
            registry
                .push_kernel(&planned.entry, || {
                    let (claims, stream) = source
                        .open(&planned.entry.name, &planned.entry.arch, 0)
                        .map_err(|e| {
                            banger_oci::OciError::Read(io::Error::other(format!("{e:#}")))
                        })?;
                    let (stream, bar) =
                        progress::wrap(stream, planned.entry.size, &planned.entry.name);
                    let verifying = Verifying {
                        reader: DigestReader::new(stream, planned.entry.size),
                        entry: planned.entry.clone(),
                        from: banger_fetch::DisplaySafeUrl::from(&claims.url).to_string(),
                        _bar: bar,
                    };
                    Ok(Box::new(verifying) as Box<dyn io::Read>)
                })
                .map_err(anyhow::Error::new)
                .with_context(|| {
                    format!(
                        "cannot mirror `{}` ({}) into `{}`",
                        planned.entry.name, planned.entry.arch, registry.repository
                    )
                })?;
        }
        plan.push(planned);
    }
    Ok(Mirrored {
        bundles: plan,
        skipped,
    })
}

/// Passes a bundle's bytes through while hashing them, and fails as soon as they cannot be
/// exactly the entry's: more bytes, fewer, or other ones. An upload that reads through it
/// never completes with wrong bytes.
struct Verifying<R> {
    reader: DigestReader<R>,
    entry: Entry,
    from: String,
    _bar: indicatif::ProgressBar,
}

impl<R: io::Read> io::Read for Verifying<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        let got = self.reader.digest();
        if (n == 0 || got.size == self.entry.size)
            && (got.size != self.entry.size || got.sha256 != self.entry.sha256)
        {
            return Err(io::Error::other(Class::Verification.because(format!(
                "integrity error: `{}` delivered {} bytes with sha256 {}, but `{}` ({}) must have {} bytes with sha256 {}",
                self.from, got.size, got.sha256, self.entry.name, self.entry.arch, self.entry.size, self.entry.sha256
            ))));
        }
        Ok(n)
    }
}

/// Mirror what `request` names from `source` into its directory.
pub fn run(source: &Source, trusted: &Trusted, request: &Request) -> Result<Mirrored> {
    let (selected, skipped) = selection(source, trusted, request)?;

    let dir = request.dir;
    fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let mut plan: Vec<Planned> = Vec::new();
    for verdict in selected {
        let verified = verdict.verified();
        let entry = verdict.entry;
        let file = bundle_file_name(&entry.url)
            .map_err(|e| anyhow::anyhow!("entry `{}` ({}): {e}", entry.name, entry.arch))?
            .to_owned();
        if let Some(other) = plan.iter().find(|p| p.file == file) {
            bail!(
                "`{}` ({}) and `{}` ({}) would both be stored as `{file}`",
                other.entry.name,
                other.entry.arch,
                entry.name,
                entry.arch
            );
        }
        let action = present_action(&dir.join(&file), &entry)?;
        plan.push(Planned {
            entry,
            file,
            verified,
            action,
        });
    }

    let layout = OfflineDir::new(dir);
    let index_path = layout.index();
    let mut index = read_index(&index_path)?;
    if !request.dry_run {
        for planned in &plan {
            if planned.action != Action::Skip {
                fetch_into(source, planned, dir)?;
            }
            // A signed catalog is copied whole below; rewriting it would break its signature.
            if trusted.signature.is_none() {
                let relative = Entry {
                    url: planned.file.clone(),
                    ..planned.entry.clone()
                };
                index = patch::upsert(&index, &index_path.display().to_string(), &relative)?.0;
                atomic::write(&index_path, prune(&index, dir)?.as_bytes())?;
            }
        }
        if let Some(signature) = &trusted.signature {
            // The trusted catalog, byte for byte, with its signature: what `kernel catalog
            // update --source offline --dir DIR` or `--source mirror` verifies. The mirror and
            // offline sources find each bundle by its file name, wherever its URL points.
            atomic::write(&index_path, trusted.text.as_bytes())?;
            atomic::write(&layout.signature(), signature.as_bytes())?;
        }
    }
    Ok(Mirrored {
        bundles: plan,
        skipped,
    })
}

/// Keep the requested names (all when none are named), refusing unverified entries unless
/// the user allowed them.
type Selected = (Vec<Verdict>, Option<(String, &'static str)>);

fn select(
    candidates: Vec<Verdict>,
    request: &Request,
    origin: &str,
    source: &str,
) -> Result<Selected> {
    let names = request.names;
    for name in names {
        if !candidates.iter().any(|v| v.entry.name == name.as_str()) {
            let arches: Vec<&str> = request.arches.iter().map(|a| a.as_str()).collect();
            bail!(
                "no kernel `{name}` for {} in the {origin} or in source `{source}`",
                arches.join(" or ")
            );
        }
    }
    let (wanted, unverified): (Vec<_>, Vec<_>) = candidates
        .into_iter()
        .filter(|v| names.is_empty() || names.iter().any(|n| n.as_str() == v.entry.name))
        .partition(|v| !v.needs_allow_unverified(source) || request.allow_unverified);
    if !unverified.is_empty() {
        let listed: Vec<String> = unverified
            .iter()
            .map(|v| format!("`{}` ({})", v.entry.name, v.entry.arch))
            .collect();
        let message = format!(
            "{} {} not in the {origin}; only source `{source}`'s own catalog lists {}",
            listed.join(", "),
            if listed.len() == 1 { "is" } else { "are" },
            if listed.len() == 1 { "it" } else { "them" },
        );
        let hint =
            "pass --allow-unverified to mirror them anyway, checked against that catalog's sha256";
        // Named kernels must all be mirrored; with no names, mirror what is verified and say
        // what was left out.
        if !names.is_empty() {
            return Err(Hinted::of(Class::Refused, message, hint));
        }
        return Ok((wanted, Some((message, hint))));
    }
    Ok((wanted, None))
}

/// Whether the file at `path` already holds the entry's bytes. Reads it whole: a file of the
/// right size may still be corrupt.
fn present_action(path: &Path, entry: &Entry) -> Result<Action> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Action::Add),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    if file.metadata()?.len() != entry.size {
        return Ok(Action::Replace);
    }
    let mut reader = DigestReader::new(file, entry.size);
    io::copy(&mut reader, &mut io::sink())
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(if reader.digest().sha256 == entry.sha256 {
        Action::Skip
    } else {
        Action::Replace
    })
}

/// Download one bundle through `source` into `dir`, verified before it appears.
fn fetch_into(source: &Source, planned: &Planned, dir: &Path) -> Result<()> {
    let entry = &planned.entry;
    let (claims, stream) = source.open(&entry.name, &entry.arch, 0)?;
    let target = dir.join(&planned.file);
    let partial = atomic::Partial::new(&target)?;
    let (stream, bar) = progress::wrap(stream, entry.size, &planned.file);
    let mut reader = DigestReader::new(stream, entry.size);
    let copied = io::copy(&mut reader, &mut partial.file());
    bar.finish_and_clear();
    let from = banger_fetch::DisplaySafeUrl::from(&claims.url).to_string();
    copied.with_context(|| {
        format!(
            "cannot mirror `{}` ({}) from `{from}`",
            entry.name, entry.arch
        )
    })?;
    let got = reader.digest();
    if got.size != entry.size || got.sha256 != entry.sha256 {
        return Err(Class::Verification.error(format!(
            "integrity error: `{from}` delivered {} bytes with sha256 {}, but `{}` ({}) must have {} bytes with sha256 {}; nothing was written",
            got.size,
            got.sha256,
            entry.name,
            entry.arch,
            entry.size,
            entry.sha256
        )));
    }
    partial.commit()?;
    Ok(())
}

/// The directory's `catalog.json`, or an empty catalog when there is none (or it is damaged,
/// which is said, since this command rewrites it anyway).
fn read_index(path: &Path) -> Result<String> {
    let empty = patch::empty();
    let origin = path.display().to_string();
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(empty),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{origin}`")),
    };
    let text = banger_catalog::read_capped(file, &origin)
        .and_then(|text| Catalog::parse(&text, &origin).map(|_| text));
    match text {
        Ok(text) => Ok(text),
        Err(e) => {
            crate::ui::text::warn(format!("{e}; it will be rewritten"));
            Ok(empty)
        }
    }
}

/// `index` without entries whose bundle is not in `dir`.
fn prune(index: &str, dir: &Path) -> Result<String> {
    let origin = OfflineDir::new(dir).index().display().to_string();
    Ok(patch::retain(index, &origin, |entry| {
        bundle_file_name(&entry.url).is_ok_and(|file| dir.join(file).is_file())
    })?)
}
