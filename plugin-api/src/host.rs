//! What the host offers a plugin: log and progress callbacks, and a hatch for later additions.

use abi_stable::{
    sabi_trait,
    std_types::{RBox, RResult, RStr, RString},
    StableAbi,
};

use crate::PluginError;

/// How loud a log message is. An open set of codes, like [`crate::ErrorKind`].
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Debug)]
pub struct LogLevel(pub u8);

impl LogLevel {
    /// Something failed but the operation goes on.
    pub const WARN: Self = Self(1);
    /// What the plugin is doing, shown when `BANGER_VERBOSE=1`.
    pub const INFO: Self = Self(2);
    /// Details for debugging a plugin.
    pub const DEBUG: Self = Self(3);
}

/// Callbacks into the host. The host implements this; plugins call it.
#[sabi_trait]
pub trait Host: Send + Sync {
    /// Show a message to the user, labelled with the plugin's name.
    fn log(&self, level: LogLevel, message: RStr<'_>);

    /// Report progress of a long step that is not the bundle stream itself (the host measures
    /// the stream on its own). `total` is 0 when unknown.
    fn progress(&self, message: RStr<'_>, done: u64, total: u64);

    /// A generic hatch for later additions: `method` with a JSON `input`, returning JSON.
    /// A host that does not know `method` returns [`crate::ErrorKind::UNSUPPORTED`].
    fn call(&self, method: RStr<'_>, input: RStr<'_>) -> RResult<RString, PluginError>;
}

/// The host callbacks as an owned FFI-safe trait object.
pub type HostBox = Host_TO<'static, RBox<()>>;
