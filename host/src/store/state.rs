//! Where banger keeps its state, resolved once from the environment, and the rules its
//! directories follow.
//!
//! - state root: `$BANGER_STATE_DIR`, else `$XDG_STATE_HOME/banger`, else `~/.local/state/banger`
//! - kernels: `$BANGER_KERNELS_DIR`, else `<state root>/kernels`
//! - images: `<state root>/images`
//! - partial downloads: `<state root>/downloads`
//!
//! The state directory belongs to its user. banger creates its directories with mode 0700, all
//! through [`State::ensure`] (a named directory) or [`State::fresh_dir`] (a staging one), and
//! refuses one that another user owns or that group or others can write to, since whoever can
//! write there can plant links or files that banger would then trust. The root and an explicit
//! `$BANGER_KERNELS_DIR` are paths the user chose, so a link there is followed; below them,
//! banger follows no link it did not make (see [`crate::store::files`] for the files). The one
//! exception to 0700 is an installed kernel's own tree (`<kernels>/<name>/`), which gets the
//! bundle layout's 0755 once it is complete; it is private while it is staged.
//!
//! Not guaranteed: that root, or a process running as the same user, cannot tamper with the
//! state. The checks stop other users and mistakes, not the user's own account.

use std::{
    fs,
    os::unix::fs::{DirBuilderExt, PermissionsExt},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};

use crate::{
    store::guard::{guard, Breach, Owners},
    ui::hint::Hinted,
};

/// The mode of every directory banger creates for itself.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// The resolved state directories. Nothing is created until a command needs it.
#[derive(Clone, Debug)]
pub struct State {
    pub root: PathBuf,
    pub kernels: PathBuf,
    pub images: PathBuf,
    pub downloads: PathBuf,
}

impl State {
    /// Resolve the directories and check those that exist already.
    pub fn from_env() -> Result<Self> {
        let root = match banger_path(banger_env::BANGER_STATE_DIR)? {
            Some(root) => root,
            None => match xdg_path(banger_env::XDG_STATE_HOME) {
                Some(state) => state.join("banger"),
                None => match xdg_path(banger_env::HOME) {
                    Some(home) => home.join(".local/state/banger"),
                    None => bail!(
                        "cannot find a state directory: set BANGER_STATE_DIR, or HOME to an absolute path"
                    ),
                },
            },
        };
        let kernels = banger_path(banger_env::BANGER_KERNELS_DIR)?;
        let state = Self {
            kernels: kernels.clone().unwrap_or_else(|| root.join("kernels")),
            images: root.join("images"),
            downloads: root.join("downloads"),
            root,
        };
        check_dir(&state.root, Follow::Yes)?;
        check_dir(&state.kernels, Follow::from(kernels.is_some()))?;
        Ok(state)
    }

    /// Create `dir`, one of banger's own directories at or below the state root or the
    /// kernels directory, with every directory between (mode 0700, parents of the root with
    /// default modes), and check each: a real directory that the caller owns and that group
    /// and others cannot write to. Only the root or kernels directory itself may be a link.
    pub fn ensure(&self, dir: &Path) -> Result<()> {
        let base = if dir.starts_with(&self.root) {
            &self.root
        } else if dir.starts_with(&self.kernels) {
            &self.kernels
        } else {
            bail!(
                "`{}` is outside banger's state directory `{}`",
                dir.display(),
                self.root.display()
            );
        };
        if let Some(parent) = base.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        create_private(base)?;
        check_dir(base, Follow::Yes)?;
        let mut current = base.clone();
        for component in dir.strip_prefix(base).unwrap_or(Path::new("")).components() {
            current.push(component);
            create_private(&current)?;
            check_dir(&current, Follow::No)?;
        }
        Ok(())
    }

