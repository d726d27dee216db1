//! `banger kernel publish`'s arguments (maintainers).

use std::path::PathBuf;

use banger_catalog::KernelName;
use clap::Args;

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
    #[arg(long, value_name = "FILE", env = banger_env::BANGER_SIGNING_KEY)]
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
    #[arg(long, env = banger_env::RCLONE_REMOTE, default_value = "r2")]
    pub remote: String,
    /// The bucket (or path) on the remote.
    #[arg(long, env = banger_env::RCLONE_BUCKET, default_value = "banger-kernels")]
    pub bucket: String,
    /// The public https:// URL the bucket is served from; else $BASE_URL (the seed flow's
    /// older name), else https://kernels.thaloco.com.
    #[arg(long, value_name = "URL", env = banger_env::BANGER_BASE_URL)]
    base_url: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where the bucket is served from when neither `--base-url` nor `$BANGER_BASE_URL` says.
const DEFAULT_BASE_URL: &str = "https://kernels.thaloco.com";

impl PublishArgs {
    /// The public URL of the bucket: `--base-url`, `$BANGER_BASE_URL`, then the generic
    /// `$BASE_URL` that the seed flow documented first, then [`DEFAULT_BASE_URL`].
    pub fn base_url(&self) -> String {
        self.base_url
            .clone()
            .or_else(|| banger_env::non_empty_string(banger_env::BASE_URL))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
    }
}
