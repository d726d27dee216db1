//! Exit statuses: the one table that maps a failure to the status banger exits with and the
//! class name `--json` errors carry (docs/errors.md keeps the same table for users).
//!
//! A failure is classified from typed errors, never from their text: the outermost link of
//! the chain that has a class decides ([`class_of`] asks one link). `kernel check` keeps its
//! own answer: 0 ready, 1 not ready ([`NotReady`]), 2 cannot be checked ([`CannotCheck`]).
//! An interrupt (SIGINT, SIGTERM) is [`Class::Interrupted`] ([`crate::ui::interrupt`]).

use std::{error::Error, fmt, process::ExitCode};

use banger_fetch::FetchError;
use banger_oci::OciError;
use banger_plugin_api::ErrorKind;

use crate::trust::keys::SignatureError;

/// What kind of failure a command ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Anything without a better class.
    Failure,
    /// The command line is wrong (clap's usage errors, flags a command would ignore).
    Usage,
    /// `kernel check` could not check the kernel.
    CannotCheck,
    /// No kernel, image, source plugin or catalog entry of that name.
    NotFound,
    /// Bytes are not what they were declared to be: sha256, size, signature.
    Verification,
    /// The network failed: connect, TLS, timeout, an HTTP error status after the retries.
    Network,
    /// A policy refused: `--allow-unverified` or `--allow-unready` needed, an expired or
    /// rolled-back catalog, an unsigned update.
    Refused,
    /// SIGINT or SIGTERM ended the command.
    Interrupted,
}

impl Class {
    /// The exit status.
    pub fn code(self) -> u8 {
        match self {
            Self::Failure => 1,
            Self::Usage | Self::CannotCheck => 2,
            Self::NotFound => 3,
            Self::Verification => 4,
            Self::Network => 5,
            Self::Refused => 6,
            Self::Interrupted => 130,
        }
    }

    /// The name `--json` errors carry in `class`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Failure => "failure",
            Self::Usage => "usage",
            Self::CannotCheck => "cannot-check",
            Self::NotFound => "not-found",
            Self::Verification => "verification",
            Self::Network => "network",
            Self::Refused => "refused",
            Self::Interrupted => "interrupted",
        }
    }

    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// An error of this class with `message` and no hint.
    pub fn error(self, message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(self.because(message))
    }

    /// [`Class::error`] as a plain error, for an `io::Error` to wrap.
    pub fn because(self, message: impl Into<String>) -> Classified {
        Classified {
            class: self,
            message: message.into(),
        }
    }
}

/// An error of a class, from [`Class::error`].
#[derive(Debug)]
pub struct Classified {
    class: Class,
    message: String,
}

impl fmt::Display for Classified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for Classified {}

/// The kernel was checked and is not ready; the report says why, so nothing more is printed.
#[derive(Debug, thiserror::Error)]
#[error("the kernel is not ready")]
pub struct NotReady;

/// The kernel could not be checked: the context of the error that says why.
#[derive(Debug, thiserror::Error)]
#[error("cannot check {0}")]
pub struct CannotCheck(pub String);

/// The class of a type banger uses as an anyhow context, which a `&dyn Error` link hides and
/// only anyhow's own downcast finds: `kernel check`'s [`CannotCheck`]. The report asks this
/// first. (A transfer that ended early has no class of its own: what ended it decides.)
pub fn context_class(error: &anyhow::Error) -> Option<Class> {
    error
        .downcast_ref::<CannotCheck>()
        .map(|_| Class::CannotCheck)
}

/// The class one link of an error chain states, if it states one.
pub fn class_of(link: &(dyn Error + 'static)) -> Option<Class> {
    if let Some(classified) = link.downcast_ref::<Classified>() {
        return Some(classified.class);
    }
    if let Some(hinted) = link.downcast_ref::<super::hint::Hinted>() {
        return hinted.class();
    }
    if let Some(plugin) = crate::plugins::plugin_error(link) {
        return of_plugin_kind(plugin.kind());
    }
    if let Some(fetch) = link.downcast_ref::<FetchError>() {
        return of_fetch(fetch);
    }
    if let Some(signature) = link.downcast_ref::<SignatureError>() {
        return Some(match signature {
            SignatureError::NoKeys | SignatureError::UntrustedKey { .. } => Class::Refused,
            SignatureError::Malformed { .. } | SignatureError::Mismatch { .. } => {
                Class::Verification
            }
        });
    }
    link.downcast_ref::<OciError>().and_then(|oci| match oci {
        OciError::Fetch(fetch) => of_fetch(fetch),
        OciError::UnknownTag { .. } | OciError::Status { status: 404, .. } => Some(Class::NotFound),
        OciError::Status { status, .. } if *status >= 500 => Some(Class::Network),
        OciError::DigestMismatch { .. } => Some(Class::Verification),
        _ => None,
    })
}

/// A plugin's [`ErrorKind`]: the kinds that have a class of their own.
fn of_plugin_kind(kind: ErrorKind) -> Option<Class> {
    match kind {
        ErrorKind::NOT_FOUND => Some(Class::NotFound),
        ErrorKind::INTEGRITY => Some(Class::Verification),
        ErrorKind::NETWORK => Some(Class::Network),
        _ => None,
    }
}

fn of_fetch(error: &FetchError) -> Option<Class> {
    match error {
        FetchError::NotFound { .. } => Some(Class::NotFound),
        FetchError::Status { .. } | FetchError::TooLongToWait { .. } => Some(Class::Network),
        // A redirect banger's policy refused is not the network failing.
        FetchError::Request { source, .. } => (!source.is_redirect()).then_some(Class::Network),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_has_its_own_status_and_name() {
        let classes = [
            Class::Failure,
            Class::Usage,
            Class::NotFound,
            Class::Verification,
            Class::Network,
            Class::Refused,
        ];
        let codes: Vec<u8> = classes.iter().map(|c| c.code()).collect();
        assert_eq!(codes, [1, 2, 3, 4, 5, 6]);
        assert_eq!(Class::CannotCheck.code(), 2, "kernel check's own answer");
        let mut names: Vec<&str> = classes.iter().map(|c| c.name()).collect();
        names.dedup();
        assert_eq!(names.len(), classes.len());
    }

    #[test]
    fn plugin_kinds_map_to_classes_and_unknown_ones_to_none() {
        assert_eq!(of_plugin_kind(ErrorKind::NOT_FOUND), Some(Class::NotFound));
        assert_eq!(
            of_plugin_kind(ErrorKind::INTEGRITY),
            Some(Class::Verification)
        );
        assert_eq!(of_plugin_kind(ErrorKind::NETWORK), Some(Class::Network));
        assert_eq!(of_plugin_kind(ErrorKind::IO), None);
        assert_eq!(of_plugin_kind(ErrorKind::OTHER), None);
    }
}
