//! Where the parts of a kernel are in the directory that `kernel import --from` names.
//!
//! Two layouts are recognised:
//! - an extracted distro kernel package, or a system root (`--from /`): `boot/vmlinuz-X`
//!   (or `boot/vmlinux-X`), `boot/config-X`, `boot/initrd.img-X` and `lib/modules/X`
//!   (`usr/lib/modules/X` on merged-/usr systems). With several releases, the one given as
//!   `kernel_version` is taken; without it the import is refused, naming them. Only the
//!   image is required.
//! - a build directory: the kernel image (on x86_64 `vmlinux`, `bzImage`,
//!   `arch/x86/boot/bzImage`; on arm64 `arch/arm64/boot/Image`, `Image`, `vmlinux`; then the
//!   other arch's names, then a single `vmlinuz*`), `initrd.img`, `config` or `.config`, and
//!   `modules/`.
//!
//! What the image is, and whether Firecracker loads it, is decided later (`kernel.rs`).

use std::{
    fs,
    path::{Path, PathBuf},
};

use banger_plugin_api::PluginError;

/// The parts found.
#[derive(Debug)]
pub struct Found {
    /// The kernel image as found, in whatever format.
    pub image: PathBuf,
    pub initrd: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub modules: Option<PathBuf>,
    /// For a distro tree: the release `X` its file names carry, and so the name of the one
    /// `modules/X/` directory `modules` points at.
    pub release: Option<String>,
    /// Top-level names of a build directory that are not part of a kernel.
    pub ignored: Vec<String>,
}

/// Find the kernel in `dir` for `arch`; `wanted` chooses among a distro tree's releases.
pub fn find(dir: &Path, arch: &str, wanted: Option<&str>) -> Result<Found, PluginError> {
    let releases = distro_releases(dir)?;
    if releases.is_empty() {
        build_dir(dir, arch)
    } else {
        distro_tree(dir, &releases, wanted)
    }
}

fn existing(path: PathBuf) -> Option<PathBuf> {
    path.exists().then_some(path)
}

