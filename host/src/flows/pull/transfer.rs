//! The bytes of one pull: the bundle's stream as the source opened it, fitted to the partial
//! download it continues or refills, then written through [`Kernels::install`]. Which bytes
//! they must be, and whether to install them at all, is the caller's ([`super::install`]).

use std::io::Read;

use anyhow::Result;
use banger_catalog::{Arch, KernelName, Sha256};

use crate::{
    plugins::{Declared, Source},
    store::downloads::Partial,
    store::expected::{Expected, Incomplete},
    store::kernels::{Kernels, NameLock},
    store::manifest::Manifest,
    ui::progress,
};

/// The bundle as the source opened it, and the partial download its bytes continue or refill.
pub(super) struct Transfer {
    pub(super) declared: Declared,
    stream: Box<dyn Read + Send>,
    pub(super) partial: Option<Partial>,
}

impl Transfer {
    /// Open (name, arch) from `source` at the end of the kept partial download of `sha256`
    /// when there is one shorter than the bundle's `size`, else at byte 0. A source that
    /// resumes anywhere else is refused.
    pub(super) fn open(
        kernels: &Kernels,
        source: &Source,
        (name, arch): (&KernelName, &Arch),
        sha256: &Sha256,
        size: u64,
    ) -> Result<Self> {
        let partial = kernels.downloads().partial(sha256, false)?;
        // A partial as long as the bundle or longer is not a prefix of it; start over.
        let offset = partial
            .as_ref()
            .map(|p| p.len())
            .filter(|len| *len < size)
            .unwrap_or(0);
        let (declared, stream) = source.open(name, arch, offset)?;
        if declared.resumed_from != 0 && declared.resumed_from != offset {
            anyhow::bail!(
                "source `{}` resumed `{name}` at byte {}, but banger asked for byte {offset}",
                source.name(),
                declared.resumed_from
            );
        }
        Ok(Self {
            declared,
            stream: Box::new(stream),
            partial,
        })
    }

    /// Fit the partial download to the stream of the bytes `sha256`: a resumable source gets
    /// one to keep what it sends, and a resumed stream with no kept prefix to follow is
    /// opened again at byte 0.
    pub(super) fn fit_partial(
        self,
        kernels: &Kernels,
        source: &Source,
        (name, arch): (&KernelName, &Arch),
        sha256: &Sha256,
    ) -> Result<Self> {
        let Self {
            mut declared,
            mut stream,
            mut partial,
        } = self;
        if declared.resumable && partial.is_none() {
            partial = kernels.downloads().partial(sha256, true)?;
        }
        // A resumed stream's bytes belong after the kept prefix and nowhere else: without that
        // prefix, start again from byte 0.
        let keeps_prefix = declared.resumable && partial.as_ref().is_some_and(|p| p.len() > 0);
        if declared.resumed_from > 0 && !keeps_prefix {
            drop(stream);
            let (again, whole) = source.open(name, arch, 0)?;
            if again.resumed_from != 0 {
                anyhow::bail!(
                    "source `{}` resumed `{name}` at byte {} when asked for the whole bundle",
                    source.name(),
                    again.resumed_from
                );
            }
            (declared, stream) = (again, Box::new(whole));
        }
        Ok(Self {
            declared,
            stream,
            partial,
        })
    }

    /// Install the stream through [`Kernels::install`] behind a progress bar, appending to
    /// the partial download as it goes. The partial is kept only to resume a transfer that
    /// ended early; after an install, or bytes that were wrong, it has no use.
    pub(super) fn write(
        self,
        kernels: &Kernels,
        lock: &NameLock,
        expected: &Expected,
        manifest: &Manifest,
    ) -> Result<()> {
        let Self {
            declared,
            stream,
            mut partial,
        } = self;
        let stream: Box<dyn Read + Send> = match (&mut partial, declared.resumable) {
            (Some(partial), true) => partial.resume(stream, declared.resumed_from)?,
            _ => stream,
        };
        let (stream, bar) = progress::wrap(stream, expected.size, &manifest.name);
        let result = kernels.install(lock, stream, expected, manifest);
        bar.finish_and_clear();
        let resumable_later = declared.resumable
            && matches!(&result, Err(e) if e.downcast_ref::<Incomplete>().is_some());
        if let (Some(partial), false) = (partial, resumable_later) {
            partial.remove()?;
        }
        result
    }
}
