//! `banger-fuzz`: mutation fuzzing of the two parsers that read untrusted bytes, for a bounded
//! time: bundle extraction (`banger_bundle::extract`) and catalog parsing
//! (`banger_catalog::Catalog::parse`); and generated registry listings ([`listing`]).
//!
//! Each case starts from a valid input (a packed fixture kernel, hostile archives from the test
//! kit, a valid catalog) and mutates it: bit flips, interesting bytes, truncation, duplicated
//! or reordered 512-byte tar blocks with their header checksums fixed so that the mutation
//! reaches the entry checks, and for catalogs, entries with hostile field values. Properties:
//!
//! - nothing panics;
//! - no case holds more than 64 MiB at once or asks for more in one allocation, counted by a
//!   global allocator, nor raises the whole process's peak RSS more than 64 MiB above where the case
//!   started ([`memory`]); the
//!   corpus includes extension-header bombs (GNU long names and link names, PAX `x` and `g`
//!   headers) that claim, and really carry, far more, and one case in eight is a valid bundle
//!   of hostile shape for the extractor's budgets ([`shapes`]: deep names, many entries, long
//!   names and link targets, many directories, symlink chains);
//! - an accepted bundle holds only `vmlinux`, `initrd.img` and `modules/**`, with no special
//!   file, no setuid/setgid/sticky or world-writable mode, and every symlink resolving inside
//!   `modules/`; nothing is ever written beside the staging directory;
//! - an accepted catalog satisfies every entry rule, has unique (name, arch) pairs, and holds
//!   no control character in any field (checked here, not by calling the validator).
//!
//! Usage: `banger-fuzz [--seconds N] [--seed S]`. It prints the seed, the case counts, the
//! peak heap and process RSS, and the duration, and exits non-zero with the seed and case number on the first violation.

use std::{
    fs,
    os::unix::fs::{MetadataExt, PermissionsExt},
    panic::{catch_unwind, AssertUnwindSafe},
    path::Path,
    process::ExitCode,
    time::{Duration, Instant},
};

use banger_bundle::{
    extract,
    pack::{Compression, Plan},
    Limits,
};
use banger_catalog::Catalog;
use banger_testkit::{
    archive::{extension_bomb, pax_record, Kind, RawTar},
    kernel,
};

mod listing;
mod memory;
mod shapes;

#[global_allocator]
static ALLOCATOR: banger_testkit::alloc::Counting = banger_testkit::alloc::Counting;

/// The cases' source of randomness: `fastrand`, seeded, so that `--seed` replays a run.
pub(crate) struct Rng(fastrand::Rng);

impl Rng {
    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n.max(1))
    }
}

const INTERESTING: &[u8] = b"\x00\xff/.\\\x7f01257LKSx";

