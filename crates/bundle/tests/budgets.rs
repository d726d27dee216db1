//! The extractor's budgets: how deep a name may be, how much it keeps across entries, and how
//! its work grows, measured with a counting allocator on the hostile shapes of the test kit.

use std::{fs, sync::Mutex, time::Instant};

use banger_bundle::{extract, layout::MAX_DEPTH, Limits};
use banger_testkit::{
    alloc::{Counting, Measure, Usage},
    shapes::Shape,
};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The allocator's counters are global: one measurement at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Extract `shape` into a fresh directory: the result, what it allocated, and how many
/// entries landed on disk.
fn extract_shape(
    shape: Shape,
    limits: &Limits,
) -> (Result<banger_bundle::Extracted, String>, Usage, usize) {
    // Held while the bundle is made too: other tests' allocations would count in this one's.
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let bundle = shape.bundle();
    let parent = tempfile::tempdir().unwrap();
    let staging = parent.path().join("staging");
    fs::create_dir(&staging).unwrap();
    let started = Instant::now();
    let measure = Measure::start();
    let result = extract(&bundle[..], &staging, limits).map_err(|e| e.to_string());
    let usage = measure.usage();
    eprintln!(
        "{shape:?}: {} bytes compressed, {:.2} s, peak heap {:.1} MiB, {} allocations: {:?}",
        bundle.len(),
        started.elapsed().as_secs_f64(),
        usage.peak as f64 / f64::from(1 << 20),
        usage.allocations,
        result.as_ref().map(|_| "accepted")
    );
    let written = banger_testkit::kernel::list(&staging).len();
    (result, usage, written)
}

/// The compressed size of the largest bundle the time target names.
const SMALL_BUNDLE: usize = 15 << 10;

#[test]
fn a_name_deeper_than_the_limit_is_refused_naming_the_limit() {
    let limits = Limits::default();
    for shape in [
        Shape::DeepLinks {
            depth: MAX_DEPTH + 1,
            links: 3,
        },
        Shape::DeepDirs {
            depth: MAX_DEPTH + 1,
            chains: 1,
        },
    ] {
        let (result, _, written) = extract_shape(shape, &limits);
        let err = result.unwrap_err();
        assert!(
            err.contains("rejected: the name has more than 64 components, the depth limit"),
            "{shape:?}: {err}"
        );
        assert!(err.contains("/d/d/d/"), "{shape:?} names the entry: {err}");
        assert_eq!(written, 1, "{shape:?}: only vmlinux was written");
    }
}

#[test]
fn a_name_at_the_limit_is_installed() {
    let limits = Limits::default();
    let (result, _, written) = extract_shape(
        Shape::DeepLinks {
            depth: MAX_DEPTH,
            links: 50,
        },
        &limits,
    );
    result.unwrap();
    // vmlinux, modules/ and the 62 directories below it, the file and the links.
    assert_eq!(written, 1 + (MAX_DEPTH - 1) + 1 + 50);
    let (result, _, written) = extract_shape(
        Shape::DeepDirs {
            depth: MAX_DEPTH,
            chains: 3,
        },
        &limits,
    );
    result.unwrap();
    assert_eq!(written, 1 + 1 + 3 * (MAX_DEPTH - 1));
}

#[test]
fn shapes_over_the_retained_budget_are_refused_naming_the_entry_and_the_budget() {
    let limits = Limits::default();
    for shape in [
        Shape::LongLinks {
            links: 40_000,
            target_len: 1000,
        },
        Shape::ManyLongNames {
            links: 100_000,
            name_len: 250,
        },
    ] {
        let (result, usage, _) = extract_shape(shape, &limits);
        let err = result.unwrap_err();
        assert!(
            err.contains("archive entry `modules/")
                && err.contains("would exceed the extractor's budget of 16777216 bytes"),
            "{shape:?}: {err}"
        );
        // What was kept stayed within the budget; the rest is the decoder's 16 MiB window and
        // the buffers of the pipe.
        assert!(
            usage.peak < (16 << 20) + (16 << 20) + (8 << 20),
            "{shape:?}: peak heap {} bytes",
            usage.peak
        );
    }
    // The same budget, made small, refuses a shape that the default one installs.
    let small = Limits {
        max_retained: 256 << 10,
        ..Limits::default()
    };
    let err = extract_shape(Shape::ManyLinks { links: 20_000 }, &small)
        .0
        .unwrap_err();
    assert!(err.contains("budget of 262144 bytes"), "{err}");
}

