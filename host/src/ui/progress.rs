//! Progress bars for long transfers and packing, drawn only when stderr is a terminal.

use std::io::Read;

use indicatif::{ProgressBar, ProgressStyle};

/// A byte progress bar of `total` bytes labelled `label`; hidden when stderr is not a terminal.
pub fn bar(total: u64, label: &str) -> ProgressBar {
    let bar = if crate::ui::text::stderr_is_terminal() {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar.set_message(label.to_owned());
    bar
}

/// Wrap `reader` in a [`bar`].
pub fn wrap<R: Read>(
    reader: R,
    total: u64,
    label: &str,
) -> (indicatif::ProgressBarIter<R>, ProgressBar) {
    let bar = bar(total, label);
    (bar.wrap_read(reader), bar)
}
