//! The crate's error: what is wrong with which file, and, apart from it, a hint.

use std::{io, path::PathBuf};

/// An image that cannot be read, is malformed, or is not one Firecracker loads.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Writing the extracted vmlinux failed; the caller knows where it went.
    #[error("cannot write the extracted vmlinux")]
    Write(#[source] io::Error),
    /// The bytes contradict themselves: an offset past the end, a length that lies.
    #[error("`{path}`: {what}")]
    Malformed { path: PathBuf, what: String },
    /// A well-formed image of a kind banger does not load.
    #[error("`{path}`: {what}")]
    Unsupported {
        path: PathBuf,
        what: String,
        hint: Option<String>,
    },
    /// A decompressed payload that grows past the cap.
    #[error("`{path}`: {what} inflates past {cap} bytes, more than any real kernel; refused")]
    TooLarge {
        path: PathBuf,
        what: &'static str,
        cap: u64,
    },
    /// A compressed payload that does not decode.
    #[error("`{path}`: the {codec} payload does not decompress")]
    Corrupt {
        path: PathBuf,
        codec: &'static str,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// What the user can do about it, kept apart from the message.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Unsupported { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: io::Error) -> Self {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn malformed(path: &std::path::Path, what: impl Into<String>) -> Self {
        Error::Malformed {
            path: path.to_owned(),
            what: what.into(),
        }
    }

    pub(crate) fn unsupported(
        path: &std::path::Path,
        what: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::Unsupported {
            path: path.to_owned(),
            what: what.into(),
            hint: Some(hint.into()),
        }
    }
}
