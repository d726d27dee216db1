//! The archive's own tree, built as entries arrive.
//!
//! It catches duplicate entries and entries that lie below a symlink or a file, and it resolves
//! symlink chains against the archive itself, never against the disk.

use std::collections::HashMap;

use crate::{layout::BundlePath, BundleError};

/// How many symlinks one resolution may follow (the kernel's own limit).
const MAX_SYMLINK_HOPS: usize = 40;

/// What the archive holds at a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    File,
    /// A directory; `explicit` if the archive had an entry for it, not just entries below it.
    Dir {
        explicit: bool,
    },
    Symlink(String),
}

#[derive(Default)]
pub(crate) struct Tree {
    nodes: HashMap<BundlePath, Node>,
}

impl Tree {
    /// Record an entry, refusing duplicates and anything below a symlink or a file.
    pub(crate) fn add(&mut self, path: &BundlePath, node: Node) -> Result<(), BundleError> {
        for ancestor in path.ancestors() {
            match self.nodes.get(&ancestor) {
                Some(Node::Symlink(_)) => {
                    return Err(BundleError::rejected(
                        &path.to_string(),
                        format!("it lies below the symlink `{ancestor}`"),
                    ))
                }
                Some(Node::File) => {
                    return Err(BundleError::rejected(
                        &path.to_string(),
                        format!("it lies below the file `{ancestor}`"),
                    ))
                }
                Some(Node::Dir { .. }) => {}
                None => {
                    self.nodes.insert(ancestor, Node::Dir { explicit: false });
                }
            }
        }
        match (self.nodes.get_mut(path), node) {
            (None, node) => {
                self.nodes.insert(path.clone(), node);
                Ok(())
            }
            (Some(Node::Dir { explicit }), Node::Dir { .. }) if !*explicit => {
                *explicit = true;
                Ok(())
            }
            (Some(_), _) => Err(BundleError::rejected(&path.to_string(), "duplicate entry")),
        }
    }

    /// Whether `components` name a directory of the archive (the root is one).
    fn is_dir(&self, components: &[String]) -> bool {
        components.is_empty()
            || matches!(
                self.nodes
                    .get(&BundlePath::from_components(components.to_vec())),
                Some(Node::Dir { .. })
            )
    }

    pub(crate) fn get(&self, path: &BundlePath) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Resolve the symlink at `link` through the archive's tree. The result must exist in the
    /// archive and lie inside `modules/`; no step may climb above the archive root.
    pub(crate) fn resolve(&self, link: &BundlePath) -> Result<BundlePath, String> {
        let mut hops = 0;
        self.resolve_from(link, &mut hops)
    }

    fn resolve_from(&self, link: &BundlePath, hops: &mut usize) -> Result<BundlePath, String> {
        let Some(Node::Symlink(target)) = self.nodes.get(link) else {
            return Ok(link.clone());
        };
        *hops += 1;
        if *hops > MAX_SYMLINK_HOPS {
            return Err("too many levels of symlinks".into());
        }
        let mut at: Vec<String> = link
            .parent()
            .map(|p| p.components().to_vec())
            .unwrap_or_default();
        let parts: Vec<&str> = target.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            match *part {
                "" | "." => {}
                ".." => {
                    if at.pop().is_none() {
                        return Err(format!("its target `{target}` climbs out of the archive"));
                    }
                }
                name => {
                    at.push(name.to_owned());
                    let here = BundlePath::from_components(std::mem::take(&mut at));
                    at = self.resolve_from(&here, hops)?.components().to_vec();
                    // Anything after this step (a name, `.`, `..` or a trailing slash) needs a
                    // directory here, as the kernel's own path walk does.
                    let more = i + 1 < parts.len();
                    if more && !self.is_dir(&at) {
                        return Err(format!(
                            "its target `{target}` goes through `{}`, which is not a directory in the archive",
                            at.join("/")
                        ));
                    }
                }
            }
        }
        let resolved = BundlePath::from_components(at);
        if resolved.components().first().map(String::as_str) != Some("modules") {
            return Err(format!(
                "its target `{target}` resolves to `{resolved}`, outside `modules/`"
            ));
        }
        if !self.nodes.contains_key(&resolved) {
            return Err(format!(
                "its target `{target}` does not exist in the archive"
            ));
        }
        Ok(resolved)
    }
}
