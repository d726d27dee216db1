//! The naming rules every entry follows, shared by plugins, catalogs, manifests and the
//! command line: kernel names, architectures, sha256 digests and inert text. The validators
//! return a message that says what is wrong; the newtypes ([`KernelName`], [`Arch`],
//! [`Sha256`]) carry a value that has passed them, and parse with [`FromStr`], so that a
//! command line rejects bad input as it is parsed.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// The architectures a bundle can be built for, in catalog spelling.
pub const ARCHES: [&str; 2] = ["x86_64", "arm64"];

/// Check a kernel name: 1-64 chars of `[a-z0-9._-]`, starting with a letter or digit.
/// The rule keeps names safe as directory names and in URLs.
pub fn validate_name(name: &str) -> Result<(), String> {
    validate_name_of("kernel", name)
}

/// Check the name of a `what` (kernel, image) by the same rule as [`validate_name`].
pub fn validate_name_of(what: &str, name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err(format!("a {what} name must not be empty"));
    };
    if name.len() > 64 {
        return Err(format!("{what} name `{name}` is longer than 64 characters"));
    }
    if !first.is_ascii_lowercase() && !first.is_ascii_digit() {
        return Err(format!(
            "{what} name `{name}` must start with a lowercase letter or a digit"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "{what} name `{name}` contains `{bad}`; use only a-z, 0-9, `.`, `_` and `-`"
        ));
    }
    Ok(())
}

/// Check an arch is one of [`ARCHES`].
pub fn validate_arch(arch: &str) -> Result<(), String> {
    if ARCHES.contains(&arch) {
        Ok(())
    } else {
        Err(format!(
            "unknown arch `{arch}`; expected one of {}",
            ARCHES.join(", ")
        ))
    }
}

/// Check a sha256 is 64 lowercase hex digits.
pub fn validate_sha256(sha256: &str) -> Result<(), String> {
    if sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(format!("`{sha256}` is not 64 lowercase hex digits"))
    }
}

/// Whether `c` must never reach a terminal raw: a control character (Unicode category Cc: the
/// C0 controls, tab and newline included, DEL and the C1 controls) or a bidirectional control
/// (Unicode's `Bidi_Control` property: U+061C, U+200E, U+200F, U+202A-U+202E and
/// U+2066-U+2069), which can reorder what a terminal shows. The one definition: entries and
/// manifests are refused when they hold such a character ([`validate_text`]), and the host
/// escapes it in everything else it prints.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Check that `text` holds no character that [`is_unsafe_char`] names, so that it is safe to
/// show in a terminal. The message names the character and where it is; callers add the field.
pub fn validate_text(text: &str) -> Result<(), String> {
    match text.char_indices().find(|(_, c)| is_unsafe_char(*c)) {
        Some((at, c)) => Err(format!(
            "contains the {} U+{:04X} at byte {at}",
            if c.is_control() {
                "control character"
            } else {
                "bidirectional control"
            },
            u32::from(c)
        )),
        None => Ok(()),
    }
}

/// How a bundle file ends.
pub const BUNDLE_SUFFIX: &str = ".tar.zst";

/// The file name of the bundle of (name, arch): `<name>-<arch>.tar.zst`, the name under which
/// buckets, mirrors and offline directories keep it.
pub fn bundle_file(name: &str, arch: &str) -> String {
    format!("{name}-{arch}{BUNDLE_SUFFIX}")
}

/// The (name, arch) a bundle file name stands for, if it is one: the reverse of
/// [`bundle_file`], for valid names and known arches only.
pub fn parse_bundle_file(file: &str) -> Option<(KernelName, Arch)> {
    let (name, arch) = file.strip_suffix(BUNDLE_SUFFIX)?.rsplit_once('-')?;
    Some((name.parse().ok()?, arch.parse().ok()?))
}

/// The catalog arch of the machine banger runs on (`aarch64` is spelled `arm64`).
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        other => other,
    }
}

