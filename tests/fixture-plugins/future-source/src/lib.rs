//! A plugin built against the stand-in 2.0 interface; the current host must refuse it.

use abi_stable::{export_root_module, prefix_type::PrefixTypeTrait, std_types::RString};
use banger_plugin_api::{PluginInfo, SourcePlugin, SourcePluginRef};

extern "C" fn info() -> PluginInfo {
    PluginInfo {
        name: "future".into(),
        version: "0.1.0".into(),
        description: "built for interface 2.0".into(),
    }
}

extern "C" fn capabilities() -> RString {
    "{}".into()
}

extern "C" fn open(request: RString) -> RString {
    request
}

#[export_root_module]
pub fn root_module() -> SourcePluginRef {
    SourcePlugin {
        info,
        capabilities,
        open,
    }
    .leak_into_prefix()
}
