//! How commands print: JSON for scripts, tables whose columns fit their content, and sizes for
//! people. Text from sources is shown inert ([`crate::text::inert`]).

use std::io::Write;

use anyhow::Result;
use tabwriter::TabWriter;

use crate::text::inert;

/// Print `value` as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Print a table on stdout: a header and rows, each column as wide as its widest cell (a
/// 64-character kernel name included), two spaces apart. Cells are made inert, so a tab in
/// one cannot break the layout either.
pub fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> Result<()> {
    let mut table = TabWriter::new(std::io::stdout().lock()).padding(2);
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
