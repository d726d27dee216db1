//! The archive's own tree, built as entries arrive, within one memory budget.
//!
//! It catches duplicate entries and entries that lie below a symlink or a file, and it resolves
//! symlink chains against the archive itself, never against the disk.
//!
//! What it keeps is compact and counted: one node per path component (its name in a shared
//! arena, a parent link, its kind), one record per symlink (its target in a second arena), and
//! a hash table of children. Every container is grown under [`Tree::new`]'s budget: before one
//! would grow past it, the entry is refused. The count is of the containers' capacities, so it
//! is what the allocator really holds (the hash table's share is its bucket count times the
//! slot size, as hashbrown lays it out).
//!
//! Work per entry does not depend on what came before: a new entry starts from the directory of
//! the previous one where they share a prefix, and each component is one hash lookup. Symlink
//! resolution resolves each link once, remembers the result, and follows chains on an explicit
//! stack (at most [`MAX_SYMLINK_HOPS`] deep), so many links and long chains cost time linear in
//! their targets' bytes.

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use crate::{layout::BundlePath, BundleError};

/// How many symlinks one resolution may follow (the kernel's own limit).
const MAX_SYMLINK_HOPS: u32 = 40;

/// A node of the tree: an index into its arena.
pub(crate) type NodeId = u32;

/// The archive root, a directory that is always there.
pub(crate) const ROOT: NodeId = 0;

/// What an archive entry is, as it is added.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Entry<'a> {
    File,
    Dir,
    /// A symlink and its target text (checked by [`crate::layout::symlink_target`]).
    Symlink(&'a str),
}

/// What the archive holds at a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    /// A directory; `explicit` if the archive had an entry for it, not just entries below it.
    Dir {
        explicit: bool,
    },
    /// A symlink: an index into the link records.
    Symlink(u32),
}

struct Node {
    parent: NodeId,
    name_start: u32,
    /// Components are at most 255 bytes ([`crate::layout::MAX_COMPONENT_LEN`]).
    name_len: u8,
    /// Whether it is `modules` or lies below it.
    in_modules: bool,
    /// Whether the directory exists on disk (extraction's business, kept here to need no set).
    created: bool,
    kind: Kind,
}

struct Link {
    node: NodeId,
    target_start: u32,
    target_len: u32,
    state: LinkState,
}

#[derive(Clone, Copy)]
enum LinkState {
    Unresolved,
    InProgress,
    Resolved { to: NodeId, hops: u32 },
}

pub(crate) struct Tree {
    nodes: Vec<Node>,
    names: String,
    children: HashTable<NodeId>,
    hasher: RandomState,
    links: Vec<Link>,
    targets: String,
    /// The previous entry's directory and its ancestors, outermost first (without the root).
    last_dir: Vec<NodeId>,
    budget: u64,
    /// Directories so far, explicit or not, and how many may be made.
    dirs: u64,
    max_dirs: u64,
}

impl Tree {
    /// An empty tree that keeps at most `budget` bytes and holds at most `max_dirs`
    /// directories: a deep name makes one directory per component, so without their own cap
    /// a few bytes of archive could ask for a great many.
    pub(crate) fn new(budget: u64, max_dirs: u64) -> Self {
        Self {
            nodes: vec![Node {
                parent: ROOT,
                name_start: 0,
                name_len: 0,
                in_modules: false,
                created: true,
                kind: Kind::Dir { explicit: true },
            }],
            names: String::new(),
            children: HashTable::new(),
            hasher: RandomState::new(),
            links: Vec::new(),
            targets: String::new(),
            last_dir: Vec::new(),
            budget,
            dirs: 0,
            max_dirs,
        }
    }

