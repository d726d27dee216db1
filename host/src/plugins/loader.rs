//! Loading one plugin library across the stable interface.
//!
//! Each file is opened with `lib_header_from_path` and `init_root_module`, never abi_stable's
//! `load_from_*` helpers, which cache one module per type and would hand back the first plugin
//! for every later file. The plugin's interface version is read from the library header before
//! anything else, so that a plugin for another major version gets a plain message. Every error
//! names the file.

use std::path::{Path, PathBuf};

use banger_plugin_api::{
    abi_stable::library::{lib_header_from_path, LibraryError},
    SourcePluginRef, API_VERSION,
};

use crate::store::guard::{guard, Breach, Owners};

/// A loaded plugin library.
#[derive(Clone)]
pub struct Plugin {
    pub name: String,
    pub version: String,
    pub description: String,
    /// The interface version the plugin was built against.
    pub api_version: String,
    pub path: PathBuf,
    pub module: SourcePluginRef,
}

/// Why a file could not be used as a plugin.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("`{}` is not a banger plugin: {reason}", path.display())]
    NotAPlugin { path: PathBuf, reason: String },
    #[error("`{}` was built for API {plugin_api}, this banger supports {}", path.display(), supported())]
    Incompatible { path: PathBuf, plugin_api: String },
    #[error("`{}` was built for API {plugin_api}, this banger supports {}, but its types differ: {detail}", path.display(), supported())]
    Layout {
        path: PathBuf,
        plugin_api: String,
        detail: String,
    },
    #[error("`{}` calls itself `{declared}`", path.display())]
    NameMismatch { path: PathBuf, declared: String },
    /// Someone other than the caller and root could have changed the file: it is not loaded,
    /// as ssh's StrictModes refuses such a key file. `fix` is the hint.
    #[error("`{}` is not loaded: {problem}", path.display())]
    Unsafe {
        path: PathBuf,
        problem: String,
        fix: String,
    },
}

impl LoadError {
    /// The file that failed to load.
    pub fn path(&self) -> &Path {
        match self {
            Self::NotAPlugin { path, .. }
            | Self::Incompatible { path, .. }
            | Self::Layout { path, .. }
            | Self::NameMismatch { path, .. }
            | Self::Unsafe { path, .. } => path,
        }
    }

    /// What the user might do about it, where banger knows.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NameMismatch { declared, .. } => {
                Some(format!("rename it to libbanger_source_{declared}.so"))
            }
            Self::Unsafe { fix, .. } => Some(fix.clone()),
            _ => None,
        }
    }
}

/// A plugin runs with banger's full rights, so its file, and the directory it sits in, must
/// belong to the caller or root and be writable by nobody else.
fn check_ownership(path: &Path) -> Result<(), LoadError> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    for (what, place) in [("file", path), ("directory", dir)] {
        let metadata = std::fs::metadata(place).map_err(|e| LoadError::NotAPlugin {
            path: path.to_owned(),
            reason: format!("cannot inspect `{}`: {e}", place.display()),
        })?;
        let (problem, fix) = match guard(&metadata, Owners::MeOrRoot) {
            Ok(()) => continue,
            Err(Breach::Owner { uid, me }) => (
                format!(
                    "its {what} `{}` belongs to uid {uid}, neither you (uid {me}) nor root",
                    place.display()
                ),
                format!("chown {me} {}, or remove the plugin", place.display()),
            ),
            Err(Breach::Writable { mode }) => (
                format!(
                    "its {what} `{}` is writable by group or others (mode {mode:04o})",
                    place.display()
                ),
                format!("chmod go-w {}", place.display()),
            ),
        };
        return Err(LoadError::Unsafe {
            path: path.to_owned(),
            problem,
            fix,
        });
    }
    Ok(())
}

fn supported() -> String {
    let major = API_VERSION.split('.').next().unwrap_or(API_VERSION);
    format!("{major}.x (built with {API_VERSION})")
}

impl Plugin {
    /// Load the plugin at `path`, whose file name says it is called `name`, once its file and
    /// directory pass [`check_ownership`].
    pub fn load(path: &Path, name: &str) -> Result<Self, LoadError> {
        check_ownership(path)?;
        let not_a_plugin = |reason: String| LoadError::NotAPlugin {
            path: path.to_owned(),
            reason,
        };
        let header = lib_header_from_path(path).map_err(|e| not_a_plugin(first_line(&e)))?;
        let plugin_api = header.version_strings().version.to_string();
        if plugin_api.split('.').next() != API_VERSION.split('.').next() {
            return Err(LoadError::Incompatible {
                path: path.to_owned(),
                plugin_api,
            });
        }
        let module = header
            .init_root_module::<SourcePluginRef>()
            .map_err(|e| match e {
                LibraryError::AbiInstability(_)
                | LibraryError::IncompatibleVersionNumber { .. } => LoadError::Layout {
                    path: path.to_owned(),
                    plugin_api: plugin_api.clone(),
                    detail: first_line(&e),
                },
                other => not_a_plugin(first_line(&other)),
            })?;
        let info = module.info()();
        if info.name.as_str() != name {
            return Err(LoadError::NameMismatch {
                path: path.to_owned(),
                declared: info.name.into(),
            });
        }
        Ok(Self {
            name: info.name.into(),
            version: info.version.into(),
            description: info.description.into(),
            api_version: plugin_api,
            path: path.to_owned(),
            module,
        })
    }
}

/// abi_stable's messages run to pages; the first non-empty line says what happened.
fn first_line(error: &LibraryError) -> String {
    let text = error.to_string();
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("unknown error")
        .to_owned()
}
