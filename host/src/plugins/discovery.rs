//! Where plugins are looked for, and in which order.
//!
//! Search order: each directory of `$BANGER_PLUGIN_PATH` (colon-separated), the directory of the
//! `banger` executable, `<exe dir>/../lib/banger/plugins`, then `$XDG_DATA_HOME/banger/plugins`
//! (`~/.local/share/banger/plugins`). Files are named `libbanger_source_<name>.so`. When two
//! files share a name, the first found wins and the other is reported as shadowed.
//!
//! Only absolute directories are searched: an empty or relative entry in any of these
//! variables (an empty `HOME`, say) would make banger load libraries from wherever it happens to
//! run, so it is skipped with a warning. Each file must also pass the loader's ownership check.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    sync::OnceLock,
};

use anyhow::{anyhow, Result};

use super::loader::{LoadError, Plugin};

const PREFIX: &str = "libbanger_source_";
const SUFFIX: &str = ".so";

/// A plugin file found on the search path, not yet loaded.
struct Candidate {
    path: PathBuf,
    name: String,
}

/// What a full search found.
pub struct Report {
    pub loaded: Vec<Plugin>,
    /// (file, name, the file that won).
    pub shadowed: Vec<(PathBuf, String, PathBuf)>,
    pub failed: Vec<LoadError>,
}

/// The directories searched, in order; worked out (and warned about) once per run.
pub fn search_path() -> Vec<PathBuf> {
    static SEARCH_PATH: OnceLock<Vec<PathBuf>> = OnceLock::new();
    SEARCH_PATH.get_or_init(resolve_search_path).clone()
}

fn resolve_search_path() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(value) = std::env::var_os(banger_env::BANGER_PLUGIN_PATH) {
        for dir in std::env::split_paths(&value) {
            if let Some(dir) = absolute(
                &format!("{} entry", banger_env::BANGER_PLUGIN_PATH),
                Some(dir.into_os_string()),
            ) {
                dirs.push(dir);
            }
        }
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_owned))
    {
        // `<exe dir>/../lib/banger/plugins`, spelled without `..` so that paths read cleanly
        // (`/usr/lib/banger/plugins/…` for the Debian package). The executable's path is
        // already resolved, so its parent is the same directory.
        let installed = exe_dir
            .parent()
            .map(|prefix| prefix.join("lib/banger/plugins"));
        dirs.push(exe_dir);
        dirs.extend(installed);
    }
    let data_home = match std::env::var_os(banger_env::XDG_DATA_HOME) {
        Some(value) => absolute(banger_env::XDG_DATA_HOME, Some(value)),
        None => None,
    }
    .or_else(|| {
        absolute(banger_env::HOME, std::env::var_os(banger_env::HOME))
            .map(|home| home.join(".local/share"))
    });
    if let Some(data_home) = data_home {
        dirs.push(data_home.join("banger/plugins"));
    }
    dirs
}

/// `value` as a directory to search, if it is absolute; a warning naming `what` if it is
/// set but empty or relative.
fn absolute(what: &str, value: Option<OsString>) -> Option<PathBuf> {
    let path = PathBuf::from(value?);
    if path.is_absolute() {
        return Some(path);
    }
    crate::ui::text::warn(format_args!(
        "ignoring {what} `{}` for plugins: not an absolute path",
        path.display()
    ));
    None
}

fn candidates() -> Vec<Candidate> {
    let mut found = Vec::new();
    for dir in search_path() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut here: Vec<Candidate> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let file_name = entry.file_name().into_string().ok()?;
                let name = file_name
                    .strip_prefix(PREFIX)?
                    .strip_suffix(SUFFIX)?
                    .to_owned();
                Some(Candidate {
                    path: entry.path(),
                    name,
                })
            })
            .collect();
        here.sort_by(|a, b| a.path.cmp(&b.path));
        found.extend(here);
    }
    found
}

/// Load every plugin on the search path.
pub fn find_all() -> Report {
    let mut report = Report {
        loaded: Vec::new(),
        shadowed: Vec::new(),
        failed: Vec::new(),
    };
    for candidate in candidates() {
        if let Some(winner) = report.loaded.iter().find(|p| p.name == candidate.name) {
            report
                .shadowed
                .push((candidate.path, candidate.name, winner.path.clone()));
            continue;
        }
        match Plugin::load(&candidate.path, &candidate.name) {
            Ok(plugin) => report.loaded.push(plugin),
            Err(error) => report.failed.push(error),
        }
    }
    report
}

/// Warn that a plugin file failed to load, with the loader's hint.
pub fn warn_failed(failure: &LoadError) {
    crate::ui::text::warn(failure);
    if let Some(hint) = failure.hint() {
        crate::ui::text::hint(hint);
    }
}

/// Load only the plugin called `name`: the first file of that name that loads. Files of that
/// name that fail to load are reported as warnings on the way.
pub fn find_named(name: &str) -> Result<Plugin> {
    let mut failures = Vec::new();
    for candidate in candidates().into_iter().filter(|c| c.name == name) {
        match Plugin::load(&candidate.path, &candidate.name) {
            Ok(plugin) => {
                failures.iter().for_each(warn_failed);
                return Ok(plugin);
            }
            Err(error) => failures.push(error),
        }
    }
    match failures.pop() {
        Some(last) => {
            failures.iter().for_each(warn_failed);
            Err(anyhow!(last))
        }
        None => Err(crate::ui::hint::Hinted::of(
            crate::ui::exit::Class::NotFound,
            format!("no source plugin `{name}` found (looked for {PREFIX}{name}{SUFFIX})"),
            "run `banger plugin list` to see the plugins banger finds and where it looks",
        )),
    }
}
