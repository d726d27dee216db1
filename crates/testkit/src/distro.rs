//! A real distro kernel for tests: Debian's cloud kernel package, fetched at test time.
//!
//! The version is resolved when the test runs, from what the meta-package
//! `linux-image-cloud-amd64` depends on (`apt-cache depends`), then the versioned package is
//! fetched with `apt-get download` and unpacked with `dpkg-deb -x`. Nothing is installed. The
//! unpacked tree is cached under `$TMPDIR/banger-distro-kernel/<package>/`, keyed by package
//! name and guarded by a file lock, so every test (and every test binary) of a run shares one
//! download. The repository ships no kernel binaries; a machine without the Debian archive
//! fails these tests, with the command that failed.

use std::{
    fs::{self, File},
    path::{Path, PathBuf},
    process::Command,
};

/// The meta-package whose dependency names the current cloud kernel.
const META: &str = "linux-image-cloud-amd64";

/// An unpacked kernel package: `boot/vmlinuz-<release>`, `boot/config-<release>` and
/// `lib/modules/<release>/` under `root`.
#[derive(Debug, Clone)]
pub struct DistroKernel {
    pub package: String,
    pub root: PathBuf,
    pub release: String,
}

impl DistroKernel {
    pub fn vmlinuz(&self) -> PathBuf {
        self.root
            .join("boot")
            .join(format!("vmlinuz-{}", self.release))
    }

    pub fn config(&self) -> PathBuf {
        self.root
            .join("boot")
            .join(format!("config-{}", self.release))
    }

    pub fn modules(&self) -> PathBuf {
        self.root.join("lib/modules").join(&self.release)
    }
}

fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// The versioned package the meta-package depends on, e.g. `linux-image-6.1.0-57-cloud-amd64`.
pub fn cloud_kernel_package() -> String {
    let depends = run(Command::new("apt-cache").args(["depends", META]));
    depends
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Depends: "))
        .find(|name| {
            name.strip_prefix("linux-image-")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .unwrap_or_else(|| {
            panic!("`apt-cache depends {META}` names no versioned kernel:\n{depends}")
        })
        .to_owned()
}

/// Debian's current cloud kernel, unpacked (downloaded once per machine and cached).
pub fn cloud_kernel() -> DistroKernel {
    let package = cloud_kernel_package();
    let cache = std::env::temp_dir()
        .join("banger-distro-kernel")
        .join(&package);
    fs::create_dir_all(&cache).unwrap();
    let lock = File::create(cache.join("lock")).unwrap();
    lock.lock().unwrap();
    let root = cache.join("root");
    if !root.is_dir() {
        fetch(&package, &cache, &root);
    }
    drop(lock);
    let release = only_release(&root);
    DistroKernel {
        package,
        root,
        release,
    }
}

fn fetch(package: &str, cache: &Path, root: &Path) {
    let download = cache.join("download");
    let _ = fs::remove_dir_all(&download);
    fs::create_dir_all(&download).unwrap();
    run(Command::new("apt-get")
        .args(["download", "-q", package])
        .current_dir(&download));
    let deb = fs::read_dir(&download)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .unwrap_or_else(|| panic!("`apt-get download {package}` left no .deb"));
    let partial = cache.join("root.partial");
    let _ = fs::remove_dir_all(&partial);
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&partial));
    fs::rename(&partial, root).unwrap();
    fs::remove_dir_all(&download).unwrap();
}

/// The one release under `root/lib/modules`.
fn only_release(root: &Path) -> String {
    let releases: Vec<String> = fs::read_dir(root.join("lib/modules"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    match &releases[..] {
        [release] => release.clone(),
        other => panic!("{root:?} holds releases {other:?}, not one"),
    }
}

/// `scripts/extract-vmlinux`'s method, as an extraction independent of banger's: find the
/// codec's `magic` anywhere in `image` and pipe what follows through the codec's CLI
/// (`cli`, e.g. `["lz4", "-dc"]`), ignoring its exit status (it complains about the bytes
/// after the stream). Returns what the CLI wrote.
pub fn extract_like_extract_vmlinux(image: &Path, magic: &[u8], cli: &[&str]) -> Vec<u8> {
    let bytes = fs::read(image).unwrap();
    let at = bytes
        .windows(magic.len())
        .position(|w| w == magic)
        .unwrap_or_else(|| panic!("no {magic:02x?} in {image:?}"));
    let tail = tempfile::NamedTempFile::new().unwrap();
    fs::write(tail.path(), &bytes[at..]).unwrap();
    let output = Command::new(cli[0])
        .args(&cli[1..])
        .stdin(File::open(tail.path()).unwrap())
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", cli[0]));
    output.stdout
}
