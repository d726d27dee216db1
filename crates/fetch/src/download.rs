//! A response body that resumes by itself: after a failed read, or a transfer that has fallen
//! below the low-speed limit, it asks the server again from the byte it had reached, with
//! `Range`, and carries on where it stopped.

use std::{
    io::{self, Read},
    time::{Duration, Instant},
};

use reqwest::blocking::Response;

use crate::{FetchError, Fetcher, ATTEMPTS, LOW_SPEED_LIMIT};

/// A streaming GET. Reads fail only once the retries are used up or the failure is not
/// transient; the bytes delivered are those of the resource from [`Download::start`] on.
pub struct Download {
    fetcher: Fetcher,
    url: String,
    response: Response,
    start: u64,
    /// Absolute position of the next byte to deliver.
    position: u64,
    retries: u32,
    speed: SpeedWatch,
    /// Why the current response is to be abandoned before the next read.
    stalled: Option<String>,
}

impl Download {
    pub(crate) fn new(fetcher: Fetcher, url: &str, response: Response, start: u64) -> Self {
        Self {
            fetcher,
            url: url.to_owned(),
            response,
            start,
            position: start,
            retries: 0,
            speed: SpeedWatch::new(crate::low_speed_time()),
            stalled: None,
        }
    }

    /// The offset of the first byte this download delivers.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Replace the response after a failure at `self.position`: a ranged request, or a whole
    /// new body whose first bytes are skipped when the server ignores `Range`. The stream's
    /// retries count against one budget of [`ATTEMPTS`].
    fn resume(&mut self, reason: String) -> io::Result<()> {
        let (fetcher, url, position) = (&self.fetcher, &self.url, self.position);
        let interrupted = |reason| FetchError::Interrupted {
            url: url.as_str().into(),
            at: position,
            reason,
        };
        let reconnect = || {
            let (mut response, start) = fetcher.request(url, position)?;
            let skip = position - start;
            match io::copy(&mut (&mut response).take(skip), &mut io::sink()) {
                Ok(skipped) if skipped == skip => Ok(response),
                Ok(skipped) => Err(interrupted(format!(
                    "the server ended after {skipped} of {skip} bytes"
                ))),
                Err(e) => Err(interrupted(e.to_string())),
            }
        };
        match fetcher.retrying_after(url, &mut self.retries, Some(interrupted(reason)), reconnect) {
            Ok(response) => {
                self.response = response;
                self.speed.restart();
                Ok(())
            }
            Err(error @ FetchError::Interrupted { .. }) => Err(io::Error::other(format!(
                "{error} (after {ATTEMPTS} attempts)"
            ))),
            Err(error) => Err(io::Error::other(error)),
        }
    }
}

impl Read for Download {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(reason) = self.stalled.take() {
            self.resume(reason)?;
        }
        loop {
            match self.response.read(buf) {
                Ok(n) => {
                    self.position += n as u64;
                    if n > 0 {
                        self.stalled = self.speed.add(n as u64);
                    }
                    return Ok(n);
                }
                Err(e) => self.resume(error_text(&e))?,
            }
        }
    }
}

/// An I/O error from reqwest's body reader, without the URL reqwest puts in its message.
fn error_text(error: &io::Error) -> String {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
    {
        Some(reqwest_error) => {
            let mut text = String::new();
            let mut source = std::error::Error::source(reqwest_error);
            while let Some(cause) = source {
                if !text.is_empty() {
                    text.push_str(": ");
                }
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            if text.is_empty() {
                "the connection failed".to_owned()
            } else {
                text
            }
        }
        None => error.to_string(),
    }
}

/// Watches the transfer rate over windows of `window`: below [`LOW_SPEED_LIMIT`] for a whole
/// window means the transfer has stalled, however steadily it trickles.
struct SpeedWatch {
    window: Duration,
    since: Instant,
    bytes: u64,
}

impl SpeedWatch {
    fn new(window: Duration) -> Self {
        Self {
            window,
            since: Instant::now(),
            bytes: 0,
        }
    }

    fn restart(&mut self) {
        self.since = Instant::now();
        self.bytes = 0;
    }

    /// Count `n` bytes; the reason to give up on this response, if the window just closed
    /// below the limit.
    fn add(&mut self, n: u64) -> Option<String> {
        self.bytes += n;
        let elapsed = self.since.elapsed();
        if elapsed < self.window {
            return None;
        }
        let rate = self.bytes as f64 / elapsed.as_secs_f64();
        let bytes = self.bytes;
        self.restart();
        (rate < LOW_SPEED_LIMIT as f64).then(|| {
            format!(
                "the transfer stalled: {bytes} bytes in {:.1} s, below {LOW_SPEED_LIMIT} bytes/s",
                elapsed.as_secs_f64()
            )
        })
    }
}
