//! A source object built by a plugin, wrapped so that every answer is checked and every error
//! names the plugin.
//!
//! Nothing a plugin says is taken on trust: entries are validated against the catalog rules,
//! and the bytes it streams are hashed by the install pipeline, not here.

use std::io::{self, Read};

use anyhow::{Context, Result};
use banger_plugin_api::{
    abi_stable::{
        sabi_trait::TD_Opaque,
        std_types::{RResult, RStr, RString, Tuple2},
    },
    BundleMessage, ByteStreamBox, Entry, Host, Host_TO, LogLevel, OpenMessage, OpenRequest,
    PluginError, SourceBox, API_VERSION, HOST_API_OPTION, LISTING_LIMIT_OPTION, SCRATCH_DIR_OPTION,
    TRUSTED_CATALOG_OPTION,
};

use super::{HostOptions, Plugin};
use crate::text::inert;

/// A source built by a plugin.
pub struct Source {
    plugin: Plugin,
    source: SourceBox,
}

impl Source {
    /// Build the plugin's source with the user's options, plus the host's own: its interface
    /// version, the most bytes of entries it reads from one listing, a scratch directory for
    /// temporary files, and the verified catalog update.
    pub fn new(plugin: Plugin, options: &[(String, String)], host: &HostOptions) -> Result<Self> {
        if let Some((key, _)) = options.iter().find(|(key, _)| key.starts_with("banger.")) {
            anyhow::bail!("option `{key}` is reserved for banger itself");
        }
        let mut ffi_options: Vec<_> = options
            .iter()
            .map(|(k, v)| Tuple2(RString::from(k.as_str()), RString::from(v.as_str())))
            .collect();
        ffi_options.push(Tuple2(HOST_API_OPTION.into(), API_VERSION.into()));
        ffi_options.push(Tuple2(
            LISTING_LIMIT_OPTION.into(),
            banger_catalog::MAX_CATALOG_BYTES.to_string().into(),
        ));
        ffi_options.push(Tuple2(
            SCRATCH_DIR_OPTION.into(),
            host.scratch.display().to_string().into(),
        ));
        if let Some(catalog) = host.catalog {
            ffi_options.push(Tuple2(
                TRUSTED_CATALOG_OPTION.into(),
                catalog.display().to_string().into(),
            ));
        }
        let host = Host_TO::from_value(
            HostCallbacks {
                plugin: plugin.name.clone(),
            },
            TD_Opaque,
        );
        let source = (plugin.module.new_source())(ffi_options.into(), host)
            .into_result()
            .map_err(|e| plugin_error(&plugin, "cannot start", e))?;
        Ok(Self { plugin, source })
    }

    pub fn name(&self) -> &str {
        &self.plugin.name
    }

    /// The entries the source offers, each checked against the catalog rules.
    pub fn list(&self) -> Result<Vec<Entry>> {
        let json = self
            .source
            .list()
            .into_result()
            .map_err(|e| plugin_error(&self.plugin, "cannot list entries", e))?;
        if json.len() as u64 > banger_catalog::MAX_CATALOG_BYTES {
            anyhow::bail!(
                "source `{}` listed {} bytes of entries, more than the {} banger reads",
                self.plugin.name,
                json.len(),
                banger_catalog::MAX_CATALOG_BYTES
            );
        }
        let entries: Vec<Entry> = serde_json::from_str(json.as_str())
            .with_context(|| format!("source `{}` returned malformed entries", self.plugin.name))?;
        for entry in &entries {
            banger_catalog::validate_entry(entry).map_err(|problem| {
                anyhow::anyhow!(
                    "source `{}` returned an invalid entry `{}`: {problem}",
                    self.plugin.name,
                    entry.name
                )
            })?;
        }
        Ok(entries)
    }

    /// The entry the source lists for (name, arch), if any.
    pub fn offered(&self, name: &str, arch: &str) -> Result<Option<Entry>> {
        Ok(self
            .list()?
            .into_iter()
            .find(|e| e.name == name && e.arch == arch))
    }

    /// Open a bundle, asking for it from byte `resume_from` (0 for all of it): the plugin's
    /// claims about it, and its bytes.
    pub fn open(
        &self,
        name: &str,
        arch: &str,
        resume_from: u64,
    ) -> Result<(BundleMessage, BundleStream)> {
        let request = serde_json::to_string(&OpenMessage {
            request: OpenRequest {
                name: name.to_owned(),
                arch: arch.to_owned(),
            },
            resume_from,
        })?;
        let bundle = self
            .source
            .open(request.as_str().into())
            .into_result()
            .map_err(|e| {
                plugin_error(&self.plugin, &format!("cannot open `{name}` for {arch}"), e)
            })?;
        let info: BundleMessage =
            serde_json::from_str(bundle.info.as_str()).with_context(|| {
                format!(
                    "source `{}` described `{name}` in malformed JSON",
                    self.plugin.name
                )
            })?;
        Ok((
            info,
            BundleStream {
                plugin: self.plugin.name.clone(),
                stream: bundle.stream,
            },
        ))
    }
}

/// A plugin's byte stream as a [`Read`]; errors name the plugin.
pub struct BundleStream {
    plugin: String,
    stream: ByteStreamBox,
}

impl Read for BundleStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.stream.read(buf.into()) {
            RResult::ROk(n) if n <= buf.len() => Ok(n),
            RResult::ROk(n) => Err(io::Error::other(format!(
                "source `{}` claimed to read {n} bytes into a buffer of {}",
                self.plugin,
                buf.len()
            ))),
            RResult::RErr(e) => Err(io::Error::other(format!("source `{}`: {e}", self.plugin))),
        }
    }
}

/// An error from a plugin, as the user sees it: which plugin, doing what, and why.
#[derive(Debug, thiserror::Error)]
#[error("source `{plugin}` ({}) {doing}: {} error: {}", path.display(), error.kind().name(), error.message())]
struct SourceError {
    plugin: String,
    path: std::path::PathBuf,
    doing: String,
    error: PluginError,
}

fn plugin_error(plugin: &Plugin, doing: &str, error: PluginError) -> anyhow::Error {
    anyhow::Error::new(SourceError {
        plugin: plugin.name.clone(),
        path: plugin.path.clone(),
        doing: doing.to_owned(),
        error,
    })
}

/// What the host offers plugins: their log lines go to stderr, labelled with their name.
struct HostCallbacks {
    plugin: String,
}

impl Host for HostCallbacks {
    fn log(&self, level: LogLevel, message: RStr<'_>) {
        let message = inert(message.as_str());
        match level {
            LogLevel::WARN => eprintln!("warning: source `{}`: {message}", self.plugin),
            _ if verbose() => eprintln!("source `{}`: {message}", self.plugin),
            _ => {}
        }
    }

    fn progress(&self, message: RStr<'_>, done: u64, total: u64) {
        if verbose() {
            let message = inert(message.as_str());
            eprintln!("source `{}`: {message} ({done}/{total})", self.plugin);
        }
    }

    fn call(&self, method: RStr<'_>, _input: RStr<'_>) -> RResult<RString, PluginError> {
        RResult::RErr(PluginError::unsupported(format!(
            "this banger has no host method `{method}`"
        )))
    }
}

/// Whether plugins' info and progress messages are shown (`BANGER_VERBOSE=1`).
fn verbose() -> bool {
    std::env::var_os("BANGER_VERBOSE").is_some_and(|v| !v.is_empty())
}
