//! `banger image …`: registering, listing, showing and forgetting VM images.

use std::path::PathBuf;

use banger_catalog::KernelName;
use clap::Subcommand;

use crate::store::images::ImageName;

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
