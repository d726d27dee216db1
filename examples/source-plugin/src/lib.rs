//! `sha256sums`: kernel bundles from a directory described by a `SHA256SUMS` file.
//!
//! Build farms and release pipelines often publish their artefacts next to a checksum file made
//! with `sha256sum *.tar.zst > SHA256SUMS`. This source reads such a file, offers every
//! `<name>-<arch>.tar.zst` it lists, and streams each bundle from the same directory. The sums
//! are this plugin's declaration: banger hashes the bytes itself and refuses a bundle that does
//! not match them.
//!
//! Options:
//! - `index=<path or file:// URL of SHA256SUMS>` (required);
//! - `distro=<distro>` (optional; default: the part of the kernel name before its first `-`).
//!
//! ```text
//! banger kernel list --available --source sha256sums --opt index=file:///srv/builds/SHA256SUMS
//! banger kernel pull void-6.12 --source sha256sums --opt index=/srv/builds/SHA256SUMS
//! ```

use std::{
    fs::{self, File},
    io::Read,
    path::{Path, PathBuf},
};

use banger_plugin_api::{
    names::{parse_bundle_file, validate_sha256, BUNDLE_SUFFIX},
    BundleInfo, Entry, ErrorKind, HostHandle, KernelSource, OpenRequest, Options, PluginError,
};

banger_plugin_api::export_plugin! {
    name: "sha256sums",
    version: env!("CARGO_PKG_VERSION"),
    description: "bundles listed in a SHA256SUMS file (option index=PATH)",
    new: Sha256Sums::new,
}

struct Sha256Sums {
    index: PathBuf,
    entries: Vec<Listed>,
}

/// One bundle the index lists.
struct Listed {
    entry: Entry,
    path: PathBuf,
}

impl Sha256Sums {
    fn new(mut options: Options, host: HostHandle) -> Result<Self, PluginError> {
        let index = options.require(
            "index",
            "pass --opt index=<path or file:// URL of a SHA256SUMS file>",
        )?;
        let distro = options.get("distro");
        options.finish("sha256sums")?;
        let index = PathBuf::from(index.strip_prefix("file://").unwrap_or(&index));
        let text = fs::read_to_string(&index)
            .map_err(|e| PluginError::at_path(ErrorKind::IO, &index, &e))?;
        let dir = index.parent().unwrap_or(Path::new(".")).to_owned();
        let mut entries = Vec::new();
        for (number, line) in text.lines().enumerate() {
            match parse_line(line, &dir, distro.as_deref()) {
                Ok(Some(listed)) => entries.push(listed),
                Ok(None) => {}
                Err(problem) => host.warn(&format!(
                    "{}:{}: {problem}; line skipped",
                    index.display(),
                    number + 1
                )),
            }
        }
        Ok(Self { index, entries })
    }
}

/// Read one `<sha256>  <file>` line. Files that are not bundles are not an error: checksum files
/// list all kinds of artefacts.
fn parse_line(line: &str, dir: &Path, distro: Option<&str>) -> Result<Option<Listed>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let (sha256, file) = line
        .split_once(' ')
        .ok_or("not of the form `<sha256>  <file>`")?;
    // `sha256sum` writes two spaces in text mode and ` *` in binary mode.
    let file = file
        .strip_prefix(' ')
        .or_else(|| file.strip_prefix('*'))
        .unwrap_or(file);
    if !file.ends_with(BUNDLE_SUFFIX) {
        return Ok(None);
    }
    validate_sha256(sha256)?;
    if file.contains('/') {
        return Err(format!("`{file}` is not in the index's directory"));
    }
    let (name, arch) = parse_bundle_file(file)
        .ok_or_else(|| format!("`{file}` is not named <name>-<x86_64|arm64>{BUNDLE_SUFFIX}"))?;
    let (name, arch) = (name.as_str(), arch.as_str());
    let path = dir.join(file);
    let size = fs::metadata(&path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?
        .len();
    let distro = distro.unwrap_or_else(|| name.split('-').next().unwrap_or(name));
    // By convention a name is `<distro>-<major.minor>`; the index says nothing finer.
    let kernel_version = name.rsplit('-').next().unwrap_or(name);
    Ok(Some(Listed {
        entry: Entry {
            name: name.to_owned(),
            distro: distro.to_owned(),
            arch: arch.to_owned(),
            kernel_version: kernel_version.to_owned(),
            url: path.display().to_string(),
            sha256: sha256.to_owned(),
            size,
            description: format!("{file} from {}", dir.display()),
        },
        path,
    }))
}

impl KernelSource for Sha256Sums {
    fn list(&self) -> Result<Vec<Entry>, PluginError> {
        Ok(self.entries.iter().map(|l| l.entry.clone()).collect())
    }

    fn open(
        &self,
        request: &OpenRequest,
    ) -> Result<(BundleInfo, Box<dyn Read + Send>), PluginError> {
        let listed = self
            .entries
            .iter()
            .find(|l| l.entry.name == request.name && l.entry.arch == request.arch)
            .ok_or_else(|| {
                PluginError::not_found(format!(
                    "`{}` lists no `{}` for {}",
                    self.index.display(),
                    request.name,
                    request.arch
                ))
            })?;
        let file = File::open(&listed.path)
            .map_err(|e| PluginError::at_path(ErrorKind::IO, &listed.path, &e))?;
        let info = BundleInfo {
            url: listed.path.display().to_string(),
            sha256: listed.entry.sha256.clone(),
            size: listed.entry.size,
        };
        Ok((info, Box::new(file)))
    }
}
