//! The root module every plugin library exports, and the macro that exports it.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{RResult, RString},
    StableAbi,
};

use crate::{HostBox, PluginError, RawOptions, SourceBox};

/// The option key under which the host passes its own interface version (e.g. `1.0.0`), so a
/// plugin can tell what the host supports. Keys starting with `banger.` are reserved for the host.
pub const HOST_API_OPTION: &str = "banger.host_api";

/// Since 1.1: the option key under which the host passes a directory for the plugin's temporary
/// files (it may not exist yet). Name them `*.partial`: `banger kernel gc` removes the ones no
/// process holds with `flock`, so nothing a killed run leaves behind stays forever.
pub const SCRATCH_DIR_OPTION: &str = "banger.scratch_dir";

/// Since 1.2: the option key under which the host passes the path of the trusted catalog, a
/// file holding exactly the bytes the host resolved and trusts: the embedded catalog, a signed
/// update it verified (signature, serial, expiry), or the user's `$BANGER_CATALOG`. Hosts of
/// 1.2 passed it only for an update; this host passes it to every source it builds, and the
/// path stays readable only while the source lives. Sources that serve the trusted catalog read it
/// from there, when they start, and nowhere else (`banger_catalog::Catalog::from_host`).
pub const TRUSTED_CATALOG_OPTION: &str = "banger.catalog";

/// The option key under which the host passes the most bytes of entries JSON it reads from one
/// `list` (a decimal number). A source that builds its listing from the network stops as soon
/// as it would answer more, instead of building all of it for the host to refuse; the host
/// still checks. Older hosts do not pass it.
pub const LISTING_LIMIT_OPTION: &str = "banger.listing_limit";

/// Who a plugin is.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct PluginInfo {
    /// The source name users pass to `--source`; it must match the file name
    /// `libbanger_source_<name>.so`.
    pub name: RString,
    /// The plugin's own version.
    pub version: RString,
    /// One line for `banger plugin list`.
    pub description: RString,
}

/// The root module of a plugin library (an abi_stable prefix type).
///
/// Frozen at its 1.0 layout: see the crate docs for how the interface grows instead.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = SourcePluginRef)))]
#[sabi(missing_field(panic))]
pub struct SourcePlugin {
    /// Who the plugin is. Must not fail or panic.
    pub info: extern "C" fn() -> PluginInfo,
    /// Build a source from key/value options and the host callbacks.
    #[sabi(last_prefix_field)]
    pub new_source:
        extern "C" fn(options: RawOptions, host: HostBox) -> RResult<SourceBox, PluginError>,
}

impl RootModule for SourcePluginRef {
    declare_root_module_statics! {SourcePluginRef}
    const BASE_NAME: &'static str = "banger_source";
    const NAME: &'static str = "banger_source";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Export a [`crate::KernelSource`] as a banger plugin. Use it once, at the crate root of a
/// `cdylib` crate named `banger_source_<name>`.
///
/// ```ignore
/// banger_plugin_api::export_plugin! {
///     name: "example",
///     version: env!("CARGO_PKG_VERSION"),
///     description: "bundles from the example store",
///     new: |options, host| ExampleSource::new(options, host),
/// }
/// ```
///
/// `new` receives the options as `Vec<(String, String)>` and a [`crate::HostHandle`], and returns
/// `Result<impl KernelSource, PluginError>`. Every call into the plugin runs behind
/// [`crate::guard`].
#[macro_export]
macro_rules! export_plugin {
    (name: $name:expr, version: $version:expr, description: $description:expr, new: $new:expr $(,)?) => {
        const _: () = {
            use $crate::abi_stable::{
                library::{LibHeader, RootModuleResult},
                prefix_type::PrefixTypeTrait,
                std_types::RResult,
            };

            extern "C" fn info() -> $crate::PluginInfo {
                $crate::PluginInfo {
                    name: $name.into(),
                    version: $version.into(),
                    description: $description.into(),
                }
            }

            extern "C" fn new_source(
                options: $crate::RawOptions,
                host: $crate::HostBox,
            ) -> RResult<$crate::SourceBox, $crate::PluginError> {
                $crate::new_source_with(options, host, $new)
            }

            fn root_module() -> $crate::SourcePluginRef {
                $crate::SourcePlugin { info, new_source }.leak_into_prefix()
            }

            extern "C" fn erased_root_module() -> RootModuleResult {
                $crate::abi_stable::library::__call_root_module_loader(root_module)
            }

            // What `#[abi_stable::export_root_module]` expands to, spelled with `$crate` paths so
            // that plugins need no direct dependency on abi_stable. The symbol name is
            // abi_stable's ROOT_MODULE_LOADER_NAME; a test in banger-plugin-api checks it.
            #[allow(unsafe_code)]
            #[no_mangle]
            #[allow(non_upper_case_globals)]
            pub static _1as_0lib_1header_0root_bmodule_bloader: LibHeader = unsafe {
                LibHeader::from_constructor::<$crate::SourcePluginRef>(
                    erased_root_module,
                    $crate::abi_stable::library::CheckTypeLayout::Yes,
                )
            };
        };
    };
}
