//! Errors from reading and validating a catalog; each names the file or URL it came from. A
//! plugin returns them as [`PluginError`]s, with the whole chain as text.

use banger_plugin_api::{ErrorKind, PluginError};

use crate::capped::CappedError;

/// A catalog could not be read or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file or response body could not be read.
    #[error("cannot read catalog `{origin}`")]
    Read {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    /// The document is larger than banger reads.
    #[error("catalog `{origin}` is larger than the {limit} bytes banger reads")]
    TooLarge { origin: String, limit: u64 },
    /// A plugin was started without the trusted catalog the host hands over.
    #[error("the host passed no trusted catalog (option `{option}`); this plugin needs a banger that hands it over")]
    NotPassed { option: &'static str },
    /// The text is not JSON of the catalog's shape.
    #[error("catalog `{origin}` is not valid JSON")]
    Json {
        origin: String,
        #[source]
        source: serde_json::Error,
    },
    /// The schema number is not one this build reads.
    #[error(
        "catalog `{origin}` has schema {found}; this banger reads schemas 1 to {}",
        crate::SCHEMA
    )]
    Schema { origin: String, found: u32 },
    /// The document as a whole breaks a rule (a missing serial or expiry).
    #[error("catalog `{origin}` is not valid: {problem}")]
    Invalid { origin: String, problem: String },
    /// One entry breaks a rule.
    #[error("entry {index} (`{name}`) in catalog `{origin}`: {problem}")]
    Entry {
        origin: String,
        index: usize,
        name: String,
        problem: String,
    },
    /// Two entries share (name, arch).
    #[error("catalog `{origin}` has a duplicate entry `{name}` for {arch}")]
    Duplicate {
        origin: String,
        name: String,
        arch: String,
    },
}

impl From<CappedError> for CatalogError {
    fn from(error: CappedError) -> Self {
        match error {
            CappedError::Read { origin, source } => Self::Read { origin, source },
            CappedError::TooLarge { origin, limit } => Self::TooLarge { origin, limit },
        }
    }
}

/// A catalog that cannot be read or is not valid is bad input to the plugin, wherever it came
/// from.
impl From<CatalogError> for PluginError {
    fn from(error: CatalogError) -> Self {
        PluginError::from_error(ErrorKind::INVALID_INPUT, &error)
    }
}