fn read_dir_names(dir: &Path) -> Result<Vec<String>, PluginError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)
        .map_err(|e| PluginError::at_path(banger_plugin_api::ErrorKind::IO, dir, &e))?
    {
        let entry =
            entry.map_err(|e| PluginError::at_path(banger_plugin_api::ErrorKind::IO, dir, &e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The modules directory of release `x` in a distro tree.
fn distro_modules(dir: &Path, x: &str) -> Option<PathBuf> {
    ["lib/modules", "usr/lib/modules"]
        .into_iter()
        .map(|at| dir.join(at).join(x))
        .find(|p| p.is_dir())
}

/// The releases `X` of `boot/vmlinuz-X` or `boot/vmlinux-X`, sorted; empty when `dir` is not
/// a distro tree.
fn distro_releases(dir: &Path) -> Result<Vec<String>, PluginError> {
    let boot = dir.join("boot");
    if !boot.is_dir() {
        return Ok(Vec::new());
    }
    let mut releases: Vec<String> = read_dir_names(&boot)?
        .into_iter()
        .filter_map(|name| {
            name.strip_prefix("vmlinuz-")
                .or_else(|| name.strip_prefix("vmlinux-"))
                .map(str::to_owned)
        })
        .collect();
    releases.sort();
    releases.dedup();
    Ok(releases)
}

fn distro_tree(
    dir: &Path,
    releases: &[String],
    wanted: Option<&str>,
) -> Result<Found, PluginError> {
    let listed = || {
        releases
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let release = match (wanted, releases) {
        (Some(wanted), _) if releases.iter().any(|r| r == wanted) => wanted.to_owned(),
        (Some(wanted), _) => {
            return Err(PluginError::not_found(format!(
                "`{}` holds no kernel of release `{wanted}` (boot/vmlinuz-{wanted} with lib/modules/{wanted}); it holds {}",
                dir.display(),
                listed()
            )))
        }
        (None, [only]) => only.clone(),
        (None, _) => {
            return Err(PluginError::invalid_input(format!(
                "`{}` holds kernels of several releases: {}",
                dir.display(),
                listed()
            ))
            .with_hint("pass --kernel-version RELEASE to choose one"))
        }
    };
    let boot = dir.join("boot");
    let image = existing(boot.join(format!("vmlinuz-{release}")))
        .unwrap_or_else(|| boot.join(format!("vmlinux-{release}")));
    Ok(Found {
        image,
        initrd: existing(boot.join(format!("initrd.img-{release}"))),
        config: existing(boot.join(format!("config-{release}"))),
        modules: distro_modules(dir, &release),
        release: Some(release),
        ignored: Vec::new(),
    })
}

fn build_dir(dir: &Path, arch: &str) -> Result<Found, PluginError> {
    let names = read_dir_names(dir)?;
    // The other arch's names come last, so that its image is refused for what it is.
    let fixed: &[&str] = if arch == "arm64" {
        &[
            "arch/arm64/boot/Image",
            "Image",
            "vmlinux",
            "bzImage",
            "arch/x86/boot/bzImage",
        ]
    } else {
        &[
            "vmlinux",
            "bzImage",
            "arch/x86/boot/bzImage",
            "Image",
            "arch/arm64/boot/Image",
        ]
    };
    let vmlinuz: Vec<&String> = names.iter().filter(|n| n.starts_with("vmlinuz")).collect();
    let image = match fixed.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
        Some(image) => image,
        None => match vmlinuz[..] {
            [one] => dir.join(one),
            [] => {
                return Err(PluginError::not_found(format!(
                    "no kernel image in `{}`: looked for {}, `vmlinuz*` and `boot/vmlinuz-*`",
                    dir.display(),
                    fixed.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                )))
            }
            _ => {
                return Err(PluginError::invalid_input(format!(
                    "`{}` holds several kernel images: {}; keep one, or import from a directory that holds only it",
                    dir.display(),
                    vmlinuz.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                )))
            }
        },
    };
    let config = existing(dir.join("config")).or_else(|| existing(dir.join(".config")));
    let used_top = image
        .strip_prefix(dir)
        .ok()
        .and_then(|p| p.components().next())
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let ignored = names
        .into_iter()
        .filter(|n| {
            !["initrd.img", "modules", "config", ".config"].contains(&n.as_str())
                && Some(n) != used_top.as_ref()
        })
        .collect();
    Ok(Found {
        image,
        initrd: existing(dir.join("initrd.img")),
        config,
        modules: existing(dir.join("modules")),
        release: None,
        ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, names: &[&str]) {
        for name in names {
            let path = root.join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, b"x").unwrap();
        }
    }

    fn relative(root: &Path, path: &Path) -> String {
        path.strip_prefix(root).unwrap().display().to_string()
    }

    #[test]
    fn build_directories_pick_the_image_of_their_arch() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(
            root,
            &[
                "vmlinux",
                "arch/arm64/boot/Image",
                "arch/x86/boot/bzImage",
                ".config",
                "System.map",
            ],
        );
        let x86 = find(root, "x86_64", None).unwrap();
        assert_eq!(relative(root, &x86.image), "vmlinux");
        assert_eq!(relative(root, x86.config.as_ref().unwrap()), ".config");
        assert_eq!(x86.ignored, ["System.map", "arch"]);
        let arm = find(root, "arm64", None).unwrap();
        assert_eq!(relative(root, &arm.image), "arch/arm64/boot/Image");
        assert_eq!(arm.ignored, ["System.map", "vmlinux"]);
        // `config` is taken over `.config`.
        touch(root, &["config"]);
        let x86 = find(root, "x86_64", None).unwrap();
        assert_eq!(relative(root, x86.config.as_ref().unwrap()), "config");
    }

    #[test]
    fn one_vmlinuz_is_taken_and_several_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(root, &["vmlinuz-6.1.0"]);
        assert_eq!(
            relative(root, &find(root, "x86_64", None).unwrap().image),
            "vmlinuz-6.1.0"
        );
        touch(root, &["vmlinuz-6.1.0.old"]);
        let err = find(root, "x86_64", None).unwrap_err();
        assert!(
            err.message()
                .contains("several kernel images: `vmlinuz-6.1.0`, `vmlinuz-6.1.0.old`"),
            "{}",
            err.message()
        );
        let empty = tempfile::tempdir().unwrap();
        let err = find(empty.path(), "arm64", None).unwrap_err();
        assert!(
            err.message().contains("no kernel image in"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn distro_trees_name_their_releases_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // vmlinuz-X and vmlinux-X of one release, with other files between them.
        touch(
            root,
            &[
                "boot/vmlinux-6.1.0-9",
                "boot/vmlinuz-6.1.0-9",
                "boot/config-6.1.0-9",
                "boot/vmlinuz-6.1.0-10",
                "boot/System.map-6.1.0-9",
                "usr/lib/modules/6.1.0-9/modules.builtin",
            ],
        );
        let err = find(root, "x86_64", None).unwrap_err();
        assert!(
            err.message()
                .ends_with("several releases: `6.1.0-10`, `6.1.0-9`"),
            "{}",
            err.message()
        );
        assert_eq!(
            err.hint(),
            Some("pass --kernel-version RELEASE to choose one")
        );
        let found = find(root, "x86_64", Some("6.1.0-9")).unwrap();
        assert_eq!(relative(root, &found.image), "boot/vmlinuz-6.1.0-9");
        assert_eq!(
            relative(root, found.config.as_ref().unwrap()),
            "boot/config-6.1.0-9"
        );
        assert_eq!(
            relative(root, found.modules.as_ref().unwrap()),
            "usr/lib/modules/6.1.0-9"
        );
        assert_eq!(found.initrd, None);
        let other = find(root, "x86_64", Some("6.1.0-10")).unwrap();
        assert_eq!((other.config, other.modules), (None, None));
    }
}
