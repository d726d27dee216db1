//! URLs as banger shows them, and the origins credentials belong to.
//!
//! [`DisplaySafeUrl`] keeps the URL it was given, but its `Display` and `Debug` show it without
//! userinfo (`user:password@`), query string or fragment, any of which may carry a credential
//! (a password, a token, a signed URL's signature). So every message, manifest, `--json`
//! output and retry notice that names a URL is safe by default, and seeing the full URL takes
//! a deliberate call to [`DisplaySafeUrl::with_credentials`]. Text that does not parse as a
//! URL is never shown raw: at most its scheme and host, else `<unparseable URL>`. Text that is
//! plainly a local path (absolute, or with neither `:` nor `@`) is shown as it is: a path
//! carries no credentials. As uv's `DisplaySafeUrl` (crates/uv-redacted), from which the idea
//! comes.
//!
//! [`Origin`] is (scheme, host, port), as RFC 6454 defines it: what credentials are bound to.

use std::fmt;

use reqwest::Url;

/// What an unparseable URL shows when not even its scheme and host can be told apart.
const UNPARSEABLE: &str = "<unparseable URL>";

/// A URL that never shows its credentials when displayed.
#[derive(Clone, PartialEq, Eq)]
pub struct DisplaySafeUrl {
    text: String,
}

impl DisplaySafeUrl {
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into() }
    }

    /// The URL as it was given, credentials and all: for the request itself, never for a
    /// message or a file.
    pub fn with_credentials(&self) -> &str {
        &self.text
    }

    /// The URL without userinfo, query or fragment, or as much of it as is safe to show.
    fn shown(&self) -> String {
        let text = self.text.as_str();
        match Url::parse(text) {
            Ok(mut url) if url.has_host() => {
                // Both fail only for URLs that cannot have userinfo, which then have none.
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.set_query(None);
                url.set_fragment(None);
                url.to_string()
            }
            _ if is_local_path(text) => text.to_owned(),
            _ => scheme_and_host(text).unwrap_or_else(|| UNPARSEABLE.to_owned()),
        }
    }
}

impl fmt::Display for DisplaySafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl fmt::Debug for DisplaySafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DisplaySafeUrl({:?})", self.shown())
    }
}

impl From<&str> for DisplaySafeUrl {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<&String> for DisplaySafeUrl {
    fn from(text: &String) -> Self {
        Self::new(text.as_str())
    }
}

impl From<String> for DisplaySafeUrl {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

/// A file path, not a URL: absolute, or with no `:` or `@` that could open a scheme or end a
/// userinfo.
fn is_local_path(text: &str) -> bool {
    text.starts_with('/') || !text.contains([':', '@'])
}

/// `scheme://host` of text that did not parse, when both are plain: the host is what follows
/// the last `@` of the authority, without its port, and only if no `@` comes later (where the
/// authority's end, hence the host, would be a guess).
fn scheme_and_host(text: &str) -> Option<String> {
    let (scheme, rest) = text.split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(end);
    if !scheme_ok || after.contains('@') {
        return None;
    }
    let host_port = authority.rsplit('@').next()?;
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => {
            let (inside, _) = bracketed.split_once(']')?;
            if inside.is_empty() || !inside.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
                return None;
            }
            &host_port[..inside.len() + 2]
        }
        None => {
            let host = host_port.split(':').next()?;
            if host.is_empty()
                || !host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
            {
                return None;
            }
            host
        }
    };
    Some(format!("{}://{host}", scheme.to_ascii_lowercase()))
}

/// Where a request goes, as far as credentials are concerned: (scheme, host, port).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of `url`; `None` when it is not an absolute URL with a host and a port
    /// (given or the scheme's default).
    pub fn of(url: &str) -> Option<Self> {
        let url = Url::parse(url).ok()?;
        Some(Self {
            scheme: url.scheme().to_owned(),
            host: url.host_str()?.to_owned(),
            port: url.port_or_known_default()?,
        })
    }

    /// Whether requests here travel in plain text.
    pub fn is_plain_http(&self) -> bool {
        self.scheme == "http"
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_never_shown_and_the_rest_is_kept() {
        for (url, shown) in [
            (
                "http://user:secret@127.0.0.1:8080/k/void.tar.zst",
                "http://127.0.0.1:8080/k/void.tar.zst",
            ),
            ("https://token@mirror.example/", "https://mirror.example/"),
            (
                "https://b.example/v.tar.zst?X-Amz-Signature=abc#frag",
                "https://b.example/v.tar.zst",
            ),
            (
                "https://kernels.example/void-6.12-x86_64.tar.zst",
                "https://kernels.example/void-6.12-x86_64.tar.zst",
            ),
            (
                "oci://127.0.0.1:5000/k@sha256:ab",
                "oci://127.0.0.1:5000/k@sha256:ab",
            ),
            ("/media/usb/void.tar.zst", "/media/usb/void.tar.zst"),
            ("void.tar.zst", "void.tar.zst"),
            // Unparseable: an invalid port, a bad host, a hostless "scheme".
            ("http://bob:PW@127.0.0.1:99999/", "http://127.0.0.1"),
            ("https://bob:PW@[::1]:99999/x", "https://[::1]"),
            ("http://bob:PW@ex ample.com/", UNPARSEABLE),
            ("http://bob:PW/x@host:1/", UNPARSEABLE),
            ("bob:PW@127.0.0.1:99999/", UNPARSEABLE),
            ("token@host", UNPARSEABLE),
            ("http://", UNPARSEABLE),
        ] {
            let safe = DisplaySafeUrl::from(url);
            assert_eq!(safe.to_string(), shown, "{url}");
            assert!(!format!("{safe:?}").contains("PW"), "{url}");
            assert_eq!(safe.with_credentials(), url);
        }
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        let origin = |url| Origin::of(url).unwrap();
        assert_eq!(
            origin("https://a.example/x"),
            origin("https://a.example:443/y?z")
        );
        assert_ne!(
            origin("https://a.example/"),
            origin("http://a.example:443/")
        );
        assert_ne!(
            origin("https://a.example/"),
            origin("https://a.example:444/")
        );
        assert_ne!(origin("https://a.example/"), origin("https://b.a.example/"));
        assert_eq!(
            origin("http://127.0.0.1:5000/").to_string(),
            "http://127.0.0.1:5000"
        );
        assert!(origin("http://127.0.0.1:5000/").is_plain_http());
        assert_eq!(Origin::of("/a/path"), None);
    }
}
