//! A plugin built against the current interface that says whatever a test tells it to, so
//! that tests can show the host checks every answer:
//! - `entries=FILE`: `list` returns the JSON array in FILE as it is, valid or not;
//! - `declare=FILE`: `open` declares the [`BundleInfo`] JSON in FILE (any sha256, size or url),
//!   and streams the bytes of `bytes=FILE` (none without it);
//! - `resumable=true`: the stream claims to honour resume offsets, as a network source does;
//! - `warn=TEXT`: logs TEXT as a warning when the source is built;
//! - `fail=TEXT`: `list` and `open` fail with TEXT as their error message.

use std::{fs::File, io::Read};

use banger_plugin_api::{
    BundleInfo, Entry, HostHandle, KernelSource, OpenRequest, Opened, Options, PluginError,
};

banger_plugin_api::export_plugin! {
    name: "liar",
    version: "1.0.0",
    description: "test fixture that declares whatever it is told to",
    new: LiarSource::new,
}

struct LiarSource {
    entries: Option<String>,
    declare: Option<String>,
    bytes: Option<String>,
    resumable: bool,
    fail: Option<String>,
}

impl LiarSource {
    fn new(mut options: Options, host: HostHandle) -> Result<Self, PluginError> {
        if let Some(text) = options.get("warn") {
            host.warn(&text);
        }
        let source = Self {
            entries: options.get("entries"),
            declare: options.get("declare"),
            bytes: options.get("bytes"),
            resumable: options.flag("resumable")?,
            fail: options.get("fail"),
        };
        options.finish("liar")?;
        Ok(source)
    }

    fn failure(&self) -> Result<(), PluginError> {
        match &self.fail {
            Some(text) => Err(PluginError::io(text.clone())),
            None => Ok(()),
        }
    }
}

fn read(path: &str) -> Result<String, PluginError> {
    std::fs::read_to_string(path).map_err(|e| PluginError::io(format!("{path}: {e}")))
}

impl KernelSource for LiarSource {
    fn list(&self) -> Result<Vec<Entry>, PluginError> {
        self.failure()?;
        let Some(path) = &self.entries else {
            return Ok(Vec::new());
        };
        serde_json::from_str(&read(path)?)
            .map_err(|e| PluginError::invalid_input(format!("{path}: {e}")))
    }

    fn open(
        &self,
        request: &OpenRequest,
    ) -> Result<(BundleInfo, Box<dyn Read + Send>), PluginError> {
        let opened = self.open_at(request, 0)?;
        Ok((opened.info, opened.stream))
    }

    fn open_at(&self, _request: &OpenRequest, _offset: u64) -> Result<Opened, PluginError> {
        self.failure()?;
        let path = self
            .declare
            .as_deref()
            .ok_or_else(|| PluginError::invalid_input("the liar needs --opt declare=FILE"))?;
        let info: BundleInfo = serde_json::from_str(&read(path)?)
            .map_err(|e| PluginError::invalid_input(format!("{path}: {e}")))?;
        let stream: Box<dyn Read + Send> = match &self.bytes {
            Some(path) => Box::new(File::open(path).map_err(|e| PluginError::io(e.to_string()))?),
            None => Box::new(std::io::empty()),
        };
        Ok(Opened {
            info,
            stream,
            resume: self.resumable.then_some(0),
        })
    }
}
