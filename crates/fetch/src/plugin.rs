//! Glue for source plugins: a client whose retries are shown as the plugin's warnings, and
//! fetch errors as plugin errors (`?` works on them).

use std::sync::Arc;

use banger_plugin_api::{ErrorKind, HostHandle, PluginError};

use crate::{FetchError, Fetcher, Schemes};

/// A client for a plugin: retries show up as warnings labelled with the plugin's name.
pub fn fetcher(schemes: Schemes, host: &HostHandle) -> Result<Fetcher, PluginError> {
    let host = host.clone();
    Ok(Fetcher::new(schemes)?.with_notice(Arc::new(move |message: &str| host.warn(message))))
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
