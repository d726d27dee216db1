//! `banger kernel rm NAME`: remove an installed kernel; refused while images boot it, unless
//! `--force`.

use anyhow::Result;
use banger_catalog::KernelName;

use crate::{
    store::images::Images,
    store::kernels::Kernels,
    ui::hint::Hinted,
    ui::text::{self, say},
};

pub fn run(kernels: &Kernels, images: &Images, name: &KernelName, force: bool) -> Result<()> {
    // Checked before locking too, so that removing nothing creates no state directories.
    if !kernels.is_present(name) {
        return Err(Kernels::not_installed(name));
    }
    let lock = kernels.lock(name)?;
    let users = images.referencing(name)?;
    if !users.is_empty() && !force {
        let quoted: Vec<String> = users.iter().map(|u| format!("`{u}`")).collect();
        return Err(Hinted::error(
            format!(
                "kernel `{name}` is used by image{} {}",
                if users.len() == 1 { "" } else { "s" },
                quoted.join(", ")
            ),
            format!(
                "remove the images first (banger image rm {}), or pass --force",
                crate::flows::pull::list(&users, " ")
            ),
        ));
    }
    if !kernels.remove(&lock)? {
        return Err(Kernels::not_installed(name));
    }
    say!("removed kernel `{name}`")?;
    if !users.is_empty() {
        text::warn(format_args!(
            "image(s) {} refer to the removed kernel until it is installed again",
            crate::flows::pull::list(&users, ", ")
        ));
    }
    Ok(())
}
