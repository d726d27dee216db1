//! The images directory: one `<state root>/images/<name>.json` per registered image, naming its
//! root file system and the installed kernel it boots, resolved to file paths at registration.
//!
//! Images refer to kernels by name. Registration, `kernel rm` and every install that replaces
//! a kernel run under the kernel's name lock, so an image can never be registered against a
//! kernel that is being removed, a kernel cannot disappear from under an image without
//! `--force`, and a replaced kernel's images are rewritten in the same locked step
//! ([`Images::follow_kernel`]). A record that still disagrees with the installed kernel (after
//! a crash between the two, or `kernel rm --force`) is reported as stale by [`Images::status`],
//! never shown as good.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use banger_catalog::{Arch, KernelName, Sha256};
use serde::{Deserialize, Serialize};

use crate::{
    store::atomic, store::files, store::kernels::KernelPaths, store::manifest::Manifest,
    store::state::State,
};

/// An image's name, by the rules of a kernel name; it names the record's file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageName(String);

impl TryFrom<String> for ImageName {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        banger_catalog::validate_name_of("image", &text)?;
        Ok(Self(text))
    }
}

impl From<ImageName> for String {
    fn from(name: ImageName) -> String {
        name.0
    }
}

impl std::str::FromStr for ImageName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        banger_catalog::validate_name_of("image", text)?;
        Ok(Self(text.to_owned()))
    }
}

impl AsRef<str> for ImageName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for ImageName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ImageName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an image's root file system is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RootfsKind {
    File,
    BlockDevice,
}

/// A registered image.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub name: ImageName,
    /// Absolute path of the root file system.
    pub rootfs: String,
    pub rootfs_kind: RootfsKind,
    /// The installed kernel's name.
    pub kernel_ref: KernelName,
    pub kernel: KernelFiles,
    /// RFC 3339, UTC.
    pub registered_at: String,
}

/// The kernel an image boots, as it was when the image was registered.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct KernelFiles {
    pub vmlinux: String,
    pub initrd: Option<String>,
    pub modules: Option<String>,
    /// sha256 of the bundle the kernel was installed from.
    pub sha256: Sha256,
    pub kernel_version: String,
    pub arch: Arch,
}

/// Whether an image's record still matches the kernel installed under its `kernel_ref`.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum KernelStatus {
    /// The installed kernel is the one recorded.
    Current,
    /// Another bundle is installed under that name now.
    Stale { installed_sha256: Sha256 },
    /// No kernel of that name is installed.
    Missing,
}

impl KernelFiles {
    /// The files of the installed kernel `manifest`, found at `paths`.
    pub fn of(manifest: &Manifest, paths: &KernelPaths) -> Self {
        Self {
            vmlinux: paths.vmlinux.clone(),
            initrd: paths.initrd.clone(),
            modules: paths.modules.clone(),
            sha256: manifest.sha256.clone(),
            kernel_version: manifest.kernel_version.clone(),
            arch: manifest.arch.clone(),
        }
    }
}

/// The images directory.
pub struct Images {
    state: State,
    dir: PathBuf,
}

impl Images {
    pub fn new(state: &State) -> Self {
        Self {
            state: state.clone(),
            dir: state.images.clone(),
        }
    }

    fn path(&self, name: &ImageName) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// The image called `name`, if it is registered.
    pub fn get(&self, name: &ImageName) -> Result<Option<Image>> {
        let path = self.path(name);
        let Some(text) = files::read_text(&path)? else {
            return Ok(None);
        };
        let image: Image = serde_json::from_str(&text)
            .with_context(|| format!("image record `{}` is not valid", path.display()))?;
        if &image.name != name {
            anyhow::bail!(
                "image record `{}` names image `{}`",
                path.display(),
                image.name
            );
        }
        Ok(Some(image))
    }

    /// Every registered image, sorted by name.
    pub fn list(&self) -> Result<Vec<Image>> {
        self.state.check(&self.dir)?;
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read `{}`", self.dir.display()))
            }
        };
        let mut images = Vec::new();
        for entry in entries {
            let file_name = entry
                .with_context(|| format!("cannot read `{}`", self.dir.display()))?
                .file_name();
            let Some(name) = file_name
                .to_str()
                .filter(|n| !n.starts_with('.'))
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            // A file whose name is no image name is not a record banger wrote.
            let Ok(name) = name.parse::<ImageName>() else {
                continue;
            };
            images.extend(self.get(&name)?);
        }
        images.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(images)
    }

    /// The names of the images that boot kernel `kernel`.
    pub fn referencing(&self, kernel: &KernelName) -> Result<Vec<ImageName>> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|image| &image.kernel_ref == kernel)
            .map(|image| image.name)
            .collect())
    }

    /// Write `image`, replacing any record of the same name.
    pub fn save(&self, image: &Image) -> Result<()> {
        self.state.ensure(&self.dir)?;
        let mut json = serde_json::to_string_pretty(image)?;
        json.push('\n');
        atomic::write(&self.path(&image.name), json.as_bytes())
    }

    /// Rewrite the records of the images that boot `installed.name` so that they describe the
    /// kernel now installed under that name. The caller holds the kernel's name lock. Returns
    /// the names of the images rewritten.
    pub fn follow_kernel(
        &self,
        installed: &Manifest,
        paths: &KernelPaths,
    ) -> Result<Vec<ImageName>> {
        let mut rewritten = Vec::new();
        for mut image in self.list()? {
            if image.kernel_ref != installed.name {
                continue;
            }
            let files = KernelFiles::of(installed, paths);
            if image.kernel != files {
                image.kernel = files;
                self.save(&image)?;
                rewritten.push(image.name);
            }
        }
        Ok(rewritten)
    }

    /// Whether `image`'s record matches what is installed under its kernel's name now.
    pub fn status(image: &Image, installed: Option<&Manifest>) -> KernelStatus {
        match installed {
            None => KernelStatus::Missing,
            Some(m) if m.sha256 == image.kernel.sha256 && m.arch == image.kernel.arch => {
                KernelStatus::Current
            }
            Some(m) => KernelStatus::Stale {
                installed_sha256: m.sha256.clone(),
            },
        }
    }

    /// Remove the record of `name`; false if there was none.
    pub fn remove(&self, name: &ImageName) -> Result<bool> {
        let path = self.path(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot remove `{}`", path.display())),
        }
    }
}

/// What kind of root file system `path` is: a regular file or a block device, else an error.
pub fn rootfs_kind(path: &Path) -> Result<RootfsKind> {
    use std::os::unix::fs::FileTypeExt;
    let metadata =
        fs::metadata(path).with_context(|| format!("cannot use rootfs `{}`", path.display()))?;
    let kind = metadata.file_type();
    if kind.is_file() {
        Ok(RootfsKind::File)
    } else if kind.is_block_device() {
        Ok(RootfsKind::BlockDevice)
    } else {
        anyhow::bail!(
            "rootfs `{}` is not a regular file or a block device",
            path.display()
        )
    }
}
