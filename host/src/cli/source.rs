//! Which source plugin a command uses, and its options (`--source`, `--opt` and the short
//! forms `--mirror`, `--dir`, `--oci`).

use clap::Args;

/// Which source plugin to use, and its options.
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// The source plugin (see `banger plugin list`): catalog, mirror, offline, oci, or a
    /// third-party one.
    #[arg(long, default_value = "catalog")]
    source: String,
    /// An option for the source plugin, as key=value; repeatable.
    #[arg(long = "opt", value_name = "KEY=VALUE", value_parser = parse_option)]
    options: Vec<(String, String)>,
    /// Short for `--opt mirror=URL` (the mirror source; default $BANGER_MIRROR_URL).
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// Short for `--opt dir=DIR` (the offline source; default $BANGER_OFFLINE_DIR).
    #[arg(long, value_name = "DIR")]
    dir: Option<String>,
    /// Short for `--source oci --opt repo=REGISTRY/REPOSITORY` (default $BANGER_OCI_REPO).
    #[arg(long, value_name = "REGISTRY/REPOSITORY")]
    oci: Option<String>,
}

impl SourceArgs {
    /// The plugin options: every `--opt`, then the short forms.
    pub fn options(&self) -> Vec<(String, String)> {
        let mut options = self.options.clone();
        options.extend(self.mirror.clone().map(|url| ("mirror".to_owned(), url)));
        options.extend(self.dir.clone().map(|dir| ("dir".to_owned(), dir)));
        options.extend(self.oci.clone().map(|repo| ("repo".to_owned(), repo)));
        options
    }

    /// The source plugin: `oci` when `--oci` is given without `--source`.
    pub fn source(&self) -> &str {
        match (&self.oci, self.source.as_str()) {
            (Some(_), "catalog") => "oci",
            (_, source) => source,
        }
    }
}

fn parse_option(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not of the form key=value")),
    }
}
