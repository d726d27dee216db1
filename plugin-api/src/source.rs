//! The source object a plugin returns, and the plain Rust trait a plugin author implements.

use std::io::Read;

use abi_stable::{
    sabi_trait,
    std_types::{RBox, RResult, RSliceMut, RStr, RString},
    StableAbi,
};

use crate::{BundleInfo, Entry, OpenRequest, PluginError};

/// A stream of bundle bytes, read by the host.
#[sabi_trait]
pub trait ByteStream: Send {
    /// Fill `buf` with the next bytes; `Ok(0)` is the end of the stream.
    fn read(&mut self, buf: RSliceMut<'_, u8>) -> RResult<usize, PluginError>;
}

/// A [`ByteStream`] as an owned FFI-safe trait object.
pub type ByteStreamBox = ByteStream_TO<'static, RBox<()>>;

/// An opened bundle: the plugin's claims about it ([`BundleInfo`] as JSON) and its bytes.
#[repr(C)]
#[derive(StableAbi)]
pub struct Bundle {
    /// [`BundleInfo`] as JSON text.
    pub info: RString,
    /// The compressed bundle.
    pub stream: ByteStreamBox,
}

/// The FFI-level source object. Plugin authors implement [`KernelSource`] instead and let
/// [`crate::export_plugin!`] adapt it.
#[sabi_trait]
pub trait Source: Send + Sync {
    /// The entries this source can provide, as a JSON array of [`Entry`].
    fn list(&self) -> RResult<RString, PluginError>;

    /// Open the bundle described by an [`OpenRequest`] (JSON).
    fn open(&self, request: RStr<'_>) -> RResult<Bundle, PluginError>;

    /// A generic hatch for later additions: `method` with a JSON `input`, returning JSON.
    /// A plugin that does not know `method` returns [`crate::ErrorKind::UNSUPPORTED`].
    fn call(&self, method: RStr<'_>, input: RStr<'_>) -> RResult<RString, PluginError>;
}

/// A [`Source`] as an owned FFI-safe trait object.
pub type SourceBox = Source_TO<'static, RBox<()>>;

/// A bundle stream opened by [`KernelSource::open_at`].
pub struct Opened {
    /// The claims about the whole bundle.
    pub info: BundleInfo,
    /// The bytes, from the offset in `resume` (or from 0).
    pub stream: Box<dyn Read + Send>,
    /// `Some(start)` if the stream is resumable, starting at byte `start`; `None` if not.
    pub resume: Option<u64>,
}

/// A kernel source, in plain Rust. This is what a plugin author implements.
///
/// Every method runs behind the unwind guard: a panic becomes an [`crate::ErrorKind::PANIC`]
/// error for that call and never crosses into the host.
pub trait KernelSource: Send + Sync + 'static {
    /// The entries this source can provide.
    fn list(&self) -> Result<Vec<Entry>, PluginError>;

    /// Open one bundle as a byte stream, with what the plugin expects its sha256 and size to be.
    ///
    /// Implement this or [`KernelSource::open_at`]; each has a default that calls the other,
    /// so a source that implements neither never returns. The default here is `open_at` from
    /// byte 0, for a source that can resume.
    fn open(
        &self,
        request: &OpenRequest,
    ) -> Result<(BundleInfo, Box<dyn Read + Send>), PluginError> {
        let opened = self.open_at(request, 0)?;
        Ok((opened.info, opened.stream))
    }

    /// Since 1.1: open the bundle for a host that already holds its first `offset` bytes from
    /// an interrupted download. A source that fetches over a network and can start at
    /// `offset` returns an [`Opened`] with `resume: Some(start)`, where `start` is `offset` if
    /// the server honoured it and 0 if not. The default calls [`KernelSource::open`] and streams
    /// from the start, which is always correct. The host calls only this one.
    fn open_at(&self, request: &OpenRequest, offset: u64) -> Result<Opened, PluginError> {
        let _ = offset;
        let (info, stream) = self.open(request)?;
        Ok(Opened {
            info,
            stream,
            resume: None,
        })
    }

    /// Answer a method added after 1.0. The default says the method is unsupported.
    fn call(&self, method: &str, input: &str) -> Result<String, PluginError> {
        let _ = input;
        Err(PluginError::unsupported(format!(
            "method `{method}` is not supported by this plugin"
        )))
    }
}