    /// A fresh directory `<parent>/<prefix>XXXXXX`, removed on drop, made like every other
    /// (mode 0700, checked, `parent` through [`State::ensure`]): the staging directories of
    /// kernel installs and catalog updates.
    pub fn fresh_dir(&self, parent: &Path, prefix: &str) -> Result<tempfile::TempDir> {
        self.ensure(parent)?;
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .permissions(fs::Permissions::from_mode(PRIVATE_DIR_MODE))
            .tempdir_in(parent)
            .with_context(|| format!("cannot create a directory in `{}`", parent.display()))?;
        check_dir(dir.path(), Follow::No)?;
        Ok(dir)
    }

    /// Check `dir`, one of banger's own directories below the root, if it exists: it must not
    /// be a link, and must pass the ownership and mode checks. Returns whether it exists.
    pub fn check(&self, dir: &Path) -> Result<bool> {
        let chosen = dir == self.root || dir == self.kernels;
        check_dir(dir, Follow::from(chosen))
    }
}

/// Remove `path`, a staging directory a killed run left, without following links (a link
/// planted in its place is removed as a link); returns the bytes of the files it held.
pub fn remove_leftover(path: &Path) -> Result<u64> {
    let bytes = tree_bytes(path);
    fs::remove_dir_all(path)
        .with_context(|| format!("cannot remove leftover `{}`", path.display()))?;
    Ok(bytes)
}

/// The bytes of the regular files below `path`, not following symlinks.
fn tree_bytes(path: &Path) -> u64 {
    let Ok(metadata) = fs::symlink_metadata(path) else {
        return 0;
    };
    if !metadata.is_dir() {
        return if metadata.is_file() {
            metadata.len()
        } else {
            0
        };
    }
    fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| tree_bytes(&e.path())).sum())
        .unwrap_or(0)
}

/// Whether a link at the directory's own path is followed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Follow {
    /// A path the user chose (the state root, `$BANGER_KERNELS_DIR`).
    Yes,
    /// A directory banger made.
    No,
}

impl From<bool> for Follow {
    fn from(chosen: bool) -> Self {
        if chosen {
            Self::Yes
        } else {
            Self::No
        }
    }
}

fn create_private(dir: &Path) -> Result<()> {
    match fs::DirBuilder::new().mode(PRIVATE_DIR_MODE).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create `{}`", dir.display())),
    }
}

/// Check `dir` if it exists; returns whether it does.
fn check_dir(dir: &Path, follow: Follow) -> Result<bool> {
    let metadata = match follow {
        Follow::Yes => fs::metadata(dir),
        Follow::No => fs::symlink_metadata(dir),
    };
    let metadata = match metadata {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("cannot inspect `{}`", dir.display())),
    };
    let shown = dir.display();
    if metadata.file_type().is_symlink() {
        return Err(Hinted::error(
            format!("`{shown}` is a symbolic link; banger follows no link in its state directory that it did not make"),
            format!("remove it (`rm {shown}`); banger recreates the directory"),
        ));
    }
    if !metadata.is_dir() {
        bail!("`{shown}` is not a directory");
    }
    match guard(&metadata, Owners::Me) {
        Ok(()) => {}
        Err(Breach::Owner { uid, me }) => return Err(Hinted::error(
            format!(
                "state directory `{shown}` belongs to uid {uid}, not to you (uid {me}); banger refuses a state directory that someone else controls"
            ),
            "use a directory of your own: set BANGER_STATE_DIR, or have its owner hand it over with chown",
        )),
        Err(Breach::Writable { mode }) => return Err(Hinted::error(
            format!(
                "state directory `{shown}` is writable by {} (mode {mode:04o}); banger refuses it, since anyone who can write there can plant files it would trust",
                Breach::writers(mode)
            ),
            format!("chmod 700 {shown}"),
        )),
    }
    Ok(true)
}

/// A path from one of banger's own variables; a relative one is taken from the current
/// directory.
fn banger_path(name: &str) -> Result<Option<PathBuf>> {
    match banger_env::non_empty(name) {
        Some(path) => Ok(Some(
            std::path::absolute(&path).with_context(|| format!("cannot resolve {name}"))?,
        )),
        None => Ok(None),
    }
}

/// An absolute path from an XDG variable (or HOME); relative values are ignored, as the XDG
/// base directory spec asks.
pub fn xdg_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}
