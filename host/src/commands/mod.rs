//! The commands, one module per noun (and per subcommand under `kernel`). A command takes
//! plain values from [`crate::cli`], calls the module that does the work, and prints its
//! outcome as text or JSON ([`crate::ui::output`]). Commands do not call each other.

mod completions;
mod image;
mod kernel;
mod manpages;
mod plugin;

use anyhow::Result;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Kernel(command) => kernel::run(command),
        Command::Image(command) => image::run(command),
        Command::Plugin(command) => plugin::run(command),
        Command::Completions { shell } => completions::run(shell),
        Command::Manpages { dir } => manpages::run(&dir),
    }
}
