//! The bundle layout as an allowlist: which names may appear, and as what.
//!
//! A name is accepted only if it is valid UTF-8, relative, made of normal components (an
//! optional leading `./` aside), and falls under `vmlinux`, `initrd.img`, `config` or `modules/`.
//! `config` is the kernel's `.config`: plain text of at most [`MAX_CONFIG_SIZE`] bytes
//! ([`check_config`]), accepted since banger 0.2.
//! Accepted names are carried as [`BundlePath`], so code past this point never sees a raw name.
//! A name is also at most [`MAX_DEPTH`] components deep: real module trees are under 12 levels,
//! and every later step (the tree, directory handles, symlink resolution) may rely on the bound.

use crate::BundleError;

/// Longest accepted entry name, in bytes.
pub const MAX_NAME_LEN: usize = 1024;
/// Longest accepted single component, in bytes (the usual file-system limit).
pub const MAX_COMPONENT_LEN: usize = 255;
/// Largest accepted `config`: real kernel configs are 100-300 KiB.
pub const MAX_CONFIG_SIZE: u64 = 1 << 20;
/// Most components an accepted name may have.
pub const MAX_DEPTH: usize = 64;

/// A validated entry name: its normal components joined by `/`, without any leading `./` or
/// trailing `/`. One string per name, however deep it is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BundlePath(String);

/// Where an entry sits in the layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// `vmlinux` or `initrd.img`: must be a regular file.
    TopFile,
    /// `config`: a regular file of plain text, at most [`MAX_CONFIG_SIZE`] bytes.
    Config,
    /// `modules` itself: must be a directory.
    ModulesRoot,
    /// Anything below `modules/`: a file, directory or symlink.
    InModules,
}

impl BundlePath {
    /// Validate a raw tar name. `Ok(None)` is the archive root (`./`), which carries nothing.
    pub fn parse(raw: &[u8]) -> Result<Option<Self>, BundleError> {
        let shown = String::from_utf8_lossy(raw);
        let reject = |reason: &str| BundleError::rejected(&shown, reason);
        let name = std::str::from_utf8(raw).map_err(|_| reject("the name is not valid UTF-8"))?;
        if name.len() > MAX_NAME_LEN {
            return Err(reject("the name is too long"));
        }
        if name.contains('\0') {
            return Err(reject("the name contains a NUL byte"));
        }
        if name.contains('\\') {
            return Err(reject("the name contains a backslash"));
        }
        if name.starts_with('/') {
            return Err(reject("absolute names are not allowed"));
        }
        let trimmed = name.strip_suffix('/').unwrap_or(name);
        let mut parts = trimmed.split('/').peekable();
        while parts.peek() == Some(&".") {
            parts.next();
        }
        let mut normal = String::with_capacity(trimmed.len());
        let mut depth = 0;
        for part in parts {
            match part {
                ".." => return Err(reject("`..` components are not allowed")),
                "" | "." => return Err(reject("empty or `.` components are not allowed")),
                part if part.len() > MAX_COMPONENT_LEN => {
                    return Err(reject("a component is too long"))
                }
                part => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(reject(&format!(
                            "the name has more than {MAX_DEPTH} components, the depth limit"
                        )));
                    }
                    if !normal.is_empty() {
                        normal.push('/');
                    }
                    normal.push_str(part);
                }
            }
        }
        if normal.is_empty() {
            return Ok(None);
        }
        let path = Self(normal);
        path.place().ok_or_else(|| {
            reject("only `vmlinux`, `initrd.img`, `config` and `modules/` may appear in a bundle")
        })?;
        Ok(Some(path))
    }

    /// Where this name sits in the layout; `None` if it has no place there.
    pub fn place(&self) -> Option<Place> {
        match self.0.split_once('/') {
            None if self.0 == "vmlinux" || self.0 == "initrd.img" => Some(Place::TopFile),
            None if self.0 == "config" => Some(Place::Config),
            None if self.0 == "modules" => Some(Place::ModulesRoot),
            Some(("modules", _)) => Some(Place::InModules),
            _ => None,
        }
    }

    /// The components, outermost first (at most [`MAX_DEPTH`]).
    pub fn components(&self) -> std::str::Split<'_, char> {
        self.0.split('/')
    }

    /// The name as `/`-separated text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BundlePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Check that `bytes` can be a bundle's `config`: at most [`MAX_CONFIG_SIZE`] bytes of UTF-8
