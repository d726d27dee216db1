//! The command line, as clap types. Commands receive these and nothing from clap itself.

use std::path::PathBuf;

use banger_catalog::{Arch, KernelName, ARCHES};
use clap::{
    builder::{PossibleValuesParser, TypedValueParser},
    error::ErrorKind,
    parser::ValueSource,
    ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand,
};

use crate::images::ImageName;

/// banger manages kernels for Firecracker microVMs: it finds kernel bundles through source
/// plugins, checks every byte against a trusted sha256, and installs them safely.
#[derive(Parser, Debug)]
#[command(name = "banger", version, propagate_version = true)]
#[command(after_help = "Examples:
  banger kernel list --available
  banger kernel pull void-6.12
  banger image register --name void --rootfs ./void.ext4 --kernel-ref void-6.12
  banger plugin list
  banger completions bash > ~/.local/share/bash-completion/completions/banger")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parse the command line; bad input is a usage error (status 2), and so are flags the
    /// chosen command would silently ignore.
    pub fn try_parse_checked() -> Result<Self, clap::Error> {
        let mut command = Self::command();
        let matches = command.try_get_matches_from_mut(std::env::args_os())?;
        if let Err(message) = ignored_flags(&matches) {
            return Err(command.error(ErrorKind::ArgumentConflict, message));
        }
        Self::from_arg_matches(&matches)
    }
}

