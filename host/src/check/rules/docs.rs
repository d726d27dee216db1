//! `docs/kernel-check.md` is rendered from the table: a test fails when the page is out of
//! date, and `BANGER_BLESS=1` rewrites it.

use super::*;

/// The rules table as docs/kernel-check.md shows it.
fn rules_markdown() -> String {
    let mut out = String::from(
        "| option | machine | mode | need | needed for | without it | source |\n|---|---|---|---|---|---|---|\n",
    );
    for rule in RULES {
        let option = match rule.subject {
            Subject::Option(option) => format!("`CONFIG_{option}`"),
            Subject::RootFs => "the root file system (`--rootfs-type`, below)".to_owned(),
        };
        let machine = match rule.machines {
            Machines::All => "all",
            Machines::Only(machine) => machine.as_str(),
        };
        let mode = match rule.modes {
            Modes::Both => "both",
            Modes::Only(mode) => mode.as_str(),
        };
        let need = match rule.need {
            Need::Required => "error unless `y`",
            Need::Discovery(Path::Acpi) => "one path `y`: ACPI (with `PCI`)",
            Need::Discovery(Path::Cmdline) => "one path `y`: command line",
            Need::Wanted => "warning unless `y`",
        };
        out.push_str(&format!(
            "| {option} | {machine} | {mode} | {need} | {} | {} | {} |\n",
            rule.needed_for,
            rule.without.replace('|', "\\|"),
            rule.source
        ));
    }
    out
}

fn rootfs_markdown() -> String {
    let mut out = String::from("| `--rootfs-type` | option | module |\n|---|---|---|\n");
    for fs in ROOT_FILE_SYSTEMS {
        out.push_str(&format!(
            "| `{}` | `CONFIG_{}` | `{}` |\n",
            fs.name, fs.option, fs.module
        ));
    }
    out
}

/// docs/kernel-check.md shows the tables above between its markers. Run with
/// `BANGER_BLESS=1` to rewrite them after changing the rules.
#[test]
fn the_docs_render_this_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/kernel-check.md");
    let mut doc = std::fs::read_to_string(&path).unwrap();
    let mut stale = Vec::new();
    for (name, table) in [("rules", rules_markdown()), ("rootfs", rootfs_markdown())] {
        let (begin, end) = (
            format!("<!-- {name}:begin -->\n"),
            format!("<!-- {name}:end -->"),
        );
        let start = doc
            .find(&begin)
            .unwrap_or_else(|| panic!("no {begin:?} in the docs"))
            + begin.len();
        let stop = start
            + doc[start..]
                .find(&end)
                .unwrap_or_else(|| panic!("no {end:?}"));
        if doc[start..stop] != table {
            stale.push(name);
            doc.replace_range(start..stop, &table);
        }
    }
    if std::env::var_os(banger_env::BANGER_BLESS).is_some() {
        std::fs::write(&path, doc).unwrap();
    } else {
        assert!(
            stale.is_empty(),
            "docs/kernel-check.md is out of date ({stale:?}); run with BANGER_BLESS=1"
        );
    }
}
