//! A response body that resumes by itself: after a failed read, or a transfer that has fallen
//! below the low-speed limit, it asks the server again from the byte it had reached, with
//! `Range`, and carries on where it stopped.

use std::{
    io::{self, Read},
    time::{Duration, Instant},
};

use reqwest::blocking::Response;

use crate::{DisplaySafeUrl, Fetcher, ATTEMPTS, LOW_SPEED_LIMIT};

/// A streaming GET. Reads fail only once the retries are used up or the failure is not
/// transient; the bytes delivered are those of the resource from [`Download::start`] on.
pub struct Download {
    fetcher: Fetcher,
    url: String,
    /// The URL as messages show it.
    shown: String,
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
            shown: DisplaySafeUrl::from(url).to_string(),
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
    /// new body whose first bytes are skipped when the server ignores `Range`.
    fn resume(&mut self, mut last: String) -> io::Result<()> {
        loop {
            if self.retries + 1 >= ATTEMPTS {
                return Err(io::Error::other(format!(
                    "reading `{}` failed at byte {} after {ATTEMPTS} attempts: {last}",
                    self.shown, self.position
                )));
            }
            let failure = format!(
                "reading `{}` failed at byte {}: {last}",
                self.shown, self.position
            );
            self.fetcher.pause(self.retries, &failure);
            self.retries += 1;
            match self.fetcher.request(&self.url, self.position) {
                Ok((response, start)) => {
                    self.response = response;
                    self.speed.restart();
                    let skip = self.position - start;
                    match io::copy(&mut (&mut self.response).take(skip), &mut io::sink()) {
                        Ok(skipped) if skipped == skip => return Ok(()),
                        Ok(skipped) => {
                            last = format!("the server ended after {skipped} of {skip} bytes")
                        }
                        Err(e) => last = e.to_string(),
                    }
                }
                Err(e) if e.is_transient() => last = e.to_string(),
                Err(e) => return Err(io::Error::other(e)),
            }
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
