//! The HTTP(S) client that banger's sources share.
//!
//! One place decides how banger talks to web servers: rustls with the system roots plus an
//! extra CA from `SSL_CERT_FILE`, `HTTPS_PROXY`/`NO_PROXY` from the environment, connect and
//! read timeouts, a low-speed limit, retries with backoff for transient failures, resumption
//! with `Range`, and bodies that stream instead of sitting in memory ([`Download`]). Every URL
//! in an error or notice is a [`DisplaySafeUrl`], which shows no credentials. Plain `http://`
//! goes only where [`Schemes`] allows it, redirects included; reqwest drops `Authorization`
//! when a redirect leaves the origin. The programs banger runs get no secret variable
//! ([`secrets`]). Whether the bytes are good is not this crate's business: the host hashes
//! them.
#![forbid(unsafe_code)]

mod download;
#[cfg(feature = "plugin")]
pub mod plugin;
pub mod secrets;
mod url;

use std::{path::PathBuf, sync::Arc, time::Duration};

pub use download::Download;
use reqwest::{blocking::Client, redirect, StatusCode};
pub use reqwest::{
    blocking::Response,
    header::{HeaderMap, HeaderName, HeaderValue},
    Method, Url,
};
pub use url::{DisplaySafeUrl, Origin};

/// How long to wait for a TCP + TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a read may stall before the transfer is abandoned, unless `$BANGER_HTTP_TIMEOUT`
/// (seconds) says otherwise.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts per request, and per stream for resuming after a failure mid-body.
pub const ATTEMPTS: u32 = 5;
/// The pause before the first retry; each later one doubles it (0.25, 0.5, 1, 2 s).
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest `Retry-After` honoured; a server that asks for more fails the request.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// A transfer that moves fewer bytes per second than this, over [`LOW_SPEED_TIME`], has
/// stalled (curl's `--speed-limit`): it is retried like a dropped connection.
pub const LOW_SPEED_LIMIT: u64 = 1024;
/// How long a transfer may stay below [`LOW_SPEED_LIMIT`], unless
/// `$BANGER_HTTP_LOW_SPEED_TIME` (seconds) says otherwise (curl's `--speed-time`).
pub const LOW_SPEED_TIME: Duration = Duration::from_secs(60);

/// Receives a line for the user when a request is retried.
pub type Notice = Arc<dyn Fn(&str) + Send + Sync>;

/// The most redirects one request follows.
pub const MAX_REDIRECTS: usize = 10;

/// Which URL schemes a client accepts, for requests and the redirects they lead to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schemes {
    /// Only `https://`: for sources whose URL is part of the trust decision.
    HttpsOnly,
    /// `http://` too: for untrusted transports whose bytes are checked against a trusted digest.
    HttpAndHttps,
    /// `https://`, and plain `http://` to this one origin only: a registry on loopback, or one
    /// the user allowed with `insecure=true`. Whatever else it hands out must be https.
    HttpsAndPlainTo(Origin),
}

impl Schemes {
    /// Whether a request to `url` may be sent.
    fn allow(&self, url: &str) -> bool {
        if url.starts_with("https://") {
            return true;
        }
        if !url.starts_with("http://") {
            return false;
        }
        match self {
            Self::HttpsOnly => false,
            Self::HttpAndHttps => true,
            Self::HttpsAndPlainTo(origin) => Origin::of(url).as_ref() == Some(origin),
        }
    }
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
    InsecureUrl { url: DisplaySafeUrl },
    #[error("`{url}` was not found (HTTP 404)")]
    NotFound { url: DisplaySafeUrl },
    #[error("`{url}` answered HTTP {status}")]
    Status {
        url: DisplaySafeUrl,
        status: StatusCode,
        /// The wait a 429 asked for (`Retry-After`), honoured before the next attempt.
        retry_after: Option<Duration>,
    },
    #[error("`{url}` answered HTTP 429 and asked to wait {seconds} s, more than the {} s banger waits", MAX_RETRY_AFTER.as_secs())]
    TooLongToWait { url: DisplaySafeUrl, seconds: u64 },
    #[error("reading `{url}` failed at byte {at}: {reason}")]
    Interrupted {
        url: DisplaySafeUrl,
        at: u64,
        reason: String,
    },
    #[error("request to `{url}` failed")]
    Request {
        url: DisplaySafeUrl,
        #[source]
        source: reqwest::Error,
    },
}

impl FetchError {
    /// Whether the resource does not exist, as opposed to a failure to reach it.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// The wait the server asked for before the next attempt, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether trying again may help: a timeout, a refused or reset connection, a 5xx, 408 or
    /// 429. A certificate the client rejects, a 404, a refused redirect or a bad URL are not
    /// transient.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status { status, .. } => is_transient_status(*status),
            // A body that broke off, stalled or came up short: asked again from where it was.
            Self::Interrupted { .. } => true,
            // A URL reqwest cannot build a request for (an invalid port, say) stays bad, and so
            // does a redirect the policy refused.
            Self::Request { source, .. } => {
                !source.is_builder() && !source.is_redirect() && !is_tls_rejection(source)
            }
            _ => false,
        }
    }
}

