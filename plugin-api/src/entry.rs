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

/// The open request as it crosses the boundary: an [`OpenRequest`] plus, since 1.1, how many
/// bytes of the bundle the host already holds from an interrupted download.
///
/// The host sends this; [`crate::KernelSource::open_at`] receives its parts. Plugins built
/// against 1.0 read only the [`OpenRequest`] fields and stream from the start.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct OpenMessage {
    /// The entry asked for.
    #[serde(flatten)]
    pub request: OpenRequest,
    /// Bytes the host already holds; 0 for a fresh download.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resume_from: u64,
}

/// What a plugin says about an opened stream, as it crosses the boundary: a [`BundleInfo`]
/// plus, since 1.1, whether and where the stream resumes.
///
/// A 1.0 plugin sends a bare [`BundleInfo`], which reads as `resumable: false`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BundleMessage {
    /// The claims about the whole bundle.
    #[serde(flatten)]
    pub info: BundleInfo,
    /// The stream comes over a network and the source honours
    /// [`OpenMessage::resume_from`], so the host should keep what it receives.
    #[serde(default)]
    pub resumable: bool,
    /// The offset of the stream's first byte: the asked one if the source could start there,
    /// else 0.
    #[serde(default)]
    pub resumed_from: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
