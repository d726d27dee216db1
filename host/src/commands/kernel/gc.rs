//! `banger kernel gc`: remove what interrupted pulls left behind and no running banger holds.

use anyhow::Result;
use serde::Serialize;

use crate::{
    commands::output::{human_size, print_json},
    install::Kernels,
    text::say,
};

#[derive(Serialize)]
struct Collected {
    partial_downloads: u64,
    staging_directories: u64,
    bytes_freed: u64,
}

pub fn run(kernels: &Kernels, json: bool) -> Result<()> {
    let (partial_downloads, partial_bytes) = kernels.downloads().gc()?;
    let (staging_directories, staging_bytes) = kernels.gc()?;
    let collected = Collected {
        partial_downloads,
        staging_directories,
        bytes_freed: partial_bytes + staging_bytes,
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
