//! URLs as banger shows and stores them: without userinfo (`user:password@`), query string or
//! fragment, any of which may carry a credential (a password, a token, a signed URL's
//! signature). Requests still use the full URL; everything a person or a file sees goes
//! through [`redact`]: messages, manifests, `--json` output, retry notices.

use reqwest::Url;

/// `url` without its userinfo, query and fragment. Text that is not an absolute URL with a
/// host (a file path, a bare file name) carries no credentials and comes back unchanged.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.has_host() => {
            // Both fail only for URLs that cannot have userinfo, which then have none.
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn credentials_are_removed_and_the_rest_kept() {
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
            ("/media/usb/void.tar.zst", "/media/usb/void.tar.zst"),
            ("void.tar.zst", "void.tar.zst"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }
}
