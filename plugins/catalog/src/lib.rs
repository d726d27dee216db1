//! The `catalog` source: entries from the `catalog.json` embedded at build time (or the file
//! named by `$BANGER_CATALOG`), bundles fetched over HTTPS only.
//!
//! The catalog is parsed once, when the source is built. Whether the bytes match is the host's
//! check, not this plugin's.

use std::io::Read;

use banger_catalog::Catalog;
use banger_fetch::{Fetcher, Schemes};
use banger_plugin_api::{
    BundleInfo, Entry, ErrorKind, HostHandle, KernelSource, OpenRequest, PluginError,
};

banger_plugin_api::export_plugin! {
    name: "catalog",
    version: env!("CARGO_PKG_VERSION"),
    description: "kernels from banger's built-in catalog, fetched over HTTPS",
    new: CatalogSource::new,
}

struct CatalogSource {
    catalog: Catalog,
    origin: String,
}

impl CatalogSource {
    fn new(options: Vec<(String, String)>, _host: HostHandle) -> Result<Self, PluginError> {
        if let Some((key, _)) = options.iter().find(|(key, _)| !key.starts_with("banger.")) {
            return Err(PluginError::invalid_input(format!(
                "the catalog source takes no option `{key}`"
            )));
        }
        let (catalog, origin) = Catalog::trusted()
            .map_err(|e| PluginError::from_error(ErrorKind::INVALID_INPUT, &e))?;
        Ok(Self { catalog, origin })
    }
}

impl KernelSource for CatalogSource {
    fn list(&self) -> Result<Vec<Entry>, PluginError> {
        Ok(self.catalog.entries.clone())
    }

    fn open(
        &self,
        request: &OpenRequest,
    ) -> Result<(BundleInfo, Box<dyn Read + Send>), PluginError> {
        let entry = self
            .catalog
            .find(&request.name, &request.arch)
            .ok_or_else(|| {
                PluginError::not_found(format!(
                    "no kernel `{}` for {} in the {}",
                    request.name, request.arch, self.origin
                ))
            })?;
        let fetcher = Fetcher::new(Schemes::HttpsOnly)
            .map_err(|e| PluginError::from_error(ErrorKind::NETWORK, &e))?;
        let body = fetcher.get(&entry.url).map_err(|e| {
            let kind = if e.is_not_found() {
                ErrorKind::NOT_FOUND
            } else {
                ErrorKind::NETWORK
            };
            PluginError::from_error(kind, &e)
        })?;
        let info = BundleInfo {
            url: entry.url.clone(),
            sha256: entry.sha256.clone(),
            size: entry.size,
        };
        Ok((info, Box::new(body)))
    }
}