    /// Record an entry, refusing duplicates, anything below a symlink or a file, and anything
    /// that would take the tree past its budget.
    pub(crate) fn add(
        &mut self,
        path: &BundlePath,
        entry: Entry<'_>,
    ) -> Result<NodeId, BundleError> {
        let (dir, leaf) = path
            .as_str()
            .rsplit_once('/')
            .unwrap_or(("", path.as_str()));
        let mut at = ROOT;
        let mut depth = 0;
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            let level = depth;
            depth += 1;
            let cached = self.last_dir.get(level).copied();
            at = match cached.filter(|&id| self.name(id) == part) {
                Some(id) => id,
                None => {
                    self.last_dir.truncate(level);
                    let id = self.enter_dir(at, part, path)?;
                    self.last_dir.push(id);
                    id
                }
            };
        }
        self.last_dir.truncate(depth);
        match (self.child(at, leaf), entry) {
            (None, entry) => {
                let kind = match entry {
                    Entry::File => Kind::File,
                    Entry::Dir => Kind::Dir { explicit: true },
                    Entry::Symlink(_) => Kind::Symlink(self.links.len() as u32),
                };
                let target = match entry {
                    Entry::Symlink(target) => Some(target),
                    _ => None,
                };
                self.insert(at, leaf, kind, target, path)
            }
            (Some(id), Entry::Dir) if self.kind(id) == (Kind::Dir { explicit: false }) => {
                self.nodes[id as usize].kind = Kind::Dir { explicit: true };
                Ok(id)
            }
            (Some(_), _) => Err(BundleError::rejected(path.as_str(), "duplicate entry")),
        }
    }

    /// The directory `name` in `at`, made implicit if the archive has no entry for it yet.
    fn enter_dir(
        &mut self,
        at: NodeId,
        name: &str,
        path: &BundlePath,
    ) -> Result<NodeId, BundleError> {
        match self.child(at, name) {
            Some(id) => match self.kind(id) {
                Kind::Dir { .. } => Ok(id),
                Kind::Symlink(_) => Err(BundleError::rejected(
                    path.as_str(),
                    format!("it lies below the symlink `{}`", self.path(id)),
                )),
                Kind::File => Err(BundleError::rejected(
                    path.as_str(),
                    format!("it lies below the file `{}`", self.path(id)),
                )),
            },
            None => self.insert(at, name, Kind::Dir { explicit: false }, None, path),
        }
    }

    fn insert(
        &mut self,
        parent: NodeId,
        name: &str,
        kind: Kind,
        target: Option<&str>,
        path: &BundlePath,
    ) -> Result<NodeId, BundleError> {
        if matches!(kind, Kind::Dir { .. }) {
            self.dirs += 1;
            if self.dirs > self.max_dirs {
                return Err(BundleError::rejected(
                    path.as_str(),
                    format!(
                        "it would make more than {} directories, the limit",
                        self.max_dirs
                    ),
                ));
            }
        }
        self.reserve(name.len(), target.map(str::len), path)?;
        let id = self.nodes.len() as NodeId;
        let in_modules =
            self.nodes[parent as usize].in_modules || (parent == ROOT && name == "modules");
        self.nodes.push(Node {
            parent,
            name_start: self.names.len() as u32,
            name_len: name.len() as u8,
            in_modules,
            created: false,
            kind,
        });
        self.names.push_str(name);
        if let Some(target) = target {
            self.links.push(Link {
                node: id,
                target_start: self.targets.len() as u32,
                target_len: target.len() as u32,
                state: LinkState::Unresolved,
            });
            self.targets.push_str(target);
        }
        let hash = self.hasher.hash_one((parent, name));
        let (nodes, names, hasher) = (&self.nodes, &self.names, &self.hasher);
        self.children.insert_unique(hash, id, |&other| {
            hasher.hash_one((nodes[other as usize].parent, node_name(nodes, names, other)))
        });
        Ok(id)
    }

    /// Grow every container for one more node (and link), refusing if that would pass the
    /// budget. Growth is doubling, as `Vec` and hashbrown do it, so the projection is what the
    /// allocator will be asked for.
    fn reserve(
        &mut self,
        name: usize,
        target: Option<usize>,
        path: &BundlePath,
    ) -> Result<(), BundleError> {
        let grown = |len: usize, capacity: usize, more: usize| {
            if len + more > capacity {
                (capacity * 2).max(len + more)
            } else {
                capacity
            }
        };
        let links = usize::from(target.is_some());
        let projected = table_bytes(grown(self.children.len(), self.children.capacity(), 1))
            + grown(self.nodes.len(), self.nodes.capacity(), 1) * size_of::<Node>()
            + grown(self.names.len(), self.names.capacity(), name)
            + grown(self.links.len(), self.links.capacity(), links) * size_of::<Link>()
            + grown(
                self.targets.len(),
                self.targets.capacity(),
                target.unwrap_or(0),
            );
        if projected as u64 > self.budget {
            return Err(BundleError::rejected(
                path.as_str(),
                format!(
                    "the paths, link targets and directories kept for this bundle would exceed the extractor's budget of {} bytes",
                    self.budget
                ),
            ));
        }
        self.nodes.reserve(1);
        self.names.reserve(name);
        self.links.reserve(links);
        self.targets.reserve(target.unwrap_or(0));
        let (nodes, names, hasher) = (&self.nodes, &self.names, &self.hasher);
        self.children.reserve(1, |&other| {
            hasher.hash_one((nodes[other as usize].parent, node_name(nodes, names, other)))
        });
        Ok(())
    }

    /// What the containers hold now, in bytes.
    #[cfg(test)]
    fn retained(&self) -> usize {
        table_bytes(self.children.capacity())
            + self.nodes.capacity() * size_of::<Node>()
            + self.names.capacity()
            + self.links.capacity() * size_of::<Link>()
            + self.targets.capacity()
    }

    /// The child `name` of `parent`, if the archive has one.
    pub(crate) fn child(&self, parent: NodeId, name: &str) -> Option<NodeId> {
        let hash = self.hasher.hash_one((parent, name));
        self.children
            .find(hash, |&id| {
                self.nodes[id as usize].parent == parent && self.name(id) == name
            })
            .copied()
    }

    pub(crate) fn kind(&self, id: NodeId) -> Kind {
        self.nodes[id as usize].kind
    }

    pub(crate) fn parent(&self, id: NodeId) -> NodeId {
        self.nodes[id as usize].parent
    }

    /// The node's own name (empty for the root).
    pub(crate) fn name(&self, id: NodeId) -> &str {
        node_name(&self.nodes, &self.names, id)
    }

    /// The node's path from the root, for messages.
    pub(crate) fn path(&self, id: NodeId) -> String {
        let mut parts = Vec::new();
        let mut at = id;
        while at != ROOT {
            parts.push(self.name(at));
            at = self.parent(at);
        }
        parts.reverse();
        parts.join("/")
    }

    /// Whether the directory exists on disk yet; the root always does.
    pub(crate) fn created(&self, id: NodeId) -> bool {
        self.nodes[id as usize].created
    }

    pub(crate) fn mark_created(&mut self, id: NodeId) {
        self.nodes[id as usize].created = true;
    }

    /// How many symlinks the archive has.
    pub(crate) fn link_count(&self) -> usize {
        self.links.len()
    }

    /// The `index`th symlink in archive order: its node and its target.
    pub(crate) fn link(&self, index: usize) -> (NodeId, &str) {
        let link = &self.links[index];
        (link.node, self.link_target(link))
    }

    fn link_target(&self, link: &Link) -> &str {
        let start = link.target_start as usize;
        &self.targets[start..start + link.target_len as usize]
    }

    fn is_dir(&self, id: NodeId) -> bool {
        matches!(self.kind(id), Kind::Dir { .. })
    }

    /// Resolve the symlink at `node` through the archive's tree (a node that is not a symlink
    /// resolves to itself). The result must exist in the archive and lie inside `modules/`; no
    /// step may climb above the archive root, and at most [`MAX_SYMLINK_HOPS`] links may be
    /// followed. Each link is resolved once: later calls reuse the result.
    pub(crate) fn resolve(&mut self, node: NodeId) -> Result<NodeId, String> {
        let Kind::Symlink(link) = self.kind(node) else {
            return Ok(node);
        };
        if let LinkState::Resolved { to, .. } = self.links[link as usize].state {
            return Ok(to);
        }
        let mut stack = vec![self.start(link)];
        loop {
            let frame = stack
                .last_mut()
                .expect("the stack holds the link being resolved");
            match self.step(frame)? {
                Step::Next => {}
                // Every frame on the stack adds at least one hop to the first one's count, so
                // a deeper stack means that link needs too many: this also bounds the stack.
                Step::Enter(_) if stack.len() as u32 >= MAX_SYMLINK_HOPS => {
                    return Err("too many levels of symlinks".into())
                }
                Step::Enter(sub) => stack.push(self.start(sub)),
                Step::Done(to) => {
                    let done = stack.pop().expect("a frame was just stepped");
                    self.links[done.link as usize].state = LinkState::Resolved {
                        to,
                        hops: done.hops,
                    };
                    match stack.last_mut() {
                        None => return Ok(to),
                        Some(waiting) => {
                            let more = waiting.more_after_link;
                            self.arrive(waiting, to, done.hops, more)?;
                        }
                    }
                }
            }
        }
    }

    fn start(&mut self, link: u32) -> Frame {
        let record = &mut self.links[link as usize];
        record.state = LinkState::InProgress;
        let node = record.node;
        Frame {
            link,
            pos: 0,
            at: self.parent(node),
            hops: 1,
            done: false,
            more_after_link: false,
        }
    }

    /// Take one component of the frame's target.
    fn step(&self, frame: &mut Frame) -> Result<Step, String> {
        let target = self.link_target(&self.links[frame.link as usize]);
        if frame.done {
            if !self.nodes[frame.at as usize].in_modules {
                return Err(format!(
                    "its target `{target}` resolves to `{}`, outside `modules/`",
                    self.path(frame.at)
                ));
            }
            return Ok(Step::Done(frame.at));
        }
        let rest = &target[frame.pos..];
        let (part, more) = match rest.split_once('/') {
            Some((part, _)) => (part, true),
            None => (rest, false),
        };
        frame.pos += part.len() + usize::from(more);
        frame.done = !more;
        match part {
            "" | "." => {}
            ".." => {
                if frame.at == ROOT {
                    return Err(format!("its target `{target}` climbs out of the archive"));
                }
                frame.at = self.parent(frame.at);
            }
            name => match self.child(frame.at, name) {
                None => {
                    let missing = match self.path(frame.at) {
                        dir if dir.is_empty() => name.to_owned(),
                        dir => format!("{dir}/{name}"),
                    };
                    return Err(if more {
                        not_a_directory(target, &missing)
                    } else if missing.split('/').next() != Some("modules") {
                        format!("its target `{target}` resolves to `{missing}`, outside `modules/`")
                    } else {
                        format!("its target `{target}` does not exist in the archive")
                    });
                }
                Some(id) => match self.kind(id) {
                    Kind::Symlink(sub) => match self.links[sub as usize].state {
                        LinkState::Resolved { to, hops } => self.arrive(frame, to, hops, more)?,
                        LinkState::InProgress => return Err("too many levels of symlinks".into()),
                        LinkState::Unresolved => {
                            frame.more_after_link = more;
                            return Ok(Step::Enter(sub));
                        }
                    },
                    _ => {
                        frame.at = id;
                        // Anything after this step (a name, `.`, `..` or a trailing slash)
                        // needs a directory here, as the kernel's own path walk does.
                        if more && !self.is_dir(id) {
                            return Err(not_a_directory(target, &self.path(id)));
                        }
                    }
                },
            },
        }
        Ok(Step::Next)
    }

    /// Continue `frame` from the resolved link it went through.
    fn arrive(&self, frame: &mut Frame, to: NodeId, hops: u32, more: bool) -> Result<(), String> {
        frame.at = to;
        frame.hops += hops;
        if frame.hops > MAX_SYMLINK_HOPS {
            return Err("too many levels of symlinks".into());
        }
        if more && !self.is_dir(to) {
            let target = self.link_target(&self.links[frame.link as usize]);
            return Err(not_a_directory(target, &self.path(to)));
        }
        Ok(())
    }
}

