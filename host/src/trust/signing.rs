//! The maintainer's minisign secret key, and signing a catalog with it: the `minisign` crate
//! makes the same prehashed (`ED`) signatures as the `minisign` CLI, which verifies them.

use std::{io::IsTerminal, path::Path};

use anyhow::{Context, Result};

use crate::{trust::keys::KeyId, ui::hint::Hinted};

/// A secret key, ready to sign.
pub struct Signer {
    key: minisign::SecretKey,
    pub key_id: KeyId,
}

impl Signer {
    /// Load the secret key at `path`, decrypting it with `$BANGER_SIGNING_PASSWORD`, or a
    /// password typed at the terminal when there is one.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the signing key `{}`", path.display()))?;
        let parse = || {
            minisign::SecretKeyBox::from_string(&text).map_err(|e| {
                anyhow::anyhow!("`{}` is not a minisign secret key: {e}", path.display())
            })
        };
        let unencrypted = minisign::SecretKey::from_unencrypted_box(parse()?)
            .ok()
            .or_else(|| unencrypted_with_blank_checksum(&text));
        let key = match unencrypted {
            Some(key) => key,
            None => {
                let password = std::env::var(banger_env::BANGER_SIGNING_PASSWORD).ok();
                if password.is_none() && !std::io::stdin().is_terminal() {
                    return Err(Hinted::error(
                        format!("the signing key `{}` is encrypted", path.display()),
                        format!(
                            "set {}, or run on a terminal to type the password",
                            banger_env::BANGER_SIGNING_PASSWORD
                        ),
                    ));
                }
                minisign::SecretKey::from_box(parse()?, password).map_err(|e| {
                    anyhow::anyhow!("cannot decrypt the signing key `{}`: {e}", path.display())
                })?
            }
        };
        let public = minisign::PublicKey::from_secret_key(&key)
            .map_err(|e| anyhow::anyhow!("`{}` is not a usable secret key: {e}", path.display()))?;
        let key_id = KeyId::of_public_key(&public)
            .with_context(|| format!("`{}` has no key id", path.display()))?;
        Ok(Self { key, key_id })
    }

    /// A detached signature of `bytes`, as the text of a `.minisig` file; `comment` is its
    /// trusted comment.
    pub fn sign(&self, bytes: &[u8], comment: &str) -> Result<String> {
        let signature = minisign::sign(None, &self.key, bytes, Some(comment), None)
            .map_err(|e| anyhow::anyhow!("cannot sign the catalog: {e}"))?;
        Ok(signature.into_string())
    }
}

/// A key made by `minisign -G -W` (minisign 0.11): no password, and a checksum field the CLI
/// leaves blank, which the `minisign` crate takes for corruption. The CLI signs with such keys,
/// so banger does too; a key with a checksum that does not match is still refused above.
fn unencrypted_with_blank_checksum(text: &str) -> Option<minisign::SecretKey> {
    use ct_codecs::{Base64, Decoder};
    let line = text.lines().nth(1)?;
    let bytes = Base64::decode_to_vec(line.trim(), None).ok()?;
    // sig_alg (2) | kdf_alg (2) | chk_alg (2) | salt (32) | opslimit (8) | memlimit (8) |
    // keynum (8) | sk (64) | chk (32)
    let unencrypted = bytes.get(2..4) == Some(&[0, 0]);
    let blank_checksum = bytes.len() == 158 && bytes[126..].iter().all(|b| *b == 0);
    if !(unencrypted && blank_checksum) {
        return None;
    }
    minisign::SecretKey::from_bytes(&bytes).ok()
}
