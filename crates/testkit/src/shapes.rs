//! Bundles of the shapes that test the extractor's budgets rather than its per-field caps:
//! names as deep as allowed (or deeper), many entries, long link targets, many directories.
//! Every shape is a valid bundle apart from the limit it tries; names go in PAX headers, as
//! GNU tar writes them.
//!
//! Each shape is a function of its sizes, so the fuzzer can draw them from its seed and the
//! CLI tests can name them.

use crate::archive::{Kind, RawTar};

/// A hostile shape and its sizes.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// `links` symlinks in one directory `depth` components deep (the link's own name
    /// included), each pointing at a file beside it.
    DeepLinks { depth: usize, links: usize },
    /// `chains` files, each at the end of its own chain of directories `depth` deep.
    DeepDirs { depth: usize, chains: usize },
    /// `links` symlinks with short names in `modules/`, all pointing at one file.
    ManyLinks { links: usize },
    /// `links` symlinks in `modules/` whose names are `name_len` bytes each, all different.
    ManyLongNames { links: usize, name_len: usize },
    /// `links` symlinks whose targets are `target_len` bytes of `d/../` steps ending at a file.
    LongLinks { links: usize, target_len: usize },
    /// A chain of `links` symlinks, each pointing at the next, the last at a file.
    LinkChain { links: usize },
}

impl Shape {
    /// The archive, uncompressed, starting with a `vmlinux`.
    pub fn tar(self) -> Vec<u8> {
        let tar = RawTar::new().file("vmlinux", b"\x7fELF kernel");
        match self {
            Shape::DeepLinks { depth, links } => {
                let dir = deep_dir(depth - 1);
                let mut tar = tar.pax_entry(&format!("{dir}/f"), Kind::File, b"m", "");
                for i in 0..links {
                    tar = tar.pax_entry(&format!("{dir}/l{i}"), Kind::Symlink, b"", "f");
                }
                tar.finish()
            }
            Shape::DeepDirs { depth, chains } => {
                let mut tar = tar;
                for i in 0..chains {
                    let below = deep_dir(depth - 2);
                    let below = below.strip_prefix("modules").unwrap_or(&below);
                    let name = format!("modules/c{i}{below}/f");
                    tar = tar.pax_entry(&name, Kind::File, b"m", "");
                }
                tar.finish()
            }
            Shape::ManyLinks { links } => {
                let mut tar = tar.file("modules/f", b"m");
                for i in 0..links {
                    tar = tar.symlink(&format!("modules/l{i}"), "f");
                }
                tar.finish()
            }
            Shape::ManyLongNames { links, name_len } => {
                let mut tar = tar.file("modules/f", b"m");
                for i in 0..links {
                    let name = format!("{i:0>name_len$}");
                    tar = tar.pax_entry(&format!("modules/{name}"), Kind::Symlink, b"", "f");
                }
                tar.finish()
            }
            Shape::LongLinks { links, target_len } => {
                let steps = target_len.saturating_sub(1) / 5;
                let target = format!("{}f", "d/../".repeat(steps));
                let mut tar = tar.dir("modules/d/").file("modules/f", b"m");
                for i in 0..links {
                    tar = tar.pax_entry(&format!("modules/l{i}"), Kind::Symlink, b"", &target);
                }
                tar.finish()
            }
            Shape::LinkChain { links } => {
                let mut tar = tar.file("modules/f", b"m");
                for i in 0..links {
                    let next = if i + 1 == links {
                        "f".to_owned()
                    } else {
                        format!("l{}", i + 1)
                    };
                    tar = tar.symlink(&format!("modules/l{i}"), &next);
                }
                tar.finish()
            }
        }
    }

    /// The archive as a bundle, compressed with a 16 MiB window (the largest the extractor
    /// accepts), so that the decoder's memory adds to what the shape costs.
    pub fn bundle(self) -> Vec<u8> {
        let mut encoder = zstd::Encoder::new(Vec::new(), 9).unwrap();
        encoder.window_log(24).unwrap();
        std::io::copy(&mut &self.tar()[..], &mut encoder).unwrap();
        encoder.finish().unwrap()
    }
}

/// `modules/d/d/…/d`, `depth` components in all.
fn deep_dir(depth: usize) -> String {
    let mut dir = "modules".to_owned();
    for _ in 1..depth {
        dir.push_str("/d");
    }
    dir
}
