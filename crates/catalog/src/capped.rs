//! Reading a document whole, with a cap checked before the bytes are in memory: the one capped
//! reader behind catalogs, signatures and the host's state files.
//!
//! It bounds memory, nothing else: what the text means is the caller's business.

use std::io::Read;

/// A capped read that failed; each names what was read.
#[derive(Debug, thiserror::Error)]
pub enum CappedError {
    /// The reader failed, or the bytes are not UTF-8.
    #[error("cannot read `{origin}`")]
    Read {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    /// There were more than `limit` bytes.
    #[error("`{origin}` is larger than the {limit} bytes banger reads")]
    TooLarge { origin: String, limit: u64 },
}

/// The text from `reader`, refusing more than `limit` bytes after reading at most one byte
/// more. `origin` names it in errors.
pub fn read_text(reader: impl Read, limit: u64, origin: &str) -> Result<String, CappedError> {
    let mut text = String::new();
    reader
        .take(limit + 1)
        .read_to_string(&mut text)
        .map_err(|source| CappedError::Read {
            origin: origin.to_owned(),
            source,
        })?;
    if text.len() as u64 > limit {
        return Err(CappedError::TooLarge {
            origin: origin.to_owned(),
            limit,
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_one_byte_more() {
        assert_eq!(read_text(&b"abcd"[..], 4, "t").unwrap(), "abcd");
        let err = read_text(&b"abcde"[..], 4, "t").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`t` is larger than the 4 bytes banger reads"
        );
        let err = read_text(&[0xff, 0xfe][..], 4, "t").unwrap_err();
        assert!(matches!(err, CappedError::Read { .. }), "{err}");
    }
}
