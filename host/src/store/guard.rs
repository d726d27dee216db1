//! Who owns a path and who else may write to it: the one check behind the state directory's
//! rules ([`crate::store::state`]) and the plugin loader's ([`crate::plugins`]). Each caller
//! keeps its own rules (which owners it accepts) and its own words for a refusal.

use std::{fs::Metadata, os::unix::fs::MetadataExt};

/// The owners a path may have.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Owners {
    /// Only the user banger runs as.
    Me,
    /// That user, or root (plugins installed system-wide).
    MeOrRoot,
}

/// Why a path is not safe to trust.
pub enum Breach {
    /// It belongs to `uid`, which the rules do not accept; `me` is the caller's uid.
    Owner { uid: u32, me: u32 },
    /// Its group or others may write to it (`mode`, permission bits only).
    Writable { mode: u32 },
}

impl Breach {
    /// Who may write, for a [`Breach::Writable`]: "group and others", "its group", "others".
    pub fn writers(mode: u32) -> &'static str {
        match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (true, true) => "group and others",
            (true, false) => "its group",
            _ => "others",
        }
    }
}

/// Check `metadata` against `owners`, and that neither group nor others may write to it.
pub fn guard(metadata: &Metadata, owners: Owners) -> Result<(), Breach> {
    let me = rustix::process::geteuid().as_raw();
    let uid = metadata.uid();
    if uid != me && !(owners == Owners::MeOrRoot && uid == 0) {
        return Err(Breach::Owner { uid, me });
    }
    let mode = metadata.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(Breach::Writable { mode });
    }
    Ok(())
}
