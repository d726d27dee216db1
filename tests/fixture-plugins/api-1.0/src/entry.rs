//! The JSON documents that cross the boundary: catalog entries, open requests, bundle
//! descriptions.
//!
//! They travel as JSON text so that later 1.x versions can add fields without a layout change.
//! Unknown fields are ignored when reading, so keep new fields optional (`#[serde(default)]`).

use serde::{Deserialize, Serialize};

/// One kernel bundle a source can provide, with the field names of `catalog.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `<distro>-<major.minor>`, e.g. `void-6.12`.
    pub name: String,
    /// The distribution the kernel comes from, e.g. `void`.
    pub distro: String,
    /// `x86_64` or `arm64`.
    pub arch: String,
    /// The full kernel release, e.g. `6.12.3`.
    pub kernel_version: String,
    /// Where the bundle lives; for messages and for sources that fetch it.
    pub url: String,
    /// sha256 of the compressed bundle, 64 lowercase hex digits.
    pub sha256: String,
    /// Size of the compressed bundle in bytes.
    pub size: u64,
    /// One line for humans.
    #[serde(default)]
    pub description: String,
}

/// What the host asks [`crate::Source::open`] for.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct OpenRequest {
    /// The entry's name.
    pub name: String,
    /// The entry's arch.
    pub arch: String,
}

/// What a plugin says about the stream it returns from [`crate::Source::open`].
///
/// The host checks these claims itself; it never takes the plugin's word that bytes are good.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BundleInfo {
    /// Where the bytes come from (a URL or a path), for messages.
    pub url: String,
    /// The sha256 the plugin expects the stream to have.
    pub sha256: String,
    /// The number of bytes the plugin expects the stream to have.
    pub size: u64,
}
