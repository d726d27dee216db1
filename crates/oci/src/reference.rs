//! Names in a registry: a repository (`REGISTRY/REPOSITORY`) and a bundle's address in one
//! (`oci://REGISTRY/REPOSITORY@sha256:<digest>`), validated once, at the edge.

use std::fmt;

use crate::OciError;

/// A repository in a registry: `ghcr.io/acme/kernels`, `127.0.0.1:5000/kernels`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repository {
    /// `host` or `host:port`.
    pub registry: String,
    /// The repository path, lowercase components separated by `/`.
    pub path: String,
}

impl Repository {
    /// Parse `REGISTRY/REPOSITORY` (an `oci://` prefix is allowed).
    pub fn parse(text: &str) -> Result<Self, OciError> {
        let bad = || OciError::BadRepository(text.to_owned());
        let rest = text.strip_prefix("oci://").unwrap_or(text);
        let (registry, path) = rest.split_once('/').ok_or_else(bad)?;
        let registry_ok = !registry.is_empty()
            && registry
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        // The distribution spec's repository name grammar, in plain code.
        let path_ok = !path.is_empty()
            && path.len() <= 255
            && path.split('/').all(|part| {
                !part.is_empty()
                    && part.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && part.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && part.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                    })
            });
        if !registry_ok || !path_ok {
            return Err(bad());
        }
        Ok(Self {
            registry: registry.to_owned(),
            path: path.to_owned(),
        })
    }

    /// Whether the registry is on this machine, where plain http:// is allowed.
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
            _ => &self.registry,
        };
        matches!(host, "localhost" | "[::1]") || host.starts_with("127.")
    }

    /// `oci://REGISTRY/REPOSITORY@sha256:<sha256>`: where the bundle with `sha256` lives here.
    pub fn bundle_url(&self, sha256: &str) -> String {
        format!("oci://{self}@sha256:{sha256}")
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)
    }
}

/// A bundle's address in a registry: `oci://REGISTRY/REPOSITORY@sha256:<digest>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleUrl {
    pub repository: Repository,
    /// 64 lowercase hex digits.
    pub sha256: String,
}

impl BundleUrl {
    pub fn parse(url: &str) -> Result<Self, OciError> {
        let bad = || OciError::BadUrl(url.to_owned());
        let rest = url.strip_prefix("oci://").ok_or_else(bad)?;
        let (repository, sha256) = rest.split_once("@sha256:").ok_or_else(bad)?;
        banger_plugin_api::names::validate_sha256(sha256).map_err(|_| bad())?;
        Ok(Self {
            repository: Repository::parse(repository).map_err(|_| bad())?,
            sha256: sha256.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_and_bundle_urls_parse_only_when_well_formed() {
        let repo = Repository::parse("127.0.0.1:5000/acme/kernels").unwrap();
        assert_eq!(
            (repo.registry.as_str(), repo.path.as_str()),
            ("127.0.0.1:5000", "acme/kernels")
        );
        assert!(repo.is_loopback());
        assert!(!Repository::parse("ghcr.io/acme/kernels")
            .unwrap()
            .is_loopback());
        for bad in [
            "ghcr.io",
            "ghcr.io/",
            "ghcr.io/Acme",
            "ghcr.io/a//b",
            "a b/c",
            "ghcr.io/-x",
        ] {
            assert!(Repository::parse(bad).is_err(), "{bad}");
        }
        let sha = "a".repeat(64);
        let url = BundleUrl::parse(&format!("oci://ghcr.io/acme/kernels@sha256:{sha}")).unwrap();
        assert_eq!(
            url.repository.bundle_url(&url.sha256),
            format!("oci://ghcr.io/acme/kernels@sha256:{sha}")
        );
        for bad in [
            "oci://ghcr.io/acme@sha256:abc",
            "https://x/y@sha256:aa",
            "oci://ghcr.io/acme",
        ] {
            assert!(BundleUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
