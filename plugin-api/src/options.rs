//! [`Options`]: the key/value options a plugin's constructor receives, with the checks every
//! plugin needs: look a key up, require one, and refuse keys the plugin does not know.
//!
//! The host adds options of its own, prefixed `banger.` (its interface version, a scratch
//! directory); [`Options::finish`] never counts those as unknown, so a plugin stays loadable by
//! a later host that passes more of them.

use std::{collections::BTreeSet, path::PathBuf};

use crate::{PluginError, LISTING_LIMIT_OPTION, SCRATCH_DIR_OPTION, TRUSTED_CATALOG_OPTION};

/// The options of one plugin instance, as the user and the host gave them.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pairs: Vec<(String, String)>,
    /// The keys the plugin has asked for, for [`Options::finish`].
    known: BTreeSet<String>,
}

impl From<Vec<(String, String)>> for Options {
    fn from(pairs: Vec<(String, String)>) -> Self {
        Self {
            pairs,
            known: BTreeSet::new(),
        }
    }
}

impl Options {
    /// The value of `key`; the last one wins when it was given more than once.
    pub fn get(&mut self, key: &str) -> Option<String> {
        self.known.insert(key.to_owned());
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// The value of `key`, else of the environment variable `env`, if either is set and not
    /// empty.
    pub fn get_or_env(&mut self, key: &str, env: &str) -> Option<String> {
        self.get(key)
            .or_else(|| std::env::var(env).ok())
            .filter(|value| !value.is_empty())
    }

    /// The value of `key`, or an [`crate::ErrorKind::INVALID_INPUT`] error that says `how` to
    /// give it (e.g. "pass --opt dir=DIR").
    pub fn require(&mut self, key: &str, how: &str) -> Result<String, PluginError> {
        self.get(key)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| PluginError::invalid_input(format!("option `{key}` is needed: {how}")))
    }

    /// A yes/no option: absent is `false`; `true`, `yes`, `1` and `false`, `no`, `0` are read.
    pub fn flag(&mut self, key: &str) -> Result<bool, PluginError> {
        match self.get(key).as_deref() {
            None | Some("false" | "no" | "0") => Ok(false),
            Some("true" | "yes" | "1" | "") => Ok(true),
            Some(other) => Err(PluginError::invalid_input(format!(
                "option `{key}` takes true or false, not `{other}`"
            ))),
        }
    }

    /// The directory the host gives the plugin for temporary files (`banger.scratch_dir`),
    /// shared with the host's partial downloads; name files `*.partial` so that `banger kernel
    /// gc` finds what a killed run left. `None` from a host older than 1.1.
    pub fn scratch_dir(&self) -> Option<PathBuf> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == SCRATCH_DIR_OPTION)
            .map(|(_, v)| PathBuf::from(v))
    }

    /// The file holding the trusted catalog the host resolved and passed (`banger.catalog`);
    /// `None` from a host that passed none.
    pub fn trusted_catalog(&self) -> Option<PathBuf> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == TRUSTED_CATALOG_OPTION)
            .map(|(_, v)| PathBuf::from(v))
    }

    /// The most bytes of entries JSON the host reads from one `list` (`banger.listing_limit`);
    /// `None` from a host that does not say.
    pub fn listing_limit(&self) -> Option<u64> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == LISTING_LIMIT_OPTION)
            .and_then(|(_, v)| v.parse().ok())
    }

    /// Refuse any option the plugin did not ask for with [`Options::get`] and friends, naming
    /// it and the options `plugin` does take. Options from the host (`banger.*`) are never
    /// refused.
    pub fn finish(self, plugin: &str) -> Result<(), PluginError> {
        let unknown: Vec<&str> = self
            .pairs
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !k.starts_with("banger.") && !self.known.contains(*k))
            .collect();
        let Some(first) = unknown.first() else {
            return Ok(());
        };
        let takes = if self.known.is_empty() {
            "no options".to_owned()
        } else {
            let keys: Vec<String> = self.known.iter().map(|k| format!("`{k}`")).collect();
            format!("only {}", keys.join(", "))
        };
        Err(PluginError::invalid_input(format!(
            "the {plugin} source takes no option `{first}`; it takes {takes}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> Options {
        Options::from(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn get_require_and_flag() {
        let mut o = options(&[("dir", "/a"), ("dir", "/b"), ("force", "true")]);
        assert_eq!(o.get("dir").as_deref(), Some("/b"));
        assert!(o.flag("force").unwrap());
        assert!(!o.flag("absent").unwrap());
        let err = o.require("index", "pass --opt index=URL").unwrap_err();
        assert_eq!(
            err.message(),
            "option `index` is needed: pass --opt index=URL"
        );
        o.finish("test").unwrap();
        assert!(options(&[("force", "maybe")]).flag("force").is_err());
    }

    #[test]
    fn finish_refuses_unknown_keys_but_not_the_hosts() {
        let mut o = options(&[
            ("mirror", "x"),
            ("mirorr", "y"),
            ("banger.scratch_dir", "/tmp/s"),
            ("banger.future", "z"),
            ("banger.listing_limit", "4194304"),
        ]);
        assert_eq!(o.scratch_dir(), Some(PathBuf::from("/tmp/s")));
        assert_eq!(o.listing_limit(), Some(4 << 20));
        o.get("mirror");
        let err = o.finish("mirror").unwrap_err();
        assert_eq!(
            err.message(),
            "the mirror source takes no option `mirorr`; it takes only `mirror`"
        );
        let err = options(&[("x", "1")]).finish("catalog").unwrap_err();
        assert!(
            err.message().ends_with("it takes no options"),
            "{}",
            err.message()
        );
    }
}
