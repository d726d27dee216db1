//! Source plugins: finding the libraries ([`discovery`]), loading them across the stable
//! interface ([`loader`]), and talking to the sources they build ([`source`]).

mod discovery;
mod loader;
mod source;

pub use discovery::{find_all, find_named, search_path};
pub use loader::Plugin;
pub use source::Source;
