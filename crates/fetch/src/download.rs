//! A response body that resumes by itself: after a failed read it asks the server again from
//! the byte it had reached, with `Range`, and carries on where it stopped.

use std::io::{self, Read};

use reqwest::blocking::Response;

use crate::{Fetcher, ATTEMPTS};

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
        }
    }

    /// The offset of the first byte this download delivers.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Replace the response after a failure at `self.position`: a ranged request, or a whole
    /// new body whose first bytes are skipped when the server ignores `Range`.
    fn resume(&mut self, error: io::Error) -> io::Result<()> {
        let mut last = error.to_string();
        loop {
            if self.retries + 1 >= ATTEMPTS {
                return Err(io::Error::other(format!(
                    "reading `{}` failed at byte {} after {ATTEMPTS} attempts: {last}",
                    self.url, self.position
                )));
            }
            let failure = format!(
                "reading `{}` failed at byte {}: {last}",
                self.url, self.position
            );
            self.fetcher.pause(self.retries, &failure);
            self.retries += 1;
            match self.fetcher.request(&self.url, self.position) {
                Ok((response, start)) => {
                    self.response = response;
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
        loop {
            match self.response.read(buf) {
                Ok(n) => {
                    self.position += n as u64;
                    return Ok(n);
                }
                Err(e) => self.resume(e)?,
            }
        }
    }
}
