//! Names in a registry: a repository (`REGISTRY/REPOSITORY`) and a bundle's address in one
//! (`oci://REGISTRY/REPOSITORY@sha256:<digest>`), validated once, at the edge.

use std::{fmt, net::IpAddr};

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

    /// The registry's host, without its port (an IPv6 address keeps its brackets).
    pub fn host(&self) -> &str {
        if self.registry.starts_with('[') {
            return match self.registry.find(']') {
                Some(end) => &self.registry[..=end],
                None => &self.registry,
            };
        }
        match self.registry.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
            _ => &self.registry,
        }
    }

    /// Whether the registry is on this machine, where plain http:// to it is allowed: its host
    /// is an IP address that [`IpAddr::is_loopback`] accepts, or exactly `localhost`. Nothing
    /// else is, however it starts: `127.example.com` is a name anyone can point anywhere.
    pub fn is_loopback(&self) -> bool {
        let host = self.host();
        host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
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
        assert_eq!(repo.host(), "127.0.0.1");
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

    #[test]
    fn only_loopback_addresses_and_localhost_are_loopback() {
        let loopback = |registry: &str| {
            Repository::parse(&format!("{registry}/k"))
                .unwrap()
                .is_loopback()
        };
        for yes in [
            "127.0.0.1",
            "127.0.0.1:5000",
            "127.255.0.9:1",
            "localhost",
            "localhost:5000",
            "[::1]",
            "[::1]:5000",
        ] {
            assert!(loopback(yes), "{yes}");
        }
        for no in [
            "127.example.com",
            "127.example.com:5000",
            "127.0.0.1.example.com",
            "127.1",
            "localhost.example.com",
            "mylocalhost",
            "LOCALHOST",
            "10.0.0.1:5000",
            "[::2]:5000",
            "[::ffff:127.0.0.1]",
        ] {
            assert!(!loopback(no), "{no}");
        }
    }
}