fn main() -> ExitCode {
    let mut seconds = 10.0;
    let mut seed = fastrand::u64(..);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_default();
        match (arg.as_str(), value.parse::<f64>(), value.parse::<u64>()) {
            ("--seconds", Ok(v), _) if v > 0.0 => seconds = v,
            ("--seed", _, Ok(v)) => seed = v,
            _ => {
                eprintln!("usage: banger-fuzz [--seconds N] [--seed S]");
                return ExitCode::from(2);
            }
        }
    }
    println!("fuzz: seed {seed}, {seconds} s (replay with --seed {seed})");
    let budget = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let corpus = Corpus::new();
    let mut rng = Rng(fastrand::Rng::with_seed(seed));
    let (mut bundles, mut accepted, mut catalogs, mut valid_catalogs) = (0u64, 0u64, 0u64, 0u64);
    let (mut shaped, mut shaped_accepted) = (0u64, 0u64);
    let (mut listings, mut listed) = (0u64, 0u64);
    let mut peak = memory::Peak::default();
    while started.elapsed() < budget {
        let mut case = memory::Case::start();
        // Mostly bundles: they are the costlier and the more dangerous input. One case in
        // eight is a hostile shape for the extractor's budgets, one in sixteen a registry
        // listing.
        let (kind, outcome) = match rng.below(16) {
            0..=2 => {
                catalogs += 1;
                let outcome =
                    fuzz_catalog(&corpus, &mut rng).map(|ok| valid_catalogs += u64::from(ok));
                ("catalog", outcome)
            }
            3 | 4 => {
                shaped += 1;
                let outcome = shapes::fuzz_shape(&mut rng, &mut case)
                    .map(|ok| shaped_accepted += u64::from(ok));
                ("hostile shape", outcome)
            }
            5 => {
                listings += 1;
                let outcome = listing::fuzz_listing(&mut rng).map(|ok| listed += u64::from(ok));
                ("registry listing", outcome)
            }
            _ => {
                bundles += 1;
                let outcome = fuzz_bundle(&corpus, &mut rng).map(|ok| accepted += u64::from(ok));
                ("bundle", outcome)
            }
        };
        let outcome = outcome.and_then(|()| case.check()).map(|case| {
            peak.heap = peak.heap.max(case.heap);
            peak.resident = peak.resident.max(case.resident);
        });
        if let Err(violation) = outcome {
            eprintln!(
                "fuzz: VIOLATION after {} cases (seed {seed}), in a {kind} case: {violation}",
                bundles + catalogs + shaped + listings
            );
            return ExitCode::FAILURE;
        }
    }
    let mib = |bytes: usize| bytes as f64 / f64::from(1 << 20);
    println!(
        "fuzz: {} cases in {:.1} s: {bundles} bundles ({accepted} accepted), {shaped} hostile shapes ({shaped_accepted} accepted), {catalogs} catalogs ({valid_catalogs} valid), {listings} registry listings ({listed} listed), peak heap {:.1} MiB, peak rise of the process RSS {:.1} MiB (cap {} MiB), no violation",
        bundles + catalogs + shaped + listings,
        started.elapsed().as_secs_f64(),
        mib(peak.heap),
        mib(peak.resident),
        memory::CAP >> 20
    );
    ExitCode::SUCCESS
}

/// The valid and hostile inputs that cases start from.
struct Corpus {
    /// Uncompressed tar archives.
    tars: Vec<Vec<u8>>,
    /// Compressed bundles whose first extension header claims and carries [`BOMB_BYTES`].
    bombs: Vec<Vec<u8>>,
    catalog: String,
}

/// What each bomb's extension header carries: past the memory cap, small once compressed.
const BOMB_BYTES: u64 = 96 << 20;

impl Corpus {
    fn new() -> Self {
        let work = tempfile::tempdir().expect("a temporary directory");
        let tree = work.path().join("tree");
        kernel::write_tree(&tree, "6.12.3");
        let mut packed = Vec::new();
        let level0 = Compression {
            level: 1,
            threads: 0,
        };
        Plan::scan(&tree)
            .and_then(|plan| plan.write(&mut packed, level0, |_| {}))
            .expect("the fixture packs");
        let valid = zstd::decode_all(&packed[..]).expect("the fixture decompresses");
        let k = |t: RawTar| t.file("vmlinux", b"\x7fELF kernel");
        let tars = vec![
            valid,
            k(RawTar::new())
                .dir("modules/")
                .symlink("modules/a", "../vmlinux")
                .finish(),
            k(RawTar::new())
                .dir("modules/")
                .symlink("modules/l", "d/x")
                .dir("modules/d/")
                .file("modules/d/x", b"m")
                .finish(),
            k(RawTar::new()).file("modules/../../escape", b"x").finish(),
            k(RawTar::new()).file("vmlinux", b"again").finish(),
            k(RawTar::new())
                .entry(
                    b"././@LongLink",
                    Kind::LongName,
                    0o644,
                    b"modules/long/name.ko\0",
                    b"",
                )
                .file("x", b"m")
                .entry(b"././@LongLink", Kind::LongLink, 0o644, b"name.ko\0", b"")
                .symlink("modules/long/l", "x")
                .entry(
                    b"PaxHeaders/a",
                    Kind::Pax,
                    0o644,
                    &pax_record("path", "modules/p.ko"),
                    b"",
                )
                .file("y", b"p")
                .entry(
                    b"PaxHeaders/g",
                    Kind::PaxGlobal,
                    0o644,
                    &pax_record("comment", "c"),
                    b"",
                )
                .finish(),
        ];
        let bombs = Kind::EXTENSIONS
            .iter()
            .map(|kind| {
                let path = work.path().join("bomb.tar.zst");
                extension_bomb(*kind, BOMB_BYTES, &path);
                fs::read(&path).expect("the bomb was written")
            })
            .collect();
        Self {
            tars,
            bombs,
            catalog: catalog(),
        }
    }
}

