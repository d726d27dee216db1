//! The stable interface between `banger` and its kernel-source plugins.
//!
//! A plugin is a shared library named `libbanger_source_<name>.so` that exports one
//! [`SourcePlugin`] root module. The host loads it, reads its [`PluginInfo`], and asks it for a
//! [`Source`]: an object that lists catalog [`Entry`]s and opens bundles as byte streams.
//!
//! This crate is the whole contract. It re-exports [`abi_stable`] so that a plugin and the host
//! can never disagree on its version. Write a plugin by implementing [`KernelSource`] and calling
//! [`export_plugin!`]; the adapters here add the unwind guard and the JSON conversions.
//!
//! # Compatibility promise (1.x)
//!
//! abi_stable lets an *older* host load a *newer* plugin when the newer types only add fields,
//! but a *newer* host refuses an older plugin whose types have fewer fields. So the 1.x types
//! are frozen at their 1.0 layout, and they grow without layout changes:
//!
//! - everything that will grow (entries, open requests, bundle descriptions) crosses the
//!   boundary as JSON text, and unknown JSON fields are ignored on both sides;
//! - [`Source::call`] and [`Host::call`] are generic `method(json) -> json` hatches that an older
//!   peer answers with [`ErrorKind::UNSUPPORTED`];
//! - [`ErrorKind`] is an open set of codes, not an enum, so new kinds are not a layout change;
//! - the host states its capabilities in the options it passes to the constructor
//!   ([`HOST_API_OPTION`]).
//!
//! A 1.x host therefore loads every 1.0 plugin. A change to any `#[repr(C)]` type here is a new
//! major version (2.0), which the host loads side by side with 1.x.
#![allow(non_local_definitions)] // emitted by #[sabi_trait] expansions
#![warn(missing_docs)]

pub use abi_stable;

mod adapter;
mod entry;
mod error;
mod host;
mod module;
pub mod names;
mod options;
mod source;

pub use adapter::{guard, new_source_with, HostHandle};
pub use entry::{BundleInfo, BundleMessage, Entry, OpenMessage, OpenRequest};
pub use error::{ErrorKind, PluginError};
pub use host::{Host, HostBox, Host_TO, LogLevel};
pub use module::{
    PluginInfo, SourcePlugin, SourcePluginRef, SourcePlugin_Prefix, HOST_API_OPTION,
    LISTING_LIMIT_OPTION, SCRATCH_DIR_OPTION, TRUSTED_CATALOG_OPTION,
};
pub use names::{Arch, KernelName, Sha256, ARCHES};
pub use options::Options;
pub use source::{
    Bundle, ByteStream, ByteStreamBox, ByteStream_TO, KernelSource, Opened, Source, SourceBox,
    Source_TO,
};

/// The version of this interface crate, which the host compares with the plugin's.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Options as they cross the boundary to a plugin's constructor: key/value pairs, in the order
/// the user gave them. Plugins see them as [`Options`]. (Called `Options` up to 1.1; only
/// [`export_plugin!`]'s expansion names it.)
pub type RawOptions = abi_stable::std_types::RVec<
    abi_stable::std_types::Tuple2<abi_stable::std_types::RString, abi_stable::std_types::RString>,
>;

#[cfg(test)]
mod tests {
    #[test]
    fn export_macro_uses_abi_stables_loader_symbol() {
        // export_plugin! spells this name out; abi_stable looks the header up by it.
        assert_eq!(
            abi_stable::library::ROOT_MODULE_LOADER_NAME,
            "_1as_0lib_1header_0root_bmodule_bloader"
        );
    }
}