/// text with no control characters but tab, newline and carriage return.
pub fn check_config(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() as u64 > MAX_CONFIG_SIZE {
        return Err(format!(
            "a kernel config holds at most {MAX_CONFIG_SIZE} bytes, this one {}",
            bytes.len()
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "a kernel config is text, and byte {} is not UTF-8",
            e.valid_up_to()
        )
    })?;
    if let Some((at, c)) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(format!(
            "a kernel config is plain text, and byte {at} is the control character {:?}",
            c
        ));
    }
    Ok(())
}

/// Check a symlink's own target text; where it leads is checked later against the tree.
pub(crate) fn symlink_target(raw: &[u8]) -> Result<String, String> {
    let target =
        std::str::from_utf8(raw).map_err(|_| "the symlink target is not valid UTF-8".to_owned())?;
    if target.is_empty() {
        return Err("the symlink target is empty".into());
    }
    if target.starts_with('/') {
        return Err(format!("the symlink target `{target}` is absolute"));
    }
    if target.contains('\0') || target.contains('\\') {
        return Err(format!(
            "the symlink target `{target}` contains a NUL or backslash"
        ));
    }
    if target.len() > MAX_NAME_LEN {
        return Err("the symlink target is too long".into());
    }
    Ok(target.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_layout_names() {
        for (raw, shown) in [
            ("vmlinux", "vmlinux"),
            ("./vmlinux", "vmlinux"),
            ("initrd.img", "initrd.img"),
            ("./config", "config"),
            ("modules/", "modules"),
            ("./modules/6.12.3/kernel/a.ko", "modules/6.12.3/kernel/a.ko"),
            ("modules/..hidden", "modules/..hidden"),
        ] {
            assert_eq!(
                BundlePath::parse(raw.as_bytes())
                    .unwrap()
                    .unwrap()
                    .to_string(),
                shown
            );
        }
        assert_eq!(BundlePath::parse(b"./").unwrap(), None);
        let at_the_limit = deep(MAX_DEPTH);
        let parsed = BundlePath::parse(at_the_limit.as_bytes()).unwrap().unwrap();
        assert_eq!(parsed.components().count(), MAX_DEPTH);
    }

    /// `modules/d/d/…/f`, `depth` components in all.
    fn deep(depth: usize) -> String {
        format!("modules/{}f", "d/".repeat(depth - 2))
    }

    #[test]
    fn rejects_hostile_names() {
        let long = format!("modules/{}", "a".repeat(MAX_COMPONENT_LEN + 1));
        let too_deep = deep(MAX_DEPTH + 1);
        let cases: &[(&[u8], &str)] = &[
            (b"/vmlinux", "absolute"),
            (b"../vmlinux", "`..`"),
            (b"modules/../../etc/passwd", "`..`"),
            (b"modules/a/../b", "`..`"),
            (b"modules\\a", "backslash"),
            (b"modules/a\0b", "NUL"),
            (b"modules/\xff", "UTF-8"),
            (b"modules//a", "empty"),
            (b"modules/./a", "`.`"),
            (b"etc/passwd", "only `vmlinux`"),
            (b".config", "only `vmlinux`"),
            (b"config/x", "only `vmlinux`"),
            (b"vmlinux/x", "only `vmlinux`"),
            (b"System.map", "only `vmlinux`"),
            (long.as_bytes(), "too long"),
            (
                too_deep.as_bytes(),
                "more than 64 components, the depth limit",
            ),
        ];
        for (raw, reason) in cases {
            let err = BundlePath::parse(raw).unwrap_err().to_string();
            assert!(
                err.contains(reason),
                "{:?}: `{err}` should mention {reason}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn a_config_is_capped_plain_text() {
        check_config(b"# comment\r\nCONFIG_A=y\n\tCONFIG_B=\"x\"\n").unwrap();
        check_config(&vec![b'#'; MAX_CONFIG_SIZE as usize]).unwrap();
        for (bytes, reason) in [
            (
                vec![b'#'; MAX_CONFIG_SIZE as usize + 1],
                "at most 1048576 bytes",
            ),
            (b"CONFIG_A=y\n\x7fELF\x02".to_vec(), "control character"),
            (b"CONFIG_A=\0".to_vec(), "control character"),
            (b"CONFIG_A=\x1b[31m".to_vec(), "control character"),
            (b"CONFIG_A=\xff".to_vec(), "byte 9 is not UTF-8"),
        ] {
            let err = check_config(&bytes).unwrap_err();
            assert!(err.contains(reason), "{err}");
        }
    }
}
