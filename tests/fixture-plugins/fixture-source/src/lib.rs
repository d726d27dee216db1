//! A third-party-style plugin built against the frozen 1.0 interface.
//!
//! It serves `<dir>/<name>-<arch>.tar.zst` with the entries of `<dir>/index.json`, and it can
//! misbehave on request, so that tests can show what the host does about it:
//! - `panic=new|list|open|read` panics at that point;
//! - `lie=sha` declares a sha256 that the bytes do not have.

use std::{fs::File, io::Read, path::PathBuf};

use banger_plugin_api::{BundleInfo, Entry, HostHandle, KernelSource, OpenRequest, PluginError};

banger_plugin_api::export_plugin! {
    name: "fixture",
    version: "1.0.0",
    description: "test fixture built against the frozen 1.0 interface",
    new: FixtureSource::new,
}

struct FixtureSource {
    dir: PathBuf,
    panic_at: String,
    lie: bool,
}

impl FixtureSource {
    fn new(options: Vec<(String, String)>, host: HostHandle) -> Result<Self, PluginError> {
        let option = |key: &str| {
            options
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let panic_at = option("panic").unwrap_or_default();
        if panic_at == "new" {
            panic!("fixture asked to panic in new");
        }
        let dir = option("dir")
            .ok_or_else(|| PluginError::invalid_input("the fixture source needs --opt dir=DIR"))?;
        host.info(&format!("serving {dir}"));
        Ok(Self {
            dir: dir.into(),
            panic_at,
            lie: option("lie").as_deref() == Some("sha"),
        })
    }
}

impl KernelSource for FixtureSource {
    fn list(&self) -> Result<Vec<Entry>, PluginError> {
        if self.panic_at == "list" {
            panic!("fixture asked to panic in list");
        }
        let index = self.dir.join("index.json");
        let text = std::fs::read_to_string(&index)
            .map_err(|e| PluginError::io(format!("{}: {e}", index.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| PluginError::invalid_input(format!("{}: {e}", index.display())))
    }

    fn open(
        &self,
        request: &OpenRequest,
    ) -> Result<(BundleInfo, Box<dyn Read + Send>), PluginError> {
        if self.panic_at == "open" {
            panic!("fixture asked to panic in open");
        }
        let entry = self
            .list()?
            .into_iter()
            .find(|e| e.name == request.name && e.arch == request.arch)
            .ok_or_else(|| {
                PluginError::not_found(format!("no `{}` for {}", request.name, request.arch))
            })?;
        let path = self
            .dir
            .join(format!("{}-{}.tar.zst", entry.name, entry.arch));
        let file =
            File::open(&path).map_err(|e| PluginError::io(format!("{}: {e}", path.display())))?;
        let mut sha256 = entry.sha256;
        if self.lie {
            sha256 = sha256.chars().rev().collect();
        }
        let info = BundleInfo {
            url: path.display().to_string(),
            sha256,
            size: entry.size,
        };
        let stream: Box<dyn Read + Send> = if self.panic_at == "read" {
            Box::new(PanickyReader)
        } else {
            Box::new(file)
        };
        Ok((info, stream))
    }
}

struct PanickyReader;

impl Read for PanickyReader {
    fn read(&mut self, _buf: &mut [u8]) -> std::io::Result<usize> {
        panic!("fixture asked to panic in read")
    }
}
