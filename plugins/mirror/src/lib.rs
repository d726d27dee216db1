//! The `mirror` source: the trusted catalog's bundles, fetched from another base URL.
//!
//! A mirror is any static web server, bucket or CDN that serves bundles under the file names of
//! their catalog URLs: `<mirror>/void-6.12-x86_64.tar.zst`. `http://` is allowed, because the
//! host checks the bytes against the trusted catalog's sha256, never against the mirror. The
//! mirror's own `<mirror>/catalog.json`, when it has one, lists what it holds; entries found
//! only there are offered with the mirror's digest, which the host accepts only when the user
//! passes `--allow-unverified`.
//!
//! Options: `mirror=URL`, else `$BANGER_MIRROR_URL`.

use banger_catalog::{locate, location::Mirror, Catalog};
use banger_fetch::{plugin::fetcher, DisplaySafeUrl, Fetcher, Schemes};
use banger_plugin_api::{
    BundleInfo, Entry, HostHandle, KernelSource, OpenRequest, Opened, Options, PluginError,
};

banger_plugin_api::export_plugin! {
    name: "mirror",
    version: env!("CARGO_PKG_VERSION"),
    description: "the trusted catalog's bundles from another base URL (option mirror=URL)",
    new: MirrorSource::new,
}

/// The environment variable that names the mirror when the option is absent.
const MIRROR_ENV: &str = banger_env::BANGER_MIRROR_URL;

struct MirrorSource {
    mirror: Mirror,
    trusted: Catalog,
    fetcher: Fetcher,
    host: HostHandle,
}

impl MirrorSource {
    fn new(mut options: Options, host: HostHandle) -> Result<Self, PluginError> {
        let base = options.get_or_env("mirror", MIRROR_ENV);
        let trusted = Catalog::from_host(&options);
        options.finish("mirror")?;
        let base = base.ok_or_else(|| {
            PluginError::invalid_input(format!(
                "the mirror source needs a base URL: pass --mirror URL or set {MIRROR_ENV}"
            ))
        })?;
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(PluginError::invalid_input(format!(
                "mirror `{}` is not an http:// or https:// URL",
                DisplaySafeUrl::from(&base)
            )));
        }
        Ok(Self {
            mirror: Mirror::new(&base),
            trusted: trusted?,
            fetcher: fetcher(Schemes::HttpAndHttps, &host)?,
            host,
        })
    }

    /// The mirror's own `catalog.json`, if it has one (at most
    /// [`banger_catalog::MAX_CATALOG_BYTES`] of it are read).
    fn index(&self) -> Result<Option<Catalog>, PluginError> {
        let url = self.mirror.index();
        let shown = DisplaySafeUrl::from(&url).to_string();
        let body = match self.fetcher.get(&url) {
            Ok(body) => body,
            Err(e) if e.is_not_found() => {
                self.host.info(&format!("`{shown}` does not exist"));
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Some(Catalog::read(body, &shown)?))
    }
}

impl KernelSource for MirrorSource {
    fn list(&self) -> Result<Vec<Entry>, PluginError> {
        match self.index()? {
            Some(index) => index
                .relocated(|file| self.mirror.url(file))
                .map_err(PluginError::invalid_input),
            None => Ok(Vec::new()),
        }
    }

    fn open_at(&self, request: &OpenRequest, offset: u64) -> Result<Opened, PluginError> {
        let index = match self.trusted.find(&request.name, &request.arch) {
            Some(_) => None,
            None => self.index()?,
        };
        let (entry, file) = locate(&self.trusted, index.as_ref(), &request.name, &request.arch)
            .map_err(PluginError::invalid_input)?
            .ok_or_else(|| {
                PluginError::not_found(format!(
                    "neither the trusted catalog nor mirror `{}` lists `{}` for {}",
                    DisplaySafeUrl::from(self.mirror.base()),
                    request.name,
                    request.arch
                ))
            })?;
        let url = self.mirror.url(file);
        let body = self.fetcher.download(&url, offset)?;
        Ok(Opened {
            info: BundleInfo {
                url,
                sha256: entry.sha256.clone(),
                size: entry.size,
            },
            resume: Some(body.start()),
            stream: Box::new(body),
        })
    }
}