/// One link being resolved: where in its target, and where in the tree, it has got to.
struct Frame {
    link: u32,
    /// Byte offset of the next component in the target.
    pos: usize,
    at: NodeId,
    /// Links followed so far, this one included.
    hops: u32,
    /// Whether every component has been taken.
    done: bool,
    /// Whether the component that named the link being entered had more after it.
    more_after_link: bool,
}

enum Step {
    Next,
    /// Resolve this link first, then continue.
    Enter(u32),
    Done(NodeId),
}

fn node_name<'a>(nodes: &[Node], names: &'a str, id: NodeId) -> &'a str {
    let node = &nodes[id as usize];
    let start = node.name_start as usize;
    &names[start..start + usize::from(node.name_len)]
}

/// Bytes of a hashbrown table able to hold `capacity` node ids: 8 buckets per 7 items, each a
/// slot and a control byte.
fn table_bytes(capacity: usize) -> usize {
    capacity.div_ceil(7) * 8 * (size_of::<NodeId>() + 1)
}

fn not_a_directory(target: &str, through: &str) -> String {
    format!(
        "its target `{target}` goes through `{through}`, which is not a directory in the archive"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str) -> BundlePath {
        BundlePath::parse(name.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn what_is_kept_never_passes_the_budget() {
        let budget = 64 << 10;
        let mut tree = Tree::new(budget, u64::MAX);
        let mut added = 0;
        let err = loop {
            let name = format!("modules/{}/l{added}", "d".repeat(added % 200 + 1));
            match tree.add(&path(&name), Entry::Symlink("../x")) {
                Ok(_) => added += 1,
                Err(err) => break err,
            }
            assert!(
                tree.retained() as u64 <= budget,
                "{} bytes",
                tree.retained()
            );
        };
        assert!(added > 100, "only {added} entries fit");
        assert!(err.to_string().contains("budget of 65536 bytes"), "{err}");
    }

    #[test]
    fn a_link_resolved_once_is_not_walked_again() {
        let mut tree = Tree::new(1 << 20, u64::MAX);
        tree.add(&path("modules/f"), Entry::File).unwrap();
        let first = tree.add(&path("modules/a"), Entry::Symlink("f")).unwrap();
        let second = tree.add(&path("modules/b"), Entry::Symlink("a")).unwrap();
        let file = tree.child(tree.parent(first), "f").unwrap();
        assert_eq!(tree.resolve(second), Ok(file));
        assert!(matches!(
            tree.links[0].state,
            LinkState::Resolved { to, hops: 1 } if to == file
        ));
        assert!(matches!(
            tree.links[1].state,
            LinkState::Resolved { hops: 2, .. }
        ));
        assert_eq!(tree.resolve(first), Ok(file));
    }
}
