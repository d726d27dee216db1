//! `banger plugin …`.

use clap::Subcommand;

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
