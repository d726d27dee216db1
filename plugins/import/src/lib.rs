//! The `import` source: a kernel build directory on this machine, offered as one bundle.
//!
//! Options: `dir` (the build directory), `name`, `distro`, `arch`, and optionally
//! `kernel_version`, `description` and `force=true`. The source checks that `dir/vmlinux` is an
//! ELF for `arch` and reads its release from the `Linux version` banner; a release given as
//! `kernel_version` that differs from the banner is refused unless `force` is set.
//!
//! The directory is packed once, reproducibly, into a private temporary bundle (in the host's
//! scratch directory, where `banger kernel gc` finds it if the run is killed), and the host
//! installs that bundle through the same pipeline as a download: the same layout rules,
//! digest check, staging and atomic rename. Top-level files that are not part of a bundle
//! (`.config`, `System.map`, build leftovers) are ignored, with a warning that names them.

mod vmlinux;

use std::{
    fs::File,
    io::Read,
    path::PathBuf,
    sync::{Mutex, PoisonError},
};

use banger_bundle::pack::{Compression, Plan};
use banger_plugin_api::{
    BundleInfo, Entry, ErrorKind, HostHandle, KernelSource, OpenRequest, Options, PluginError,
};

banger_plugin_api::export_plugin! {
    name: "import",
    version: env!("CARGO_PKG_VERSION"),
    description: "a kernel build directory on this machine (vmlinux, initrd.img, modules/)",
    new: ImportSource::new,
}

struct ImportSource {
    dir: PathBuf,
    /// Where the temporary bundle goes: the host's scratch directory, else `$TMPDIR`.
    scratch: Option<PathBuf>,
    /// The entry, without sha256 and size until the directory is packed.
    entry: Entry,
    host: HostHandle,
    packed: Mutex<Option<Packed>>,
}

/// The directory, packed into a temporary bundle.
struct Packed {
    file: tempfile::NamedTempFile,
    sha256: String,
    size: u64,
}

impl ImportSource {
    fn new(mut options: Options, host: HostHandle) -> Result<Self, PluginError> {
        let mut required = |key: &str| options.require(key, &format!("pass {key}=<{key}>"));
        let dir = PathBuf::from(required("dir")?);
        let mut entry = Entry {
            name: required("name")?,
            distro: required("distro")?,
            arch: required("arch")?,
            kernel_version: options.get("kernel_version").unwrap_or_default(),
            url: String::new(),
            sha256: String::new(),
            size: 0,
            description: options.get("description").unwrap_or_default(),
        };
        let force = options.flag("force")?;
        let scratch = options.scratch_dir();
        options.finish("import")?;
        banger_catalog::validate_name(&entry.name).map_err(PluginError::invalid_input)?;
        banger_catalog::validate_arch(&entry.arch).map_err(PluginError::invalid_input)?;
        if !dir.is_dir() {
            return Err(PluginError::not_found(format!(
                "`{}` is not a directory",
                dir.display()
            )));
        }
        entry.kernel_version = kernel_version(&dir, &entry, force, &host)?;
        entry.url = dir.display().to_string();
        Ok(Self {
            dir,
            entry,
            host,
            scratch,
            packed: Mutex::new(None),
        })
    }

    /// The entry with the digest of the packed directory, packing it on first use.
    fn packed_entry(&self) -> Result<(Entry, File), PluginError> {
        let mut packed = self.packed.lock().unwrap_or_else(PoisonError::into_inner);
        if packed.is_none() {
            *packed = Some(self.pack()?);
        }
        let packed = packed.as_ref().expect("packed above");
        let file = packed.file.reopen()?;
        let entry = Entry {
            sha256: packed.sha256.clone(),
            size: packed.size,
            ..self.entry.clone()
        };
        Ok((entry, file))
    }

    fn pack(&self) -> Result<Packed, PluginError> {
        let plan = Plan::scan(&self.dir)
            .map_err(|e| PluginError::from_error(ErrorKind::INVALID_INPUT, &e))?;
        if !plan.ignored().is_empty() {
            self.host.warn(&format!(
                "ignoring {} in `{}`: a kernel bundle holds only vmlinux, initrd.img and modules/",
                plan.ignored()
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.dir.display()
            ));
        }
        let scratch = match &self.scratch {
            Some(dir) => {
                // The host makes it; should it be missing, it is made private too.
                std::os::unix::fs::DirBuilderExt::mode(
                    std::fs::DirBuilder::new().recursive(true),
                    0o700,
                )
                .create(dir)?;
                dir.clone()
            }
            None => std::env::temp_dir(),
        };
        // `.partial`, so that `banger kernel gc` removes it if this run is killed.
        let file = tempfile::Builder::new()
            .prefix(".import-")
            .suffix(".tar.zst.partial")
            .tempfile_in(scratch)?;
        // Held while this source lives, so that `gc` leaves the file alone meanwhile.
        file.as_file().lock()?;
        let written = plan
            .write(file.as_file(), Compression::local(), |_| {})
            .map_err(|e| PluginError::from_error(ErrorKind::IO, &e))?;
        Ok(Packed {
            file,
            sha256: written.digest.sha256,
            size: written.digest.size,
        })
    }
}

/// The kernel release to record: the banner's, or the one the user gave, which must agree
/// with the banner unless `force` is set.
fn kernel_version(
    dir: &std::path::Path,
    entry: &Entry,
    force: bool,
    host: &HostHandle,
) -> Result<String, PluginError> {
    let path = dir.join("vmlinux");
    if !path.is_file() {
        return Err(PluginError::not_found(format!(
            "no `vmlinux` in `{}`: a kernel build directory must hold the uncompressed vmlinux",
            dir.display()
        )));
    }
    vmlinux::check_machine(&path, &entry.arch).map_err(PluginError::invalid_input)?;
    let banner = vmlinux::banner_release(&path).map_err(|e| {
        PluginError::new(
            ErrorKind::IO,
            format!("cannot read `{}`: {e}", path.display()),
        )
    })?;
    let given = &entry.kernel_version;
    match banner {
        None if given.is_empty() => Err(PluginError::invalid_input(format!(
            "`{}` has no `Linux version` banner; pass --kernel-version",
            path.display()
        ))),
        None => Ok(given.clone()),
        Some(found) if given.is_empty() || *given == found => Ok(found),
        Some(found) if force => {
            host.warn(&format!(
                "using kernel version {given} although `{}` says {found} (--force)",
                path.display()
            ));
            Ok(given.clone())
        }
        Some(found) => Err(PluginError::invalid_input(format!(
            "--kernel-version {given} does not match `{}`, which says `Linux version {found}`; pass --force to record {given} anyway",
            path.display()
        ))),
    }
}

impl KernelSource for ImportSource {
    fn list(&self) -> Result<Vec<Entry>, PluginError> {
        Ok(vec![self.packed_entry()?.0])
    }

    fn open(
        &self,
        request: &OpenRequest,
    ) -> Result<(BundleInfo, Box<dyn Read + Send>), PluginError> {
        if request.name != self.entry.name || request.arch != self.entry.arch {
            return Err(PluginError::not_found(format!(
                "this import offers `{}` for {}, not `{}` for {}",
                self.entry.name, self.entry.arch, request.name, request.arch
            )));
        }
        let (entry, file) = self.packed_entry()?;
        let info = BundleInfo {
            url: entry.url,
            sha256: entry.sha256,
            size: entry.size,
        };
        Ok((info, Box::new(file)))
    }
}
