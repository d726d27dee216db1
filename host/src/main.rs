//! `banger`: the kernel subsystem of a Firecracker VM manager.
//!
//! A thin entry point: parse the command line ([`cli`]), run the command ([`commands`]), and
//! print any failure with its whole chain of causes and a non-zero exit status.
#![forbid(unsafe_code)]

mod check;
mod cli;
mod commands;
mod flows;
mod plugins;
mod store;
mod trust;
mod ui;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse_checked() {
        Ok(cli) => cli,
        // `--help` and `--version`: banger's own text, styled by clap for a terminal.
        Err(shown) if !shown.use_stderr() => {
            let _ = shown.print();
            return ExitCode::SUCCESS;
        }
        // A usage error quotes what the user typed: shown inert, like every other error.
        Err(error) => {
            for line in error.render().to_string().lines() {
                ui::text::tell!("{line}");
            }
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        // The command printed its answer already.
        Err(error) if error.downcast_ref::<ui::exit::NotReady>().is_some() => ExitCode::FAILURE,
        Err(error) => {
            // Error chains quote servers, files, archives and plugins: tell! makes them inert.
            ui::text::tell!("error: {error:#}");
            if let Some(hint) = error.downcast_ref::<ui::hint::Hinted>().map(|h| h.hint()) {
                ui::text::tell!("hint: {hint}");
            }
            ui::exit::status(&error)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
