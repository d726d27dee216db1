//! SIGINT and SIGTERM, reported like any other failure: a thread waits for either, prints the
//! report (`error: interrupted …`, or the JSON error document under `--json`) and exits with
//! [`Class::Interrupted`]'s status, 130. What the interrupted step leaves is safe by design: a
//! kernel appears only by an atomic rename of a complete, checked tree, so at most a staging
//! directory remains (the next pull or `kernel gc` removes it), and a partial download, which
//! the next pull resumes. Locks are released with the process.

use signal_hook::{
    consts::{SIGINT, SIGTERM},
    iterator::Signals,
};

use super::{exit::Class, report::Report};

/// Watch for SIGINT and SIGTERM for the rest of the process; the report is JSON when `json`.
pub fn watch(json: bool) {
    // Without the handler the signal still ends the process, as it would by default.
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let name = if signal == SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            let report = Report::of(
                &Class::Interrupted
                    .error(format!("interrupted by {name}; nothing was half-installed")),
            );
            report.print(json);
            std::process::exit(i32::from(Class::Interrupted.code()));
        }
    });
}
