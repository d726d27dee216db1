//! Usage rules clap cannot express: flags that the chosen command would accept and then
//! ignore are usage errors (status 2), so that no flag is silently discarded.

use clap::{parser::ValueSource, ArgMatches};

use super::UpdateFrom;

/// Flags that mean nothing to the command they were typed into. Only what the user typed
/// counts: clap's `conflicts_with` also counts values from the environment (such as an
/// exported `BANGER_MIRROR_URL`), which must never make a command unusable.
pub(super) fn ignored_flags(matches: &ArgMatches) -> Result<(), String> {
    let typed = |m: &ArgMatches, flags: &[(&str, &'static str)]| {
        flags
            .iter()
            .find(|(id, _)| m.value_source(id) == Some(ValueSource::CommandLine))
            .map(|(_, flag)| *flag)
    };
    let Some(("kernel", kernel)) = matches.subcommand() else {
        return Ok(());
    };
    match kernel.subcommand() {
        Some(("list", list)) if !list.get_flag("available") => {
            if let Some(flag) = typed(list, SOURCE_FLAGS) {
                return Err(format!(
                    "{flag} needs --available: without it `kernel list` lists the installed kernels"
                ));
            }
        }
        Some(("publish", publish)) if publish.contains_id("to") => {
            let rclone = [
                ("remote", "--remote"),
                ("bucket", "--bucket"),
                ("base_url", "--base-url"),
            ];
            if let Some(flag) = typed(publish, &rclone) {
                return Err(format!(
                    "{flag} is for uploads with rclone; it means nothing with --to oci://"
                ));
            }
        }
        Some(("catalog", catalog)) => {
            if let Some(("update", update)) = catalog.subcommand() {
                let source = update.get_one::<UpdateFrom>("source").copied();
                for (id, flag, needs) in [
                    ("url", "--url", UpdateFrom::Catalog),
                    ("mirror", "--mirror", UpdateFrom::Mirror),
                    ("dir", "--dir", UpdateFrom::Offline),
                ] {
                    if source != Some(needs) && typed(update, &[(id, flag)]).is_some() {
                        let wanted =
                            clap::ValueEnum::to_possible_value(&needs).expect("not skipped");
                        return Err(format!("{flag} goes with --source {}", wanted.get_name()));
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// [`SourceArgs`]' flags, by clap id.
const SOURCE_FLAGS: &[(&str, &str)] = &[
    ("source", "--source"),
    ("options", "--opt"),
    ("mirror", "--mirror"),
    ("dir", "--dir"),
    ("oci", "--oci"),
];