#[test]
fn a_many_entry_shape_within_the_budget_is_installed_and_keeps_little() {
    let (result, usage, written) =
        extract_shape(Shape::ManyLinks { links: 8_000 }, &Limits::default());
    result.unwrap();
    assert_eq!(written, 8_000 + 3);
    // 8,000 links: a few dozen bytes each kept, plus the pipe's buffers.
    assert!(
        usage.peak < (16 << 20) + (8 << 20),
        "peak heap {}",
        usage.peak
    );
}

#[test]
fn directories_are_capped_since_a_deep_name_makes_one_per_component() {
    let limits = Limits {
        max_dirs: 500,
        ..Limits::default()
    };
    let (result, _, written) = extract_shape(
        Shape::DeepDirs {
            depth: MAX_DEPTH,
            chains: 10,
        },
        &limits,
    );
    let err = result.unwrap_err();
    assert!(
        err.contains("would make more than 500 directories, the limit"),
        "{err}"
    );
    // The 500 directories, vmlinux, and the file of each chain completed before the cap.
    assert!(written <= 500 + 1 + 10, "{written} entries written");
    // The default cap refuses a small bundle that asks for many directories.
    let shape = Shape::DeepDirs {
        depth: MAX_DEPTH,
        chains: 200,
    };
    assert!(shape.bundle().len() < SMALL_BUNDLE);
    let err = extract_shape(shape, &Limits::default()).0.unwrap_err();
    assert!(err.contains("more than 8192 directories"), "{err}");
}

#[test]
fn work_per_entry_does_not_grow_with_the_depth_of_earlier_directories() {
    let limits = Limits::default();
    let allocations = |depth| {
        let (result, usage, _) = extract_shape(Shape::DeepLinks { depth, links: 2000 }, &limits);
        result.unwrap();
        usage.allocations
    };
    let shallow = allocations(3);
    let deep = allocations(MAX_DEPTH);
    // The deep run makes 61 more directories, once; per entry the two must cost the same.
    assert!(
        deep < shallow + shallow / 20,
        "{deep} allocations at depth {MAX_DEPTH}, {shallow} at depth 3"
    );
    let many = |chains| {
        let (result, usage, _) = extract_shape(Shape::DeepDirs { depth: 40, chains }, &limits);
        result.unwrap();
        usage.allocations
    };
    // Twice the entries, twice the work (within a margin for the fixed cost).
    let (one, two) = (many(50), many(100));
    assert!(
        two < 2 * one + one / 5,
        "{two} allocations for 100 chains, {one} for 50"
    );
}

#[test]
fn symlink_chains_are_followed_to_the_kernels_limit_and_many_links_resolve_once() {
    let limits = Limits::default();
    extract_shape(Shape::LinkChain { links: 40 }, &limits)
        .0
        .unwrap();
    let err = extract_shape(Shape::LinkChain { links: 41 }, &limits)
        .0
        .unwrap_err();
    assert!(
        err.contains("`modules/l0` rejected: too many levels of symlinks"),
        "{err}"
    );
    // A chain far past the limit is refused without following it to its end.
    let (result, usage, _) = extract_shape(Shape::LinkChain { links: 50_000 }, &limits);
    assert!(result.unwrap_err().contains("too many levels of symlinks"));
    let (_, shorter, _) = extract_shape(Shape::LinkChain { links: 25_000 }, &limits);
    assert!(
        usage.allocations < 2 * shorter.allocations + shorter.allocations / 5,
        "{} allocations for 50,000 links, {} for 25,000",
        usage.allocations,
        shorter.allocations
    );
}
