//! `banger kernel catalog …`: updating the trusted catalog from a signed one, and showing
//! which is in force.

use std::path::PathBuf;

use clap::Subcommand;

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
        #[arg(long, value_name = "URL", env = banger_env::BANGER_MIRROR_URL)]
        mirror: Option<String>,
        /// The directory, with --source offline.
        #[arg(long, value_name = "DIR", env = banger_env::BANGER_OFFLINE_DIR)]
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