/// The catalog that catalog cases start from: three entries, two names, both arches.
fn catalog() -> String {
    let entry = |name: &str, arch: &str, sha: char| {
        serde_json::json!({
            "name": name, "distro": "void", "arch": arch, "kernel_version": "6.12.3",
            "url": format!("https://k.example/{name}-{arch}.tar.zst"),
            "sha256": sha.to_string().repeat(64), "size": 1234, "description": "d",
        })
    };
    serde_json::to_string_pretty(&serde_json::json!({
        "schema": 1,
        "entries": [entry("alpine-6.6", "x86_64", 'a'), entry("void-6.12", "arm64", 'b'), entry("void-6.12", "x86_64", 'c')],
    }))
    .expect("JSON")
}

/// Mutate a tar archive, keeping header checksums valid so that the entry checks are reached.
fn mutate_tar(rng: &mut Rng, tar: &[u8]) -> Vec<u8> {
    let mut bytes = tar.to_vec();
    for _ in 0..=rng.below(4) {
        let blocks = bytes.len() / 512;
        match rng.below(6) {
            0 | 1 if !bytes.is_empty() => {
                // Within a header: name, mode, size, type flag, link name, prefix.
                let block = rng.below(blocks) * 512;
                let field = [0, 100, 124, 156, 157, 345][rng.below(6)];
                let at = (block + field + rng.below(12)).min(bytes.len() - 1);
                bytes[at] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
            3 if blocks > 1 => {
                // Duplicate a block somewhere else: repeated entries, bodies read as headers.
                let from = rng.below(blocks) * 512;
                let to = rng.below(blocks) * 512;
                let block = bytes[from..from + 512].to_vec();
                bytes.splice(to..to, block);
            }
            4 => bytes.truncate(rng.below(bytes.len() + 1)),
            _ => {}
        }
    }
    fix_checksums(&mut bytes);
    bytes
}

/// Recompute the checksum of every block that carries a tar magic.
fn fix_checksums(bytes: &mut [u8]) {
    for block in bytes.chunks_exact_mut(512) {
        if &block[257..262] != b"ustar" {
            continue;
        }
        block[148..156].fill(b' ');
        let sum: u32 = block.iter().map(|b| u32::from(*b)).sum();
        let text = format!("{sum:06o}\0 ");
        block[148..156].copy_from_slice(text.as_bytes());
    }
}

/// One extraction case; `Ok(true)` if the bundle was accepted.
fn fuzz_bundle(corpus: &Corpus, rng: &mut Rng) -> Result<bool, String> {
    let mut bundle = if rng.below(32) == 0 {
        corpus.bombs[rng.below(corpus.bombs.len())].clone()
    } else {
        let base = &corpus.tars[rng.below(corpus.tars.len())];
        let tar = mutate_tar(rng, base);
        zstd::encode_all(&tar[..], 1).map_err(|e| e.to_string())?
    };
    if rng.below(8) == 0 && !bundle.is_empty() {
        // Sometimes break the compressed stream itself.
        let at = rng.below(bundle.len());
        bundle[at] ^= 0xff;
    }
    let parent = tempfile::Builder::new()
        .prefix("banger-fuzz-")
        .tempdir_in(scratch())
        .map_err(|e| e.to_string())?;
    let staging = parent.path().join("staging");
    fs::create_dir(&staging).map_err(|e| e.to_string())?;
    let limits = Limits {
        max_unpacked: 64 << 20,
        ..Limits::default()
    };
    let result = catch_unwind(AssertUnwindSafe(|| extract(&bundle[..], &staging, &limits)))
        .map_err(|_| "extract panicked".to_owned())?;
    let beside: Vec<_> = fs::read_dir(parent.path())
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "staging")
        .map(|e| e.file_name())
        .collect();
    if !beside.is_empty() {
        return Err(format!(
            "extraction wrote beside the staging directory: {beside:?}"
        ));
    }
    let checked = match result {
        Ok(_) => check_tree(&staging).map(|()| true),
        Err(e) if e.to_string().is_empty() => Err("an error without a message".into()),
        Err(_) => Ok(false),
    };
    checked.map_err(|violation| {
        let kept = std::env::temp_dir().join("banger-fuzz-failure.tar.zst");
        match fs::write(&kept, &bundle) {
            Ok(()) => format!("{violation} (bundle kept in {})", kept.display()),
            Err(_) => violation,
        }
    })
}

