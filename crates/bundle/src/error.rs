//! Why a bundle was refused or could not be extracted. Every variant that concerns one archive
//! entry names it.

/// A bundle could not be extracted.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The entry's name or kind breaks the bundle layout or a safety rule.
    #[error("archive entry `{entry}` rejected: {reason}")]
    Rejected { entry: String, reason: String },
    /// The archive as a whole breaks a rule (missing vmlinux, too many entries, too large).
    #[error("bundle rejected: {0}")]
    Invalid(String),
    /// The compressed stream held more bytes than allowed.
    #[error("bundle is larger than the {limit} bytes expected")]
    TooLarge { limit: u64 },
    /// The bytes are not a zstd-compressed tar archive, or reading them failed.
    #[error("cannot read the bundle archive")]
    Read(#[source] std::io::Error),
    /// Writing an entry into the staging directory failed.
    #[error("cannot write `{entry}` into the staging directory")]
    Write {
        entry: String,
        #[source]
        source: std::io::Error,
    },
}

impl BundleError {
    pub(crate) fn rejected(entry: &str, reason: impl Into<String>) -> Self {
        Self::Rejected {
            entry: entry.to_owned(),
            reason: reason.into(),
        }
    }
}
