//! A kernel's `modules/` tree as `kernel check` sees it: which releases it holds, which
//! modules `modules/<release>/modules.builtin` says are built in, and which `.ko` files are
//! there to load. It answers two questions: is a module the config builds as `m` present,
//! and, when there is no config at all, what can be told from the modules alone.
//!
//! The tree comes from a bundle or a build directory: links are never followed, the walk
//! stops after [`MAX_ENTRIES`] entries, and `modules.builtin` is read with a cap.

use std::{
    collections::HashSet,
    fs,
    io::Read,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

/// More entries than any kernel's modules tree has (Debian's generic kernel: ~6,000 files).
const MAX_ENTRIES: usize = 100_000;
/// How deep the walk goes below `modules/<release>/` (real trees: about 6).
const MAX_DEPTH: usize = 16;
/// `modules.builtin` lists a few hundred paths; 1 MiB is far more.
const MAX_BUILTIN: u64 = 1 << 20;

/// What `modules/` holds.
#[derive(Debug, Default)]
pub struct Modules {
    /// `modules/`.
    pub dir: PathBuf,
    /// The release directories in it, sorted.
    pub releases: Vec<String>,
    /// Whether it has the image's release.
    pub has_release: bool,
    /// Whether `modules/<release>/modules.builtin` exists.
    pub has_builtin_list: bool,
    /// Module names (`-` spelled `_`) that `modules.builtin` lists.
    builtin: HashSet<String>,
    /// Module names with a `.ko` (or `.ko.xz`, `.ko.zst`, `.ko.gz`) file below the release.
    loadable: HashSet<String>,
}

impl Modules {
    /// The warning for a tree without the image's `release`, whose modules cannot load.
    pub fn mismatch(&self, release: &str) -> Option<String> {
        if self.has_release {
            return None;
        }
        let held = if self.releases.is_empty() {
            "no release directory".to_owned()
        } else {
            self.releases
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Some(format!(
            "`{}` holds {held}, not the image's release `{release}`: its modules cannot load",
            self.dir.display()
        ))
    }

    /// Read `<kernel>/modules/`, looking for `release`; `None` when there is no `modules/`.
    /// `modules` itself is followed if it is a link and `follow_link` is set; nothing below it
    /// ever is.
    pub fn scan(kernel: &Path, release: Option<&str>, follow_link: bool) -> Result<Option<Self>> {
        let dir = kernel.join("modules");
        let metadata = match follow_link {
            true => fs::metadata(&dir),
            false => fs::symlink_metadata(&dir),
        };
        match metadata {
            Ok(m) if m.is_dir() => {}
            Ok(_) => anyhow::bail!("`{}` is not a directory", dir.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", dir.display())),
        }
        let mut releases = Vec::new();
        for entry in read_dir(&dir)? {
            let entry = entry.with_context(|| format!("cannot read `{}`", dir.display()))?;
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if let (true, Some(name)) = (is_dir, entry.file_name().to_str()) {
                releases.push(name.to_owned());
            }
            if releases.len() > MAX_ENTRIES {
                anyhow::bail!("`{}` holds more than {MAX_ENTRIES} entries", dir.display());
            }
        }
        releases.sort();
        let mut modules = Modules {
            has_release: release.is_some_and(|r| releases.iter().any(|d| d == r)),
            releases,
            dir,
            ..Modules::default()
        };
        if let (true, Some(release)) = (modules.has_release, release) {
            let root = modules.dir.join(release);
            modules.read_builtin(&root.join("modules.builtin"))?;
            let mut budget = MAX_ENTRIES;
            walk(&root, 0, &mut budget, &mut modules.loadable)?;
        }
        Ok(Some(modules))
    }

    fn read_builtin(&mut self, path: &Path) -> Result<()> {
        let file = match fs::symlink_metadata(path) {
            Ok(m) if m.is_file() => fs::File::open(path),
            _ => return Ok(()),
        };
        let mut text = String::new();
        file.and_then(|f| f.take(MAX_BUILTIN + 1).read_to_string(&mut text))
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        if text.len() as u64 > MAX_BUILTIN {
            anyhow::bail!("`{}` is larger than {MAX_BUILTIN} bytes", path.display());
        }
        self.has_builtin_list = true;
        self.builtin = text.lines().filter_map(module_name).collect();
        Ok(())
    }

    /// Whether `modules.builtin` lists `module`.
    pub fn is_builtin(&self, module: &str) -> bool {
        self.builtin.contains(&normalise(module))
    }

    /// Whether a `.ko` file of `module` is present.
    pub fn is_loadable(&self, module: &str) -> bool {
        self.loadable.contains(&normalise(module))
    }
}

fn read_dir(dir: &Path) -> Result<fs::ReadDir> {
    fs::read_dir(dir).with_context(|| format!("cannot read `{}`", dir.display()))
}

/// Collect module names below `dir`, never through a link, within `budget` entries.
fn walk(dir: &Path, depth: usize, budget: &mut usize, found: &mut HashSet<String>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for entry in read_dir(dir)? {
        let entry = entry.with_context(|| format!("cannot read `{}`", dir.display()))?;
        *budget = budget.checked_sub(1).with_context(|| {
            format!(
                "`{}` holds more than {MAX_ENTRIES} entries; not a kernel's modules tree",
                dir.display()
            )
        })?;
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot inspect `{}`", entry.path().display()))?;
        if kind.is_dir() {
            walk(&entry.path(), depth + 1, budget, found)?;
        } else if kind.is_file() {
            if let Some(name) = entry.file_name().to_str().and_then(module_name) {
                found.insert(name);
            }
        }
    }
    Ok(())
}

/// The module name of a `.ko` path (`kernel/drivers/char/hw_random/virtio-rng.ko.xz` →
/// `virtio_rng`), or `None` for another file.
fn module_name(path: &str) -> Option<String> {
    let file = path.trim().rsplit('/').next()?;
    let stem = [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .find_map(|suffix| file.strip_suffix(suffix))?;
    (!stem.is_empty()).then(|| normalise(stem))
}

/// The kernel treats `-` and `_` in module names alike.
fn normalise(name: &str) -> String {
    name.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            let path = dir.path().join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, b"").unwrap();
        }
        dir
    }

    #[test]
    fn builtin_and_loadable_modules_are_told_apart() {
        let dir = tree(&[
            "modules/6.1.0/kernel/drivers/block/virtio_blk.ko",
            "modules/6.1.0/kernel/drivers/char/hw_random/virtio-rng.ko.xz",
            "modules/6.1.0/kernel/drivers/net/virtio_net.ko.zst",
            "modules/6.1.0/modules.order",
        ]);
        fs::write(
            dir.path().join("modules/6.1.0/modules.builtin"),
            "kernel/fs/ext4/ext4.ko\nkernel/drivers/virtio/virtio_mmio.ko\n",
        )
        .unwrap();
        let modules = Modules::scan(dir.path(), Some("6.1.0"), false)
            .unwrap()
            .unwrap();
        assert!(modules.has_release && modules.has_builtin_list);
        assert!(modules.is_builtin("ext4") && modules.is_builtin("virtio_mmio"));
        assert!(!modules.is_builtin("virtio_blk"));
        assert!(modules.is_loadable("virtio_blk"));
        assert!(modules.is_loadable("virtio-rng") && modules.is_loadable("virtio_rng"));
        assert!(modules.is_loadable("virtio_net"));
        assert!(!modules.is_loadable("modules"));
    }

    #[test]
    fn another_release_is_noticed_and_not_read() {
        let dir = tree(&["modules/5.10.0/kernel/drivers/block/virtio_blk.ko"]);
        let modules = Modules::scan(dir.path(), Some("6.1.0"), false)
            .unwrap()
            .unwrap();
        assert!(!modules.has_release);
        assert_eq!(modules.releases, ["5.10.0"]);
        assert!(!modules.is_loadable("virtio_blk"));
        assert!(
            Modules::scan(tree(&["vmlinux"]).path(), Some("6.1.0"), false)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn links_are_not_followed() {
        let dir = tree(&["elsewhere/virtio_blk.ko", "modules/6.1.0/modules.order"]);
        std::os::unix::fs::symlink(
            dir.path().join("elsewhere"),
            dir.path().join("modules/6.1.0/build"),
        )
        .unwrap();
        let modules = Modules::scan(dir.path(), Some("6.1.0"), false)
            .unwrap()
            .unwrap();
        assert!(!modules.is_loadable("virtio_blk"));
    }
}
