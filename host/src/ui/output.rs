//! How commands print: JSON for scripts, tables whose columns fit their content, and sizes for
//! people. Lines of text go through [`crate::ui::text::say!`]; both tables and JSON keep text from
//! outside inert as well.
//!
//! JSON output escapes every unsafe character ([`banger_catalog::is_unsafe_char`]) as a
//! `\uXXXX` escape, bidirectional controls, DEL and C1 controls included, which `serde_json`
//! alone would write raw. The document means exactly the same to a JSON parser, and
//! `--json` piped to a terminal shows nothing raw either.

use std::io::{self, Write};

use anyhow::Result;
use banger_catalog::is_unsafe_char;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use tabwriter::TabWriter;

use crate::ui::text::inert;

/// Print `value` as pretty JSON on stdout, with unsafe characters escaped.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    #[allow(clippy::disallowed_methods)] // JSON escapes unsafe characters itself, below
    let mut out = io::stdout().lock();
    write_json(&mut out, value)?;
    Ok(())
}

/// Write `value` as pretty JSON and a newline, with unsafe characters escaped.
fn write_json(out: &mut impl Write, value: &impl serde::Serialize) -> Result<()> {
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut *out, InertJson(PrettyFormatter::new()));
    value.serialize(&mut serializer)?;
    writeln!(out)?;
    Ok(())
}

/// `value` as JSON on one line, with unsafe characters escaped: for stderr, where a document
/// shares the stream with text lines.
pub fn json_line(value: &impl serde::Serialize) -> String {
    let mut line = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut line, InertJson(CompactFormatter));
    value
        .serialize(&mut serializer)
        .expect("plain structs serialize");
    String::from_utf8(line).expect("serde_json writes UTF-8")
}

/// A JSON formatter that writes unsafe characters in strings as `\uXXXX` escapes (all of
/// them are in the Basic Multilingual Plane, so one escape each); its layout is `F`'s.
struct InertJson<F>(F);

impl<F: Formatter> Formatter for InertJson<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| is_unsafe_char(*c)) {
            writer.write_all(&rest.as_bytes()[..at])?;
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    // What makes it pretty: indentation around arrays and objects.
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }
    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }
    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

/// Print a table on stdout: a header and rows, each column as wide as its widest cell (a
/// 64-character kernel name included), two spaces apart. Cells are made inert, so a tab in
/// one cannot break the layout either.
pub fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> Result<()> {
    #[allow(clippy::disallowed_methods)] // every cell is made inert, below
    let mut table = TabWriter::new(io::stdout().lock()).padding(2);
    writeln!(table, "{}", header.join("\t"))?;
    for row in rows {
        let cells: Vec<_> = row.iter().map(|cell| inert(cell)).collect();
        writeln!(table, "{}", cells.join("\t"))?;
    }
    table.flush()?;
    Ok(())
}

/// Human-readable byte counts for tables.
pub fn human_size(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}

#[cfg(test)]
mod tests {
    use super::write_json;

    #[test]
    fn json_escapes_unsafe_characters_and_means_the_same() {
        let value = serde_json::json!({
            "text": "a\u{1b}[2Kb\u{7f}\u{9b}\u{202e}c\u{2066}\u{200e}\u{61c}, ünïcode",
            "list": ["\n", "plain"],
        });
        let mut out = Vec::new();
        write_json(&mut out, &value).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text
                .chars()
                .any(|c| banger_catalog::is_unsafe_char(c) && c != '\n'),
            "{text:?}"
        );
        assert!(
            text.contains(r"b\u007f\u009b\u202ec\u2066\u200e\u061c, ünïcode"),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        // Pretty: one key per line, indented.
        assert!(text.starts_with("{\n  \""), "{text}");
    }
}
