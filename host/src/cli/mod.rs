//! The command line, as clap types. Commands receive these and nothing from clap itself.

mod catalog;
mod image;
mod kernel;
mod plugin;
mod publish;
mod source;
mod usage;
mod values;

use std::path::PathBuf;

use clap::{error::ErrorKind, CommandFactory, FromArgMatches, Parser, Subcommand};

pub use catalog::{CatalogCommand, UpdateFrom};
pub use image::ImageCommand;
pub use kernel::{CheckArgs, ImportArgs, KernelCommand, MirrorArgs};
pub use plugin::PluginCommand;
pub use publish::PublishArgs;
pub use source::SourceArgs;

/// banger manages kernels for Firecracker microVMs: it finds kernel bundles through source
/// plugins, checks every byte against a trusted sha256, and installs them safely.
#[derive(Parser, Debug)]
#[command(name = "banger", version, propagate_version = true)]
#[command(after_help = "Examples:
  banger kernel list --available
  banger kernel pull void-6.12
  banger image register --name void --rootfs ./void.ext4 --kernel-ref void-6.12
  banger plugin list
  banger completions bash > ~/.local/share/bash-completion/completions/banger")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parse the command line; bad input is a usage error (status 2), and so are flags the
    /// chosen command would silently ignore.
    pub fn try_parse_checked() -> Result<Self, clap::Error> {
        let mut command = Self::command();
        let matches = command.try_get_matches_from_mut(std::env::args_os())?;
        if let Err(message) = usage::ignored_flags(&matches) {
            return Err(command.error(ErrorKind::ArgumentConflict, message));
        }
        Self::from_arg_matches(&matches)
    }
}

/// Whether `--json` is on the command line (before any `--`): then a failure, a usage error
/// included, is reported as JSON (docs/errors.md). Asked of the raw arguments, since a usage
/// error leaves nothing parsed.
pub fn json_requested() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|arg| arg != "--")
        .any(|arg| arg == "--json")
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Find, install, inspect and remove kernels.
    #[command(subcommand)]
    Kernel(KernelCommand),
    /// Register, inspect and remove VM images: a root file system and the kernel it boots.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Inspect kernel-source plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  banger completions bash > ~/.local/share/bash-completion/completions/banger
  banger completions zsh > ~/.zfunc/_banger
  banger completions fish > ~/.config/fish/completions/banger.fish")]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Write the man pages, banger(1) and one per subcommand, into DIR (a packaging step).
    #[command(hide = true)]
    Manpages {
        /// Where to write the `*.1` files; created if missing.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::{usage::ignored_flags, Cli};

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_the_command_would_ignore_are_refused() {
        let check = |args: &[&str]| {
            let matches = Cli::command().try_get_matches_from(args).unwrap();
            ignored_flags(&matches)
        };
        for (args, refused) in [
            (
                &["banger", "kernel", "list", "--source", "mirror"][..],
                Some("--source"),
            ),
            (&["banger", "kernel", "list", "--opt", "a=b"], Some("--opt")),
            (&["banger", "kernel", "list", "--oci", "r/x"], Some("--oci")),
            (
                &[
                    "banger",
                    "kernel",
                    "list",
                    "--available",
                    "--source",
                    "mirror",
                ],
                None,
            ),
            (&["banger", "kernel", "list"], None),
            (
                &[
                    "banger",
                    "kernel",
                    "publish",
                    "v",
                    "--to",
                    "oci://r/x",
                    "--bucket",
                    "b",
                ],
                Some("--bucket"),
            ),
            (
                &[
                    "banger",
                    "kernel",
                    "publish",
                    "v",
                    "--to",
                    "oci://r/x",
                    "--base-url",
                    "u",
                ],
                Some("--base-url"),
            ),
            (
                &["banger", "kernel", "publish", "v", "--to", "oci://r/x"],
                None,
            ),
            (
                &["banger", "kernel", "publish", "v", "--remote", "r2"],
                None,
            ),
            (
                &["banger", "kernel", "catalog", "update", "--url", "u"],
                None,
            ),
            (
                &[
                    "banger", "kernel", "catalog", "update", "--source", "mirror", "--url", "u",
                ],
                Some("--url"),
            ),
            (
                &["banger", "kernel", "catalog", "update", "--mirror", "m"],
                Some("--mirror"),
            ),
            (
                &[
                    "banger", "kernel", "catalog", "update", "--source", "offline", "--dir", "d",
                ],
                None,
            ),
        ] {
            match (check(args), refused) {
                (Ok(()), None) => {}
                (Err(message), Some(flag)) => assert!(message.starts_with(flag), "{message}"),
                (result, _) => panic!("{args:?}: {result:?}"),
            }
        }
    }
}
