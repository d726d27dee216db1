//! The extractor's budgets end to end: valid bundles of hostile shape (names deeper than the
//! limit and at it, many entries, long names, long link targets), pulled through every
//! catalog transport, each run under GNU time for its peak RSS and timed. An untrusted
//! offline directory that holds such a bundle in place of the trusted one is refused by the
//! checksum, and it too stays within the memory budget until then.

use std::{fs, time::Instant};

use banger_testkit::{nginx::Nginx, sha256_hex, shapes::Shape};
use serde_json::json;

use crate::util::{kernels_listing, stderr, with_peak_rss, TestContext};

/// Peak RSS allowed for any input (the design notes' budget).
const RSS_BUDGET_MIB: f64 = 64.0;
/// A generous wall-time bound for one pull on this shared machine; the 2 s target for small
/// bundles is the benchmark's business (docs/performance.md).
const WALL_BOUND_S: f64 = 10.0;

/// A shape, the kernel name it is published as, and what a pull of it must do: install, or
/// fail saying this.
struct Case {
    name: &'static str,
    shape: Shape,
    refusal: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    const BUDGET: &str = "would exceed the extractor's budget of 16777216 bytes";
    vec![
        Case {
            name: "deep-65",
            shape: Shape::DeepLinks {
                depth: 65,
                links: 4000,
            },
            refusal: Some("the name has more than 64 components, the depth limit"),
        },
        Case {
            name: "deep-64",
            shape: Shape::DeepLinks {
                depth: 64,
                links: 300,
            },
            refusal: None,
        },
        Case {
            name: "many-names",
            shape: Shape::ManyLongNames {
                links: 100_000,
                name_len: 250,
            },
            refusal: Some(BUDGET),
        },
        Case {
            name: "many-links",
            shape: Shape::ManyLinks { links: 3000 },
            refusal: None,
        },
        Case {
            name: "long-links",
            shape: Shape::LongLinks {
                links: 40_000,
                target_len: 1000,
            },
            refusal: Some(BUDGET),
        },
    ]
}

/// Pull `name` with `source` under GNU time: the output, peak RSS in MiB and wall seconds.
fn timed_pull(t: &TestContext, name: &str, source: &[&str]) -> (std::process::Output, f64, f64) {
    let mut args = vec!["kernel", "pull", name, "--arch", "x86_64"];
    args.extend(source);
    let started = Instant::now();
    let (out, peak) = with_peak_rss(t, &args);
    (out, peak, started.elapsed().as_secs_f64())
}

#[test]
fn hostile_shapes_are_installed_or_refused_within_the_budgets_on_every_catalog_transport() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let www = t.path("www");
    let nginx = Nginx::serve(&www);
    let cases = cases();
    let mut entries = Vec::new();
    for case in &cases {
        let file = format!("{}-x86_64.tar.zst", case.name);
        let bundle = case.shape.bundle();
        fs::write(www.join(&file), &bundle).unwrap();
        entries.push(json!({
            "name": case.name, "distro": "void", "arch": "x86_64", "kernel_version": "6.12.3",
            "url": server.url(&file), "sha256": sha256_hex(&bundle), "size": bundle.len(),
            "description": "hostile shape",
        }));
    }
    t.write_catalog(&entries.iter().collect::<Vec<_>>());
    let mirror = nginx.url("");
    let www_dir = www.to_str().unwrap().to_owned();
    for case in &cases {
        let size = fs::metadata(www.join(format!("{}-x86_64.tar.zst", case.name)))
            .unwrap()
            .len();
        for (transport, source) in [
            ("catalog", vec![]),
            ("mirror", vec!["--source", "mirror", "--mirror", &mirror]),
            ("offline", vec!["--source", "offline", "--dir", &www_dir]),
        ] {
            let (out, peak, wall) = timed_pull(&t, case.name, &source);
            let err = stderr(&out);
            eprintln!(
                "{} ({size} bytes) via {transport}: exit {:?}, peak RSS {peak:.1} MiB, {wall:.2} s",
                case.name,
                out.status.code()
            );
            match case.refusal {
                Some(reason) => {
                    assert_eq!(
                        out.status.code(),
                        Some(1),
                        "{} via {transport}: {err}",
                        case.name
                    );
                    assert!(
                        err.contains(reason) && err.contains("archive entry `modules/"),
                        "{} via {transport}: {err}",
                        case.name
                    );
                    assert!(
                        !kernels_listing(&t).iter().any(|n| n.starts_with(case.name)),
                        "{} via {transport} left {:?}",
                        case.name,
                        kernels_listing(&t)
                    );
                }
                None => {
                    assert!(out.status.success(), "{} via {transport}: {err}", case.name);
                    let installed = kernels_listing(&t);
                    assert!(
                        installed.contains(&format!("{}/modules/f", case.name))
                            || installed
                                .iter()
                                .any(|n| n.starts_with(&format!("{}/modules/d/", case.name))),
                        "{} via {transport}: {installed:?}",
                        case.name
                    );
                    // So that the next transport installs it again, from its own bytes.
                    t.ok(&["kernel", "rm", case.name]);
                }
            }
            assert!(
                peak <= RSS_BUDGET_MIB,
                "{} via {transport}: peak RSS {peak:.1} MiB",
                case.name
            );
            assert!(
                wall < WALL_BOUND_S,
                "{} via {transport}: {wall:.2} s",
                case.name
            );
        }
    }
}

#[test]
fn an_untrusted_offline_directory_serving_a_hostile_shape_is_refused_by_its_checksum_within_the_budget(
) {
    let t = TestContext::new();
    let www = t.path("www");
    let mut entries = Vec::new();
    let cases = cases();
    for case in &cases {
        // The trusted entry names a digest of other bytes, and the size of what the directory
        // holds, so the whole hostile bundle is read and extracted before the digest refuses it.
        let bundle = case.shape.bundle();
        let file = format!("{}-x86_64.tar.zst", case.name);
        fs::write(www.join(&file), &bundle).unwrap();
        entries.push(json!({
            "name": case.name, "distro": "void", "arch": "x86_64", "kernel_version": "6.12.3",
            "url": format!("https://kernels.invalid/{file}"),
            "sha256": sha256_hex(b"the bundle the maintainer published"), "size": bundle.len(),
            "description": "trusted entry",
        }));
    }
    t.write_catalog(&entries.iter().collect::<Vec<_>>());
    let www_dir = www.to_str().unwrap();
    for case in &cases {
        let (out, peak, wall) =
            timed_pull(&t, case.name, &["--source", "offline", "--dir", www_dir]);
        let err = stderr(&out);
        eprintln!(
            "{} from an untrusted directory: exit {:?}, peak RSS {peak:.1} MiB, {wall:.2} s",
            case.name,
            out.status.code()
        );
        // A verification failure (docs/errors.md).
        assert_eq!(out.status.code(), Some(4), "{}: {err}", case.name);
        assert!(err.contains("checksum mismatch"), "{}: {err}", case.name);
        assert!(
            peak <= RSS_BUDGET_MIB,
            "{}: peak RSS {peak:.1} MiB",
            case.name
        );
        assert!(wall < WALL_BOUND_S, "{}: {wall:.2} s", case.name);
        assert!(kernels_listing(&t).is_empty(), "{:?}", kernels_listing(&t));
    }
}