/// Defines a string newtype whose values have passed `$validate`.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $validate:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                ($validate)(text)?;
                Ok(Self(text.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(text: String) -> Result<Self, String> {
                ($validate)(&text)?;
                Ok(Self(text))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<std::path::Path> for $name {
            fn as_ref(&self) -> &std::path::Path {
                self.0.as_ref()
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_string!(
    /// A kernel name that passed [`validate_name`].
    KernelName,
    validate_name
);
checked_string!(
    /// An architecture that passed [`validate_arch`]: one of [`ARCHES`].
    Arch,
    validate_arch
);
checked_string!(
    /// A sha256 digest that passed [`validate_sha256`]: 64 lowercase hex digits.
    Sha256,
    validate_sha256
);

impl Arch {
    /// The arch of the machine banger runs on.
    pub fn host() -> Self {
        Self(host_arch().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_names() {
        for name in ["void-6.12", "a", "0day", "alpine_3.20-lts", &"x".repeat(64)] {
            validate_name(name).unwrap();
        }
    }

    #[test]
    fn rejects_bad_names() {
        for name in [
            "",
            "../x",
            "a/b",
            "Void",
            "-x",
            ".x",
            "a b",
            "é",
            &"x".repeat(65),
            "a\0b",
        ] {
            assert!(validate_name(name).is_err(), "{name:?} should be rejected");
        }
    }

    #[test]
    fn newtypes_parse_only_valid_values() {
        assert_eq!(
            "void-6.12".parse::<KernelName>().unwrap().as_str(),
            "void-6.12"
        );
        assert!("Void".parse::<KernelName>().is_err());
        assert_eq!("arm64".parse::<Arch>().unwrap().to_string(), "arm64");
        assert!("aarch64".parse::<Arch>().is_err());
        assert!("ABC".parse::<Sha256>().is_err());
        let name: KernelName = serde_json::from_str("\"alpine-6.6\"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"alpine-6.6\"");
        assert!(serde_json::from_str::<Arch>("\"riscv\"").is_err());
    }

    #[test]
    fn bundle_file_names_go_both_ways() {
        assert_eq!(bundle_file("void-6.12", "arm64"), "void-6.12-arm64.tar.zst");
        let (name, arch) = parse_bundle_file("void-6.12-x86_64.tar.zst").unwrap();
        assert_eq!((name.as_str(), arch.as_str()), ("void-6.12", "x86_64"));
        for file in [
            "void-6.12-riscv.tar.zst",
            "void.tar.zst",
            "Void-x86_64.tar.zst",
            "x86_64.tgz",
        ] {
            assert!(parse_bundle_file(file).is_none(), "{file}");
        }
    }

    #[test]
    fn text_with_control_characters_is_refused() {
        validate_text("Void Linux 6.12, ünïcode").unwrap();
        for bad in ["a\rb", "\u{1b}[2K", "tab\t", "del\u{7f}", "c1\u{9b}"] {
            let err = validate_text(bad).unwrap_err();
            assert!(err.contains("control character U+"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn text_with_bidirectional_controls_is_refused() {
        // Every Bidi_Control character, and its neighbours, which are ordinary text.
        for c in [
            '\u{061c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}',
            '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ] {
            let text = format!("ab{c}cd");
            let err = validate_text(&text).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "contains the bidirectional control U+{:04X} at byte 2",
                    u32::from(c)
                )
            );
        }
        for ok in [
            '\u{061b}', '\u{200d}', '\u{2029}', '\u{202f}', '\u{2065}', '\u{206a}',
        ] {
            assert!(!is_unsafe_char(ok), "U+{:04X}", u32::from(ok));
        }
    }

    #[test]
    fn sha256_must_be_lowercase_hex_of_64() {
        validate_sha256(&"a".repeat(64)).unwrap();
        for bad in ["", &"A".repeat(64), &"a".repeat(63), &"g".repeat(64)] {
            assert!(validate_sha256(bad).is_err());
        }
    }
}
