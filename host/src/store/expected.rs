//! What an installed bundle must be ([`Expected`]), and the host's own check of the bytes it
//! read against it: an early end ([`Incomplete`]) is told apart from wrong bytes, since only
//! the first can be resumed. Hashing the bytes is `banger_bundle`'s `DigestReader`; installing
//! them is [`super::kernels`]'.

use anyhow::Result;
use banger_bundle::Digested;
use banger_catalog::{KernelName, Sha256};

use crate::ui::exit::Class;

/// What the installed bundle must be, from a source the caller trusts.
#[derive(Clone, Debug)]
pub struct Expected {
    pub url: String,
    pub sha256: Sha256,
    pub size: u64,
}

/// An install failed because the transfer ended early: the bytes that did arrive may be fine,
/// and a later pull can resume after them. Every other failure means the bytes were wrong or
/// could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("the transfer of kernel `{name}` from `{url}` ended after {got} of {expected} bytes")]
pub struct Incomplete {
    name: String,
    url: String,
    got: u64,
    expected: u64,
}

impl Expected {
    /// Check what was read of kernel `name` (`got`): too few bytes are [`Incomplete`], with
    /// `drained`'s failure as its cause where reading on failed; too many, or another sha256,
    /// an integrity error.
    pub fn check(
        &self,
        name: &KernelName,
        got: &Digested,
        drained: std::io::Result<()>,
    ) -> Result<()> {
        let from = &self.url;
        if got.size < self.size {
            let incomplete = Incomplete {
                name: name.to_string(),
                url: from.clone(),
                got: got.size,
                expected: self.size,
            };
            return Err(match drained {
                Err(cause) => anyhow::Error::new(cause).context(incomplete),
                Ok(()) => anyhow::Error::new(incomplete),
            });
        }
        if got.size > self.size {
            return Err(Class::Verification.error(format!(
                "integrity error: `{from}` sent more than the {} bytes kernel `{name}` must have",
                self.size
            )));
        }
        if got.sha256 != self.sha256.as_str() {
            return Err(Class::Verification.error(format!(
                "integrity error: checksum mismatch for kernel `{name}` from `{from}`: expected sha256 {}, got {}",
                self.sha256,
                got.sha256
            )));
        }
        Ok(())
    }
}
