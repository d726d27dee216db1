//! The glue between a plain [`KernelSource`] and the FFI objects: the unwind guard, JSON
//! conversion of requests and answers, and a friendly handle on the host callbacks.

use std::{
    any::Any,
    io::Read,
    panic::{catch_unwind, AssertUnwindSafe},
};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RResult, RSliceMut, RStr, RString},
};

use std::sync::Arc;

use crate::{
    Bundle, BundleMessage, ByteStream, ByteStream_TO, HostBox, KernelSource, LogLevel, OpenMessage,
    PluginError, RawOptions, Source, SourceBox, Source_TO,
};

/// Run `f`, turning a panic into an [`crate::ErrorKind::PANIC`] error.
///
/// A panic that unwinds across an `extern "C"` boundary aborts the whole host, so every function
/// a plugin exports must run behind this guard. [`crate::export_plugin!`] applies it to every
/// method; call it yourself only for functions you export by hand. Plugins must be built with
/// `panic = "unwind"` (the default) for this to work.
pub fn guard<T>(f: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.into(),
        Err(payload) => RResult::RErr(PluginError::new(
            crate::ErrorKind::PANIC,
            format!("plugin panicked: {}", panic_message(payload.as_ref())),
        )),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// The host's callbacks, as a plugin sees them. Cheap to clone: every clone talks to the same
/// host, so a plugin can hand one to each helper that logs.
#[derive(Clone)]
pub struct HostHandle(Arc<HostBox>);

impl HostHandle {
    /// Wrap the callbacks the host passed to the constructor.
    pub fn new(host: HostBox) -> Self {
        Self(Arc::new(host))
    }

    /// Show a warning to the user, labelled with the plugin's name.
    pub fn warn(&self, message: &str) {
        self.0.log(LogLevel::WARN, message.into());
    }

    /// Say what the plugin is doing (shown when `BANGER_VERBOSE=1`).
    pub fn info(&self, message: &str) {
        self.0.log(LogLevel::INFO, message.into());
    }

    /// Report progress of a long step other than the bundle stream.
    pub fn progress(&self, message: &str, done: u64, total: u64) {
        self.0.progress(message.into(), done, total);
    }
}

struct GuardedSource<S>(S);

impl<S: KernelSource> Source for GuardedSource<S> {
    fn list(&self) -> RResult<RString, PluginError> {
        guard(|| to_json(&self.0.list()?))
    }

    fn open(&self, request: RStr<'_>) -> RResult<Bundle, PluginError> {
        guard(|| {
            let message: OpenMessage = serde_json::from_str(request.as_str())
                .map_err(|e| PluginError::invalid_input(format!("malformed open request: {e}")))?;
            let opened = self.0.open_at(&message.request, message.resume_from)?;
            let info = BundleMessage {
                info: opened.info,
                resumable: opened.resume.is_some(),
                resumed_from: opened.resume.unwrap_or(0),
            };
            Ok(Bundle {
                info: to_json(&info)?,
                stream: ByteStream_TO::from_value(ReadStream(opened.stream), TD_Opaque),
            })
        })
    }

    fn call(&self, method: RStr<'_>, input: RStr<'_>) -> RResult<RString, PluginError> {
        guard(|| {
            self.0
                .call(method.as_str(), input.as_str())
                .map(RString::from)
        })
    }
}

struct ReadStream(Box<dyn Read + Send>);

impl ByteStream for ReadStream {
    fn read(&mut self, mut buf: RSliceMut<'_, u8>) -> RResult<usize, PluginError> {
        guard(|| {
            self.0
                .read(buf.as_mut_slice())
                .map_err(|e| PluginError::io(e.to_string()))
        })
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<RString, PluginError> {
    serde_json::to_string(value)
        .map(RString::from)
        .map_err(|e| PluginError::new(crate::ErrorKind::OTHER, format!("cannot encode JSON: {e}")))
}

/// Build the FFI source object from a constructor, behind the unwind guard. The constructor
/// takes the options as [`crate::Options`] or, as before 1.2, as `Vec<(String, String)>`.
/// Used by [`crate::export_plugin!`]; plugin code does not call it.
#[doc(hidden)]
pub fn new_source_with<S: KernelSource, O: From<Vec<(String, String)>>>(
    options: RawOptions,
    host: HostBox,
    constructor: impl FnOnce(O, HostHandle) -> Result<S, PluginError>,
) -> RResult<SourceBox, PluginError> {
    guard(|| {
        let options: Vec<(String, String)> = options
            .into_iter()
            .map(|kv| (kv.0.into(), kv.1.into()))
            .collect();
        let source = constructor(options.into(), HostHandle::new(host))?;
        Ok(Source_TO::from_value(GuardedSource(source), TD_Opaque))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn guard_turns_a_panic_into_an_error_with_its_message() {
        let result: RResult<(), PluginError> = guard(|| panic!("index out of range"));
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PANIC);
        assert_eq!(err.message(), "plugin panicked: index out of range");
    }

    #[test]
    fn guard_passes_results_through() {
        assert_eq!(guard(|| Ok(7)).unwrap(), 7);
        let err = guard::<()>(|| Err(PluginError::not_found("no `x`"))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NOT_FOUND);
    }
}
