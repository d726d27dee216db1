//! Why a registry operation failed; every variant names the registry, repository or URL.

use banger_fetch::{DisplaySafeUrl, FetchError};

/// A registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("`{0}` is not a registry repository (REGISTRY/REPOSITORY, e.g. ghcr.io/acme/kernels)")]
    BadRepository(String),
    #[error("`{0}` is not an oci:// bundle URL (oci://REGISTRY/REPOSITORY@sha256:<64 hex>)")]
    BadUrl(String),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("`{url}` answered HTTP {status}{detail}")]
    Status {
        url: DisplaySafeUrl,
        status: u16,
        /// The registry's own error text, when it sent one.
        detail: String,
    },
    #[error("`{registry}` needs credentials for `{repository}` (HTTP 401)")]
    Unauthorized {
        registry: String,
        repository: String,
    },
    #[error("`{registry}` sent a malformed WWW-Authenticate header: `{header}`")]
    BadChallenge { registry: String, header: String },
    #[error("the token service `{realm}` gave no token")]
    NoToken { realm: DisplaySafeUrl },
    #[error("`{registry}` sends credentials to the token service `{realm}` over plain http://; banger sends them over https://, or to a loopback registry's own origin")]
    InsecureRealm {
        realm: DisplaySafeUrl,
        registry: String,
    },
    #[error("`{url}` is not on the origin of `{registry}` and asks for credentials; banger sends them only to the registry's own origin")]
    ForeignUnauthorized {
        url: DisplaySafeUrl,
        registry: String,
    },
    #[error("cannot get credentials for `{registry}` from `docker-credential-{helper}`: {reason}")]
    Helper {
        registry: String,
        helper: String,
        reason: String,
    },
    #[error("cannot read the docker config `{path}`: {reason}")]
    DockerConfig { path: String, reason: String },
    #[error("`{repository}` has no tag `{tag}`")]
    UnknownTag { repository: String, tag: String },
    #[error("`{url}` is larger than the {limit} bytes banger reads for a manifest or index")]
    TooLarge { url: DisplaySafeUrl, limit: u64 },
    #[error("listing `{repository}` took more than the {limit} bytes banger reads for one listing (tags, indexes and manifests together)")]
    ListingBudget { repository: String, limit: u64 },
    #[error("the entries `{repository}` lists take more than the {limit} bytes banger reads from a source")]
    ListingTooLarge { repository: String, limit: u64 },
    #[error("the index `{url}` lists {count} manifests, more than the {limit} banger reads")]
    TooManyManifests {
        url: String,
        count: usize,
        limit: usize,
    },
    #[error("`{url}` is not valid: {reason}")]
    Invalid { url: String, reason: String },
    #[error("`{url}` served bytes whose sha256 is {got}, not the {expected} asked for")]
    DigestMismatch {
        url: DisplaySafeUrl,
        expected: String,
        got: String,
    },
    #[error("cannot read the bundle to upload")]
    Read(#[source] std::io::Error),
}

impl OciError {
    /// A hint for the user, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Unauthorized { registry, .. } => Some(format!(
                "log in with `docker login {registry}` (banger reads ~/.docker/config.json and its credential helpers), or set BANGER_OCI_USERNAME and BANGER_OCI_PASSWORD"
            )),
            Self::Helper { helper, .. } => Some(format!(
                "install docker-credential-{helper}, or remove it from the docker config"
            )),
            _ => None,
        }
    }
}
