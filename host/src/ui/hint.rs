//! Hints: what the user might do next, kept apart from the error that prompted them.
//!
//! An error type that knows a hint says so with a `hint()` method: banger's own [`Hinted`],
//! the plugin loader's errors, a plugin's error (`PluginError::hint`, carried across the
//! interface since 1.3), the OCI and kernel-image crates' errors. [`hint_of`] asks one link of a
//! chain; the error report walks the whole chain with it, so a hint deep inside still shows.

use std::{error::Error, fmt};

use super::exit::Class;

/// An error carrying a hint, and optionally its exit class.
#[derive(Debug)]
pub struct Hinted {
    message: String,
    hint: String,
    class: Option<Class>,
}

impl Hinted {
    /// An error with a hint, of no particular class (it exits 1 unless what it wraps says more).
    pub fn error(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
        Self::build(None, message.into(), hint.into())
    }

    /// An error of `class` with a hint.
    pub fn of(class: Class, message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
        Self::build(Some(class), message.into(), hint.into())
    }

    fn build(class: Option<Class>, message: String, hint: String) -> anyhow::Error {
        anyhow::Error::new(Self {
            message,
            hint,
            class,
        })
    }

    pub fn hint(&self) -> &str {
        &self.hint
    }

    pub fn class(&self) -> Option<Class> {
        self.class
    }
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for Hinted {}

/// The hint one link of an error chain carries, if it carries one.
pub fn hint_of(link: &(dyn Error + 'static)) -> Option<String> {
    if let Some(hinted) = link.downcast_ref::<Hinted>() {
        return Some(hinted.hint().to_owned());
    }
    if let Some(plugin) = crate::plugins::plugin_error(link) {
        return plugin.hint().map(str::to_owned);
    }
    if let Some(load) = link.downcast_ref::<crate::plugins::LoadError>() {
        return load.hint();
    }
    if let Some(oci) = link.downcast_ref::<banger_oci::OciError>() {
        return oci.hint();
    }
    link.downcast_ref::<banger_kernel_image::Error>()
        .and_then(|image| image.hint().map(str::to_owned))
}
