//! The HTTP(S) client that banger's sources share.
//!
//! One place decides how banger talks to web servers: rustls with the system roots plus an
//! extra CA from `SSL_CERT_FILE`, `HTTPS_PROXY`/`NO_PROXY` from the environment, connect and
//! read timeouts, and bodies that stream instead of sitting in memory. Whether the bytes are
//! good is not this crate's business: the host hashes them.
#![forbid(unsafe_code)]

use std::{path::PathBuf, time::Duration};

use reqwest::{
    blocking::{Client, Response},
    StatusCode,
};

/// How long to wait for a TCP + TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a read may stall before the transfer is abandoned.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Which URL schemes a client accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schemes {
    /// Only `https://`: for sources whose URL is part of the trust decision.
    HttpsOnly,
    /// `http://` too: for untrusted transports whose bytes are checked against a trusted digest.
    HttpAndHttps,
}

/// A failed request; every variant names the URL.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("cannot read the CA file `{}` named by SSL_CERT_FILE", path.display())]
    CaFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the CA file `{}` named by SSL_CERT_FILE holds no usable PEM certificate", path.display())]
    CaPem {
        path: PathBuf,
        #[source]
        source: reqwest::Error,
    },
    #[error("refusing `{url}`: only https:// URLs are allowed here")]
    InsecureUrl { url: String },
    #[error("`{url}` was not found (HTTP 404)")]
    NotFound { url: String },
    #[error("`{url}` answered HTTP {status}")]
    Status { url: String, status: StatusCode },
    #[error("request to `{url}` failed")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

impl FetchError {
    /// Whether the resource does not exist, as opposed to a failure to reach it.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

/// A configured client.
#[derive(Clone, Debug)]
pub struct Fetcher {
    client: Client,
    schemes: Schemes,
}

impl Fetcher {
    /// Build a client that accepts `schemes`.
    pub fn new(schemes: Schemes) -> Result<Self, FetchError> {
        let mut builder = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            // The blocking client applies this to each operation: sending, and every body read.
            .timeout(READ_TIMEOUT)
            .user_agent(concat!("banger/", env!("CARGO_PKG_VERSION")))
            .https_only(schemes == Schemes::HttpsOnly);
        if let Some(path) = std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) {
            let path = PathBuf::from(path);
            let pem = std::fs::read(&path).map_err(|source| FetchError::CaFile {
                path: path.clone(),
                source,
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|source| FetchError::CaPem { path, source })?;
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder.build().map_err(FetchError::Client)?;
        Ok(Self { client, schemes })
    }

    /// GET `url` and return the response, whose body streams through `io::Read`; any status
    /// but 200 is an error.
    pub fn get(&self, url: &str) -> Result<Response, FetchError> {
        self.check_scheme(url)?;
        let response = self
            .client
            .get(url)
            .send()
            .map_err(|source| request_error(url, source))?;
        check_status(url, response)
    }

    /// HEAD `url`: any status but 200 is an error; returns the `Content-Length` it announces.
    pub fn head_length(&self, url: &str) -> Result<Option<u64>, FetchError> {
        self.check_scheme(url)?;
        let response = self
            .client
            .head(url)
            .send()
            .map_err(|source| request_error(url, source))?;
        let response = check_status(url, response)?;
        Ok(response
            .headers()
            .get(reqwest::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.parse().ok()))
    }

    fn check_scheme(&self, url: &str) -> Result<(), FetchError> {
        let allowed = url.starts_with("https://")
            || (self.schemes == Schemes::HttpAndHttps && url.starts_with("http://"));
        if allowed {
            Ok(())
        } else {
            Err(FetchError::InsecureUrl {
                url: url.to_owned(),
            })
        }
    }
}

fn request_error(url: &str, source: reqwest::Error) -> FetchError {
    FetchError::Request {
        url: url.to_owned(),
        source,
    }
}

fn check_status(url: &str, response: Response) -> Result<Response, FetchError> {
    match response.status() {
        StatusCode::OK => Ok(response),
        StatusCode::NOT_FOUND => Err(FetchError::NotFound {
            url: url.to_owned(),
        }),
        status => Err(FetchError::Status {
            url: url.to_owned(),
            status,
        }),
    }
}
