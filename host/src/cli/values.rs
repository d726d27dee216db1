//! Typed values as clap parses them, from fixed lists so that shells complete them.

use banger_catalog::{Arch, ARCHES};
use clap::builder::{PossibleValuesParser, TypedValueParser};

/// Architectures as clap sees them: a fixed list, so that shells complete them.
pub(super) fn arch_parser() -> impl TypedValueParser<Value = Arch> {
    PossibleValuesParser::new(ARCHES).try_map(|text| text.parse::<Arch>())
}

/// Boot modes as clap sees them.
pub(super) fn mode_parser() -> impl TypedValueParser<Value = crate::check::Mode> {
    PossibleValuesParser::new(crate::check::MODES)
        .try_map(|text| text.parse::<crate::check::Mode>())
}

/// Root file system types as clap sees them, so that shells complete them.
pub(super) fn rootfs_parser() -> impl TypedValueParser<Value = crate::check::RootFs> {
    let names: Vec<&str> = crate::check::rules::ROOT_FILE_SYSTEMS
        .iter()
        .map(|fs| fs.name)
        .collect();
    PossibleValuesParser::new(names).try_map(|text| text.parse::<crate::check::RootFs>())
}
