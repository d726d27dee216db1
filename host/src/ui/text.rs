//! Everything banger prints, made inert on the way out. Text from outside banger (entries,
//! plugins' messages, paths the user gave, error chains that quote a server, a file or an
//! archive entry) can hold control characters and bidirectional controls; here they are shown
//! escaped (`\u{1b}`, `\u{202e}`), never sent raw, so no source can move the cursor, rewrite a
//! line, recolour or reorder what the user reads.
//!
//! Which characters are unsafe is decided once, by the naming rules
//! ([`banger_catalog::is_unsafe_char`]): catalog entries and manifests holding one are refused
//! outright (`banger_catalog::validate_text`); this is for what cannot be refused. Commands
//! print lines with [`say!`] (stdout) and [`tell!`] (stderr), tables and JSON with
//! `commands::output`; `host/clippy.toml` forbids `println!`, `eprintln!` and the raw
//! `stdout()`/`stderr()` handles everywhere else, so no line can skip this module.

use std::{
    borrow::Cow,
    fmt,
    io::{self, Write},
};

use banger_catalog::is_unsafe_char;

/// `text` with every unsafe character escaped as in Rust source (`\n`, `\u{1b}`, `\u{202e}`).
pub fn inert(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if is_unsafe_char(c) => escaped.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// Print one line on stdout, made inert. A newline inside `line` is escaped too, so a line is
/// always one line: print several lines with several calls.
pub fn stdout_line(line: fmt::Arguments<'_>) -> io::Result<()> {
    #[allow(clippy::disallowed_methods)] // this is the one place that writes lines to stdout
    let mut out = io::stdout().lock();
    writeln!(out, "{}", inert(&line.to_string()))
}

/// Print one line on stderr, made inert. A failure to write to stderr has nowhere to be
/// reported, so it is ignored.
pub fn stderr_line(line: fmt::Arguments<'_>) {
    #[allow(clippy::disallowed_methods)] // this is the one place that writes lines to stderr
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{}", inert(&line.to_string()));
}

/// [`stdout_line`] with `format!` arguments: `say!("removed kernel `{name}`")?`.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::ui::text::stdout_line(format_args!($($arg)*))
    };
}

/// [`stderr_line`] with `format!` arguments.
macro_rules! tell {
    ($($arg:tt)*) => {
        $crate::ui::text::stderr_line(format_args!($($arg)*))
    };
}

pub(crate) use {say, tell};

/// Whether stderr is a terminal, where progress bars are drawn.
pub fn stderr_is_terminal() -> bool {
    #[allow(clippy::disallowed_methods)] // asks, prints nothing
    let stderr = io::stderr();
    io::IsTerminal::is_terminal(&stderr)
}

/// Print a warning on stderr, made inert: the one way banger warns. Under `--json` too:
/// warnings stay text lines (docs/errors.md), and only a failure's report is JSON.
pub fn warn(message: impl fmt::Display) {
    tell!("warning: {message}");
}

/// Print a hint on stderr, made inert: what the user might do about the warning or error
/// printed just before.
pub fn hint(hint: impl fmt::Display) {
    tell!("hint: {hint}");
}

/// Retry notices from the fetch crate, printed as warnings.
pub fn notice() -> banger_fetch::Notice {
    std::sync::Arc::new(|line: &str| warn(line))
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn unsafe_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(
            inert("plain text, ünïcode, עברית"),
            "plain text, ünïcode, עברית"
        );
        assert_eq!(
            inert("ok\r\x1b[32mverified\x1b[0m\u{9b}\u{7f}\n"),
            "ok\\r\\u{1b}[32mverified\\u{1b}[0m\\u{9b}\\u{7f}\\n"
        );
        for bidi in [
            '\u{061c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}',
            '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ] {
            let shown = inert(&format!("a{bidi}b")).into_owned();
            assert_eq!(shown, format!("a\\u{{{:x}}}b", u32::from(bidi)));
        }
    }

    #[test]
    fn inert_text_holds_no_unsafe_character_for_any_char() {
        for c in (0..=0x3000u32).filter_map(char::from_u32) {
            let shown = inert(&c.to_string()).into_owned();
            assert!(
                !shown.chars().any(banger_catalog::is_unsafe_char),
                "U+{:04X} shown as {shown:?}",
                u32::from(c)
            );
        }
    }
}
