//! Source plugins: finding the libraries ([`discovery`]), loading them across the stable
//! interface ([`loader`]), handing them the trusted catalog ([`handoff`]), and talking to the
//! sources they build ([`source`]).

mod discovery;
mod handoff;
mod loader;
mod source;

use std::path::Path;

use anyhow::Result;

pub use discovery::{find_all, find_named, search_path, warn_failed};
pub use loader::{LoadError, Plugin};
pub use source::{plugin_error_of as plugin_error, Declared, Source};

/// What the host tells every source it builds, besides the user's options.
pub struct HostOptions<'a> {
    /// A directory for temporary files (`banger.scratch_dir`).
    pub scratch: &'a Path,
    /// The effective trusted catalog's exact text, always handed over (`banger.catalog`).
    pub catalog: &'a str,
}

/// Find the plugin called `name` and build its source with the user's `options`.
pub fn open_source(name: &str, options: &[(String, String)], host: &HostOptions) -> Result<Source> {
    Source::new(find_named(name)?, options, host)
}
