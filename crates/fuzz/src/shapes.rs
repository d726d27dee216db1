//! Cases of hostile shape, for the extractor's budgets: names at and past the depth limit,
//! many entries, long names, long link targets, many directories, symlink chains. Each is a
//! valid bundle from the test kit's [`Shape`], drawn with sizes from the run's seed and
//! compressed with the largest window the extractor accepts, so the decoder's memory adds to
//! what the shape costs. The memory property is the caller's ([`crate::memory`]); here the
//! verdict itself is checked against the rules, stated from the outside:
//!
//! - a name deeper than 64 components is refused, naming the limit; one at the limit with few
//!   entries is installed;
//! - a chain of up to 40 links is installed, a longer one refused;
//! - anything else is installed (and then must pass [`crate::check_tree`]) or refused by one
//!   of the budgets, by name.

use std::fs;

use banger_bundle::{extract, layout::MAX_DEPTH, Limits};
use banger_testkit::shapes::Shape;

use crate::{memory::Case, Rng};

/// What a refusal by one of the budgets says.
const BUDGET_REFUSALS: [&str; 3] = [
    "would exceed the extractor's budget of",
    "directories, the limit",
    "more than 200000 entries",
];

/// One shape case; `Ok(true)` if the bundle was installed.
pub(crate) fn fuzz_shape(rng: &mut Rng, case: &mut Case) -> Result<bool, String> {
    // Counts are drawn on a log scale up to `high`: mostly small, so cases stay quick and
    // the mutation cases keep their share of the time, with a few as large as the budgets.
    let mut size = |low: usize, high: usize| {
        let span = high - low + 1;
        let bits = rng.below(usize::BITS as usize - span.leading_zeros() as usize + 1);
        low + rng.below((1usize << bits).min(span))
    };
    // Around the limit, or as deep as a 1 KiB name of one-letter components goes.
    let deepest = [MAX_DEPTH + 4, 500][size(0, 1)];
    let shape = match size(0, 5) {
        0 => Shape::DeepLinks {
            depth: size(MAX_DEPTH - 4, deepest),
            links: size(1, 3000),
        },
        1 => Shape::DeepDirs {
            depth: size(MAX_DEPTH - 4, deepest),
            chains: size(1, 200),
        },
        2 => Shape::ManyLinks {
            links: size(1, 40_000),
        },
        3 => Shape::ManyLongNames {
            links: size(1, 80_000),
            name_len: size(1, 255),
        },
        4 => Shape::LongLinks {
            links: size(1, 30_000),
            target_len: size(2, 1024),
        },
        _ => Shape::LinkChain { links: size(1, 80) },
    };
    let bundle = shape.bundle_at(1);
    let parent = tempfile::Builder::new()
        .prefix("banger-fuzz-")
        .tempdir_in(crate::scratch())
        .map_err(|e| e.to_string())?;
    let staging = parent.path().join("staging");
    fs::create_dir(&staging).map_err(|e| e.to_string())?;
    case.restart();
    let result = extract(&bundle[..], &staging, &Limits::default()).map_err(|e| e.to_string());
    let violation = |what: String| format!("{shape:?}: {what}");
    if let Some(what) = wrong_verdict(shape, &result) {
        return Err(violation(what));
    }
    if result.is_ok() {
        crate::check_tree(&staging).map_err(violation)?;
    }
    Ok(result.is_ok())
}

/// What is wrong with the extractor's verdict on `shape`, if anything.
fn wrong_verdict(
    shape: Shape,
    result: &Result<banger_bundle::Extracted, String>,
) -> Option<String> {
    match (shape, result) {
        (Shape::DeepLinks { depth, .. } | Shape::DeepDirs { depth, .. }, result)
            if depth > MAX_DEPTH =>
        {
            let refused = result
                .as_ref()
                .is_err_and(|e| e.contains("the depth limit"));
            (!refused).then(|| format!("a name deeper than {MAX_DEPTH} gave {result:?}"))
        }
        (Shape::DeepLinks { links, .. }, Err(e)) if links <= 100 => {
            Some(format!("a name within the depth limit was refused: {e}"))
        }
        (Shape::LinkChain { links }, result) => ((links <= 40) != result.is_ok())
            .then(|| format!("a chain of {links} links gave {result:?}")),
        (_, Err(e)) if !BUDGET_REFUSALS.iter().any(|refusal| e.contains(refusal)) => {
            Some(format!("refused for another reason than a budget: {e}"))
        }
        _ => None,
    }
}
