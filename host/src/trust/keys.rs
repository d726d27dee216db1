//! The minisign keys banger trusts to sign catalog updates, and the check of a detached
//! signature against them.
//!
//! The keys are the repository's `keys/*.pub`, embedded at build time; more than one means a
//! rotation is under way. `$BANGER_CATALOG_KEYS` (a `.pub` file, or a directory of them)
//! replaces them, for tests and private catalogs. Keys and signatures are parsed and checked by
//! the `minisign` crate, the one that also signs (`kernel publish`); both the prehashed (`ED`)
//! and the legacy (`Ed`) algorithm are accepted.

use std::{fmt, path::PathBuf};

use anyhow::{Context, Result};

/// The environment variable naming keys that replace the embedded ones.
pub const KEYS_ENV: &str = banger_env::BANGER_CATALOG_KEYS;

/// A minisign key id, shown as the minisign CLI shows it: uppercase hex, no leading zeros.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyId(u64);

impl KeyId {
    fn from_keynum(keynum: &[u8]) -> Option<Self> {
        Some(Self(u64::from_le_bytes(keynum.try_into().ok()?)))
    }

    /// The id of a public key.
    pub fn of_public_key(key: &minisign::PublicKey) -> Option<Self> {
        Self::from_keynum(key.keynum())
    }

    /// The id of the key that made `signature` (the text of a `.minisig` file).
    pub fn of_signature(signature: &str) -> Option<Self> {
        let signature = minisign::SignatureBox::from_string(signature).ok()?;
        Self::from_keynum(signature.keynum())
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}", self.0)
    }
}

impl serde::Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Where the trusted keys come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeysOrigin {
    Embedded,
    /// `$BANGER_CATALOG_KEYS`.
    Replaced(PathBuf),
}

/// Why a signature was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("banger trusts no catalog signing key yet (the repository's keys/ holds no *.pub), so no catalog update can be accepted")]
    NoKeys,
    #[error("`{what}` is not a minisign signature")]
    Malformed { what: String },
    #[error("`{what}` is signed by key {key_id}, which banger does not trust")]
    UntrustedKey { what: String, key_id: KeyId },
    #[error("the signature `{what}` does not match the catalog's bytes (key {key_id})")]
    Mismatch { what: String, key_id: KeyId },
}

struct Key {
    id: KeyId,
    key: minisign::PublicKey,
}

/// The keys banger trusts.
pub struct TrustedKeys {
    keys: Vec<Key>,
    pub origin: KeysOrigin,
}

impl TrustedKeys {
    /// The embedded keys, or those `$BANGER_CATALOG_KEYS` names.
    pub fn load() -> Result<Self> {
        let Some(path) = banger_env::non_empty(KEYS_ENV) else {
            let keys = banger_catalog::EMBEDDED_KEYS
                .iter()
                .map(|(name, text)| parse_key(text, &format!("keys/{name}")))
                .collect::<Result<_>>()?;
            return Ok(Self {
                keys,
                origin: KeysOrigin::Embedded,
            });
        };
        let path = PathBuf::from(path);
        let files = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .with_context(|| format!("cannot read {KEYS_ENV} `{}`", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "pub"))
                .collect();
            files.sort();
            files
        } else {
            vec![path.clone()]
        };
        let keys = files
            .iter()
            .map(|file| {
                let text = crate::store::files::read_text(file)?
                    .with_context(|| format!("{KEYS_ENV}: `{}` does not exist", file.display()))?;
                parse_key(&text, &file.display().to_string())
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            keys,
            origin: KeysOrigin::Replaced(path),
        })
    }

    /// The ids of the trusted keys.
    pub fn ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.keys.iter().map(|k| k.id)
    }

    /// Check the detached minisign `signature` (from `what`, for messages) of `bytes`; returns
    /// the id of the trusted key that made it.
    pub fn verify(
        &self,
        bytes: &[u8],
        signature: &str,
        what: &str,
    ) -> Result<KeyId, SignatureError> {
        if self.keys.is_empty() {
            return Err(SignatureError::NoKeys);
        }
        let malformed = || SignatureError::Malformed {
            what: what.to_owned(),
        };
        let parsed = minisign::SignatureBox::from_string(signature).map_err(|_| malformed())?;
        let key_id = KeyId::from_keynum(parsed.keynum()).ok_or_else(malformed)?;
        let key = self.keys.iter().find(|k| k.id == key_id).ok_or_else(|| {
            SignatureError::UntrustedKey {
                what: what.to_owned(),
                key_id,
            }
        })?;
        // Quiet, and without copying the bytes to stdout; legacy signatures allowed.
        minisign::verify(
            &key.key,
            &parsed,
            std::io::Cursor::new(bytes),
            true,
            false,
            true,
        )
        .map_err(|_| SignatureError::Mismatch {
            what: what.to_owned(),
            key_id,
        })?;
        Ok(key_id)
    }
}

fn parse_key(text: &str, origin: &str) -> Result<Key> {
    let key = minisign::PublicKeyBox::from_string(text)
        .and_then(|b| b.into_public_key())
        .map_err(|e| anyhow::anyhow!("`{origin}` is not a minisign public key: {e}"))?;
    let id = KeyId::of_public_key(&key)
        .with_context(|| format!("`{origin}` is not a minisign public key"))?;
    Ok(Key { id, key })
}
