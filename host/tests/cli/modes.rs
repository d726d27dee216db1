//! The state directory's modes: on a fresh state, every directory banger makes is 0700 and no
//! link, after `kernel import`, `kernel catalog update` and `kernel pull` alike; the one
//! exception is an installed kernel's own tree, which the bundle layout fixes at 0755. And
//! `kernel gc` removes the `.catalog-*` staging directory a killed update leaves, unless an
//! update holds `catalog.lock`.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use serde_json::{json, Value};

use crate::{
    signed::{minisign_keypair, minisign_sign},
    util::TestContext,
};

/// Every directory below `root` (itself included) with its mode, and every link. Installed
/// kernel trees (`kernels/<name>/`, not banger's dot-directories) are returned apart.
struct Walk {
    private: Vec<(PathBuf, u32)>,
    kernel_trees: Vec<(PathBuf, u32)>,
    links: Vec<PathBuf>,
}

fn walk(root: &Path) -> Walk {
    let mut walk = Walk {
        private: Vec::new(),
        kernel_trees: Vec::new(),
        links: Vec::new(),
    };
    visit(root, root, &mut walk);
    walk
}

fn visit(root: &Path, path: &Path, walk: &mut Walk) {
    let metadata = fs::symlink_metadata(path).unwrap();
    let relative = path.strip_prefix(root).unwrap();
    let mut parts = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy());
    let in_kernel_tree = parts.next().as_deref() == Some("kernels")
        && parts.next().is_some_and(|name| !name.starts_with('.'));
    if metadata.file_type().is_symlink() {
        // Symlinks are allowed only inside an installed kernel's modules/ tree.
        if !(in_kernel_tree
            && relative
                .components()
                .nth(2)
                .is_some_and(|c| c.as_os_str() == "modules"))
        {
            walk.links.push(path.to_owned());
        }
        return;
    }
    if !metadata.is_dir() {
        return;
    }
    let mode = metadata.permissions().mode() & 0o7777;
    if in_kernel_tree {
        walk.kernel_trees.push((path.to_owned(), mode));
    } else {
        walk.private.push((path.to_owned(), mode));
    }
    for entry in fs::read_dir(path).unwrap() {
        visit(root, &entry.unwrap().path(), walk);
    }
}

/// Assert the modes below the state root `root` after `what`; `expected` are directories that
/// must be among those checked.
fn assert_private(root: &Path, what: &str, expected: &[&str]) {
    let walk = walk(root);
    let wrong: Vec<_> = walk.private.iter().filter(|(_, m)| *m != 0o700).collect();
    assert!(wrong.is_empty(), "{what}: not 0700: {wrong:?}");
    let wrong: Vec<_> = walk
        .kernel_trees
        .iter()
        .filter(|(_, m)| *m != 0o755)
        .collect();
    assert!(
        wrong.is_empty(),
        "{what}: an installed tree is not 0755: {wrong:?}"
    );
    assert!(walk.links.is_empty(), "{what}: links: {:?}", walk.links);
    for dir in expected {
        let dir = root.join(dir);
        assert!(
            walk.private.iter().any(|(p, _)| *p == dir),
            "{what}: `{}` was not made; made: {:?}",
            dir.display(),
            walk.private
        );
    }
}

/// Point `t` at a state root that does not exist yet (below a parent that does).
fn fresh_state(t: &mut TestContext, name: &str) -> PathBuf {
    let root = t.path(&format!("fresh-{name}/state"));
    fs::create_dir_all(root.parent().unwrap()).unwrap();
    t.env("BANGER_STATE_DIR", root.display().to_string());
    t.env("BANGER_KERNELS_DIR", "");
    root
}

/// A signed schema 2 catalog of `entries` in `www/`, and the machine trusting its key.
fn signed_catalog(
    t: &mut TestContext,
    server: &banger_testkit::server::Server,
    entries: &[&Value],
) {
    let (public, secret) = minisign_keypair(t, "modes");
    t.env("BANGER_CATALOG", "");
    t.env("BANGER_CATALOG_KEYS", public.display().to_string());
    t.env("BANGER_CATALOG_URL", server.url("catalog.json"));
    let file = t.path("www/catalog.json");
    let text =
        json!({"schema": 2, "serial": 1, "expires": "2099-01-01T00:00:00Z", "entries": entries});
    fs::write(&file, text.to_string()).unwrap();
    minisign_sign(&secret, &file, false);
}

