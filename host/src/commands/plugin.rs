//! `banger plugin list`: what the loader finds, what shadows what, and what fails to load.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::{
    cli::PluginCommand,
    plugins,
    text::{self, inert},
};

#[derive(Serialize)]
struct PluginRow {
    name: String,
    version: String,
    api_version: String,
    path: String,
    description: String,
    /// `loaded`, `shadowed` (by `shadowed_by`) or `failed` (with `error`).
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shadowed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(command: PluginCommand) -> Result<()> {
    let PluginCommand::List { json } = command;
    let report = plugins::find_all();
    let mut rows: Vec<PluginRow> = report
        .loaded
        .iter()
        .map(|p| PluginRow {
            name: p.name.clone(),
            version: p.version.clone(),
            api_version: p.api_version.clone(),
            path: p.path.display().to_string(),
            description: p.description.clone(),
            status: "loaded",
            shadowed_by: None,
            error: None,
        })
        .collect();
    for (path, name, winner) in &report.shadowed {
        rows.push(PluginRow {
            name: name.clone(),
            version: String::new(),
            api_version: String::new(),
            path: path.display().to_string(),
            description: String::new(),
            status: "shadowed",
            shadowed_by: Some(winner.display().to_string()),
            error: None,
        });
    }
    if json {
        for failure in &report.failed {
            rows.push(PluginRow {
                name: String::new(),
                version: String::new(),
                api_version: String::new(),
                path: failure.path().display().to_string(),
                description: String::new(),
                status: "failed",
                shadowed_by: None,
                error: Some(failure.to_string()),
            });
        }
        return super::print_json(&rows);
    }
    for failure in &report.failed {
        text::warn(failure);
    }
    let mut out = std::io::stdout().lock();
    if rows.is_empty() {
        writeln!(out, "no plugins found; searched:")?;
        for dir in plugins::search_path() {
            writeln!(out, "  {}", dir.display())?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<12} {:<10} {:<8} {:<9} PATH",
        "NAME", "VERSION", "API", "STATUS"
    )?;
    // Names come from file names and versions from the plugins: both shown inert.
    for row in &rows {
        writeln!(
            out,
            "{:<12} {:<10} {:<8} {:<9} {}",
            inert(&row.name),
            inert(&row.version),
            inert(&row.api_version),
            row.status,
            inert(&row.path)
        )?;
    }
    Ok(())
}
