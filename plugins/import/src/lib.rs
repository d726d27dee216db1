//! The `import` source: a kernel on this machine, offered as one bundle.
//!
//! Options: `dir` (the `--from` directory), `name`, `distro`, `arch`, and optionally
//! `kernel_version`, `config` (a config file to install), `description` and `force=true`.
//!
//! [`tree`] finds the parts in `dir`: a build directory or an extracted distro package
//! (`boot/vmlinuz-X`, `boot/config-X`, `lib/modules/X`). [`kernel`] makes the `vmlinux` that
//! Firecracker loads from the image found: an x86_64 ELF or an arm64 Image as it is, the ELF
//! inside an x86_64 bzImage. The release is read from the image; a release given as
//! `kernel_version` that differs from it is refused unless `force` is set.
//!
//! The parts are packed once, reproducibly, into a private temporary bundle (in the host's
//! scratch directory, where `banger kernel gc` finds it if the run is killed), and the host
//! installs that bundle through the same pipeline as a download: the same layout rules,
//! digest check, staging and atomic rename. The config (`config` option, else the tree's
//! `config`, `.config` or `boot/config-X`) is installed as `config`. Top-level files of a
//! build directory that are not part of a kernel (`System.map`, build leftovers) are ignored,
//! with a warning that names them.

mod kernel;
mod tree;

use std::{
    fs::File,
    io::Read,
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError},
};

use banger_bundle::pack::{Compression, Plan, Sources};
use banger_plugin_api::{
    BundleInfo, Entry, ErrorKind, HostHandle, KernelSource, OpenRequest, Options, PluginError,
};

banger_plugin_api::export_plugin! {
    name: "import",
    version: env!("CARGO_PKG_VERSION"),
    description: "a kernel on this machine: a build directory or an extracted distro package",
    new: ImportSource::new,
}

struct ImportSource {
    dir: PathBuf,
    /// What goes into the bundle.
    sources: Sources,
    /// Keeps an extracted vmlinux alive until the bundle is packed.
    _vmlinux: kernel::Vmlinux,
    /// Top-level names of a build directory that go nowhere.
    ignored: Vec<String>,
    /// Where temporary files go: the host's scratch directory, else `$TMPDIR`.
    scratch: PathBuf,
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
        let config = options.get("config").map(PathBuf::from);
        let scratch = match options.scratch_dir() {
            Some(dir) => {
                // The host makes it; should it be missing, it is made private too.
                std::os::unix::fs::DirBuilderExt::mode(
                    std::fs::DirBuilder::new().recursive(true),
                    0o700,
                )
                .create(&dir)?;
                dir
            }
            None => std::env::temp_dir(),
        };
        options.finish("import")?;
        banger_catalog::validate_name(&entry.name).map_err(PluginError::invalid_input)?;
        banger_catalog::validate_arch(&entry.arch).map_err(PluginError::invalid_input)?;
        if !dir.is_dir() {
            return Err(PluginError::not_found(format!(
                "`{}` is not a directory",
                dir.display()
            )));
        }
        let wanted = Some(entry.kernel_version.as_str()).filter(|v| !v.is_empty());
        let found = tree::find(&dir, &entry.arch, wanted)?;
        let vmlinux = kernel::prepare(&found.image, &entry.arch, &scratch, &host)?;
        let release = vmlinux.release.clone().or_else(|| found.release.clone());
        entry.kernel_version = kernel_version(&found.image, release, &entry, force, &host)?;
        if let Some(tree_release) = &found.release {
            if *tree_release != entry.kernel_version {
                host.warn(&format!(
                    "`{}` says release {}, its modules are `{tree_release}`",
                    found.image.display(),
                    entry.kernel_version
                ));
            }
        }
        let config = config.or(found.config);
        if let Some(config) = &config {
            host.info(&format!(
                "installing `{}` as the kernel's config",
                config.display()
            ));
        }
        entry.url = dir.display().to_string();
        Ok(Self {
            sources: Sources {
                vmlinux: vmlinux.path.clone(),
                initrd: found.initrd,
                config,
                modules: found.modules,
                modules_release: found.release,
            },
            _vmlinux: vmlinux,
            ignored: found.ignored,
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
        let plan = Plan::from_sources(&self.dir, &self.sources)
            .map_err(|e| PluginError::from_error(ErrorKind::INVALID_INPUT, &e))?;
        let ignored: Vec<&String> = self.ignored.iter().chain(plan.ignored()).collect();
        if !ignored.is_empty() {
            self.host.warn(&format!(
                "ignoring {} in `{}`: a kernel bundle holds only vmlinux, initrd.img, config and modules/",
                ignored
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.dir.display()
            ));
        }
        // `.partial`, so that `banger kernel gc` removes it if this run is killed.
        let file = tempfile::Builder::new()
            .prefix(".import-")
            .suffix(".tar.zst.partial")
            .tempfile_in(&self.scratch)?;
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

/// The kernel release to record: the image's, or the one the user gave, which must agree
/// with the image unless `force` is set.
fn kernel_version(
    image: &Path,
    found: Option<String>,
    entry: &Entry,
    force: bool,
    host: &HostHandle,
) -> Result<String, PluginError> {
    let given = &entry.kernel_version;
    match found {
        None if given.is_empty() => Err(PluginError::invalid_input(format!(
            "`{}` has no `Linux version` banner",
            image.display()
        ))
        .with_hint("pass --kernel-version")),
        None => Ok(given.clone()),
        Some(found) if given.is_empty() || *given == found => Ok(found),
        Some(found) if force => {
            host.warn(&format!(
                "using kernel version {given} although `{}` says {found} (--force)",
                image.display()
            ));
            Ok(given.clone())
        }
        Some(found) => Err(PluginError::invalid_input(format!(
            "--kernel-version {given} does not match `{}`, which says `Linux version {found}`",
            image.display()
        ))
        .with_hint(format!("pass --force to record {given} anyway"))),
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
