//! Registry listings: generated shapes served by a registry faked on loopback, listed through
//! the oci source's list path (`banger_oci::Registry::list`, with the host's listing cap).
//!
//! Each case makes its own fake registry and fills it with a random shape: up to 40 pages of
//! tags (with, in most cases, one hostile trait: a page over its `n`, long tags, or a link
//! back to the first page), and up
//! to three kernels whose indexes name up to 80 descriptors, often the same manifest again,
//! with descriptions up to 3 MiB. Properties, beside the whole-process memory cap that the
//! counting allocator checks (the fake's threads are in the process too):
//!
//! - nothing panics;
//! - a listing that succeeds fits the host's cap, and has at most one entry per arch of each
//!   kernel tag;
//! - a listing that fails says which registry or URL failed.

use banger_oci::{listing::TAGS_PAGE, Registry, Repository};
use banger_testkit::fake_registry::FakeRegistry;
use serde_json::Value;

use crate::Rng;

/// The host's listing cap, as it passes it to the oci source.
const HOST_CAP: u64 = 4 << 20;

/// One listing case; `Ok(true)` if the listing succeeded.
pub fn fuzz_listing(rng: &mut Rng) -> Result<bool, String> {
    let fake = FakeRegistry::http();
    let kernels: Vec<String> = (0..=rng.below(3)).map(|k| format!("k{k}-6.12")).collect();
    serve_kernels(&fake, rng, &kernels);
    serve_pages(&fake, rng, &kernels);
    let repository = Repository::parse(&fake.repository()).map_err(|e| e.to_string())?;
    let registry = Registry::new(&repository, false, None).map_err(|e| e.to_string())?;
    match registry.list(Some(HOST_CAP)) {
        Ok(entries) => {
            let size = serde_json::to_vec(&entries)
                .map_err(|e| e.to_string())?
                .len();
            if size as u64 > HOST_CAP {
                return Err(format!(
                    "listing: {size} bytes of entries, over the {HOST_CAP}-byte cap"
                ));
            }
            if entries.len() > kernels.len() * 2 {
                return Err(format!(
                    "listing: {} entries from {} kernels of at most two arches",
                    entries.len(),
                    kernels.len()
                ));
            }
            Ok(true)
        }
        Err(error) => {
            let message = error.to_string();
            if !message.contains("127.0.0.1") {
                return Err(format!(
                    "listing: the error names no registry or URL: {message}"
                ));
            }
            Ok(false)
        }
    }
}

/// An index for each kernel: descriptors naming one or two manifests, often many times over.
fn serve_kernels(fake: &FakeRegistry, rng: &mut Rng, kernels: &[String]) {
    let layer = format!("sha256:{}", "a".repeat(64));
    for name in kernels {
        let mut manifests: Vec<Value> = Vec::new();
        for arch in ["amd64", "arm64", "riscv64"] {
            if rng.below(3) == 0 {
                continue;
            }
            let description = match rng.below(4) {
                0 => "d".repeat(rng.below(3 << 20)),
                _ => "d".repeat(rng.below(200)),
            };
            manifests.push(fake.manifest(name, (&layer, 10), &description, arch));
        }
        if manifests.is_empty() {
            manifests.push(fake.manifest(name, (&layer, 10), "d", "amd64"));
        }
        let count = 1 + rng.below(80);
        let descriptors: Vec<Value> = (0..count)
            .map(|_| manifests[rng.below(manifests.len())].clone())
            .collect();
        fake.index(name, &descriptors);
    }
}

/// Pages of tags: mostly names that are not kernels, the kernels spread among them.
fn serve_pages(fake: &FakeRegistry, rng: &mut Rng, kernels: &[String]) {
    let pages = 1 + rng.below(40);
    // Most cases carry one hostile trait: a page over its `n`, long tags, or a cycle.
    let hostile = rng.below(4);
    let over = (hostile == 0).then(|| rng.below(pages));
    for page in 0..pages {
        let query = if page == 0 {
            format!("n={TAGS_PAGE}")
        } else {
            format!("n={TAGS_PAGE}&last=p{page}")
        };
        let count = if over == Some(page) {
            TAGS_PAGE + 1 + rng.below(50)
        } else {
            rng.below(TAGS_PAGE + 1)
        };
        let length = if hostile == 1 && rng.below(2) == 0 {
            rng.below(40_000)
        } else {
            rng.below(20)
        };
        let mut tags: Vec<String> = (0..count)
            .map(|i| format!("Tag{page}-{i}-{}", "x".repeat(length)))
            .collect();
        for (k, name) in kernels.iter().enumerate() {
            if k % pages == page && !tags.is_empty() {
                let at = rng.below(tags.len());
                tags[at] = name.clone();
            }
        }
        let next = match rng.below(2) {
            // A cycle back to the first page: the page cap and the budget end it.
            _ if page + 1 == pages && hostile == 2 => {
                Some(format!("/v2/acme/kernels/tags/list?n={TAGS_PAGE}"))
            }
            _ if page + 1 == pages => None,
            0 => Some(format!(
                "http://{}/v2/acme/kernels/tags/list?n={TAGS_PAGE}&last=p{}",
                fake.address(),
                page + 1
            )),
            _ => Some(format!(
                "/v2/acme/kernels/tags/list?n={TAGS_PAGE}&last=p{}",
                page + 1
            )),
        };
        fake.tags_page(&query, &tags, next.as_deref());
    }
}
