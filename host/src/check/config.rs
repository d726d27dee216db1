//! A kernel's build configuration, as `kernel check` reads it: the tristate options of a
//! Kconfig `.config` (`CONFIG_X=y`, `=m`, `# CONFIG_X is not set`) and the version in its
//! header (`# Linux/x86 6.1.0 Kernel Configuration`).
//!
//! The text comes from outside (a bundle's `config`, `--config`, the image's IKCONFIG): it is
//! read with a cap, and lines that are not options are ignored. Options with values other
//! than `y` and `m` (strings, numbers) count as unset: no rule asks for them. Where the config
//! comes from, and what to do without one, is [`super::source`]'s business.

use std::collections::HashMap;

/// What a config says about one option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Have {
    /// Built in (`=y`).
    #[serde(rename = "y")]
    Builtin,
    /// Built as a module (`=m`).
    #[serde(rename = "m")]
    Module,
    /// Not set, or not known to be set (see [`super::source::ConfigSource::Modules`]).
    #[serde(rename = "unset")]
    Unset,
}

impl Have {
    /// How the table and JSON spell it: `y`, `m`, `unset`.
    pub fn as_str(self) -> &'static str {
        match self {
            Have::Builtin => "y",
            Have::Module => "m",
            Have::Unset => "unset",
        }
    }
}

/// The largest config banger reads: real ones are 100-300 KiB, and a bundle's `config` member
/// is capped at the same 1 MiB.
pub const MAX_CONFIG: u64 = 1 << 20;

/// The `y` and `m` options of a config, by name without the `CONFIG_` prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    options: HashMap<String, Have>,
    /// The version in the header, e.g. `6.1.0` or `6.1.167-27.319.amzn2023.x86_64`.
    pub version: Option<String>,
}

impl Config {
    /// Parse config text; `None` when it holds no `CONFIG_` line at all, so is not a config.
    pub fn parse(text: &str) -> Option<Self> {
        let mut config = Config::default();
        let mut seen_any = false;
        for line in text.lines() {
            let line = line.trim_end();
            if let Some(rest) = line.strip_prefix("CONFIG_") {
                seen_any = true;
                let Some((name, value)) = rest.split_once('=') else {
                    continue;
                };
                let have = match value {
                    "y" => Have::Builtin,
                    "m" => Have::Module,
                    _ => continue,
                };
                config.options.insert(name.to_owned(), have);
            } else if let Some(name) = line
                .strip_prefix("# CONFIG_")
                .and_then(|rest| rest.strip_suffix(" is not set"))
            {
                seen_any = true;
                // A later line wins, as in Kconfig: "not set" clears an earlier value.
                config.options.remove(name);
            } else if config.version.is_none() {
                config.version = header_version(line);
            }
        }
        seen_any.then_some(config)
    }

    /// A config that knows exactly `options`, for the modules fallback.
    pub fn from_options(options: impl IntoIterator<Item = (String, Have)>) -> Self {
        Config {
            options: options.into_iter().collect(),
            version: None,
        }
    }

    /// What the config says about `option` (without `CONFIG_`).
    pub fn have(&self, option: &str) -> Have {
        self.options.get(option).copied().unwrap_or(Have::Unset)
    }
}

/// The version in a `# Linux/<arch> <version> Kernel Configuration` header line.
fn header_version(line: &str) -> Option<String> {
    let rest = line.strip_prefix("# Linux/")?;
    let rest = rest.strip_suffix(" Kernel Configuration")?;
    let (_arch, version) = rest.split_once(' ')?;
    let version = version.trim();
    (!version.is_empty() && !version.contains(char::is_whitespace)).then(|| version.to_owned())
}

/// Whether a config header's version and the image's release are of the same kernel series
/// (`major.minor`). Distros put the upstream version in the header and their ABI name in the
/// release (Debian: `6.1.176` and `6.1.0-50-cloud-amd64`), so nothing finer compares.
pub fn same_series(header: &str, release: &str) -> bool {
    match (series(header), series(release)) {
        (Some(a), Some(b)) => a == b,
        _ => header == release,
    }
}

/// `major.minor` of a version or release: `6.1` of `6.1.0-50-cloud-amd64`.
fn series(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_header_are_read() {
        let config = Config::parse(
            "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.1.0 Kernel Configuration\n#\n\
             CONFIG_VIRTIO_BLK=y\nCONFIG_VIRTIO_NET=m\n# CONFIG_ACPI is not set\n\
             CONFIG_CMDLINE=\"console=ttyS0\"\nCONFIG_NR_CPUS=64\n",
        )
        .unwrap();
        assert_eq!(config.version.as_deref(), Some("6.1.0"));
        assert_eq!(config.have("VIRTIO_BLK"), Have::Builtin);
        assert_eq!(config.have("VIRTIO_NET"), Have::Module);
        assert_eq!(config.have("ACPI"), Have::Unset);
        assert_eq!(config.have("CMDLINE"), Have::Unset);
        assert_eq!(config.have("NR_CPUS"), Have::Unset);
        assert_eq!(config.have("PCI"), Have::Unset);
    }

    #[test]
    fn a_later_line_wins() {
        let config =
            Config::parse("CONFIG_PCI=y\n# CONFIG_PCI is not set\nCONFIG_ACPI=m\nCONFIG_ACPI=y\n")
                .unwrap();
        assert_eq!(config.have("PCI"), Have::Unset);
        assert_eq!(config.have("ACPI"), Have::Builtin);
    }

    #[test]
    fn text_without_options_is_no_config() {
        assert_eq!(Config::parse("hello\nworld\n"), None);
        assert_eq!(Config::parse(""), None);
    }

    #[test]
    fn header_series_compare_major_minor() {
        assert!(same_series("6.1.176", "6.1.0-50-cloud-amd64"));
        assert!(same_series(
            "6.1.167-27.319.amzn2023.x86_64",
            "6.1.167-27.319.amzn2023.x86_64"
        ));
        assert!(!same_series("5.10.252", "6.1.0"));
        assert!(!same_series("6.10.1", "6.1.0"));
    }
}
