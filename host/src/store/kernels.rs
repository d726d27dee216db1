//! The kernels directory and its transactions: one lock per kernel name, a private staging
//! directory, verification by the host itself, and an atomic swap into place.
//!
//! Every source ends here. The bundle is extracted by `banger_bundle` into
//! `<kernels>/.staging-<name>~XXXX`, its sha256 and size are compared with what the caller
//! trusts, `manifest.json` is written (with `kernel check`'s static verdict), and the staging directory is renamed to
//! `<kernels>/<name>` (or exchanged with the old install in one `renameat2` call). On any
//! failure the staging directory is removed and an earlier install is untouched. A crash leaves
//! only a staging directory, which the next transaction on that name removes.
//!
//! Durable: before the rename that installs a kernel, the staged tree is flushed to disk
//! (`syncfs`), and after it the kernels directory is, so a power cut leaves the old kernel or
//! the complete new one. Nothing below the kernels directory is opened through a link that
//! banger did not make.

use std::{
    fs::{self, File},
    io::Read,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use banger_bundle::{DigestReader, Limits};
use banger_catalog::{Arch, KernelName};

use crate::{
    check::Readiness, store::atomic, store::downloads::Downloads, store::expected::Expected,
    store::files, store::manifest::Manifest, store::state::State, ui::exit::Class,
    ui::hint::Hinted,
};

const STAGING_PREFIX: &str = ".staging-";
/// Separates the name from the random suffix; kernel names cannot contain it.
const STAGING_SEPARATOR: char = '~';

/// Where the files of an installed kernel are.
#[derive(serde::Serialize, Clone, Debug, PartialEq, Eq)]
pub struct KernelPaths {
    /// The kernel's directory.
    pub path: String,
    pub vmlinux: String,
    /// `null` in `kernel show --json` when there is none, as in an image's `kernel`.
    pub initrd: Option<String>,
    pub modules: Option<String>,
}

/// The kernels directory, and the partial downloads of the bundles being installed into it.
pub struct Kernels {
    state: State,
    dir: PathBuf,
    downloads: Downloads,
}

/// An exclusive hold on one kernel name; released on drop.
pub struct NameLock {
    name: KernelName,
    _file: File,
}

impl Kernels {
    pub fn new(state: &State) -> Self {
        Self {
            state: state.clone(),
            dir: state.kernels.clone(),
            downloads: Downloads::new(state),
        }
    }

    /// The state directory this kernels directory belongs to.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Where interrupted downloads are kept for resuming.
    pub fn downloads(&self) -> &Downloads {
        &self.downloads
    }

    /// The scratch directory plugins get for their temporary files (`banger.scratch_dir`):
    /// the downloads directory, where `gc` finds what a killed run left. Created here (0700,
    /// like every state directory), so that no plugin creates it.
    pub fn scratch_dir(&self) -> Result<&Path> {
        let dir = self.downloads.dir();
        self.state.ensure(dir)?;
        Ok(dir)
    }

    /// The directory of kernel `name`, installed or not.
    pub fn path(&self, name: &KernelName) -> PathBuf {
        self.dir.join(name)
    }

    /// The files of kernel `name`; `initrd` and `modules` only where they exist.
    pub fn paths(&self, name: &KernelName) -> KernelPaths {
        let dir = self.path(name);
        let existing = |file: &str| {
            let path = dir.join(file);
            path.exists().then(|| path.display().to_string())
        };
        KernelPaths {
            path: dir.display().to_string(),
            vmlinux: dir.join("vmlinux").display().to_string(),
            initrd: existing("initrd.img"),
            modules: existing("modules"),
        }
    }

    /// Take the lock on `name`, waiting (and saying so) while another banger holds it. Removes
    /// what a crashed transaction on `name` left behind.
    pub fn lock(&self, name: &KernelName) -> Result<NameLock> {
        let file = self.lock_file(name)?;
        if file.try_lock().is_err() {
            crate::ui::text::tell!("waiting for another banger to finish with kernel `{name}`...");
            file.lock()
                .with_context(|| format!("cannot lock kernel `{name}`"))?;
        }
        self.remove_stale_staging(name)?;
        Ok(NameLock {
            name: name.clone(),
            _file: file,
        })
    }

    fn lock_file(&self, name: &KernelName) -> Result<File> {
        let locks = self.dir.join(".locks");
        self.state.ensure(&locks)?;
        let path = locks.join(format!("{name}.lock"));
        let file = files::open(
            &path,
            File::options().create(true).truncate(false).write(true),
        )?;
        file.with_context(|| format!("cannot open lock file `{}`", path.display()))
    }

    /// Remove staging directories left by crashed transactions, skipping names another banger
    /// is working on. Returns how many were removed and their bytes.
    pub fn gc(&self) -> Result<(u64, u64)> {
        // Only staging directories of valid names: anything else is not banger's.
        let mut names: Vec<KernelName> = match fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter_map(|n| {
                    let rest = n.strip_prefix(STAGING_PREFIX)?;
                    rest.split(STAGING_SEPARATOR).next()?.parse().ok()
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read `{}`", self.dir.display()))
            }
        };
        names.sort();
        names.dedup();
        let (mut count, mut bytes) = (0, 0);
        for name in names {
            let file = self.lock_file(&name)?;
            if file.try_lock().is_ok() {
                let (c, b) = self.remove_stale_staging(&name)?;
                count += c;
                bytes += b;
            }
        }
        Ok((count, bytes))
    }

    /// Remove `<kernels>/.staging-<name>~*`; returns how many and their bytes.
    fn remove_stale_staging(&self, name: &KernelName) -> Result<(u64, u64)> {
        let prefix = format!("{STAGING_PREFIX}{name}{STAGING_SEPARATOR}");
        let (mut count, mut bytes) = (0, 0);
        for entry in fs::read_dir(&self.dir)
            .with_context(|| format!("cannot read `{}`", self.dir.display()))?
        {
            let entry = entry.with_context(|| format!("cannot read `{}`", self.dir.display()))?;
            if entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&prefix))
            {
                bytes += crate::store::state::remove_leftover(&entry.path())?;
                count += 1;
            }
        }
        Ok((count, bytes))
    }

    /// The manifest of `name`, if it is installed.
    pub fn installed(&self, name: &KernelName) -> Result<Option<Manifest>> {
        if !self.is_installed(name)? {
            return Ok(None);
        }
        Manifest::read(&self.path(name), name).map(Some)
    }

    /// The manifest of `name`; an error with a hint to pull it if it is not installed.
    pub fn require(&self, name: &KernelName) -> Result<Manifest> {
        self.installed(name)?
            .ok_or_else(|| Self::not_installed(name))
    }

    /// The error for a kernel that is not installed, with the command that installs it.
    pub fn not_installed(name: &KernelName) -> anyhow::Error {
        Hinted::of(
            Class::NotFound,
            format!("kernel `{name}` is not installed"),
            format!("run `banger kernel pull {name}` to install it"),
        )
    }

    /// Whether anything at all (a directory, or a link to remove) stands at `<kernels>/<name>`.
    pub fn is_present(&self, name: &KernelName) -> bool {
        fs::symlink_metadata(self.path(name)).is_ok()
    }

    /// Whether `<kernels>/<name>` exists; an error if something other than a directory, such
    /// as a planted link, stands there.
    pub fn is_installed(&self, name: &KernelName) -> Result<bool> {
        let dir = self.path(name);
        match fs::symlink_metadata(&dir) {
            Ok(metadata) if metadata.is_dir() => Ok(true),
            Ok(_) => Err(Hinted::error(
                format!(
                    "`{}` is not a directory banger made (a link or a file stands there)",
                    dir.display()
                ),
                format!("remove it: banger kernel rm {name}"),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot inspect `{}`", dir.display())),
        }
    }

    /// Every installed kernel, sorted by name; a broken one is an error naming it.
    pub fn list(&self) -> Result<Vec<Manifest>> {
        self.state.check(&self.dir)?;
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read `{}`", self.dir.display()))
            }
        };
        let mut manifests = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read `{}`", self.dir.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str().filter(|n| !n.starts_with('.')) else {
                continue;
            };
            let kind = entry
                .file_type()
                .with_context(|| format!("cannot inspect `{}`", entry.path().display()))?;
            if kind.is_dir() {
                let name: KernelName = name.parse().map_err(|problem| {
                    anyhow::anyhow!(
                        "`{}` is not the directory of a kernel: {problem}",
                        entry.path().display()
                    )
                })?;
                manifests.push(Manifest::read(&entry.path(), &name)?);
            }
        }
        manifests.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(manifests)
    }

    /// Extract `stream` into staging, check it against `expected`, write `manifest`, and move
    /// it into place, replacing any install of the same name.
    pub fn install(
        &self,
        lock: &NameLock,
        stream: impl Read + Send,
        expected: &Expected,
        manifest: &Manifest,
    ) -> Result<()> {
        let name = &lock.name;
        let staging = self.staging(name)?;
        let limits = Limits {
            max_compressed: expected.size,
            ..Limits::default()
        };
        let mut reader = DigestReader::new(stream, limits.max_compressed);
        let result = banger_bundle::extract_from(&mut reader, staging.path(), &limits);
        // After a failure, read on to the expected size: if the bytes are not the expected
        // ones, that is the real problem, whatever the archive parser tripped over.
        let drained = match &result {
            Ok(_) => Ok(()),
            Err(_) => reader.drain(),
        };
        expected.check(name, &reader.digest(), drained)?;
        let from = &expected.url;
        result.with_context(|| format!("cannot install kernel `{name}` from `{from}`"))?;
        let manifest = Manifest {
            check: Some(self.readiness(staging.path(), name, &manifest.arch)),
            ..manifest.clone()
        };
        manifest.write(staging.path())?;
        fs::set_permissions(
            staging.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .with_context(|| format!("cannot set the mode of `{}`", staging.path().display()))?;
        // Data first, then the rename, then the directory that holds the rename.
        atomic::sync_filesystem(staging.path())?;
        atomic::swap_dir(staging.path(), &self.path(name)).with_context(|| {
            format!("cannot move kernel `{name}` into `{}`", self.dir.display())
        })?;
        atomic::sync_dir(&self.dir)?;
        // The staging path now holds the old install, if there was one; dropping it removes it.
        Ok(())
    }

    /// The static check of the kernel staged in `staging`, with messages naming the place it
    /// is about to be installed rather than the staging directory.
    fn readiness(&self, staging: &Path, name: &KernelName, arch: &Arch) -> Readiness {
        let mut readiness = Readiness::of(staging, arch.as_str());
        let (from, to) = (
            staging.display().to_string(),
            self.path(name).display().to_string(),
        );
        for error in &mut readiness.errors {
            *error = error.replace(&from, &to);
        }
        readiness
    }

    /// A fresh private directory `<kernels>/.staging-<name>~XXXX`, removed on drop.
    fn staging(&self, name: &KernelName) -> Result<tempfile::TempDir> {
        self.state.fresh_dir(
            &self.dir,
            &format!("{STAGING_PREFIX}{name}{STAGING_SEPARATOR}"),
        )
    }

    /// Remove kernel `name`: it disappears in one rename, then its files are deleted.
    /// Returns false if it was not installed. The manifest is not read, so a damaged install
    /// can still be removed.
    pub fn remove(&self, lock: &NameLock) -> Result<bool> {
        let name = &lock.name;
        let target = self.path(name);
        if !self.is_present(name) {
            return Ok(false);
        }
        let doomed = self.staging(name)?;
        // Renaming a directory onto an empty one replaces it atomically; dropping `doomed`
        // then deletes the files. A planted link is moved, never followed, and deleted as a
        // link.
        let moved = if fs::symlink_metadata(&target)?.is_dir() {
            fs::rename(&target, doomed.path())
        } else {
            fs::remove_file(&target)
        };
        moved.with_context(|| format!("cannot remove `{}`", target.display()))?;
        atomic::sync_dir(&self.dir)?;
        Ok(true)
    }

    /// Create the kernels directory if needed.
    pub fn ensure_dir(&self) -> Result<()> {
        self.state.ensure(&self.dir)
    }
}