/// The properties of an accepted bundle's tree.
pub(crate) fn check_tree(staging: &Path) -> Result<(), String> {
    let vmlinux =
        fs::symlink_metadata(staging.join("vmlinux")).map_err(|e| format!("vmlinux: {e}"))?;
    if !vmlinux.is_file() {
        return Err("vmlinux is not a regular file".into());
    }
    let modules = staging.join("modules");
    let real_modules = fs::canonicalize(&modules).ok();
    for relative in kernel::list(staging) {
        let top = relative.split('/').next().unwrap_or_default();
        if !["vmlinux", "initrd.img", "modules"].contains(&top) {
            return Err(format!("`{relative}` is outside the layout"));
        }
        let path = staging.join(&relative);
        let metadata = fs::symlink_metadata(&path).map_err(|e| e.to_string())?;
        let mode = metadata.mode();
        if metadata.file_type().is_symlink() {
            if top != "modules" {
                return Err(format!("symlink `{relative}` outside modules/"));
            }
            let target =
                fs::canonicalize(&path).map_err(|e| format!("`{relative}` dangles: {e}"))?;
            if !real_modules.as_ref().is_some_and(|m| target.starts_with(m)) {
                return Err(format!("`{relative}` resolves to {}", target.display()));
            }
        } else if !metadata.is_file() && !metadata.is_dir() {
            return Err(format!("`{relative}` is a special file"));
        } else if mode & 0o7000 != 0 || mode & 0o002 != 0 {
            return Err(format!(
                "`{relative}` has mode {:o}",
                metadata.permissions().mode()
            ));
        }
    }
    Ok(())
}

/// What every accepted entry must be, stated here from the catalog's rules rather than by
/// calling the validator under test: a name safe as a directory name, a known arch, a sha256
/// of 64 lowercase hex digits, a non-zero size, and no empty required field.
fn entry_properties(entry: &banger_catalog::Entry) -> Result<(), String> {
    let name = entry.name.as_bytes();
    let name_ok = (1..=64).contains(&name.len())
        && (name[0].is_ascii_lowercase() || name[0].is_ascii_digit())
        && name
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b));
    if !name_ok {
        return Err("the name is not 1-64 of [a-z0-9._-] starting with [a-z0-9]".into());
    }
    if entry.arch != "x86_64" && entry.arch != "arm64" {
        return Err(format!("arch `{}`", entry.arch));
    }
    let sha = entry.sha256.as_bytes();
    if sha.len() != 64
        || !sha
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return Err(format!("sha256 `{}`", entry.sha256));
    }
    if entry.size == 0 {
        return Err("size 0".into());
    }
    if entry.distro.is_empty() || entry.kernel_version.is_empty() || entry.url.is_empty() {
        return Err("an empty required field".into());
    }
    Ok(())
}

