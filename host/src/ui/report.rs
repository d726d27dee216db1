//! A failed command, as the user reads it: the error, each of its causes, the hint, and the
//! exit status of its class (docs/errors.md).
//!
//! [`Report::of`] is the one walk over an error chain: it collects the messages, the first hint
//! any link carries ([`hint::hint_of`]), the outermost class any link states
//! ([`exit::class_of`]), and whether a closed pipe ended the command. It prints as text, uv's
//! way (`error: …`, one `  Caused by: …` per cause, `hint: …`), or under `--json` as one JSON
//! line on stderr; both through [`tell!`], so text from servers, files and plugins stays inert.

use std::{error::Error, io, process::ExitCode};

use serde::Serialize;

use super::{
    exit::{self, Class},
    hint,
    output::json_line,
    text::tell,
};

/// An error made ready to print.
pub struct Report {
    error: String,
    causes: Vec<String>,
    hint: Option<String>,
    class: Class,
    broken_pipe: bool,
}

/// The `--json` error document: docs/schema/error.json.
#[derive(Serialize)]
struct Document<'a> {
    error: &'a str,
    causes: &'a [String],
    hint: Option<&'a str>,
    class: &'static str,
    code: u8,
}

impl Report {
    /// Walk `error`'s chain, top first.
    pub fn of(error: &anyhow::Error) -> Self {
        let mut messages = Vec::new();
        let mut class = exit::context_class(error);
        let (mut hint, mut broken_pipe) = (None, false);
        for link in error.chain() {
            messages.push(link.to_string());
            for typed in typed(link) {
                hint = hint.or_else(|| hint::hint_of(typed));
                class = class.or_else(|| exit::class_of(typed));
                broken_pipe |= typed
                    .downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe);
            }
        }
        let error = messages.remove(0);
        Self {
            error,
            causes: messages,
            hint,
            class: class.unwrap_or(Class::Failure),
            broken_pipe,
        }
    }

    /// A usage error from clap: its first line is the error; the lines after it (a tip, the
    /// usage, where to read more) are the hint.
    pub fn usage(error: &clap::Error) -> Self {
        let rendered = error.render().to_string();
        let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
        let first = lines.next().unwrap_or("invalid usage");
        let rest: Vec<&str> = lines.collect();
        Self {
            error: first.strip_prefix("error: ").unwrap_or(first).to_owned(),
            causes: Vec::new(),
            hint: (!rest.is_empty()).then(|| rest.join("; ")),
            class: Class::Usage,
            broken_pipe: false,
        }
    }

    /// Whether the command ended because stdout was closed (`banger … | head`): not an error.
    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }

    /// Print the report on stderr, as JSON or as text, and return the exit status.
    pub fn print(&self, json: bool) -> ExitCode {
        if json {
            tell!("{}", json_line(&self.document()));
        } else {
            tell!("error: {}", self.error);
            for cause in &self.causes {
                tell!("  Caused by: {cause}");
            }
            if let Some(hint) = &self.hint {
                super::text::hint(hint);
            }
        }
        self.class.exit_code()
    }

    fn document(&self) -> Document<'_> {
        Document {
            error: &self.error,
            causes: &self.causes,
            hint: self.hint.as_deref(),
            class: self.class.name(),
            code: self.class.code(),
        }
    }
}

/// `link`, then the error an I/O error wraps (a plugin's stream, a download), which
/// `source()` would skip: the typed errors a hint or a class is looked up in.
fn typed<'a>(link: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    let wrapped = link
        .downcast_ref::<io::Error>()
        .and_then(|e| e.get_ref())
        .map(|inner| inner as &(dyn Error + 'static));
    std::iter::once(link).chain(wrapped)
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;
    use crate::ui::hint::Hinted;

    #[test]
    fn the_whole_chain_is_walked_for_the_hint_and_the_outermost_class() {
        let inner = Hinted::of(Class::NotFound, "kernel `x` is not installed", "pull it");
        let error = Err::<(), _>(inner)
            .context("cannot register image `y`")
            .unwrap_err();
        let report = Report::of(&error);
        assert_eq!(report.error, "cannot register image `y`");
        assert_eq!(report.causes, ["kernel `x` is not installed"]);
        assert_eq!(report.hint.as_deref(), Some("pull it"));
        assert_eq!(report.class, Class::NotFound);
        let outer = Err::<(), _>(error)
            .map_err(|e| e.context(exit::CannotCheck("kernel `x`".into())))
            .unwrap_err();
        assert_eq!(Report::of(&outer).class, Class::CannotCheck);
    }

    #[test]
    fn a_closed_pipe_inside_an_io_error_is_found() {
        let pipe = io::Error::other(io::Error::from(io::ErrorKind::BrokenPipe));
        let error = anyhow::Error::new(pipe).context("cannot print");
        assert!(Report::of(&error).is_broken_pipe());
        assert!(!Report::of(&anyhow::anyhow!("no")).is_broken_pipe());
    }

    #[test]
    fn the_json_document_has_every_field() {
        let report = Report::of(&Class::Refused.error("refusing catalog `c`"));
        let line = json_line(&report.document());
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "error": "refusing catalog `c`", "causes": [], "hint": null,
                "class": "refused", "code": 6
            })
        );
    }
}
