//! A source object built by a plugin, wrapped so that every answer is checked and every error
//! names the plugin.
//!
//! Nothing a plugin says is taken on trust. Every listed entry is validated against the catalog
//! rules, and what `open` declares about a bundle is validated into a [`Declared`] before
//! anything uses it: its sha256 names a file in the downloads directory, so it must be 64
//! lowercase hex digits, its size bounds the download, so it must be within the bundle cap,
//! and its text is shown, so it must be inert. Errors name the plugin file and the field. The
//! bytes a plugin streams are hashed by the install pipeline, not here.

use std::io::{self, Read};

use anyhow::{Context, Result};
use banger_plugin_api::{
    abi_stable::{
        sabi_trait::TD_Opaque,
        std_types::{RResult, RStr, RString, Tuple2},
    },
    BundleMessage, ByteStreamBox, Entry, Host, Host_TO, LogLevel, OpenMessage, OpenRequest,
    PluginError, Sha256, SourceBox, API_VERSION, HOST_API_OPTION, LISTING_LIMIT_OPTION,
    SCRATCH_DIR_OPTION, TRUSTED_CATALOG_OPTION,
};

use super::{handoff::Handoff, HostOptions, Plugin};
use crate::ui::text::tell;

/// A source built by a plugin.
pub struct Source {
    plugin: Plugin,
    source: SourceBox,
    /// The trusted catalog the source was given; kept until the source is gone.
    _catalog: Handoff,
}