/// Where extraction cases write: tmpfs when there is one, since file creation on disk is slow.
pub(crate) fn scratch() -> std::path::PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_owned()
    } else {
        std::env::temp_dir()
    }
}

/// One catalog case; `Ok(true)` if the mutated catalog was valid.
fn fuzz_catalog(corpus: &Corpus, rng: &mut Rng) -> Result<bool, String> {
    let text = if rng.below(2) == 0 {
        replace_field(&corpus.catalog, rng)?
    } else {
        mutate_bytes(corpus.catalog.clone().into_bytes(), rng)
    };
    let json = String::from_utf8_lossy(&text);
    let parsed = catch_unwind(|| Catalog::parse(&json, "fuzz"))
        .map_err(|_| "Catalog::parse panicked".to_owned())?;
    let Ok(catalog) = parsed else {
        return Ok(false);
    };
    accepted_properties(&catalog)?;
    Ok(true)
}

/// Structured: one field of `catalog` (or its schema) replaced with something hostile.
fn replace_field(catalog: &str, rng: &mut Rng) -> Result<Vec<u8>, String> {
    let mut document: serde_json::Value =
        serde_json::from_str(catalog).map_err(|e| e.to_string())?;
    let entries = document["entries"].as_array_mut().ok_or("no entries")?;
    let index = rng.below(entries.len());
    let field = [
        "name",
        "distro",
        "arch",
        "kernel_version",
        "url",
        "sha256",
        "size",
        "description",
        "schema",
    ][rng.below(9)];
    let values = [
        serde_json::json!("../x"),
        serde_json::json!("a/b"),
        serde_json::json!(""),
        serde_json::json!("A".repeat(70)),
        serde_json::json!("void-6.12"),
        serde_json::json!("aarch64"),
        serde_json::json!(-1),
        serde_json::json!(0),
        serde_json::json!(u64::MAX),
        serde_json::json!(null),
        serde_json::json!("F".repeat(64)),
        serde_json::json!("x86_64"),
        serde_json::json!([1, 2]),
        serde_json::json!("ok\r\u{1b}[32mverified\u{1b}[0m"),
        serde_json::json!("tab\there"),
        serde_json::json!("c1 \u{9b}31m"),
        serde_json::json!("del \u{7f}"),
    ];
    let value = values[rng.below(values.len())].clone();
    if field == "schema" {
        document["schema"] = value;
    } else {
        entries[index][field] = value;
    }
    serde_json::to_vec(&document).map_err(|e| e.to_string())
}

/// Up to three bytes of `text` changed to interesting ones, cut short or removed.
fn mutate_bytes(mut text: Vec<u8>, rng: &mut Rng) -> Vec<u8> {
    for _ in 0..=rng.below(3) {
        if text.is_empty() {
            break;
        }
        let at = rng.below(text.len());
        match rng.below(3) {
            0 => text[at] = INTERESTING[rng.below(INTERESTING.len())],
            1 => text.truncate(at),
            _ => {
                text.remove(at);
            }
        }
    }
    text
}

/// What every catalog banger accepts holds: each entry's properties, no control character in
/// any text field, and no (name, arch) twice.
fn accepted_properties(catalog: &Catalog) -> Result<(), String> {
    for (i, entry) in catalog.entries.iter().enumerate() {
        entry_properties(entry).map_err(|e| format!("accepted `{}`: {e}", entry.name))?;
        let fields = [
            &entry.name,
            &entry.distro,
            &entry.arch,
            &entry.kernel_version,
            &entry.url,
            &entry.sha256,
            &entry.description,
        ];
        if let Some(field) = fields.iter().find(|f| f.chars().any(char::is_control)) {
            return Err(format!("accepted a control character in {field:?}"));
        }
        if catalog.entries[..i]
            .iter()
            .any(|e| e.name == entry.name && e.arch == entry.arch)
        {
            return Err(format!("accepted a duplicate `{}`", entry.name));
        }
    }
    Ok(())
}
