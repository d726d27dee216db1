//! Where banger keeps its state, resolved once from the environment.
//!
//! - state root: `$BANGER_STATE_DIR`, else `$XDG_STATE_HOME/banger`, else `~/.local/state/banger`
//! - kernels: `$BANGER_KERNELS_DIR`, else `<state root>/kernels`
//! - images: `<state root>/images`
//! - partial downloads: `<state root>/downloads`

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

/// The resolved state directories. Nothing is created until a command needs it.
#[derive(Clone, Debug)]
pub struct State {
    pub kernels: PathBuf,
    pub images: PathBuf,
    pub downloads: PathBuf,
}

impl State {
    pub fn from_env() -> Result<Self> {
        let root = match banger_path("BANGER_STATE_DIR")? {
            Some(root) => root,
            None => match xdg_path("XDG_STATE_HOME") {
                Some(state) => state.join("banger"),
                None => match xdg_path("HOME") {
                    Some(home) => home.join(".local/state/banger"),
                    None => bail!("cannot find a state directory: set BANGER_STATE_DIR or HOME"),
                },
            },
        };
        let kernels = banger_path("BANGER_KERNELS_DIR")?.unwrap_or_else(|| root.join("kernels"));
        Ok(Self {
            kernels,
            images: root.join("images"),
            downloads: root.join("downloads"),
        })
    }
}

/// A path from one of banger's own variables; a relative one is taken from the current
/// directory.
fn banger_path(name: &str) -> Result<Option<PathBuf>> {
    match std::env::var_os(name).filter(|p| !p.is_empty()) {
        Some(path) => Ok(Some(
            std::path::absolute(&path).with_context(|| format!("cannot resolve {name}"))?,
        )),
        None => Ok(None),
    }
}

/// An absolute path from an XDG variable; relative values are ignored, as the XDG base
/// directory spec asks.
fn xdg_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}
