//! Payload bombs: a bzImage whose payload inflates past the 256 MiB cap is refused, for each
//! codec, and extracting it stays within the 64 MiB memory budget (peak RSS, measured in a
//! child process so that nothing else in the test run counts).
//!
//! The bombs are made by the codecs' CLIs (`gzip`, `xz`, `lz4 -l`, `zstd`), a code path apart
//! from the decoders under test.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use banger_kernel_image::{extract_elf, Error, ELF_CAP};
use banger_testkit::image::bzimage_with;

const BUDGET_KIB: u64 = 64 << 10;
const FILES_VAR: &str = "BANGER_TEST_BOMBS";

/// `\x7fELF` and then zeros, 16 MiB past the cap, compressed by `cli`.
fn bomb(dir: &Path, name: &str, cli: &str) -> PathBuf {
    let size = ELF_CAP + (16 << 20);
    let compressed = dir.join(format!("{name}.payload"));
    let script = format!(
        "{{ printf '\\177ELF'; head -c {} /dev/zero; }} | {cli} > '{}'",
        size - 4,
        compressed.display()
    );
    let status = Command::new("sh").args(["-c", &script]).status().unwrap();
    assert!(status.success(), "{script}");
    let image = dir.join(name);
    fs::write(
        &image,
        bzimage_with(&fs::read(&compressed).unwrap(), size as u32, None),
    )
    .unwrap();
    image
}

#[test]
fn payload_bombs_are_refused_within_the_memory_budget() {
    let dir = tempfile::tempdir().unwrap();
    let bombs = [
        bomb(dir.path(), "gzip", "gzip -1"),
        bomb(dir.path(), "xz", "xz -0 --check=crc32"),
        bomb(dir.path(), "lzma", "xz --format=lzma -0"),
        bomb(dir.path(), "lz4", "lz4 -l -1"),
        bomb(dir.path(), "zstd", "zstd -1"),
    ];
    let files = std::env::join_paths(&bombs).unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "extract_bombs_in_this_process",
            "--ignored",
            "--nocapture",
        ])
        .env(FILES_VAR, files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    let peak: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak in the child's output:\n{stdout}"));
    eprintln!("peak RSS extracting {} bombs: {peak} KiB", bombs.len());
    assert!(
        peak < BUDGET_KIB,
        "peak RSS {peak} KiB, budget {BUDGET_KIB} KiB"
    );
}

/// Run by the test above in a child process, where it is the only test.
#[test]
#[ignore = "run by payload_bombs_are_refused_within_the_memory_budget in a child process"]
fn extract_bombs_in_this_process() {
    let files = std::env::var_os(FILES_VAR).expect("the bombs to extract");
    for path in std::env::split_paths(&files) {
        let mut written = 0u64;
        let mut out = Counter(&mut written);
        match extract_elf(&path, &mut out) {
            Err(Error::TooLarge { cap, .. }) => assert_eq!(cap, ELF_CAP),
            other => panic!("{path:?}: {other:?}"),
        }
        assert!(written <= ELF_CAP, "{path:?}: {written} bytes written");
        assert!(
            written > ELF_CAP - (2 << 20),
            "{path:?}: only {written} bytes written"
        );
    }
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    println!(
        "peak-rss-kib {}",
        peak.trim().trim_end_matches(" kB").trim()
    );
}

/// Counts what is written, keeps nothing.
struct Counter<'a>(&'a mut u64);

impl std::io::Write for Counter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        *self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
