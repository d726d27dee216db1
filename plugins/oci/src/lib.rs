//! The `oci` source: kernel bundles from an OCI registry, laid out as docs/oci.md describes.
//!
//! It is a catalog transport: for an entry of the trusted catalog it fetches the blob whose
//! digest is the catalog's sha256, so the registry can deliver those bytes or nothing. Entries
//! only the registry lists are offered with the registry's digest, which the host accepts only
//! with `--allow-unverified`. Blob downloads resume with `Range`.
//!
//! Options: `repo=REGISTRY/REPOSITORY` (else `$BANGER_OCI_REPO`), `insecure=true` to allow
//! plain http:// to a registry that is not on loopback (to its own origin only). A listing
//! stops at the host's `banger.listing_limit` while it is read (docs/oci.md, "Listing
//! budgets").

use banger_catalog::Catalog;
use banger_oci::{OciError, Registry, Repository};
use banger_plugin_api::{
    BundleInfo, Entry, ErrorKind, HostHandle, KernelSource, OpenRequest, Opened, Options,
    PluginError,
};

banger_plugin_api::export_plugin! {
    name: "oci",
    version: env!("CARGO_PKG_VERSION"),
    description: "kernel bundles from an OCI registry (option repo=REGISTRY/REPOSITORY)",
    new: OciSource::new,
}

/// The environment variable naming the repository when the option is absent.
const REPO_ENV: &str = banger_env::BANGER_OCI_REPO;

struct OciSource {
    registry: Registry,
    trusted: Catalog,
    /// The host's listing cap, applied while the listing is read.
    listing_limit: Option<u64>,
}

fn plugin_error(error: OciError) -> PluginError {
    let kind = match &error {
        OciError::UnknownTag { .. } => ErrorKind::NOT_FOUND,
        OciError::Fetch(e) if e.is_not_found() => ErrorKind::NOT_FOUND,
        OciError::Status { status: 404, .. } => ErrorKind::NOT_FOUND,
        OciError::DigestMismatch { .. } => ErrorKind::INTEGRITY,
        OciError::BadRepository(_)
        | OciError::BadUrl(_)
        | OciError::ListingBudget { .. }
        | OciError::ListingTooLarge { .. }
        | OciError::TooLarge { .. }
        | OciError::TooManyManifests { .. }
        | OciError::Invalid { .. } => ErrorKind::INVALID_INPUT,
        // banger's own rules about origins refused it, not the network.
        OciError::InsecureRealm { .. }
        | OciError::ForeignUnauthorized { .. }
        | OciError::Fetch(banger_fetch::FetchError::InsecureUrl { .. }) => ErrorKind::OTHER,
        OciError::Fetch(banger_fetch::FetchError::Request { source, .. })
            if source.is_redirect() =>
        {
            ErrorKind::OTHER
        }
        OciError::Read(_) => ErrorKind::IO,
        _ => ErrorKind::NETWORK,
    };
    let plugin_error = PluginError::from_error(kind, &error);
    match error.hint() {
        Some(hint) => plugin_error.with_hint(hint),
        None => plugin_error,
    }
}

impl OciSource {
    fn new(mut options: Options, host: HostHandle) -> Result<Self, PluginError> {
        let repo = options.get_or_env("repo", REPO_ENV);
        let insecure = options.flag("insecure")?;
        let trusted = Catalog::from_host(&options);
        let listing_limit = options.listing_limit();
        options.finish("oci")?;
        let repo = repo.ok_or_else(|| {
            PluginError::invalid_input(format!(
                "the oci source needs a repository: pass --oci REGISTRY/REPOSITORY or set {REPO_ENV}"
            ))
        })?;
        let repository = Repository::parse(&repo).map_err(plugin_error)?;
        let notice = banger_fetch::plugin::notice(&host);
        let registry = Registry::new(&repository, insecure, Some(notice)).map_err(plugin_error)?;
        Ok(Self {
            registry,
            trusted: trusted?,
            listing_limit,
        })
    }
}

impl OciSource {
    /// A blob the registry cannot serve: when its own manifest for the kernel names another
    /// layer, say so, since that is what a user needs to know.
    fn explain_missing(&self, entry: &Entry, error: OciError) -> PluginError {
        let listed = self.registry.entries(&entry.name).ok().and_then(|entries| {
            entries
                .into_iter()
                .find(|e| e.arch == entry.arch && e.sha256 != entry.sha256)
        });
        match listed {
            Some(other) => PluginError::integrity(format!(
                "`{}` has `{}` for {} with layer sha256 {}, not the trusted catalog's {}; it cannot deliver the trusted bundle",
                self.registry.repository, entry.name, entry.arch, other.sha256, entry.sha256
            )),
            None => plugin_error(error),
        }
    }
}

impl KernelSource for OciSource {
    fn list(&self) -> Result<Vec<Entry>, PluginError> {
        self.registry.list(self.listing_limit).map_err(plugin_error)
    }

    fn open_at(&self, request: &OpenRequest, offset: u64) -> Result<Opened, PluginError> {
        // The trusted catalog's digest when it has the kernel; else the registry's own.
        let entry = match self.trusted.find(&request.name, &request.arch) {
            Some(entry) => entry.clone(),
            None => self
                .registry
                .entries(&request.name)
                .map_err(plugin_error)?
                .into_iter()
                .find(|e| e.arch == request.arch)
                .ok_or_else(|| {
                    PluginError::not_found(format!(
                        "`{}` has `{}` but not for {}",
                        self.registry.repository, request.name, request.arch
                    ))
                })?,
        };
        let body = match self.registry.blob(&entry.sha256, offset) {
            Ok(body) => body,
            Err(error) => return Err(self.explain_missing(&entry, error)),
        };
        Ok(Opened {
            info: BundleInfo {
                url: self.registry.repository.bundle_url(&entry.sha256),
                sha256: entry.sha256,
                size: entry.size,
            },
            resume: Some(body.start()),
            stream: Box::new(body),
        })
    }
}
