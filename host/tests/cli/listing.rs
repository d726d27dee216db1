//! Registry listings within their budgets, against a registry faked on loopback: many pages of
//! tags, oversized pages, a page over its `n`, an index naming one large manifest many times,
//! and entries past the host's listing cap. Each run's peak RSS is measured by GNU time.

use std::process::Output;

use banger_testkit::fake_registry::FakeRegistry;

use crate::util::{stderr, TestContext};

/// The peak RSS any listing may reach, as for every input.
const PEAK_KIB: u64 = 64 << 10;

/// `kernel list --available --oci <fake>` under GNU time: the output and the peak RSS in KiB.
fn list(t: &TestContext, fake: &FakeRegistry) -> (Output, u64) {
    let repo = fake.repository();
    let out = t.banger_under(
        &["/usr/bin/time", "-f", "peak-rss-kib=%M"],
        &["kernel", "list", "--available", "--json", "--oci", &repo],
    );
    let err = stderr(&out);
    let peak = err
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("peak-rss-kib="))
        .unwrap_or_else(|| panic!("GNU time printed no peak: {err}"))
        .trim()
        .parse()
        .unwrap();
    eprintln!("peak RSS {peak} KiB");
    assert!(
        peak <= PEAK_KIB,
        "peak RSS {peak} KiB, over {PEAK_KIB} KiB: {err}"
    );
    (out, peak)
}

fn layer() -> (String, u64) {
    (format!("sha256:{}", "a".repeat(64)), 10)
}

/// A tags page of `n` names that are not kernel names (upper case), numbered from `from`.
fn other_tags(from: usize, n: usize) -> Vec<String> {
    (from..from + n).map(|i| format!("Build-{i}")).collect()
}

#[test]
fn many_pages_of_tags_are_followed_without_keeping_them() {
    let t = TestContext::new();
    let fake = FakeRegistry::http();
    let pages = 300;
    for page in 0..pages {
        let query = if page == 0 {
            "n=100".to_owned()
        } else {
            format!("n=100&last=p{page}")
        };
        let mut tags = other_tags(page * 100, 100);
        let next = format!("/v2/acme/kernels/tags/list?n=100&last=p{}", page + 1);
        if page + 1 == pages {
            tags[99] = "void-6.12".into();
        }
        fake.tags_page(&query, &tags, (page + 1 < pages).then_some(next.as_str()));
    }
    let (layer, size) = layer();
    let descriptor = fake.manifest("void-6.12", (&layer, size), "Void", "amd64");
    fake.index("void-6.12", &[descriptor]);
    let (out, _) = list(&t, &fake);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["name"], "void-6.12");
    let pages_read = fake
        .server
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /v2/acme/kernels/tags/list?"))
        .count();
    assert_eq!(pages_read, pages);
}

#[test]
fn oversized_pages_spend_the_listing_budget_and_are_refused() {
    let t = TestContext::new();
    let fake = FakeRegistry::http();
    // Three pages of 100 tags of 30,000 bytes: each under the 4 MiB page cap, 9 MB together.
    for page in 0..3 {
        let query = if page == 0 {
            "n=100".to_owned()
        } else {
            format!("n=100&last={page}")
        };
        let tags: Vec<String> = (0..100)
            .map(|i| format!("{page}-{i}-{}", "x".repeat(30_000)))
            .collect();
        let next = format!("/v2/acme/kernels/tags/list?n=100&last={}", page + 1);
        fake.tags_page(&query, &tags, Some(&next));
    }
    let (out, _) = list(&t, &fake);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "listing `{}` took more than the 8388608 bytes banger reads for one listing",
            fake.repository()
        )),
        "{err}"
    );

    // One page over the 4 MiB a page may take.
    let tags: Vec<String> = (0..100)
        .map(|i| format!("{i}-{}", "y".repeat(50_000)))
        .collect();
    fake.tags_page("n=100", &tags, None);
    let (out, _) = list(&t, &fake);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("larger than the 4194304 bytes"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_page_with_more_tags_than_asked_for_is_refused() {
    let t = TestContext::new();
    let fake = FakeRegistry::http();
    fake.tags_page("n=100", &other_tags(0, 101), None);
    let (out, _) = list(&t, &fake);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("holds more than the 100 tags asked for (n=100)"),
        "{}",
        stderr(&out)
    );
    // 100 is what was asked for, and is read.
    fake.tags_page("n=100", &other_tags(0, 100), None);
    let (out, _) = list(&t, &fake);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn an_index_naming_one_large_manifest_many_times_reads_it_once() {
    let t = TestContext::new();
    let fake = FakeRegistry::http();
    fake.tags_page("n=100", &["void-6.12".to_owned()], None);
    let (layer, size) = layer();
    let description = "d".repeat(3 << 20);
    let descriptor = fake.manifest("void-6.12", (&layer, size), &description, "amd64");
    fake.index("void-6.12", &vec![descriptor.clone(); 64]);
    let (out, peak) = list(&t, &fake);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let digest = descriptor["digest"].as_str().unwrap();
    let fetched = fake
        .server
        .requests()
        .iter()
        .filter(|r| r.starts_with(&format!("GET /v2/acme/kernels/manifests/{digest} ")))
        .count();
    assert_eq!(fetched, 1, "{:?}", fake.server.requests());
    eprintln!("64 descriptors naming one 3 MiB manifest: peak {peak} KiB");

    // One descriptor more than an index may hold is refused, counted before any is parsed.
    fake.index("void-6.12", &vec![descriptor; 65]);
    let (out, _) = list(&t, &fake);
    assert!(
        stderr(&out).contains("lists 65 manifests, more than the 64"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_host_s_listing_cap_stops_the_source_while_it_reads() {
    let t = TestContext::new();
    let fake = FakeRegistry::http();
    fake.tags_page("n=100", &["void-6.12".to_owned()], None);
    let (layer, size) = layer();
    let description = "d".repeat(5 << 19); // 2.5 MiB: two entries pass the 4 MiB cap
    let amd64 = fake.manifest("void-6.12", (&layer, size), &description, "amd64");
    let arm64 = fake.manifest(
        "void-6.12",
        (&layer, size),
        &format!("{description}e"),
        "arm64",
    );
    fake.index("void-6.12", &[amd64, arm64]);
    let (out, _) = list(&t, &fake);
    assert!(!out.status.success());
    // The source's own error, not the host's check after the whole answer was built.
    assert!(
        stderr(&out).contains(&format!(
            "the entries `{}` lists take more than the 4194304 bytes banger reads from a source",
            fake.repository()
        )),
        "{}",
        stderr(&out)
    );
}