impl Source {
    /// Build the plugin's source with the user's options, plus the host's own: its interface
    /// version, the most bytes of entries it reads from one listing, a scratch directory for
    /// temporary files, and the effective trusted catalog.
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
        let catalog = Handoff::write(host.scratch, host.catalog)?;
        ffi_options.push(Tuple2(
            TRUSTED_CATALOG_OPTION.into(),
            catalog.path().display().to_string().into(),
        ));
        let host = Host_TO::from_value(
            HostCallbacks {
                plugin: plugin.name.clone(),
            },
            TD_Opaque,
        );
        let source = (plugin.module.new_source())(ffi_options.into(), host)
            .into_result()
            .map_err(|e| plugin_error(&plugin, "cannot start", e))?;
        Ok(Self {
            plugin,
            source,
            _catalog: catalog,
        })
    }

    pub fn name(&self) -> &str {
        &self.plugin.name
    }

    /// The plugin as errors name it: "source `name` (its file)".
    fn labelled(&self) -> String {
        format!(
            "source `{}` ({})",
            self.plugin.name,
            self.plugin.path.display()
        )
    }

    /// The entries the source offers, each checked against the catalog rules.
    pub fn list(&self) -> Result<Vec<Entry>> {
        let json = self
            .source
            .list()
            .into_result()
            .map_err(|e| plugin_error(&self.plugin, "cannot list entries", e))?;
        let plugin = self.labelled();
        if json.len() as u64 > banger_catalog::MAX_CATALOG_BYTES {
            anyhow::bail!(
                "{plugin} listed {} bytes of entries, more than the {} banger reads",
                json.len(),
                banger_catalog::MAX_CATALOG_BYTES
            );
        }
        let entries: Vec<Entry> = serde_json::from_str(json.as_str())
            .with_context(|| format!("{plugin} returned malformed entries"))?;
        for (index, entry) in entries.iter().enumerate() {
            banger_catalog::validate_entry(entry)
                .and_then(|()| check_size(entry.size).map_err(|e| format!("size: {e}")))
                .map_err(|problem| {
                    anyhow::anyhow!(
                        "{plugin} returned an invalid entry (#{index}, `{}`): {problem}",
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
    /// claims about it, checked, and its bytes.
    pub fn open(
        &self,
        name: &str,
        arch: &str,
        resume_from: u64,
    ) -> Result<(Declared, BundleStream)> {
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
        let plugin = self.labelled();
        let message: BundleMessage = serde_json::from_str(bundle.info.as_str())
            .with_context(|| format!("{plugin} described `{name}` in malformed JSON"))?;
        let declared = Declared::check(message).map_err(|problem| {
            anyhow::anyhow!(
                "{plugin} opened `{name}` for {arch} with an invalid description: {problem}"
            )
        })?;
        Ok((
            declared,
            BundleStream {
                plugin: self.plugin.name.clone(),
                stream: bundle.stream,
            },
        ))
    }
}

/// What a plugin declared about a bundle it opened, once checked: the sha256 is a [`Sha256`]
/// (so it can name a file), the size is within the bundle cap, the URL is inert text, and a
/// resumed stream starts inside the bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    /// Where the bytes come from (a URL or a path), for messages.
    pub url: String,
    /// The sha256 the plugin expects the stream to have.
    pub sha256: Sha256,
    /// The number of bytes the plugin expects the stream to have.
    pub size: u64,
    /// The source honours a resume offset, so the host keeps what it receives.
    pub resumable: bool,
    /// The offset of the stream's first byte.
    pub resumed_from: u64,
}

impl Declared {
    /// Check `message` field by field; the error names the field and what is wrong with it.
    fn check(message: BundleMessage) -> Result<Self, String> {
        let BundleMessage {
            info,
            resumable,
            resumed_from,
        } = message;
        banger_catalog::validate_text(&info.url).map_err(|e| format!("url: {e}"))?;
        let sha256 = info
            .sha256
            .parse::<Sha256>()
            .map_err(|e| format!("sha256: {e}"))?;
        check_size(info.size).map_err(|e| format!("size: {e}"))?;
        if resumed_from >= info.size && resumed_from > 0 {
            return Err(format!(
                "resumed_from: byte {resumed_from} is not inside a bundle of {} bytes",
                info.size
            ));
        }
        Ok(Self {
            url: info.url,
            sha256,
            size: info.size,
            resumable,
            resumed_from,
        })
    }
}

/// Check a bundle size a plugin states: more than 0, and no more than the largest bundle
/// banger installs ([`banger_bundle::Limits`]), which is what bounds the download.
fn check_size(size: u64) -> Result<(), String> {
    let cap = banger_bundle::Limits::default().max_compressed;
    if size == 0 {
        Err("must be greater than 0".to_owned())
    } else if size > cap {
        Err(format!(
            "{size} bytes is more than the {cap} bytes a bundle may have"
        ))
    } else {
        Ok(())
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
            // The plugin's error itself, so that its kind and hint reach the report.
            RResult::RErr(error) => Err(io::Error::other(SourceError {
                plugin: self.plugin.clone(),
                path: None,
                doing: String::new(),
                error,
            })),
        }
    }
}

/// An error from a plugin, as the user sees it: which plugin (and its file, where known),
/// doing what, and why. Its hint is the plugin's, apart ([`crate::ui::hint::hint_of`]).
#[derive(Debug)]
struct SourceError {
    plugin: String,
    path: Option<std::path::PathBuf>,
    doing: String,
    error: PluginError,
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (plugin, error) = (&self.plugin, &self.error);
        match &self.path {
            Some(path) => write!(
                f,
                "source `{plugin}` ({}) {}: {} error: {}",
                path.display(),
                self.doing,
                error.kind().name(),
                error.message()
            ),
            // A stream's read: the pipeline's error around it names the bundle.
            None => write!(f, "source `{plugin}`: {}", error.message()),
        }
    }
}

impl std::error::Error for SourceError {}

fn plugin_error(plugin: &Plugin, doing: &str, error: PluginError) -> anyhow::Error {
    anyhow::Error::new(SourceError {
        plugin: plugin.name.clone(),
        path: Some(plugin.path.clone()),
        doing: doing.to_owned(),
        error,
    })
}

/// The plugin's own error, if `link` is an error a plugin returned.
pub fn plugin_error_of<'a>(link: &'a (dyn std::error::Error + 'static)) -> Option<&'a PluginError> {
    link.downcast_ref::<SourceError>().map(|e| &e.error)
}

/// What the host offers plugins: their log lines go to stderr, labelled with their name.
struct HostCallbacks {
    plugin: String,
}

impl Host for HostCallbacks {
    fn log(&self, level: LogLevel, message: RStr<'_>) {
        let message = message.as_str();
        match level {
            LogLevel::WARN => {
                crate::ui::text::warn(format_args!("source `{}`: {message}", self.plugin))
            }
            _ if verbose() => tell!("source `{}`: {message}", self.plugin),
            _ => {}
        }
    }

    fn progress(&self, message: RStr<'_>, done: u64, total: u64) {
        if verbose() {
            let message = message.as_str();
            tell!("source `{}`: {message} ({done}/{total})", self.plugin);
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
    banger_env::non_empty(banger_env::BANGER_VERBOSE).is_some()
}

#[cfg(test)]
mod tests {
    use banger_plugin_api::{BundleInfo, BundleMessage};

    use super::Declared;

    fn message(url: &str, sha256: &str, size: u64, resumed_from: u64) -> BundleMessage {
        BundleMessage {
            info: BundleInfo {
                url: url.to_owned(),
                sha256: sha256.to_owned(),
                size,
            },
            resumable: true,
            resumed_from,
        }
    }

    #[test]
    fn a_declaration_is_checked_field_by_field() {
        let sha = "ab".repeat(32);
        let ok = Declared::check(message("https://x/b.tar.zst", &sha, 10, 4)).unwrap();
        assert_eq!(
            (ok.sha256.as_str(), ok.size, ok.resumed_from),
            (sha.as_str(), 10, 4)
        );
        let too_big = banger_bundle::Limits::default().max_compressed + 1;
        for (bad, field) in [
            (message("u", "../../../tmp/x", 10, 0), "sha256: "),
            (message("u", "/tmp/x", 10, 0), "sha256: "),
            (message("u", &sha.to_uppercase(), 10, 0), "sha256: "),
            (message("u", &sha[..63], 10, 0), "sha256: "),
            (message("u", &sha, 0, 0), "size: must be greater than 0"),
            (message("u", &sha, too_big, 0), "size: "),
            (
                message("u\u{202e}", &sha, 10, 0),
                "url: contains the bidirectional control U+202E",
            ),
            (
                message("u\u{1b}[2J", &sha, 10, 0),
                "url: contains the control character U+001B",
            ),
            (
                message("u", &sha, 10, 10),
                "resumed_from: byte 10 is not inside",
            ),
        ] {
            let err = Declared::check(bad).unwrap_err();
            assert!(err.starts_with(field), "{field}: {err}");
        }
    }
}
