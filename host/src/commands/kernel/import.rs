//! `banger kernel import NAME --from DIR`: a build directory or an extracted distro kernel,
//! through the `import` plugin and the same verified install as a pull.

use crate::{
    cli::ImportArgs, flows::pull, plugins, store::images::Images, store::kernels::Kernels,
    trust::catalog::Trusted,
};
use anyhow::{Context, Result};

pub fn run(kernels: &Kernels, images: &Images, args: ImportArgs) -> Result<()> {
    let dir = std::fs::canonicalize(&args.from)
        .with_context(|| format!("cannot read the build directory `{}`", args.from.display()))?;
    let mut options = vec![
        ("dir".to_owned(), dir.display().to_string()),
        ("name".to_owned(), args.name.to_string()),
        ("distro".to_owned(), args.distro),
        ("arch".to_owned(), args.arch.to_string()),
    ];
    options.extend(
        args.kernel_version
            .map(|v| ("kernel_version".to_owned(), v)),
    );
    if let Some(config) = &args.config {
        let config = std::fs::canonicalize(config)
            .with_context(|| format!("cannot read the config `{}`", config.display()))?;
        options.push(("config".to_owned(), config.display().to_string()));
    }
    options.extend(args.description.map(|d| ("description".to_owned(), d)));
    if args.force {
        options.push(("force".to_owned(), "true".to_owned()));
    }
    let trusted = Trusted::load(kernels.state())?;
    let source =
        plugins::open_source("import", &options, &super::host_options(kernels, &trusted)?)?;
    let pull = pull::Request {
        name: &args.name,
        arch: &args.arch,
        force: args.force,
        unverified: pull::Unverified::AsPolicy,
    };
    let outcome = pull::run(kernels, images, &source, &trusted, &pull)?;
    super::report_install(kernels, &outcome, args.json)
}
