//! Errors that cross the plugin boundary: a kind code, a human-readable message, and (since
//! 1.3) a hint of what the user might do, kept apart from the message.

use std::fmt;

use abi_stable::{std_types::RString, StableAbi};

/// What went wrong, as an open set of codes.
///
/// This is a number rather than a Rust enum so that later 1.x versions can add kinds without
/// changing the layout; a host that meets a code it does not know treats it as [`Self::OTHER`].
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorKind(u32);

impl ErrorKind {
    /// Anything that has no better kind.
    pub const OTHER: Self = Self(0);
    /// The entry, bundle or resource does not exist.
    pub const NOT_FOUND: Self = Self(1);
    /// The network failed: DNS, connect, TLS, timeout, an HTTP error status.
    pub const NETWORK: Self = Self(2);
    /// Bytes do not match what they were declared to be.
    pub const INTEGRITY: Self = Self(3);
    /// The caller passed something malformed: an option, a name, a request.
    pub const INVALID_INPUT: Self = Self(4);
    /// A local file-system operation failed.
    pub const IO: Self = Self(5);
    /// The plugin does not implement this method or option.
    pub const UNSUPPORTED: Self = Self(6);
    /// The plugin panicked; the unwind guard turned the panic into this error.
    pub const PANIC: Self = Self(7);

    /// A short lowercase name for messages and JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Self::NOT_FOUND => "not found",
            Self::NETWORK => "network",
            Self::INTEGRITY => "integrity",
            Self::INVALID_INPUT => "invalid input",
            Self::IO => "i/o",
            Self::UNSUPPORTED => "unsupported",
            Self::PANIC => "panic",
            _ => "other",
        }
    }
}

impl fmt::Debug for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a hint starts inside [`PluginError`]'s message text (since 1.3).
///
/// `PluginError` is a plain `#[repr(C)]` struct, not a prefix type: abi_stable compares its
/// fields one for one, so a third field would make every 1.x host and plugin refuse each other.
/// The hint therefore travels inside the message text, after this separator. A 1.0-1.2 host
/// shows it as part of the message ("… ; hint: run …"), which still reads well; a 1.3 host
/// splits it off ([`PluginError::message`], [`PluginError::hint`]) and prints it on its own
/// `hint:` line.
const HINT_SEPARATOR: &str = "; hint: ";

/// An error returned by a plugin: its kind, a message that names what failed, and optionally a
/// hint ([`PluginError::with_hint`]).
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq)]
pub struct PluginError {
    kind: ErrorKind,
    message: RString,
}

impl PluginError {
    /// An error of `kind` with `message`, which should name the URL, file or entry at fault.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: RString::from(message.into()),
        }
    }

    /// An error of `kind` whose message is `error` followed by each of its causes, so that the
    /// whole chain survives the trip across the boundary as text.
    pub fn from_error(kind: ErrorKind, error: &dyn std::error::Error) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::new(kind, message)
    }

    /// This error with `hint`, what the user might do about it: "run `banger plugin list`".
    /// Since 1.3; carried inside the message text (after `; hint: `), so a 1.0-1.2 host
    /// shows it after the message.
    pub fn with_hint(self, hint: impl AsRef<str>) -> Self {
        let message = format!("{}{HINT_SEPARATOR}{}", self.message(), hint.as_ref());
        Self::new(self.kind, message)
    }

    /// An error of `kind` about the file at `path`: "`<path>`: <error>", with the error's causes.
    /// For I/O on a file, where the path is what the user needs to know.
    pub fn at_path(kind: ErrorKind, path: &std::path::Path, error: &dyn std::error::Error) -> Self {
        let chained = Self::from_error(kind, error);
        Self::new(kind, format!("`{}`: {}", path.display(), chained.message()))
    }

    /// A [`ErrorKind::NOT_FOUND`] error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NOT_FOUND, message)
    }

    /// A [`ErrorKind::NETWORK`] error.
    pub fn network(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NETWORK, message)
    }

    /// A [`ErrorKind::INTEGRITY`] error.
    pub fn integrity(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::INTEGRITY, message)
    }

    /// A [`ErrorKind::INVALID_INPUT`] error.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::INVALID_INPUT, message)
    }

    /// A [`ErrorKind::IO`] error.
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::IO, message)
    }

    /// A [`ErrorKind::UNSUPPORTED`] error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UNSUPPORTED, message)
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind and without the hint.
    pub fn message(&self) -> &str {
        self.split().0
    }

    /// The hint, if the plugin gave one ([`PluginError::with_hint`]).
    pub fn hint(&self) -> Option<&str> {
        self.split().1
    }

    fn split(&self) -> (&str, Option<&str>) {
        match self.message.as_str().split_once(HINT_SEPARATOR) {
            Some((message, hint)) => (message, Some(hint)),
            None => (self.message.as_str(), None),
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl fmt::Debug for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} error: {}", self.kind, self.message.as_str())
    }
}

impl std::error::Error for PluginError {}

/// `?` on file operations: [`ErrorKind::NOT_FOUND`] for a missing file, else [`ErrorKind::IO`].
/// The message is the I/O error's; add the path with [`PluginError::new`] where it matters.
impl From<std::io::Error> for PluginError {
    fn from(error: std::io::Error) -> Self {
        let kind = match error.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NOT_FOUND,
            _ => ErrorKind::IO,
        };
        Self::from_error(kind, &error)
    }
}

/// `?` on parsing JSON a plugin reads (an index, a manifest): [`ErrorKind::INVALID_INPUT`].
impl From<serde_json::Error> for PluginError {
    fn from(error: serde_json::Error) -> Self {
        Self::from_error(ErrorKind::INVALID_INPUT, &error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_pick_the_kind_and_keep_the_message() {
        let missing: PluginError =
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file").into();
        assert_eq!(missing.kind(), ErrorKind::NOT_FOUND);
        assert_eq!(missing.message(), "no such file");
        let denied: PluginError =
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied").into();
        assert_eq!(denied.kind(), ErrorKind::IO);
        let json: PluginError = serde_json::from_str::<u32>("x").unwrap_err().into();
        assert_eq!(json.kind(), ErrorKind::INVALID_INPUT);
        assert!(
            json.message().contains("expected value"),
            "{}",
            json.message()
        );
    }

    #[test]
    fn a_hint_travels_in_the_message_text_and_comes_apart_again() {
        let plain = PluginError::not_found("no entry `x`");
        assert_eq!(plain.hint(), None);
        let hinted = plain.with_hint("run `banger kernel list --available`");
        assert_eq!(hinted.kind(), ErrorKind::NOT_FOUND);
        assert_eq!(hinted.message(), "no entry `x`");
        assert_eq!(hinted.to_string(), "no entry `x`");
        assert_eq!(hinted.hint(), Some("run `banger kernel list --available`"));
        // What a 1.0-1.2 host reads, since it knows no hint: the message, then the hint.
        assert_eq!(
            hinted.message.as_str(),
            "no entry `x`; hint: run `banger kernel list --available`"
        );
    }
}
