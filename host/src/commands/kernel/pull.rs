//! `banger kernel pull NAME`: the trust decision and the install are `crate::flows::pull`'s; the
//! outcome is printed as for `kernel import`.

use anyhow::Result;
use banger_catalog::{Arch, KernelName};

use crate::{
    cli::SourceArgs, flows::pull, store::images::Images, store::kernels::Kernels,
    trust::catalog::Trusted,
};

/// What the user asked for.
pub struct Request {
    pub name: KernelName,
    pub arch: Option<Arch>,
    /// Replace an install with a different sha256.
    pub force: bool,
    /// Install an entry the trusted catalog does not list.
    pub allow_unverified: bool,
}

pub fn run(
    kernels: &Kernels,
    images: &Images,
    request: Request,
    args: &SourceArgs,
    json: bool,
) -> Result<()> {
    let arch = request.arch.unwrap_or_else(Arch::host);
    let trusted = Trusted::load(kernels.state())?;
    let source = super::open_source(args, kernels, &trusted)?;
    let unverified = if request.allow_unverified {
        pull::Unverified::Allowed
    } else {
        pull::Unverified::AsPolicy
    };
    let pull = pull::Request {
        name: &request.name,
        arch: &arch,
        force: request.force,
        unverified,
    };
    let outcome = pull::run(kernels, images, &source, &trusted, &pull)?;
    super::report_install(kernels, &outcome, json)
}
