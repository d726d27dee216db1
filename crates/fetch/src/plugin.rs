//! Glue for source plugins: a client whose retries are shown as the plugin's warnings, and
//! fetch errors as plugin errors (`?` works on them).

use std::sync::Arc;

use banger_plugin_api::{ErrorKind, HostHandle, PluginError};

use crate::{FetchError, Fetcher, Notice, Schemes};

/// Retry notices shown as the plugin's warnings, labelled with its name.
pub fn notice(host: &HostHandle) -> Notice {
    let host = host.clone();
    Arc::new(move |message: &str| host.warn(message))
}

/// A client for a plugin whose retries show up as its warnings.
pub fn fetcher(schemes: Schemes, host: &HostHandle) -> Result<Fetcher, PluginError> {
    Ok(Fetcher::new(schemes)?.with_notice(notice(host)))
}

/// [`ErrorKind::NOT_FOUND`] for a 404, [`ErrorKind::NETWORK`] for everything else.
impl From<FetchError> for PluginError {
    fn from(error: FetchError) -> Self {
        let kind = if error.is_not_found() {
            ErrorKind::NOT_FOUND
        } else {
            ErrorKind::NETWORK
        };
        PluginError::from_error(kind, &error)
    }
}