/// The statuses worth asking again: a 5xx, 408 or 429.
fn is_transient_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
}

/// Whether a TLS error (such as an untrusted certificate) is somewhere in `error`'s chain.
fn is_tls_rejection(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        current = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner),
            None => e.source(),
        };
    }
    false
}

/// A configured client.
#[derive(Clone)]
pub struct Fetcher {
    client: Client,
    schemes: Schemes,
    notice: Option<Notice>,
    /// Sent with every request (an `Authorization`, say). reqwest drops `Authorization` when a
    /// redirect leads to another host.
    headers: HeaderMap,
}

impl Fetcher {
    /// Build a client that accepts `schemes`.
    pub fn new(schemes: Schemes) -> Result<Self, FetchError> {
        // banger builds one rustls provider, ring; reqwest needs it installed for the process.
        // Another caller may have installed it first, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            // The blocking client applies this to each operation: sending, and every body read.
            .timeout(read_timeout())
            .user_agent(concat!("banger/", env!("CARGO_PKG_VERSION")))
            .https_only(schemes == Schemes::HttpsOnly)
            .redirect(redirect_policy(schemes.clone()));
        if let Some(path) = banger_env::non_empty(banger_env::SSL_CERT_FILE) {
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
        Ok(Self {
            client,
            schemes,
            notice: None,
            headers: HeaderMap::new(),
        })
    }

    /// This client, sending `headers` with every request from now on.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    /// Send one request as it is, retrying transient failures with backoff: a refused or
    /// reset connection, a 5xx, a 408, or a 429 after its `Retry-After` (at most
    /// [`MAX_RETRY_AFTER`]). Any other answer comes back as it is, for the caller to read its
    /// status; `body` is sent again on each attempt.
    pub fn send(
        &self,
        method: Method,
        url: &str,
        headers: &HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<Response, FetchError> {
        self.check_scheme(url)?;
        self.retrying(url, || {
            let mut request = self
                .client
                .request(method.clone(), url)
                .headers(self.headers.clone())
                .headers(headers.clone());
            if let Some(body) = body {
                request = request.body(body.to_vec());
            }
            let response = request
                .send()
                .map_err(|source| request_error(url, source))?;
            if is_transient_status(response.status()) {
                Err(status_error(url, &response))
            } else {
                Ok(response)
            }
        })
    }

    /// Run `attempt` until it succeeds, fails for good, or [`ATTEMPTS`] are used up, waiting
    /// before each retry as [`Fetcher::wait`] decides: the one retry loop of every request.
    fn retrying<T>(
        &self,
        url: &str,
        attempt: impl FnMut() -> Result<T, FetchError>,
    ) -> Result<T, FetchError> {
        self.retrying_after(url, &mut 0, None, attempt)
    }

    /// [`Fetcher::retrying`] for a stream that already failed with `failure` after `done`
    /// retries of its budget, which counts on across calls.
    pub(crate) fn retrying_after<T>(
        &self,
        url: &str,
        done: &mut u32,
        mut failure: Option<FetchError>,
        mut attempt: impl FnMut() -> Result<T, FetchError>,
    ) -> Result<T, FetchError> {
        loop {
            if let Some(error) = failure.take() {
                if !error.is_transient() || *done + 1 >= ATTEMPTS {
                    return Err(error);
                }
                self.wait(url, *done, &error)?;
                *done += 1;
            }
            match attempt() {
                Ok(value) => return Ok(value),
                Err(error) => failure = Some(error),
            }
        }
    }

    /// Tell `notice` about every retry, e.g. to show it to the user.
    pub fn with_notice(mut self, notice: Notice) -> Self {
        self.notice = Some(notice);
        self
    }

    /// GET `url` from its first byte, retrying transient failures; see [`Fetcher::download`].
    pub fn get(&self, url: &str) -> Result<Download, FetchError> {
        self.download(url, 0)
    }

    /// GET `url` from byte `offset` (with `Range` when `offset` > 0), retrying transient
    /// failures with backoff. The body resumes by itself after a failure mid-stream.
    /// [`Download::start`] says where it begins: `offset` only if the server answered 206 with
    /// a matching `Content-Range`, else 0.
    pub fn download(&self, url: &str, offset: u64) -> Result<Download, FetchError> {
        self.check_scheme(url)?;
        let (response, start) = self.retrying(url, || self.request(url, offset))?;
        Ok(Download::new(self.clone(), url, response, start))
    }

    /// One GET from `offset`: the response and the offset its body starts at. A ranged
    /// request that comes back with anything but a matching 206 is asked again from byte 0.
    fn request(&self, url: &str, offset: u64) -> Result<(Response, u64), FetchError> {
        let mut request = self.client.get(url).headers(self.headers.clone());
        if offset > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={offset}-"));
        }
        let response = request
            .send()
            .map_err(|source| request_error(url, source))?;
        match response.status() {
            StatusCode::PARTIAL_CONTENT
                if offset > 0 && content_range_start(&response) == Some(offset) =>
            {
                Ok((response, offset))
            }
            StatusCode::PARTIAL_CONTENT | StatusCode::RANGE_NOT_SATISFIABLE if offset > 0 => {
                self.request(url, 0)
            }
            _ => Ok((check_status(url, response)?, 0)),
        }
    }

    /// Say that retry `done + 2` is coming after `error`, and wait before it: as long as the
    /// server asked (`Retry-After` on `error`; more than [`MAX_RETRY_AFTER`] fails the request),
    /// or else with exponential backoff from [`FIRST_BACKOFF`]. `$BANGER_TEST_NO_RETRY_DELAY`
    /// skips the backoff (not the notice, nor a wait the server asked for), for tests.
    fn wait(&self, url: &str, done: u32, error: &FetchError) -> Result<(), FetchError> {
        let notice = |line: String| {
            if let Some(notice) = &self.notice {
                notice(&line);
            }
        };
        match error.retry_after() {
            Some(wait) if wait > MAX_RETRY_AFTER => Err(FetchError::TooLongToWait {
                url: url.into(),
                seconds: wait.as_secs(),
            }),
            Some(wait) => {
                notice(format!(
                    "{error}; waiting {} s as it asks (Retry-After)",
                    wait.as_secs()
                ));
                std::thread::sleep(wait);
                Ok(())
            }
            None => {
                let wait = FIRST_BACKOFF * 2u32.pow(done);
                notice(format!(
                    "{error}; retrying in {:.2} s (attempt {} of {ATTEMPTS})",
                    wait.as_secs_f64(),
                    done + 2
                ));
                if std::env::var_os(banger_env::BANGER_TEST_NO_RETRY_DELAY).is_none() {
                    std::thread::sleep(wait);
                }
                Ok(())
            }
        }
    }

    /// Whether `url` answers at all (any status), in one attempt without retries: to tell
    /// whether a server speaks https:// before falling back to http:// on loopback.
    pub fn answers(&self, url: &str) -> bool {
        self.check_scheme(url).is_ok() && self.client.get(url).send().is_ok()
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
        if self.schemes.allow(url) {
            Ok(())
        } else {
            Err(FetchError::InsecureUrl { url: url.into() })
        }
    }
}

/// Follow at most [`MAX_REDIRECTS`] redirects, and none to a URL `schemes` refuses: a registry
/// allowed plain http cannot send a request on to plain http elsewhere.
fn redirect_policy(schemes: Schemes) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        if !schemes.allow(attempt.url().as_str()) {
            let refused = DisplaySafeUrl::from(attempt.url().as_str()).to_string();
            attempt.error(format!(
                "refusing the redirect to `{refused}`: only https:// URLs are allowed there"
            ))
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    })
}

