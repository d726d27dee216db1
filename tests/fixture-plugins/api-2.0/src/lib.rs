//! A stand-in for an incompatible 2.0 interface: same root-module name, different layout.
#![allow(non_local_definitions)]

pub use abi_stable;
use abi_stable::{
    declare_root_module_statics, library::RootModule, package_version_strings, sabi_types::VersionStrings,
    std_types::RString, StableAbi,
};

#[repr(C)]
#[derive(StableAbi)]
pub struct PluginInfo {
    pub name: RString,
    pub version: RString,
    pub description: RString,
}

#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = SourcePluginRef)))]
#[sabi(missing_field(panic))]
pub struct SourcePlugin {
    pub info: extern "C" fn() -> PluginInfo,
    pub capabilities: extern "C" fn() -> RString,
    #[sabi(last_prefix_field)]
    pub open: extern "C" fn(RString) -> RString,
}

impl RootModule for SourcePluginRef {
    declare_root_module_statics! {SourcePluginRef}
    const BASE_NAME: &'static str = "banger_source";
    const NAME: &'static str = "banger_source";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
