//! The distribution API, blocking, on `banger-fetch`: manifests and indexes (capped), blobs
//! (streamed, resumed with `Range`), and pushes (monolithic POST + PUT for small blobs, chunked
//! PATCH for large ones). Listing a repository is [`crate::listing`]'s.
//!
//! Authentication is answered as it is asked for: a 401's challenge ([`Challenge`]) is met with
//! Basic credentials or a Bearer token from the realm, cached per scope. Credentials and tokens
//! belong to the registry's origin (scheme, host, port): a URL the registry hands out on another
//! origin (a `Link` page, an upload `Location`) is followed anonymously, and a 401 there is an
//! error; a redirect elsewhere loses its `Authorization` (reqwest drops it on any change of
//! origin). A Bearer realm may be on another host, but gets the credentials only over https,
//! unless it is the loopback registry's own origin. Plain http:// goes only to a loopback
//! registry, or one the user allowed with `insecure=true`, and only to its own origin.

use std::{collections::HashMap, io::Read, sync::Mutex};

use banger_fetch::{
    DisplaySafeUrl, Fetcher, HeaderMap, HeaderValue, Method, Notice, Origin, Schemes, Url,
};
use sha2::{Digest, Sha256};

use crate::{
    auth::{credentials, Challenge, Credentials},
    listing::Budget,
    OciError, Repository,
};

/// The largest manifest or index banger reads.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Blobs up to this size are pushed in one request; larger ones in chunks of this size.
pub const CHUNK: usize = 8 << 20;

/// The media types a manifest GET accepts.
const ACCEPT: &str =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";

/// A client for one repository.
pub struct Registry {
    pub repository: Repository,
    base: String,
    /// The origin of `base`: the only one that ever gets the credentials or a token.
    origin: Origin,
    fetcher: Fetcher,
    credentials: Option<Credentials>,
    /// `Authorization` values for `origin`, by scope, as the registry asked for them.
    authorizations: Mutex<HashMap<String, String>>,
}

/// A manifest or index as the registry served it.
pub struct Fetched {
    pub media_type: String,
    pub bytes: Vec<u8>,
    /// `sha256:<hex>` of `bytes`.
    pub digest: String,
}

impl Registry {
    /// A client for `repository`. https://, unless the registry is on loopback or `insecure`,
    /// where plain http:// to the registry's own origin is allowed (and tried when https://
    /// cannot connect); everything else it hands out must still be https://.
    pub fn new(
        repository: &Repository,
        insecure: bool,
        notice: Option<Notice>,
    ) -> Result<Self, OciError> {
        let bad = || OciError::BadRepository(repository.to_string());
        let plain = format!("http://{}", repository.registry);
        let schemes = if insecure || repository.is_loopback() {
            Schemes::HttpsAndPlainTo(Origin::of(&plain).ok_or_else(bad)?)
        } else {
            Schemes::HttpsOnly
        };
        let plain_allowed = schemes != Schemes::HttpsOnly;
        let mut fetcher = Fetcher::new(schemes)?;
        if let Some(notice) = notice {
            fetcher = fetcher.with_notice(notice);
        }
        let mut base = format!("https://{}", repository.registry);
        if plain_allowed && !fetcher.answers(&format!("{base}/v2/")) {
            base = plain;
        }
        Ok(Self {
            repository: repository.clone(),
            origin: Origin::of(&base).ok_or_else(bad)?,
            base,
            fetcher,
            credentials: credentials(&repository.registry)?,
            authorizations: Mutex::new(HashMap::new()),
        })
    }

    /// Whether `url` is on the registry's own origin, where the credentials go.
    fn is_own(&self, url: &str) -> bool {
        Origin::of(url).as_ref() == Some(&self.origin)
    }

