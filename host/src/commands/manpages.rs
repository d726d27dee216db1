//! `banger manpages DIR` (hidden): banger(1) and one page per subcommand
//! (`banger-kernel-pull.1`, …), rendered by clap_mangen from the same clap definition the
//! command line uses, so a page cannot drift from the flags it describes. Each command's
//! `--help` examples become the page's extra section. scripts/package.sh runs this when it
//! builds the Debian package.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;

pub fn run(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    // `generate_to` builds the command itself; building it first would add `help` pages.
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write the man pages into `{}`", dir.display()))?;
    Ok(())
}
