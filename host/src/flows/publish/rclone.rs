//! Uploading with rclone, and checking what the public URL serves. Remote and bucket names
//! are checked before rclone sees them, and reach it as positionals after `--`, so they can
//! never be read as flags. rclone runs without banger's secret variables.

use std::{
    io::{BufRead, BufReader, Read},
    path::Path,
    process::{Command, Stdio},
};

use anyhow::{Context, Result};
use banger_fetch::{Fetcher, Schemes};

use crate::ui::hint::Hinted;

/// `rclone copyto <file> <target>`. rclone's own output (which quotes paths and what the
/// storage server answered) is relayed line by line to stderr, made inert like everything
/// banger prints; so rclone draws no progress bar.
pub(super) fn rclone_copyto(bundle: &Path, target: &str, remote: &str) -> Result<()> {
    let mut command = Command::new("rclone");
    // rclone reads its own configuration; banger's passwords are none of its business.
    banger_fetch::secrets::without_secrets(&mut command).arg("copyto");
    // After `--`, nothing is taken as a flag, whatever it starts with.
    command.arg("--").arg(bundle).arg(target);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Hinted::error(
                "cannot upload: `rclone` is not installed or not on PATH; the catalog was not changed",
                format!("install rclone (`apt-get install rclone` or https://rclone.org/install/) and configure the remote `{remote}`"),
            ))
        }
        Err(e) => return Err(e).context("cannot run rclone"),
    };
    let relays = [
        child.stdout.take().map(|out| relay(Box::new(out))),
        child.stderr.take().map(|err| relay(Box::new(err))),
    ];
    let status = child.wait().context("cannot wait for rclone")?;
    for relay in relays.into_iter().flatten() {
        let _ = relay.join();
    }
    if !status.success() {
        return Err(Hinted::error(
            format!("rclone could not upload `{}` to `{target}` ({status}); the catalog was not changed", bundle.display()),
            format!("check the remote with `rclone lsd {remote}:` and its credentials (rclone.conf or RCLONE_CONFIG_* variables, e.g. from .env)"),
        ));
    }
    Ok(())
}

/// The longest line of rclone's output relayed; the rest of a longer line is dropped.
const MAX_LINE: u64 = 4096;

/// Print each line `output` yields on stderr, as `rclone: <line>`, until it ends. No line is
/// held in memory past [`MAX_LINE`] bytes.
fn relay(output: Box<dyn Read + Send>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(output);
        let mut line = Vec::new();
        let mut rest = Vec::new();
        loop {
            line.clear();
            match (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if line.last() != Some(&b'\n') && line.len() as u64 == MAX_LINE {
                // Skip the rest of an overlong line, a bounded piece at a time.
                loop {
                    rest.clear();
                    match (&mut reader).take(MAX_LINE).read_until(b'\n', &mut rest) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if rest.last() == Some(&b'\n') => break,
                        Ok(_) => {}
                    }
                }
            }
            let text = String::from_utf8_lossy(&line);
            crate::ui::text::tell!("rclone: {}", text.trim_end_matches('\n'));
        }
    })
}

/// Refuse an rclone remote name that rclone could read as anything but a configured remote:
/// a flag, an on-the-fly backend (`:s3:`), a connection string (`r2,opt=x`) or a path.
pub(super) fn check_remote(remote: &str) -> Result<()> {
    let valid = remote
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && remote
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '@'));
    if valid {
        Ok(())
    } else {
        Err(Hinted::error(
            format!("rclone remote `{remote}` is not a plain remote name"),
            "use the name of a remote from your rclone config (letters, digits, `_`, `-`, `.`, `+`, `@`), via --remote or RCLONE_REMOTE",
        ))
    }
}

/// Refuse a bucket (a path on the remote) that could be read as a flag or carry a remote of
/// its own (`:`), or that climbs out of where it points (`..`).
pub(super) fn check_bucket(bucket: &str) -> Result<()> {
    let problem = if bucket.is_empty() {
        Some("it is empty")
    } else if bucket.starts_with('-') {
        Some("it starts with `-`")
    } else if bucket.split('/').any(|part| part == "..") {
        Some("it has a `..` component")
    } else if !bucket.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '+' | '@' | '=' | '~')
    }) {
        Some("it holds characters other than letters, digits and `_-./+@=~`")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Hinted::error(
            format!("bucket `{bucket}` is refused: {problem}"),
            "pass the bucket (or path) on the remote, e.g. --bucket banger-kernels or RCLONE_BUCKET=banger-kernels",
        )),
    }
}

/// Require that `url` answers a HEAD request with 200 and `Content-Length: size`.
pub(super) fn check_public_url(url: &str, size: u64, upload: &str) -> Result<()> {
    let fetcher = Fetcher::new(Schemes::HttpsOnly)?;
    let not_changed = "the upload stays on the remote; the catalog was not changed";
    match fetcher.head_length(url) {
        Ok(Some(length)) if length == size => Ok(()),
        Ok(Some(length)) => Err(Hinted::error(
            format!("`{url}` announces {length} bytes, but the file uploaded to `{upload}` has {size}; {not_changed}"),
            "the base URL (--base-url, BANGER_BASE_URL) may serve a different bucket than RCLONE_BUCKET, or a cache still holds an older upload",
        )),
        Ok(None) => Err(Hinted::error(
            format!("`{url}` sends no Content-Length, so its size cannot be checked; {not_changed}"),
            "serve the bucket as static files, which carry a Content-Length",
        )),
        Err(e) if e.is_not_found() => Err(Hinted::error(
            format!("`{url}` answers 404 after the upload to `{upload}`; {not_changed}"),
            "the bucket may not allow public access, or the base URL does not serve RCLONE_BUCKET (wrong bucket or URL)",
        )),
        Err(e) => Err(anyhow::Error::new(e)
            .context(format!("cannot check the public URL `{url}`; {not_changed}"))),
    }
}
