//! The `catalog` source: entries from the trusted catalog the host hands over (`banger.catalog`:
//! the embedded catalog, a verified update or `$BANGER_CATALOG`, as the host resolved it),
//! bundles fetched over HTTPS only, or from an OCI registry when an entry's URL is
//! `oci://REGISTRY/REPOSITORY@sha256:…`.
//!
//! The catalog is parsed once, when the source is built. Downloads retry transient failures and
//! resume with `Range` (see `banger_fetch`), and the plugin tells the host it can resume, so an
//! interrupted pull continues from the bytes the host kept. Whether the bytes match is the
//! host's check, not this plugin's.

use banger_catalog::Catalog;
use banger_fetch::{plugin::fetcher, Download, Schemes};
use banger_oci::{BundleUrl, Registry};
use banger_plugin_api::{
    BundleInfo, Entry, ErrorKind, HostHandle, KernelSource, OpenRequest, Opened, Options,
    PluginError,
};

banger_plugin_api::export_plugin! {
    name: "catalog",
    version: env!("CARGO_PKG_VERSION"),
    description: "kernels from banger's built-in catalog, fetched over HTTPS",
    new: CatalogSource::new,
}

struct CatalogSource {
    catalog: Catalog,
    host: HostHandle,
}

impl CatalogSource {
    fn new(options: Options, host: HostHandle) -> Result<Self, PluginError> {
        let catalog = Catalog::from_host(&options)?;
        options.finish("catalog")?;
        Ok(Self { catalog, host })
    }
}

impl CatalogSource {
    /// An entry whose URL is `oci://REGISTRY/REPOSITORY@sha256:…`: the blob with that digest
    /// (which validation made equal to the entry's sha256), through the OCI client.
    fn download_from_registry(&self, url: &str, offset: u64) -> Result<Download, PluginError> {
        let bundle = BundleUrl::parse(url)
            .map_err(|e| PluginError::from_error(ErrorKind::INVALID_INPUT, &e))?;
        let notice = banger_fetch::plugin::notice(&self.host);
        let oci_error = |e: banger_oci::OciError| PluginError::from_error(ErrorKind::NETWORK, &e);
        let registry = Registry::new(&bundle.repository, false, Some(notice)).map_err(oci_error)?;
        registry.blob(&bundle.sha256, offset).map_err(oci_error)
    }
}

impl KernelSource for CatalogSource {
    fn list(&self) -> Result<Vec<Entry>, PluginError> {
        Ok(self.catalog.entries.clone())
    }

    fn open_at(&self, request: &OpenRequest, offset: u64) -> Result<Opened, PluginError> {
        let entry = self
            .catalog
            .find(&request.name, &request.arch)
            .ok_or_else(|| {
                PluginError::not_found(format!(
                    "no kernel `{}` for {} in the trusted catalog",
                    request.name, request.arch
                ))
            })?;
        let body = if entry.url.starts_with("oci://") {
            self.download_from_registry(&entry.url, offset)?
        } else {
            fetcher(Schemes::HttpsOnly, &self.host)?.download(&entry.url, offset)?
        };
        Ok(Opened {
            info: BundleInfo {
                url: entry.url.clone(),
                sha256: entry.sha256.clone(),
                size: entry.size,
            },
            resume: Some(body.start()),
            stream: Box::new(body),
        })
    }
}
