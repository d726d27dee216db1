//! Tar extension headers, read under caps: GNU long names (`L`) and long link names (`K`), PAX
//! records for one entry (`x`) and for the whole archive (`g`).
//!
//! The `tar` crate's `entries()` reads each of these bodies whole into memory, whatever size
//! its header claims, so a bundle of a few kilobytes could make it allocate gigabytes before any
//! check. Extraction therefore iterates raw entries and hands extension headers to
//! [`Extensions::absorb`], which checks the declared size against a cap before it reads a byte
//! of the body. Sparse files are refused outright (their maps are another unbounded read), and
//! so is a PAX `size` record: the raw parser would not apply it, and entries never need it
//! (the per-file cap is below the 8 GiB a plain header can state).
//!
//! Only the records that name things are applied: `path` and `linkpath`. Owners, times and the
//! rest are ignored, as the archive's metadata always is.

use std::io::Read;

use crate::BundleError;

/// Largest GNU long name or long link name accepted, in bytes.
pub const MAX_LONG_NAME: u64 = 4 << 10;
/// Largest PAX record block (`x` or `g`) accepted, in bytes.
pub const MAX_PAX: u64 = 1 << 20;

/// The names that extension headers set for the next member entry.
#[derive(Default)]
pub(crate) struct Extensions {
    /// From a GNU `L` header.
    long_name: Option<Vec<u8>>,
    /// From a GNU `K` header.
    long_link: Option<Vec<u8>>,
    /// The `path` and `linkpath` records of an `x` header, when there was one.
    pax: Option<PaxNames>,
}

#[derive(Default)]
struct PaxNames {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
}

/// A member entry's names, after its extension headers are applied.
pub(crate) struct Names {
    pub path: Vec<u8>,
    /// The link target, where the entry has one.
    pub link: Option<Vec<u8>>,
}

impl Extensions {
    /// If `entry` is an extension header, read it (within its cap) and keep what it says for
    /// the next member; returns whether it was one. Sparse entries are refused here too.
    pub(crate) fn absorb<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<bool, BundleError> {
        let kind = entry.header().entry_type();
        let shown = String::from_utf8_lossy(&entry.header().path_bytes()).into_owned();
        let size = entry.size();
        let read = |entry: &mut tar::Entry<'_, R>, what: &str, cap: u64| {
            if size > cap {
                return Err(BundleError::rejected(
                    &shown,
                    format!("its {what} claims {size} bytes, more than the {cap} allowed"),
                ));
            }
            let mut body = Vec::with_capacity(size as usize);
            entry
                .take(cap)
                .read_to_end(&mut body)
                .map_err(crate::read_error)?;
            Ok(body)
        };
        let duplicate = |what: &str| {
            BundleError::rejected(&shown, format!("a second {what} for the same entry"))
        };
        match kind {
            tar::EntryType::GNULongName => {
                if self.long_name.is_some() {
                    return Err(duplicate("GNU long name"));
                }
                self.long_name = Some(trim_nul(read(entry, "GNU long name", MAX_LONG_NAME)?));
            }
            tar::EntryType::GNULongLink => {
                if self.long_link.is_some() {
                    return Err(duplicate("GNU long link name"));
                }
                self.long_link = Some(trim_nul(read(entry, "GNU long link name", MAX_LONG_NAME)?));
            }
            tar::EntryType::XHeader => {
                if self.pax.is_some() {
                    return Err(duplicate("PAX header"));
                }
                let records = read(entry, "PAX header", MAX_PAX)?;
                self.pax = Some(pax_names(&records, &shown)?);
            }
            tar::EntryType::XGlobalHeader => {
                // Read to check its size and its form; nothing in it applies to a bundle.
                let records = read(entry, "PAX global header", MAX_PAX)?;
                for record in tar::PaxExtensions::new(&records) {
                    let record = record.map_err(crate::read_error)?;
                    if record.key_bytes().starts_with(b"GNU.sparse") {
                        return Err(BundleError::rejected(
                            &shown,
                            "sparse files are not allowed",
                        ));
                    }
                }
            }
            tar::EntryType::GNUSparse => {
                return Err(BundleError::rejected(
                    &shown,
                    "sparse files are not allowed",
                ))
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The names of the member entry these extensions describe; clears them for the next one.
    pub(crate) fn member<R: Read>(&mut self, entry: &tar::Entry<'_, R>) -> Names {
        let taken = std::mem::take(self);
        let pax = taken.pax.unwrap_or_default();
        let header = entry.header();
        Names {
            path: pax
                .path
                .or(taken.long_name)
                .unwrap_or_else(|| header.path_bytes().into_owned()),
            link: pax
                .link
                .or(taken.long_link)
                .or_else(|| header.link_name_bytes().map(|l| l.into_owned())),
        }
    }

    /// Whether extension headers are waiting for a member entry.
    pub(crate) fn pending(&self) -> bool {
        self.long_name.is_some() || self.long_link.is_some() || self.pax.is_some()
    }
}

/// The names in one entry's PAX records; `path` and `linkpath` win over GNU long names and
/// the header, as in GNU tar.
fn pax_names(records: &[u8], shown: &str) -> Result<PaxNames, BundleError> {
    let mut names = PaxNames::default();
    for record in tar::PaxExtensions::new(records) {
        let record = record.map_err(crate::read_error)?;
        let value = record.value_bytes();
        match record.key_bytes() {
            b"path" => names.path = Some(bounded_name(value, shown)?),
            b"linkpath" => names.link = Some(bounded_name(value, shown)?),
            b"size" => {
                return Err(BundleError::rejected(
                    shown,
                    "PAX `size` records are not supported",
                ))
            }
            key if key.starts_with(b"GNU.sparse") => {
                return Err(BundleError::rejected(shown, "sparse files are not allowed"))
            }
            _ => {}
        }
    }
    Ok(names)
}

fn bounded_name(value: &[u8], shown: &str) -> Result<Vec<u8>, BundleError> {
    if value.len() as u64 > MAX_LONG_NAME {
        return Err(BundleError::rejected(
            shown,
            format!(
                "a PAX name of {} bytes is longer than the {MAX_LONG_NAME} allowed",
                value.len()
            ),
        ));
    }
    Ok(value.to_vec())
}

/// GNU long names end in a NUL, which is not part of the name.
fn trim_nul(mut name: Vec<u8>) -> Vec<u8> {
    while name.last() == Some(&0) {
        name.pop();
    }
    name
}
