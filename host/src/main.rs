//! `banger`: the kernel subsystem of a Firecracker VM manager.
//!
//! A thin entry point: parse the command line ([`cli`]), run the command ([`commands`]), and
//! print any failure as a report ([`ui::report`]): its whole chain of causes and its hint, as
//! text, or as JSON on stderr under `--json`, with the exit status of its class ([`ui::exit`]).
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

use ui::report::Report;

fn main() -> ExitCode {
    let json = cli::json_requested();
    let cli = match cli::Cli::try_parse_checked() {
        Ok(cli) => cli,
        // `--help` and `--version`: banger's own text, styled by clap for a terminal.
        Err(shown) if !shown.use_stderr() => {
            let _ = shown.print();
            return ExitCode::SUCCESS;
        }
        Err(error) if json => return Report::usage(&error).print(true),
        // A usage error quotes what the user typed: shown inert, like every other error.
        Err(error) => {
            for line in error.render().to_string().lines() {
                ui::text::tell!("{line}");
            }
            return ui::exit::Class::Usage.exit_code();
        }
    };
    ui::interrupt::watch(json);
    let error = match commands::run(cli) {
        Ok(()) => return ExitCode::SUCCESS,
        // The command printed its answer already.
        Err(error) if error.downcast_ref::<ui::exit::NotReady>().is_some() => {
            return ExitCode::FAILURE
        }
        Err(error) => Report::of(&error),
    };
    if error.is_broken_pipe() {
        return ExitCode::SUCCESS;
    }
    error.print(json)
}
