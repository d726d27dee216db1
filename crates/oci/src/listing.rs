//! Listing a repository's kernels within one budget, whatever the registry serves.
//!
//! - Tags are read page by page, following `Link` (RFC 8288) to the next page: each page is
//!   parsed as it streams in, into the kernel names it holds, and dropped. A page with more
//!   tags than the [`TAGS_PAGE`] asked for (`n=`) is refused, and so is a 1,001st page.
//! - Every byte read for one listing (tags pages, indexes, manifests) counts against one
//!   [`LISTING_BUDGET`]; when it is spent the listing stops with an error naming the
//!   repository.
//! - An index may name at most [`crate::layout::MAX_INDEX_MANIFESTS`] manifests; a manifest
//!   named twice (in one index or across tags) is fetched once, and an arch listed twice in one
//!   index gives one entry, the first, as [`crate::layout`] picks one to pull.
//! - The entries built so far are counted as the JSON the host will read, and the listing
//!   stops as soon as they pass the host's listing cap, instead of being built whole first.
//!
//! What this does not bound: the time a registry takes to serve its budget, which the
//! client's timeouts and the low-speed limit cover.

use std::{
    cell::Cell,
    collections::{BTreeSet, HashMap},
    io::{self, BufReader, Read, Write},
};

use banger_fetch::{DisplaySafeUrl, HeaderMap, Method};
use banger_plugin_api::Entry;
use oci_spec::image::ImageManifest;
use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

use crate::{
    client::{status_error, MAX_MANIFEST_BYTES},
    layout::{catalog_arch, entry_of, invalid},
    OciError, Registry,
};

/// The bytes one listing may read from the registry: tags pages, indexes and manifests.
pub const LISTING_BUDGET: u64 = 8 << 20;
/// The tags asked for per page (`n=`), and the most a page may hold.
pub const TAGS_PAGE: usize = 100;
/// The most pages of tags one listing follows.
pub const MAX_TAG_PAGES: usize = 1000;

/// Bytes left to read for one listing.
pub(crate) struct Budget {
    repository: String,
    limit: u64,
    read: Cell<u64>,
}

impl Budget {
    fn new(registry: &Registry, limit: u64) -> Self {
        Self {
            repository: registry.repository.to_string(),
            limit,
            read: Cell::new(0),
        }
    }

    /// `inner`, whose bytes count against this budget: a read past it fails.
    pub(crate) fn reader<R: Read>(&self, inner: R) -> Charged<'_, R> {
        Charged {
            inner,
            budget: self,
        }
    }

    /// The error to report, once the budget is spent.
    pub(crate) fn spent(&self) -> Option<OciError> {
        (self.read.get() > self.limit).then(|| OciError::ListingBudget {
            repository: self.repository.clone(),
            limit: self.limit,
        })
    }
}

/// A reader whose bytes count against a [`Budget`].
pub(crate) struct Charged<'b, R> {
    inner: R,
    budget: &'b Budget,
}

impl<R: Read> Read for Charged<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.budget.read.get() > self.budget.limit {
            return Err(io::Error::other("the listing budget is spent"));
        }
        let n = self.inner.read(buf)?;
        self.budget.read.set(self.budget.read.get() + n as u64);
        Ok(n)
    }
}

/// One listing in progress: its budget, the manifests it has read, the size of its answer.
struct Listing<'r> {
    registry: &'r Registry,
    budget: Budget,
    /// Each manifest read so far, by digest, as the entry it describes (its arch aside).
    manifests: HashMap<String, Entry>,
    /// The JSON size of the entries built so far, and the most the host reads.
    answered: u64,
    answer_limit: Option<u64>,
    entries: Vec<Entry>,
}

impl Registry {
    /// Every kernel in the repository: each tag's entries, within [`LISTING_BUDGET`], and,
    /// when `answer_limit` is given (the host's listing cap), stopping once the entries would
    /// take more JSON than that.
    pub fn list(&self, answer_limit: Option<u64>) -> Result<Vec<Entry>, OciError> {
        let mut listing = Listing::new(self, answer_limit);
        for tag in listing.tags()? {
            listing.add_tag(&tag)?;
        }
        Ok(listing.entries)
    }

    /// The entries the kernel tagged `name` offers, one per arch, within [`LISTING_BUDGET`].
    pub fn entries(&self, name: &str) -> Result<Vec<Entry>, OciError> {
        let mut listing = Listing::new(self, None);
        listing.add_tag(name)?;
        Ok(listing.entries)
    }
}

impl<'r> Listing<'r> {
    fn new(registry: &'r Registry, answer_limit: Option<u64>) -> Self {
        Self {
            registry,
            budget: Budget::new(registry, LISTING_BUDGET),
            manifests: HashMap::new(),
            answered: 2,
            answer_limit,
            entries: Vec::new(),
        }
    }

