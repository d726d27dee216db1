//! The command line, as clap types. Commands receive these and nothing from clap itself.

use clap::{Args, Parser, Subcommand};

/// banger manages kernels for Firecracker microVMs: it finds kernel bundles through source
/// plugins, checks every byte against a trusted sha256, and installs them safely.
#[derive(Parser, Debug)]
#[command(name = "banger", version, propagate_version = true)]
#[command(after_help = "Examples:
  banger kernel list --available
  banger kernel pull void-6.12
  banger plugin list")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Find, install, inspect and remove kernels.
    #[command(subcommand)]
    Kernel(KernelCommand),
    /// Inspect kernel-source plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
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
  banger kernel pull void-6.12 --force        # replace an install with a different sha256")]
    Pull {
        /// The kernel's name, e.g. `void-6.12`.
        name: String,
        #[command(flatten)]
        source: SourceArgs,
        /// The architecture to install (`x86_64` or `arm64`); defaults to this machine's.
        #[arg(long)]
        arch: Option<String>,
        /// Replace an installed kernel of the same name that has a different sha256.
        #[arg(long)]
        force: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show an installed kernel: its manifest and file paths.
    #[command(after_help = "Examples:
  banger kernel show void-6.12
  banger kernel show void-6.12 --json | jq -r .vmlinux")]
    Show {
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove an installed kernel.
    #[command(after_help = "Example:
  banger kernel rm void-6.12")]
    Rm { name: String },
}

/// Which source plugin to use, and its options.
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// The source plugin (see `banger plugin list`).
    #[arg(long, default_value = "catalog")]
    pub source: String,
    /// An option for the source plugin, as key=value; repeatable.
    #[arg(long = "opt", value_name = "KEY=VALUE", value_parser = parse_option)]
    pub options: Vec<(String, String)>,
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

fn parse_option(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not of the form key=value")),
    }
}
