//! `banger plugin list`: what the loader finds, what shadows what, and what fails to load.

use anyhow::Result;
use serde::Serialize;

use crate::{
    cli::PluginCommand,
    plugins,
    ui::output::{print_json, print_table},
    ui::text::say,
};

/// Whether a plugin file was loaded.
#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Status {
    Loaded,
    /// Another file of the same name came first (`shadowed_by`).
    Shadowed,
    /// It could not be loaded (`error`).
    Failed,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Loaded => "loaded",
            Self::Shadowed => "shadowed",
            Self::Failed => "failed",
        }
    }
}

#[derive(Serialize)]
struct PluginRow {
    name: String,
    version: String,
    api_version: String,
    path: String,
    description: String,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    shadowed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// What to do about the failure, where the loader knows (since 0.2: added, as docs/json.md
    /// allows).
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
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
            status: Status::Loaded,
            shadowed_by: None,
            error: None,
            hint: None,
        })
        .collect();
    for (path, name, winner) in &report.shadowed {
        rows.push(PluginRow {
            name: name.clone(),
            version: String::new(),
            api_version: String::new(),
            path: path.display().to_string(),
            description: String::new(),
            status: Status::Shadowed,
            shadowed_by: Some(winner.display().to_string()),
            error: None,
            hint: None,
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
                status: Status::Failed,
                shadowed_by: None,
                error: Some(failure.to_string()),
                hint: failure.hint(),
            });
        }
        return print_json(&rows);
    }
    report.failed.iter().for_each(plugins::warn_failed);
    if rows.is_empty() {
        say!("no plugins found; searched:")?;
        for dir in plugins::search_path() {
            say!("  {}", dir.display())?;
        }
        return Ok(());
    }
    let table: Vec<[String; 5]> = rows
        .into_iter()
        .map(|row| {
            [
                row.name,
                row.version,
                row.api_version,
                row.status.label().to_owned(),
                row.path,
            ]
        })
        .collect();
    print_table(["NAME", "VERSION", "API", "STATUS", "PATH"], &table)
}