    /// The repository's tags that are kernel names, sorted and unique, page by page.
    fn tags(&self) -> Result<BTreeSet<String>, OciError> {
        let mut tags = BTreeSet::new();
        let mut next = Some(self.registry.url(&format!("tags/list?n={TAGS_PAGE}")));
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_TAG_PAGES {
                return Err(invalid(
                    &DisplaySafeUrl::from(&url).to_string(),
                    format!("more than {MAX_TAG_PAGES} pages of tags"),
                ));
            }
            let response = self
                .registry
                .send(Method::GET, &url, &HeaderMap::new(), None, false)?;
            match response.status().as_u16() {
                200 => {}
                404 => return Ok(BTreeSet::new()),
                status => return Err(status_error(&url, status, response)),
            }
            next = match response
                .headers()
                .get("link")
                .and_then(|l| l.to_str().ok())
                .and_then(next_link)
            {
                Some(target) => Some(self.registry.resolve(&url, &target)?),
                None => None,
            };
            let capped = self.budget.reader(response).take(MAX_MANIFEST_BYTES + 1);
            let mut counted = Counted {
                inner: capped,
                read: 0,
            };
            let page: Result<Page, _> = serde_json::from_reader(BufReader::new(&mut counted));
            if let Some(spent) = self.budget.spent() {
                return Err(spent);
            }
            if counted.read > MAX_MANIFEST_BYTES {
                return Err(OciError::TooLarge {
                    url: url.as_str().into(),
                    limit: MAX_MANIFEST_BYTES,
                });
            }
            let page =
                page.map_err(|e| invalid(&DisplaySafeUrl::from(&url).to_string(), e.to_string()))?;
            tags.extend(page.tags.map(|names| names.0).unwrap_or_default());
        }
        Ok(tags)
    }

    /// The entries of the kernel tagged `name`, added to the answer.
    fn add_tag(&mut self, name: &str) -> Result<(), OciError> {
        let Some(index) = self.registry.index_within(name, Some(&self.budget))? else {
            return Err(OciError::UnknownTag {
                repository: self.registry.repository.to_string(),
                tag: name.to_owned(),
            });
        };
        let mut arches = Vec::new();
        for descriptor in index.manifests() {
            let Some(arch) = descriptor
                .platform()
                .as_ref()
                .and_then(|p| catalog_arch(p.architecture()))
            else {
                continue;
            };
            if arches.contains(&arch) {
                continue;
            }
            arches.push(arch);
            let mut entry = self.manifest(descriptor.digest().as_ref())?;
            entry.arch = arch.to_owned();
            self.answer(entry)?;
        }
        Ok(())
    }

    /// The entry the manifest `digest` describes, read once per listing.
    fn manifest(&mut self, digest: &str) -> Result<Entry, OciError> {
        if let Some(entry) = self.manifests.get(digest) {
            return Ok(entry.clone());
        }
        let registry = self.registry;
        let url = format!("{}@{digest}", registry.repository);
        let fetched = registry
            .manifest_within(digest, Some(&self.budget))?
            .ok_or_else(|| {
                invalid(
                    &url,
                    "the index names a manifest the registry does not have",
                )
            })?;
        let manifest = ImageManifest::from_reader(&fetched.bytes[..])
            .map_err(|e| invalid(&url, format!("not an OCI image manifest: {e}")))?;
        let entry = entry_of(&registry.repository, &manifest, &url)?;
        self.manifests.insert(digest.to_owned(), entry.clone());
        Ok(entry)
    }

    /// Add `entry` to the answer, unless that takes it past the host's listing cap.
    fn answer(&mut self, entry: Entry) -> Result<(), OciError> {
        let mut size = Counted {
            inner: io::empty(),
            read: 0,
        };
        serde_json::to_writer(&mut size, &entry).map_err(|e| OciError::Read(e.into()))?;
        self.answered += size.read + 1;
        if let Some(limit) = self.answer_limit.filter(|limit| self.answered > *limit) {
            return Err(OciError::ListingTooLarge {
                repository: self.registry.repository.to_string(),
                limit,
            });
        }
        self.entries.push(entry);
        Ok(())
    }
}

/// Counts the bytes read through it, or written to it (which it drops).
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R> Write for Counted<R> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.read += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A tags page, `{"name": …, "tags": [...]}`: only the tags, and of them only kernel names.
#[derive(serde::Deserialize)]
struct Page {
    #[serde(default)]
    tags: Option<KernelTags>,
}

/// The kernel names among a page's tags; more than [`TAGS_PAGE`] tags are refused.
struct KernelTags(Vec<String>);

impl<'de> Deserialize<'de> for KernelTags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Names;
        impl<'de> Visitor<'de> for Names {
            type Value = KernelTags;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of tags")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KernelTags, A::Error> {
                let mut names = Vec::new();
                let mut count = 0;
                while let Some(tag) = seq.next_element::<String>()? {
                    count += 1;
                    if count > TAGS_PAGE {
                        return Err(de::Error::custom(format!(
                            "the page holds more than the {TAGS_PAGE} tags asked for (n={TAGS_PAGE})"
                        )));
                    }
                    if banger_plugin_api::names::validate_name(&tag).is_ok() {
                        names.push(tag);
                    }
                }
                Ok(KernelTags(names))
            }
        }
        deserializer.deserialize_seq(Names)
    }
}

/// The target of `Link: <…>; rel="next"`.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(r#"</v2/k/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/k/tags/list?n=2&last=b")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
    }

    #[test]
    fn pages_keep_kernel_names_and_refuse_more_tags_than_asked_for() {
        let page: Page =
            serde_json::from_str(r#"{"name":"k","tags":["void-6.12","latest","Bad Tag","a"]}"#)
                .unwrap();
        assert_eq!(
            page.tags.unwrap().0,
            ["void-6.12", "latest", "a"].map(String::from)
        );
        let empty: Page = serde_json::from_str(r#"{"name":"k","tags":null}"#).unwrap();
        assert!(empty.tags.is_none());
        let full: Vec<String> = (0..TAGS_PAGE).map(|i| format!("k-{i}")).collect();
        let ok = serde_json::json!({ "tags": full }).to_string();
        assert_eq!(
            serde_json::from_str::<Page>(&ok)
                .unwrap()
                .tags
                .unwrap()
                .0
                .len(),
            TAGS_PAGE
        );
        let over: Vec<String> = (0..=TAGS_PAGE).map(|i| format!("k-{i}")).collect();
        let over = serde_json::json!({ "tags": over }).to_string();
        let err = serde_json::from_str::<Page>(&over)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("more than the 100 tags asked for"), "{err}");
    }
}
