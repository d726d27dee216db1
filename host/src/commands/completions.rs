//! `banger completions <shell>`: a completion script for bash, zsh, fish, elvish or
//! PowerShell, from the same clap definition the command line uses.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell) -> Result<()> {
    let mut command = Cli::command();
    #[allow(clippy::disallowed_methods)] // a script clap writes from banger's own definitions
    clap_complete::generate(shell, &mut command, "banger", &mut std::io::stdout());
    Ok(())
}