/// Flags that mean nothing to the command they were typed into. Only what the user typed
/// counts: clap's `conflicts_with` also counts values from the environment (such as an
/// exported `BANGER_MIRROR_URL`), which must never make a command unusable.
fn ignored_flags(matches: &ArgMatches) -> Result<(), String> {
    let typed = |m: &ArgMatches, flags: &[(&str, &'static str)]| {
        flags
            .iter()
            .find(|(id, _)| m.value_source(id) == Some(ValueSource::CommandLine))
            .map(|(_, flag)| *flag)
    };
    let Some(("kernel", kernel)) = matches.subcommand() else {
        return Ok(());
    };
    match kernel.subcommand() {
        Some(("list", list)) if !list.get_flag("available") => {
            if let Some(flag) = typed(list, SOURCE_FLAGS) {
                return Err(format!(
                    "{flag} needs --available: without it `kernel list` lists the installed kernels"
                ));
            }
        }
        Some(("publish", publish)) if publish.contains_id("to") => {
            let rclone = [
                ("remote", "--remote"),
                ("bucket", "--bucket"),
                ("base_url", "--base-url"),
            ];
            if let Some(flag) = typed(publish, &rclone) {
                return Err(format!(
                    "{flag} is for uploads with rclone; it means nothing with --to oci://"
                ));
            }
        }
        Some(("catalog", catalog)) => {
            if let Some(("update", update)) = catalog.subcommand() {
                let source = update.get_one::<UpdateFrom>("source").copied();
                for (id, flag, needs) in [
                    ("url", "--url", UpdateFrom::Catalog),
                    ("mirror", "--mirror", UpdateFrom::Mirror),
                    ("dir", "--dir", UpdateFrom::Offline),
                ] {
                    if source != Some(needs) && typed(update, &[(id, flag)]).is_some() {
                        let wanted =
                            clap::ValueEnum::to_possible_value(&needs).expect("not skipped");
                        return Err(format!("{flag} goes with --source {}", wanted.get_name()));
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// [`SourceArgs`]' flags, by clap id.
const SOURCE_FLAGS: &[(&str, &str)] = &[
    ("source", "--source"),
    ("options", "--opt"),
    ("mirror", "--mirror"),
    ("dir", "--dir"),
    ("oci", "--oci"),
];

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Find, install, inspect and remove kernels.
    #[command(subcommand)]
    Kernel(KernelCommand),
    /// Register, inspect and remove VM images: a root file system and the kernel it boots.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Inspect kernel-source plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  banger completions bash > ~/.local/share/bash-completion/completions/banger
  banger completions zsh > ~/.zfunc/_banger
  banger completions fish > ~/.config/fish/completions/banger.fish")]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Write the man pages, banger(1) and one per subcommand, into DIR (a packaging step).
    #[command(hide = true)]
    Manpages {
        /// Where to write the `*.1` files; created if missing.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Register an image: a root file system plus an installed kernel, by name.
    #[command(after_help = "Examples:
  banger kernel pull void-6.12
  banger image register --name void --rootfs ./void.ext4 --kernel-ref void-6.12
  banger image register --name db --rootfs /dev/vg0/db --kernel-ref void-6.12 --json")]
    Register {
        /// The image's name (a-z, 0-9, `.`, `_`, `-`).
        #[arg(long)]
        name: ImageName,
        /// The root file system: a regular file (e.g. ext4) or a block device.
        #[arg(long, value_name = "PATH")]
        rootfs: PathBuf,
        /// The installed kernel it boots (see `banger kernel list`).
        #[arg(long, value_name = "KERNEL")]
        kernel_ref: KernelName,
        /// Replace an image of the same name.
        #[arg(long)]
        force: bool,
        /// Print the registered image as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List registered images.
    #[command(after_help = "Examples:
  banger image list
  banger image list --json | jq -r '.[].kernel.vmlinux'")]
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one image with its kernel's file paths.
    #[command(after_help = "Example:
  banger image show void --json")]
    Show {
        name: ImageName,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Forget an image (its rootfs file is left alone).
    #[command(after_help = "Example:
  banger image rm void")]
    Rm { name: ImageName },
}

#[derive(Subcommand, Debug)]
pub enum KernelCommand {
    /// List installed kernels, or with --available the kernels a source offers.
    #[command(after_help = "Examples:
  banger kernel list
  banger kernel list --available
  banger kernel list --available --json | jq -r '.[].name'")]
    List {
        /// List what a source offers instead of what is installed.
        #[arg(long)]
        available: bool,
        #[command(flatten)]
        source: SourceArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Download, verify and install a kernel.
    #[command(after_help = "Examples:
  banger kernel pull void-6.12
  banger kernel pull void-6.12 --arch arm64
  banger kernel pull void-6.12 --force        # replace an install with a different sha256
  banger kernel pull void-6.12 --source mirror --mirror http://mirror.internal/kernels
  banger kernel pull void-6.12 --source offline --dir /media/usb/kernels")]
    Pull {
        /// The kernel's name, e.g. `void-6.12`.
        name: KernelName,
        #[command(flatten)]
        source: SourceArgs,
        /// The architecture to install; defaults to this machine's.
        #[arg(long, value_parser = arch_parser())]
        arch: Option<Arch>,
        /// Replace an installed kernel of the same name that has a different sha256.
        #[arg(long)]
        force: bool,
        /// Install an entry that only a mirror's or directory's own catalog.json lists, checked
        /// against that catalog's sha256; the manifest records `verified: false`.
        #[arg(long)]
        allow_unverified: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Install a kernel from a build directory or an extracted distro kernel package.
    #[command(
        after_help = "DIR is a build directory (vmlinux or bzImage, initrd.img, .config, modules/) or a
tree with boot/vmlinuz-X, boot/config-X and lib/modules/X (a distro package, or /). A bzImage's
ELF is extracted; on arm64 the kernel is the arm64 Image (arch/arm64/boot/Image). The config
is installed as `config`. It goes through the same checks, staging and atomic rename as a
download; other files (System.map, ...) are ignored.

Examples:
  banger kernel import void-6.12 --from ~/src/linux/out --distro void --arch x86_64
  banger kernel import debian-6.1 --from ./linux-image-6.1.0-57-cloud-amd64 --distro debian \\
      --arch x86_64
  banger kernel import void-6.12 --from ./build --distro void --arch arm64 \\
      --kernel-version 6.12.3 --config ./build/.config --description 'Void Linux 6.12'"
    )]
    Import(ImportArgs),
    /// Check that a kernel boots in Firecracker: its image, its config against Firecracker's
    /// rules, and with --boot a smoke boot under QEMU.
    #[command(
        after_help = "Exit status: 0 ready, 1 not ready, 2 cannot be checked. The config comes from the
kernel's own `config`, else --config FILE, else the copy in the image (CONFIG_IKCONFIG),
else what modules/<release>/ tells. The rules and the JSON are in docs/kernel-check.md.

Examples:
  banger kernel check void-6.12
  banger kernel check --path ~/src/linux --arch x86_64 --mode root-device
  banger kernel check debian-6.1 --mode initrd --boot
  banger kernel check void-6.12 --json | jq -r '.findings[] | select(.severity == \"error\") | .option'"
    )]
    Check(CheckArgs),
    /// Pack an installed kernel, upload it with rclone, check its public URL, and patch
    /// catalog.json (maintainers).
    #[command(
        after_help = "Steps: pack <name>-<arch>.tar.zst reproducibly (zstd -19, all cores), compute its
sha256 and size, `rclone copyto` it to REMOTE:BUCKET/<file>, HEAD-check BASE_URL/<file>,
then patch the catalog, raise its serial, set its expiry, sign it (catalog.json.minisig),
upload both and HEAD-check them. Nothing is committed or rebuilt; the next steps are printed.

Examples:
  banger kernel publish void-6.12 --dry-run --out dist/
  BANGER_SIGNING_KEY=~/.minisign/banger.key banger kernel publish void-6.12
  banger kernel publish --catalog-only --sign-key ~/.minisign/banger.key   # renew the expiry
  banger kernel publish void-6.12 --to oci://ghcr.io/acme/kernels --sign-key key
  banger kernel publish void-6.12 --catalog ../banger/catalog.json --json"
    )]
    Publish(PublishArgs),
    /// Fill a directory with verified bundles and a catalog.json, to serve as a mirror or to
    /// carry to an air-gapped machine.
    #[command(
        after_help = "Bundles already present with the right sha256 are skipped without downloading;
partial or corrupt ones are replaced. Files appear atomically.

Examples:
  banger kernel mirror /srv/kernels                       # every kernel for this arch
  banger kernel mirror /srv/kernels void-6.12 --all-arches
  banger kernel mirror /media/usb/kernels --dry-run
  (cd /srv/kernels && python3 -m http.server)             # then: --source mirror --mirror URL"
    )]
    Mirror(MirrorArgs),
    /// Update the trusted catalog from a signed `catalog.json`, or show which one is in force.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Install the catalog's newer bundle of installed kernels whose sha256 differs from it.
    #[command(
        after_help = "Kernels whose (name, arch) the trusted catalog lists with another sha256 are
marked in `banger kernel list`. Images that boot an upgraded kernel are updated with it.

Examples:
  banger kernel catalog update && banger kernel upgrade --all
  banger kernel upgrade void-6.12 --dry-run
  banger kernel upgrade --all --source mirror --mirror http://mirror.internal/kernels"
    )]
    Upgrade {
        /// The kernels to upgrade.
        #[arg(required_unless_present = "all")]
        names: Vec<KernelName>,
        /// Upgrade every installed kernel that has an update.
        #[arg(long, conflicts_with = "names")]
        all: bool,
        #[command(flatten)]
        source: SourceArgs,
        /// Print what would be upgraded, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove what interrupted pulls left behind: partial downloads and staging directories
    /// that no running banger holds.
    #[command(after_help = "Example:
  banger kernel gc")]
    Gc {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show an installed kernel: its manifest and file paths.
    #[command(after_help = "Examples:
  banger kernel show void-6.12
  banger kernel show void-6.12 --json | jq -r .vmlinux")]
    Show {
        name: KernelName,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove an installed kernel; refused while an image refers to it.
    #[command(after_help = "Examples:
  banger kernel rm void-6.12
  banger kernel rm void-6.12 --force     # even though images still refer to it")]
    Rm {
        name: KernelName,
        /// Remove it even if images refer to it (they stop working until it is installed again).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// Fetch `catalog.json` and `catalog.json.minisig`, check the signature, serial and expiry,
    /// and make it the trusted catalog.
    #[command(
        after_help = "Refused, with the stored catalog untouched: a missing or bad signature, a key banger
does not trust, an older serial (rollback), the same serial with other bytes, an expired
catalog (unless --allow-expired), an invalid document.

Examples:
  banger kernel catalog update
  banger kernel catalog update --source mirror --mirror http://mirror.internal/kernels
  banger kernel catalog update --source offline --dir /media/usb/kernels   # air-gapped
  BANGER_CATALOG_URL=https://kernels.example/catalog.json banger kernel catalog update --json"
    )]
    Update {
        /// The catalog's https:// URL (default $BANGER_CATALOG_URL, else the bucket's).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Where to fetch it: the catalog's URL, a mirror, or a directory.
        #[arg(long, value_enum, default_value = "catalog")]
        source: UpdateFrom,
        /// The mirror's base URL, with --source mirror.
        #[arg(long, value_name = "URL", env = "BANGER_MIRROR_URL")]
        mirror: Option<String>,
        /// The directory, with --source offline.
        #[arg(long, value_name = "DIR", env = "BANGER_OFFLINE_DIR")]
        dir: Option<PathBuf>,
        /// Accept a catalog whose expiry has passed (with a warning).
        #[arg(long)]
        allow_expired: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the trusted catalog in force: where it came from, its serial, expiry and signer.
    #[command(after_help = "Examples:
  banger kernel catalog status
  banger kernel catalog status --json | jq .expires")]
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Where `kernel catalog update` fetches from.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateFrom {
    Catalog,
    Mirror,
    Offline,
}

/// `banger kernel import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The name to install it under, e.g. `void-6.12`.
    pub name: KernelName,
    /// The kernel build directory.
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The distribution the kernel belongs to, e.g. `void`.
    #[arg(long)]
    pub distro: String,
    /// The kernel's architecture; vmlinux must match it.
    #[arg(long, value_parser = arch_parser())]
    pub arch: Arch,
    /// The kernel release; read from the image when not given. Chooses among the releases
    /// of a distro tree.
    #[arg(long)]
    pub kernel_version: Option<String>,
    /// The kernel's config, installed as `config`; else DIR's `config`, `.config` or
    /// `boot/config-X`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// One line for humans, carried into the catalog on publish.
    #[arg(long)]
    pub description: Option<String>,
    /// Accept a --kernel-version that differs from the banner, and replace an installed
    /// kernel of the same name.
    #[arg(long)]
    pub force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `banger kernel check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The installed kernel to check.
    #[arg(required_unless_present = "path", conflicts_with = "path")]
    pub name: Option<KernelName>,
    /// Check the kernel directory DIR instead (vmlinux, optional initrd.img, modules/, config).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// The kernel's architecture; an installed kernel's own, else this machine's.
    #[arg(long, value_parser = arch_parser())]
    pub arch: Option<Arch>,
    /// A config to use when the kernel carries none (e.g. a distro's /boot/config-<release>).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How the VM boots; `initrd` when the kernel has an initrd.img, else `root-device`.
    #[arg(long, value_parser = mode_parser())]
    pub mode: Option<crate::check::Mode>,
    /// The root file system's type, whose driver root-device mode needs built in.
    #[arg(long, value_name = "TYPE", default_value = "ext4", value_parser = rootfs_parser())]
    pub rootfs_type: crate::check::RootFs,
    /// Also boot the kernel under QEMU (microvm on x86_64, virt on arm64) with a busybox
    /// initramfs, a virtio disk and a virtio network device.
    #[arg(long)]
    pub boot: bool,
    /// Seconds each boot may take.
    #[arg(long, value_name = "S", default_value_t = 60, requires = "boot", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub boot_timeout: u64,
    /// The static busybox for the guest's initramfs; default: `busybox` on PATH.
    #[arg(long, value_name = "FILE", requires = "boot")]
    pub busybox: Option<PathBuf>,
    /// Print the report as JSON (the format is stable; see docs/kernel-check.md).
    #[arg(long)]
    pub json: bool,
}

/// `banger kernel mirror`.
#[derive(Args, Debug)]
pub struct MirrorArgs {
    /// The directory to fill; created if missing.
    #[arg(value_name = "DIR")]
    pub target: PathBuf,
    /// The kernels to mirror; all of the catalog's when none are given.
    pub names: Vec<KernelName>,
    /// The architecture to mirror; defaults to this machine's.
    #[arg(long, conflicts_with = "all_arches", value_parser = arch_parser())]
    pub arch: Option<Arch>,
    /// Mirror every architecture.
    #[arg(long)]
    pub all_arches: bool,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Also mirror entries that only the source's own catalog.json lists (not the trusted
    /// catalog), checked against that catalog's sha256.
    #[arg(long)]
    pub allow_unverified: bool,
    /// Print what would be added, replaced and skipped, with sizes, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `banger kernel publish`.
#[derive(Args, Debug)]
pub struct PublishArgs {
    /// The installed kernel to publish.
    #[arg(required_unless_present = "catalog_only")]
    pub name: Option<KernelName>,
    /// Re-sign and re-upload the catalog alone, with a new serial and expiry.
    #[arg(long, conflicts_with_all = ["name", "out", "description"])]
    pub catalog_only: bool,
    /// The minisign secret key that signs the catalog; its password comes from
    /// $BANGER_SIGNING_PASSWORD, or a prompt on a terminal.
    #[arg(long, value_name = "FILE", env = "BANGER_SIGNING_KEY")]
    pub sign_key: Option<PathBuf>,
    /// Push the bundle to an OCI registry instead of uploading it with rclone; the catalog
    /// entry's URL becomes `oci://REGISTRY/REPOSITORY@sha256:…` (see docs/oci.md).
    #[arg(long, value_name = "oci://REGISTRY/REPOSITORY")]
    pub to: Option<String>,
    /// Days until the published catalog expires.
    #[arg(long, value_name = "N", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub expires_days: u32,
    /// The catalog description; defaults to the one in the kernel's manifest.
    #[arg(long)]
    pub description: Option<String>,
    /// The catalog file to patch.
    #[arg(long, value_name = "PATH", default_value = "catalog.json")]
    pub catalog: PathBuf,
    /// Pack and hash, print what would be uploaded and patched, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Publish a kernel that `banger kernel check` finds not ready for its mode.
    #[arg(long)]
    pub allow_unready: bool,
    /// Keep the bundle in this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The rclone remote to upload to.
    #[arg(long, env = "RCLONE_REMOTE", default_value = "r2")]
    pub remote: String,
    /// The bucket (or path) on the remote.
    #[arg(long, env = "RCLONE_BUCKET", default_value = "banger-kernels")]
    pub bucket: String,
    /// The public https:// URL the bucket is served from.
    #[arg(long, env = "BASE_URL", default_value = "https://kernels.thaloco.com")]
    pub base_url: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Which source plugin to use, and its options.
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// The source plugin (see `banger plugin list`): catalog, mirror, offline, oci, or a
    /// third-party one.
    #[arg(long, default_value = "catalog")]
    source: String,
    /// An option for the source plugin, as key=value; repeatable.
    #[arg(long = "opt", value_name = "KEY=VALUE", value_parser = parse_option)]
    options: Vec<(String, String)>,
    /// Short for `--opt mirror=URL` (the mirror source; default $BANGER_MIRROR_URL).
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// Short for `--opt dir=DIR` (the offline source; default $BANGER_OFFLINE_DIR).
    #[arg(long, value_name = "DIR")]
    dir: Option<String>,
    /// Short for `--source oci --opt repo=REGISTRY/REPOSITORY` (default $BANGER_OCI_REPO).
    #[arg(long, value_name = "REGISTRY/REPOSITORY")]
    oci: Option<String>,
}

impl SourceArgs {
    /// The plugin options: every `--opt`, then the short forms.
    pub fn options(&self) -> Vec<(String, String)> {
        let mut options = self.options.clone();
        options.extend(self.mirror.clone().map(|url| ("mirror".to_owned(), url)));
        options.extend(self.dir.clone().map(|dir| ("dir".to_owned(), dir)));
        options.extend(self.oci.clone().map(|repo| ("repo".to_owned(), repo)));
        options
    }

    /// The source plugin: `oci` when `--oci` is given without `--source`.
    pub fn source(&self) -> &str {
        match (&self.oci, self.source.as_str()) {
            (Some(_), "catalog") => "oci",
            (_, source) => source,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// List the plugins banger finds, where it found them, and any that failed to load.
    #[command(after_help = "Examples:
  banger plugin list
  BANGER_PLUGIN_PATH=~/my-plugins banger plugin list --json")]
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Architectures as clap sees them: a fixed list, so that shells complete them.
fn arch_parser() -> impl TypedValueParser<Value = Arch> {
    PossibleValuesParser::new(ARCHES).try_map(|text| text.parse::<Arch>())
}

/// Boot modes as clap sees them.
fn mode_parser() -> impl TypedValueParser<Value = crate::check::Mode> {
    PossibleValuesParser::new(crate::check::MODES)
        .try_map(|text| text.parse::<crate::check::Mode>())
}

/// Root file system types as clap sees them, so that shells complete them.
fn rootfs_parser() -> impl TypedValueParser<Value = crate::check::RootFs> {
    let names: Vec<&str> = crate::check::rules::ROOT_FILE_SYSTEMS
        .iter()
        .map(|fs| fs.name)
        .collect();
    PossibleValuesParser::new(names).try_map(|text| text.parse::<crate::check::RootFs>())
}

fn parse_option(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not of the form key=value")),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::{ignored_flags, Cli};

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_the_command_would_ignore_are_refused() {
        let check = |args: &[&str]| {
            let matches = Cli::command().try_get_matches_from(args).unwrap();
            ignored_flags(&matches)
        };
        for (args, refused) in [
            (
                &["banger", "kernel", "list", "--source", "mirror"][..],
                Some("--source"),
            ),
            (&["banger", "kernel", "list", "--opt", "a=b"], Some("--opt")),
            (&["banger", "kernel", "list", "--oci", "r/x"], Some("--oci")),
            (
                &[
                    "banger",
                    "kernel",
                    "list",
                    "--available",
                    "--source",
                    "mirror",
                ],
                None,
            ),
            (&["banger", "kernel", "list"], None),
            (
                &[
                    "banger",
                    "kernel",
                    "publish",
                    "v",
                    "--to",
                    "oci://r/x",
                    "--bucket",
                    "b",
                ],
                Some("--bucket"),
            ),
            (
                &[
                    "banger",
                    "kernel",
                    "publish",
                    "v",
                    "--to",
                    "oci://r/x",
                    "--base-url",
                    "u",
                ],
                Some("--base-url"),
            ),
            (
                &["banger", "kernel", "publish", "v", "--to", "oci://r/x"],
                None,
            ),
            (
                &["banger", "kernel", "publish", "v", "--remote", "r2"],
                None,
            ),
            (
                &["banger", "kernel", "catalog", "update", "--url", "u"],
                None,
            ),
            (
                &[
                    "banger", "kernel", "catalog", "update", "--source", "mirror", "--url", "u",
                ],
                Some("--url"),
            ),
            (
                &["banger", "kernel", "catalog", "update", "--mirror", "m"],
                Some("--mirror"),
            ),
            (
                &[
                    "banger", "kernel", "catalog", "update", "--source", "offline", "--dir", "d",
                ],
                None,
            ),
        ] {
            match (check(args), refused) {
                (Ok(()), None) => {}
                (Err(message), Some(flag)) => assert!(message.starts_with(flag), "{message}"),
                (result, _) => panic!("{args:?}: {result:?}"),
            }
        }
    }
}
