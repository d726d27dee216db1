//! Source plugins: finding the libraries ([`discovery`]), loading them across the stable
//! interface ([`loader`]), and talking to the sources they build ([`source`]).

mod discovery;
mod loader;
mod source;

use std::path::Path;

use anyhow::Result;

pub use discovery::{find_all, find_named, search_path};
pub use loader::Plugin;
pub use source::Source;

/// Find the plugin called `name` and build its source with the user's `options`, handing it
/// `scratch` for temporary files.
pub fn open_source(name: &str, options: &[(String, String)], scratch: &Path) -> Result<Source> {
    Source::new(find_named(name)?, options, scratch)
}
