//! The commands, one module per noun. Each takes plain values from [`crate::cli`].

mod image;
mod kernel;
mod mirror;
mod plugin;
mod publish;

use anyhow::Result;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Kernel(command) => kernel::run(command),
        Command::Image(command) => image::run(command),
        Command::Plugin(command) => plugin::run(command),
    }
}

/// Print `value` as pretty JSON on stdout.
fn print_json(value: &impl serde::Serialize) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Human-readable byte counts for tables.
fn human_size(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}