/// The read timeout: `$BANGER_HTTP_TIMEOUT` seconds, else [`READ_TIMEOUT`].
fn read_timeout() -> Duration {
    seconds_from_env(banger_env::BANGER_HTTP_TIMEOUT).unwrap_or(READ_TIMEOUT)
}

/// How long a transfer may stay below [`LOW_SPEED_LIMIT`].
fn low_speed_time() -> Duration {
    seconds_from_env(banger_env::BANGER_HTTP_LOW_SPEED_TIME).unwrap_or(LOW_SPEED_TIME)
}

fn seconds_from_env(name: &str) -> Option<Duration> {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
}

/// A `Retry-After` in seconds (the HTTP-date form is not used by registries).
fn retry_after(response: &Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// The first byte position of a `Content-Range: bytes <start>-<end>/<total>` header.
fn content_range_start(response: &Response) -> Option<u64> {
    let value = response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    value
        .strip_prefix("bytes ")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// reqwest's own message names the URL it was given, credentials and all; it is dropped, and
/// the display-safe URL named instead.
fn request_error(url: &str, source: reqwest::Error) -> FetchError {
    FetchError::Request {
        url: url.into(),
        source: source.without_url(),
    }
}

fn check_status(url: &str, response: Response) -> Result<Response, FetchError> {
    match response.status() {
        StatusCode::OK => Ok(response),
        StatusCode::NOT_FOUND => Err(FetchError::NotFound { url: url.into() }),
        _ => Err(status_error(url, &response)),
    }
}

/// The error for an answer with `response`'s status, with the wait a 429 asked for.
fn status_error(url: &str, response: &Response) -> FetchError {
    let status = response.status();
    FetchError::Status {
        url: url.into(),
        status,
        retry_after: (status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| retry_after(response))
            .flatten(),
    }
}
