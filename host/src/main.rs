//! `banger`: the kernel subsystem of a Firecracker VM manager.
//!
//! A thin entry point: parse the command line ([`cli`]), run the command ([`commands`]), and
//! print any failure with its whole chain of causes and a non-zero exit status.
#![forbid(unsafe_code)]

mod atomic;
mod catalog_update;
mod check;
mod cli;
mod commands;
mod downloads;
mod exit;
mod files;
mod hint;
mod images;
mod install;
mod keys;
mod manifest;
mod mirror;
mod plugins;
mod progress;
mod publish;
mod pull;
mod state;
mod text;
mod trust;
mod trusted;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        // The command printed its answer already.
        Err(error) if error.downcast_ref::<exit::NotReady>().is_some() => ExitCode::FAILURE,
        Err(error) => {
            // Error chains quote servers, files, archives and plugins: never raw.
            eprintln!("error: {}", text::inert(&format!("{error:#}")));
            if let Some(hint) = error.downcast_ref::<hint::Hinted>().map(|h| h.hint()) {
                eprintln!("hint: {}", text::inert(hint));
            }
            exit::status(&error)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
