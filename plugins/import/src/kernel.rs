//! The `vmlinux` to install, made from the kernel image found: Firecracker loads an ELF
//! `vmlinux` on x86_64 and an arm64 Image on arm64.
//!
//! Those are installed as they are. An x86_64 bzImage (a distro's `vmlinuz`) has its ELF
//! extracted from the payload, as `scripts/extract-vmlinux` does, into a private `.partial`
//! file in the scratch directory, which lives as long as the import. Anything else is refused
//! with what Firecracker needs instead.

use std::{
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use banger_kernel_image::{extract_elf, identify, Format};
use banger_plugin_api::{ErrorKind, HostHandle, PluginError};

/// The file to install as `vmlinux`, and the release the image states.
pub struct Vmlinux {
    pub path: PathBuf,
    pub release: Option<String>,
    /// The ELF extracted from a bzImage; removed when the import ends.
    _extracted: Option<tempfile::NamedTempFile>,
}

/// A plugin error from an image error: its message and causes, and its hint apart.
fn refused(error: &banger_kernel_image::Error) -> PluginError {
    let refused = PluginError::from_error(ErrorKind::INVALID_INPUT, error);
    match error.hint() {
        Some(hint) => refused.with_hint(hint),
        None => refused,
    }
}

/// The `vmlinux` for `arch` made from `image`.
pub fn prepare(
    image: &Path,
    arch: &str,
    scratch: &Path,
    host: &HostHandle,
) -> Result<Vmlinux, PluginError> {
    let found = identify(image).map_err(|e| refused(&e))?;
    if let (Format::BzImage { payload, .. }, "x86_64") = (&found.format, arch) {
        let extracted = tempfile::Builder::new()
            .prefix(".import-")
            .suffix(".vmlinux.partial")
            .tempfile_in(scratch)?;
        // Held while this import lives, so that `banger kernel gc` leaves the file alone.
        extracted.as_file().lock()?;
        let mut out = BufWriter::new(extracted.as_file());
        let size = extract_elf(image, &mut out).map_err(|e| refused(&e))?;
        out.flush()?;
        drop(out);
        let elf = identify(extracted.path()).map_err(|e| refused(&e))?;
        elf.format.loadable(image, arch).map_err(|e| refused(&e))?;
        host.info(&format!(
            "extracted the ELF vmlinux ({:.1} MiB{}) from the {} payload of the bzImage `{}`",
            size as f64 / f64::from(1 << 20),
            if elf.format.pvh() {
                ", with the PVH entry note"
            } else {
                ""
            },
            payload.name(),
            image.display()
        ));
        return Ok(Vmlinux {
            path: extracted.path().to_owned(),
            release: elf.release.or(found.release),
            _extracted: Some(extracted),
        });
    }
    found
        .format
        .loadable(image, arch)
        .map_err(|e| refused(&e))?;
    Ok(Vmlinux {
        path: image.to_owned(),
        release: found.release,
        _extracted: None,
    })
}