#[test]
fn every_state_directory_is_private_after_import_update_and_pull() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let void = t.publish("void", "void-6.12", "6.12.3", &server);

    // import, on a fresh state: the plugin's scratch directory (downloads/) is the host's.
    let root = fresh_state(&mut t, "import");
    let dir = crate::import::build_dir(&t, "b", "6.12.3");
    t.ok(&crate::import::import_args("void-6.12", &dir, "x86_64"));
    assert_private(
        &root,
        "import",
        &["", "downloads", "kernels", "kernels/.locks"],
    );

    // catalog update, on a fresh state: catalog/ was the update's staging directory.
    let root = fresh_state(&mut t, "update");
    signed_catalog(&mut t, &server, &[&void.entry]);
    t.ok(&["kernel", "catalog", "update"]);
    assert_private(&root, "catalog update", &["", "catalog"]);

    // pull, on a fresh state, from the stored catalog; then register an image.
    let pulled = fresh_state(&mut t, "pull");
    t.ok(&["kernel", "catalog", "update"]);
    t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);
    assert_private(
        &pulled,
        "pull",
        &["", "catalog", "downloads", "kernels", "kernels/.locks"],
    );
    assert!(pulled.join("kernels/void-6.12/modules").is_dir());
    let rootfs = t.path("vm.ext4");
    fs::write(&rootfs, [0u8; 512]).unwrap();
    t.ok(&[
        "image",
        "register",
        "--name",
        "vm",
        "--rootfs",
        rootfs.to_str().unwrap(),
        "--kernel-ref",
        "void-6.12",
    ]);
    assert_private(&pulled, "image register", &["images"]);
}

#[test]
fn gc_removes_a_killed_updates_staging_directory_and_nothing_else() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let void = t.publish("void", "void-6.12", "6.12.3", &server);
    signed_catalog(&mut t, &server, &[&void.entry]);
    t.ok(&["kernel", "catalog", "update"]);
    t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);
    let state = t.path("state");

    // What an update killed between its staging and its swap leaves: a private directory
    // beside catalog/ holding the new catalog's files.
    let leftover = state.join(".catalog-Xk3Lq9");
    fs::create_dir(&leftover).unwrap();
    fs::set_permissions(&leftover, fs::Permissions::from_mode(0o700)).unwrap();
    for name in ["catalog.json", "catalog.json.minisig", "source"] {
        fs::copy(state.join("catalog").join(name), leftover.join(name)).unwrap();
    }
    let listing = |state: &Path| {
        let mut names: Vec<String> = walkdir(state)
            .into_iter()
            .map(|p| p.strip_prefix(state).unwrap().display().to_string())
            .collect();
        names.sort();
        names
    };
    let before = listing(&state);

    // While an update holds catalog.lock, the directory may be its own: gc keeps it.
    let lock = fs::File::options()
        .write(true)
        .open(state.join("catalog.lock"))
        .unwrap();
    lock.lock().unwrap();
    let kept: Value = serde_json::from_str(&t.ok(&["kernel", "gc", "--json"])).unwrap();
    assert_eq!(kept["staging_directories"], 0, "{kept}");
    assert_eq!(listing(&state), before);
    drop(lock);

    // Once no update runs, it is stale: gc removes it and its bytes, and nothing else.
    let bytes: u64 = ["catalog.json", "catalog.json.minisig", "source"]
        .iter()
        .map(|n| fs::metadata(leftover.join(n)).unwrap().len())
        .sum();
    let collected: Value = serde_json::from_str(&t.ok(&["kernel", "gc", "--json"])).unwrap();
    assert_eq!(
        (
            collected["staging_directories"].clone(),
            collected["bytes_freed"].clone()
        ),
        (json!(1), json!(bytes)),
        "{collected}"
    );
    assert!(!leftover.exists());
    let expected: Vec<String> = before
        .into_iter()
        .filter(|n| !n.starts_with(".catalog-"))
        .collect();
    assert_eq!(listing(&state), expected);
    let status: Value =
        serde_json::from_str(&t.ok(&["kernel", "catalog", "status", "--json"])).unwrap();
    assert_eq!(
        (status["origin"].clone(), status["serial"].clone()),
        (json!("updated"), json!(1))
    );
    t.ok(&["kernel", "show", "void-6.12"]);
}

/// Every path below `dir`, not following links.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if fs::symlink_metadata(&path).unwrap().is_dir() {
            paths.extend(walkdir(&path));
        }
        paths.push(path);
    }
    paths
}