    /// `reference` (a `Link` target, a `Location`) resolved against `url`, the request that
    /// named it, as RFC 3986 resolves references: never by pasting strings.
    pub(crate) fn resolve(&self, url: &str, reference: &str) -> Result<String, OciError> {
        Url::parse(url)
            .and_then(|base| base.join(reference))
            .map(String::from)
            .map_err(|e| OciError::Invalid {
                url: DisplaySafeUrl::from(url).to_string(),
                // The reference itself may carry a token in its query: only why it is bad.
                reason: format!("it names a next page or upload that is not a URL: {e}"),
            })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.repository.path)
    }

    fn scope(&self, push: bool) -> String {
        let actions = if push { "pull,push" } else { "pull" };
        format!("repository:{}:{actions}", self.repository.path)
    }

    /// Send a request with the authorization this scope has; on a 401, answer the challenge
    /// once and send again. A request to another origin goes without any.
    pub(crate) fn send(
        &self,
        method: Method,
        url: &str,
        headers: &HeaderMap,
        body: Option<&[u8]>,
        push: bool,
    ) -> Result<banger_fetch::Response, OciError> {
        if !self.is_own(url) {
            // Another origin: no credentials, no token, and no challenge answered.
            let response = self.fetcher.send(method, url, headers, body)?;
            if response.status().as_u16() == 401 {
                return Err(OciError::ForeignUnauthorized {
                    url: url.into(),
                    registry: self.repository.registry.clone(),
                });
            }
            return Ok(response);
        }
        let scope = self.scope(push);
        let mut attempt = 0;
        loop {
            let mut headers = headers.clone();
            if let Some(value) = self.authorization(&scope) {
                headers.insert(
                    reqwest_header("authorization"),
                    HeaderValue::from_str(&value).map_err(|_| self.unauthorized())?,
                );
            }
            let response = self.fetcher.send(method.clone(), url, &headers, body)?;
            if response.status().as_u16() != 401 || attempt > 0 {
                if response.status().as_u16() == 401 {
                    return Err(self.unauthorized());
                }
                return Ok(response);
            }
            attempt += 1;
            let header = response
                .headers()
                .get("www-authenticate")
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let value = match Challenge::parse(&header) {
                Some(Challenge::Basic) => self
                    .credentials
                    .as_ref()
                    .map(Credentials::basic)
                    .ok_or_else(|| self.unauthorized())?,
                Some(Challenge::Bearer { realm, service, .. }) => {
                    format!("Bearer {}", self.token(&realm, service.as_deref(), &scope)?)
                }
                None => {
                    return Err(OciError::BadChallenge {
                        registry: self.repository.registry.clone(),
                        header,
                    })
                }
            };
            self.authorizations
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(scope.clone(), value);
        }
    }

    fn authorization(&self, scope: &str) -> Option<String> {
        self.authorizations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(scope)
            .cloned()
    }

    fn unauthorized(&self) -> OciError {
        OciError::Unauthorized {
            registry: self.repository.registry.clone(),
            repository: self.repository.path.clone(),
        }
    }

    /// A token from the realm for `scope` (distribution's token auth), sending the
    /// credentials, when there are any, as Basic auth.
    fn token(&self, realm: &str, service: Option<&str>, scope: &str) -> Result<String, OciError> {
        if !realm.starts_with("https://") && !self.is_own(realm) {
            return Err(OciError::InsecureRealm {
                realm: realm.into(),
                registry: self.repository.registry.clone(),
            });
        }
        let mut url = format!("{realm}?scope={}", encode(scope));
        if let Some(service) = service {
            url.push_str(&format!("&service={}", encode(service)));
        }
        let mut headers = HeaderMap::new();
        if let Some(credentials) = &self.credentials {
            headers.insert(
                reqwest_header("authorization"),
                HeaderValue::from_str(&credentials.basic()).map_err(|_| self.unauthorized())?,
            );
        }
        let response = self.fetcher.send(Method::GET, &url, &headers, None)?;
        match response.status().as_u16() {
            200 => {}
            401 | 403 => return Err(self.unauthorized()),
            status => return Err(status_error(&url, status, response)),
        }
        let body = read_capped(response, 64 << 10, &url, None)?;
        let answer: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| OciError::Invalid {
                url: DisplaySafeUrl::from(&url).to_string(),
                reason: e.to_string(),
            })?;
        answer["token"]
            .as_str()
            .or_else(|| answer["access_token"].as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| OciError::NoToken {
                realm: realm.into(),
            })
    }

    /// The manifest or index `reference` (a tag or `sha256:<hex>`); `None` for a 404.
    /// Refused over [`MAX_MANIFEST_BYTES`], and when fetched by digest, if the bytes are not it.
    pub fn manifest(&self, reference: &str) -> Result<Option<Fetched>, OciError> {
        self.manifest_within(reference, None)
    }

    /// [`Registry::manifest`], its bytes counted against `budget` when there is one.
    pub(crate) fn manifest_within(
        &self,
        reference: &str,
        budget: Option<&Budget>,
    ) -> Result<Option<Fetched>, OciError> {
        let url = self.url(&format!("manifests/{reference}"));
        let mut headers = HeaderMap::new();
        headers.insert(reqwest_header("accept"), HeaderValue::from_static(ACCEPT));
        let response = self.send(Method::GET, &url, &headers, None, false)?;
        match response.status().as_u16() {
            200 => {}
            404 => return Ok(None),
            status => return Err(status_error(&url, status, response)),
        }
        let media_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = read_capped(response, MAX_MANIFEST_BYTES, &url, budget)?;
        let digest = sha256_digest(&bytes);
        if reference.starts_with("sha256:") && reference != digest {
            return Err(OciError::DigestMismatch {
                url: url.as_str().into(),
                expected: reference.to_owned(),
                got: digest,
            });
        }
        Ok(Some(Fetched {
            media_type,
            bytes,
            digest,
        }))
    }

    /// The blob with `sha256`, from byte `offset` (with `Range`, when the registry honours it).
    pub fn blob(&self, sha256: &str, offset: u64) -> Result<banger_fetch::Download, OciError> {
        let url = self.url(&format!("blobs/sha256:{sha256}"));
        // A HEAD first: it answers the challenge for this scope, and turns a missing blob into
        // a plain error before the download starts.
        let head = self.send(Method::HEAD, &url, &HeaderMap::new(), None, false)?;
        match head.status().as_u16() {
            200 | 307 | 302 => {}
            status => return Err(status_error(&url, status, head)),
        }
        let mut headers = HeaderMap::new();
        if let Some(value) = self.authorization(&self.scope(false)) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(reqwest_header("authorization"), value);
            }
        }
        Ok(self
            .fetcher
            .clone()
            .with_headers(headers)
            .download(&url, offset)?)
    }

    /// Whether the registry has the blob `sha256`.
    pub fn has_blob(&self, sha256: &str, push: bool) -> Result<bool, OciError> {
        let url = self.url(&format!("blobs/sha256:{sha256}"));
        let response = self.send(Method::HEAD, &url, &HeaderMap::new(), None, push)?;
        match response.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            status => Err(status_error(&url, status, response)),
        }
    }

    /// Push the blob `sha256` of `size` bytes from `reader`: one PUT when it fits in a
    /// [`CHUNK`], else PATCH chunk by chunk and a final PUT. The registry checks the digest.
    pub fn push_blob(
        &self,
        sha256: &str,
        size: u64,
        mut reader: impl Read,
    ) -> Result<(), OciError> {
        let start = self.url("blobs/uploads/");
        let response = self.send(Method::POST, &start, &HeaderMap::new(), Some(&[]), true)?;
        if response.status().as_u16() != 202 {
            return Err(status_error(&start, response.status().as_u16(), response));
        }
        let mut location = self.location(&response, &start)?;
        let mut sent = 0u64;
        let mut chunk = vec![0u8; CHUNK.min(size as usize).max(1)];
        if size > CHUNK as u64 {
            while sent < size {
                let n = read_full(&mut reader, &mut chunk).map_err(OciError::Read)?;
                if n == 0 {
                    break;
                }
                let mut headers = HeaderMap::new();
                headers.insert(
                    reqwest_header("content-type"),
                    HeaderValue::from_static("application/octet-stream"),
                );
                headers.insert(
                    reqwest_header("content-range"),
                    HeaderValue::from_str(&format!("{sent}-{}", sent + n as u64 - 1))
                        .expect("ascii"),
                );
                let response =
                    self.send(Method::PATCH, &location, &headers, Some(&chunk[..n]), true)?;
                if response.status().as_u16() != 202 {
                    return Err(status_error(
                        &location,
                        response.status().as_u16(),
                        response,
                    ));
                }
                location = self.location(&response, &location)?;
                sent += n as u64;
            }
            self.finish_upload(&location, sha256, &[])
        } else {
            let n = read_full(&mut reader, &mut chunk).map_err(OciError::Read)?;
            self.finish_upload(&location, sha256, &chunk[..n])
        }
    }

    fn finish_upload(&self, location: &str, sha256: &str, body: &[u8]) -> Result<(), OciError> {
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{separator}digest=sha256:{sha256}");
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest_header("content-type"),
            HeaderValue::from_static("application/octet-stream"),
        );
        let response = self.send(Method::PUT, &url, &headers, Some(body), true)?;
        match response.status().as_u16() {
            201 => Ok(()),
            status => Err(status_error(&url, status, response)),
        }
    }

    /// Store `bytes` (of `media_type`) as manifest `reference` (a tag or digest); returns its
    /// digest.
    pub fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String, OciError> {
        let url = self.url(&format!("manifests/{reference}"));
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest_header("content-type"),
            HeaderValue::from_str(media_type).map_err(|_| OciError::Invalid {
                url: DisplaySafeUrl::from(&url).to_string(),
                reason: format!("media type `{media_type}`"),
            })?,
        );
        let response = self.send(Method::PUT, &url, &headers, Some(bytes), true)?;
        match response.status().as_u16() {
            201 => Ok(sha256_digest(bytes)),
            status => Err(status_error(&url, status, response)),
        }
    }

    /// The upload's `Location`, resolved against `url`. On another origin it is followed
    /// anonymously, as [`Registry::send`] does for every other origin.
    fn location(&self, response: &banger_fetch::Response, url: &str) -> Result<String, OciError> {
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| OciError::Invalid {
                url: DisplaySafeUrl::from(url).to_string(),
                reason: "the upload has no Location".into(),
            })?;
        self.resolve(url, location)
    }
}

