//! Bundles of the shapes that test the extractor's budgets rather than its per-field caps:
//! names as deep as allowed (or deeper), many entries, long link targets, many directories.
//! Every shape is a valid bundle apart from the limit it tries; names go in PAX headers, as
//! GNU tar writes them.
//!
//! Each shape is a function of its sizes, so the fuzzer can draw them from its seed and the
//! CLI tests can name them.

use std::io::{self, Write};

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
    /// Write the archive, uncompressed and starting with a `vmlinux`, to `out`, an entry at a
    /// time: the largest shapes are hundreds of megabytes before compression.
    pub fn write(self, out: &mut impl Write) -> io::Result<()> {
        let mut tar = Pieces {
            tar: RawTar::new().file("vmlinux", b"\x7fELF kernel"),
            out,
        };
        match self {
            Shape::DeepLinks { depth, links } => {
                let dir = deep_dir(depth - 1);
                tar.add(|t| t.pax_entry(&format!("{dir}/f"), Kind::File, b"m", ""))?;
                for i in 0..links {
                    tar.add(|t| t.pax_entry(&format!("{dir}/l{i}"), Kind::Symlink, b"", "f"))?;
                }
            }
            Shape::DeepDirs { depth, chains } => {
                let below = deep_dir(depth - 2);
                let below = below.strip_prefix("modules").unwrap_or(&below);
                for i in 0..chains {
                    let name = format!("modules/c{i}{below}/f");
                    tar.add(|t| t.pax_entry(&name, Kind::File, b"m", ""))?;
                }
            }
            Shape::ManyLinks { links } => {
                tar.add(|t| t.file("modules/f", b"m"))?;
                for i in 0..links {
                    tar.add(|t| t.symlink(&format!("modules/l{i}"), "f"))?;
                }
            }
            Shape::ManyLongNames { links, name_len } => {
                tar.add(|t| t.file("modules/f", b"m"))?;
                for i in 0..links {
                    let name = format!("modules/{i:0>name_len$}");
                    tar.add(|t| t.pax_entry(&name, Kind::Symlink, b"", "f"))?;
                }
            }
            Shape::LongLinks { links, target_len } => {
                let steps = target_len.saturating_sub(1) / 5;
                let target = format!("{}f", "d/../".repeat(steps));
                tar.add(|t| t.dir("modules/d/").file("modules/f", b"m"))?;
                for i in 0..links {
                    let name = format!("modules/l{i}");
                    tar.add(|t| t.pax_entry(&name, Kind::Symlink, b"", &target))?;
                }
            }
            Shape::LinkChain { links } => {
                tar.add(|t| t.file("modules/f", b"m"))?;
                for i in 0..links {
                    let next = if i + 1 == links {
                        "f".to_owned()
                    } else {
                        format!("l{}", i + 1)
                    };
                    tar.add(|t| t.symlink(&format!("modules/l{i}"), &next))?;
                }
            }
        }
        let end = tar.tar.finish();
        tar.out.write_all(&end)
    }

    /// The archive as a bundle, compressed at `level` with a 16 MiB window (the largest the
    /// extractor accepts), so that the decoder's memory adds to what the shape costs.
    pub fn bundle_at(self, level: i32) -> Vec<u8> {
        let mut encoder = zstd::Encoder::new(Vec::new(), level).unwrap();
        encoder.window_log(24).unwrap();
        self.write(&mut encoder).unwrap();
        encoder.finish().unwrap()
    }

    /// [`Shape::bundle_at`] a level that packs small.
    pub fn bundle(self) -> Vec<u8> {
        self.bundle_at(9)
    }
}

/// A [`RawTar`] written out entry by entry.
struct Pieces<'a, W> {
    tar: RawTar,
    out: &'a mut W,
}

impl<W: Write> Pieces<'_, W> {
    fn add(&mut self, entry: impl FnOnce(RawTar) -> RawTar) -> io::Result<()> {
        self.tar = entry(std::mem::take(&mut self.tar));
        self.out.write_all(&self.tar.take())
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
