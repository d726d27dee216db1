//! `banger kernel gc`: remove what interrupted pulls and catalog updates left behind and no
//! running banger holds.

use anyhow::Result;
use serde::Serialize;

use crate::{
    store::kernels::Kernels,
    trust::catalog::Store,
    ui::output::{human_size, print_json},
    ui::text::say,
};

#[derive(Serialize)]
struct Collected {
    partial_downloads: u64,
    staging_directories: u64,
    bytes_freed: u64,
}

pub fn run(kernels: &Kernels, json: bool) -> Result<()> {
    let (partial_downloads, partial_bytes) = kernels.downloads().gc()?;
    let (kernel_staging, kernel_bytes) = kernels.gc()?;
    let (catalog_staging, catalog_bytes) = Store::new(kernels.state()).gc()?;
    let staging_directories = kernel_staging + catalog_staging;
    let collected = Collected {
        partial_downloads,
        staging_directories,
        bytes_freed: partial_bytes + kernel_bytes + catalog_bytes,
    };
    if json {
        return print_json(&collected);
    }
    say!(
        "removed {partial_downloads} partial download(s) and {staging_directories} staging director(ies), freeing {}",
        human_size(collected.bytes_freed)
    )?;
    Ok(())
}