fn reqwest_header(name: &'static str) -> banger_fetch::HeaderName {
    banger_fetch::HeaderName::from_static(name)
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// The body of `response`, refused over `cap` bytes, and counted against `budget` when there
/// is one.
pub(crate) fn read_capped(
    response: impl Read,
    cap: u64,
    url: &str,
    budget: Option<&Budget>,
) -> Result<Vec<u8>, OciError> {
    let mut bytes = Vec::new();
    let read = match budget {
        Some(budget) => budget
            .reader(response)
            .take(cap + 1)
            .read_to_end(&mut bytes),
        None => response.take(cap + 1).read_to_end(&mut bytes),
    };
    if let Some(spent) = budget.and_then(Budget::spent) {
        return Err(spent);
    }
    read.map_err(OciError::Read)?;
    if bytes.len() as u64 > cap {
        return Err(OciError::TooLarge {
            url: url.into(),
            limit: cap,
        });
    }
    Ok(bytes)
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

pub(crate) fn status_error(url: &str, status: u16, response: impl Read) -> OciError {
    let mut detail = String::new();
    let _ = response.take(4096).read_to_string(&mut detail);
    let detail: String = detail
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    OciError::Status {
        url: url.into(),
        status,
        detail: if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        },
    }
}

/// Percent-encode a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }

    #[test]
    fn plain_http_goes_only_to_a_loopback_registry_s_own_origin() {
        // Nothing listens on these ports: the https probe fails, so a loopback registry falls
        // back to plain http, and a `127.`-prefixed DNS name never does.
        let registry =
            |name: &str| Registry::new(&Repository::parse(name).unwrap(), false, None).unwrap();
        let loopback = registry("127.0.0.1:9/acme/kernels");
        assert_eq!(loopback.base, "http://127.0.0.1:9");
        let named = registry("127.example.com:9/acme/kernels");
        assert_eq!(named.base, "https://127.example.com:9");
        let refused = |r: &Registry, url: &str| {
            matches!(
                r.fetcher.send(Method::GET, url, &HeaderMap::new(), None),
                Err(banger_fetch::FetchError::InsecureUrl { .. })
            )
        };
        assert!(refused(&named, "http://127.example.com:9/v2/"));
        assert!(refused(&loopback, "http://127.0.0.1:10/v2/"));
        assert!(refused(&loopback, "http://localhost:9/v2/"));
        assert!(!refused(&loopback, "http://127.0.0.1:9/v2/"));
    }

    #[test]
    fn references_resolve_as_urls_not_as_pasted_strings() {
        let registry = Registry::new(
            &Repository::parse("127.0.0.1:9/acme/kernels").unwrap(),
            false,
            None,
        )
        .unwrap();
        let page = "http://127.0.0.1:9/v2/acme/kernels/tags/list?n=100";
        let resolve = |reference| registry.resolve(page, reference).unwrap();
        assert_eq!(
            resolve("/v2/acme/kernels/tags/list?n=100&last=b"),
            "http://127.0.0.1:9/v2/acme/kernels/tags/list?n=100&last=b"
        );
        // Pasted after the base, `@evil.example/x` would have made the registry's address the
        // userinfo of a URL on `evil.example`; resolved, it is a path on the registry.
        assert_eq!(
            resolve("@evil.example/x"),
            "http://127.0.0.1:9/v2/acme/kernels/tags/@evil.example/x"
        );
        assert!(!registry.is_own(&resolve("//other.example/v2/")));
        assert!(!registry.is_own(&resolve("https://127.0.0.1:9/v2/")));
        assert!(registry.is_own(&resolve("list?n=100&last=c")));
    }
}
