//! The `offline` source: bundles from a directory, for machines with no network at all.
//!
//! The directory holds bundles under the file names of their catalog URLs, and optionally a
//! `catalog.json` listing them, as `banger kernel mirror DIR` leaves it. The same trust rules
//! as the mirror apply: the host checks bytes against the trusted catalog, and entries found
//! only in the directory's `catalog.json` need `--allow-unverified`. This plugin links no
//! network code.
//!
//! Options: `dir=DIR`, else `$BANGER_OFFLINE_DIR`.

use std::{fs::File, io::Read, path::PathBuf};

use banger_catalog::{locate, location::OfflineDir, Catalog, CatalogError};
use banger_plugin_api::{
    BundleInfo, Entry, ErrorKind, HostHandle, KernelSource, OpenRequest, Options, PluginError,
};

banger_plugin_api::export_plugin! {
    name: "offline",
    version: env!("CARGO_PKG_VERSION"),
    description: "bundles from a local directory, for air-gapped installs (option dir=DIR)",
    new: OfflineSource::new,
}

/// The environment variable that names the directory when the option is absent.
const DIR_ENV: &str = banger_env::BANGER_OFFLINE_DIR;

struct OfflineSource {
    dir: OfflineDir,
    trusted: Catalog,
    /// The directory's own `catalog.json`, if it has one.
    index: Option<Catalog>,
}

impl OfflineSource {
    fn new(mut options: Options, _host: HostHandle) -> Result<Self, PluginError> {
        let dir = options.get_or_env("dir", DIR_ENV).map(PathBuf::from);
        let trusted = Catalog::from_host(&options);
        options.finish("offline")?;
        let dir = dir.ok_or_else(|| {
            PluginError::invalid_input(format!(
                "the offline source needs a directory: pass --dir DIR or set {DIR_ENV}"
            ))
        })?;
        if !dir.is_dir() {
            return Err(PluginError::not_found(format!(
                "`{}` is not a directory",
                dir.display()
            )));
        }
        let trusted = trusted?;
        let dir = OfflineDir::new(dir);
        let index = match Catalog::load(&dir.index()) {
            Ok(index) => Some(index),
            Err(CatalogError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                None
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Self {
            dir,
            trusted,
            index,
        })
    }
}

impl KernelSource for OfflineSource {
    fn list(&self) -> Result<Vec<Entry>, PluginError> {
        match &self.index {
            Some(index) => index
                .relocated(|file| self.dir.path(file).display().to_string())
                .map_err(PluginError::invalid_input),
            None => Ok(Vec::new()),
        }
    }

    fn open(
        &self,
        request: &OpenRequest,
    ) -> Result<(BundleInfo, Box<dyn Read + Send>), PluginError> {
        let (entry, file) = locate(
            &self.trusted,
            self.index.as_ref(),
            &request.name,
            &request.arch,
        )
        .map_err(PluginError::invalid_input)?
        .ok_or_else(|| {
            PluginError::not_found(format!(
                "neither the trusted catalog nor `{}` lists `{}` for {}",
                self.dir.index().display(),
                request.name,
                request.arch
            ))
        })?;
        let path = self.dir.path(file);
        let bundle = File::open(&path).map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                ErrorKind::NOT_FOUND
            } else {
                ErrorKind::IO
            };
            PluginError::new(kind, format!("cannot open `{}`: {e}", path.display()))
        })?;
        let info = BundleInfo {
            url: path.display().to_string(),
            sha256: entry.sha256.clone(),
            size: entry.size,
        };
        Ok((info, Box::new(bundle)))
    }
}
