//! `banger kernel …`: the kernel subcommands and their arguments.

use std::path::PathBuf;

use banger_catalog::{Arch, KernelName};
use clap::{Args, Subcommand};

use super::{
    values::{arch_parser, mode_parser, rootfs_parser},
    CatalogCommand, PublishArgs, SourceArgs,
};

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
