//! `kernel mirror`, and pulls through the `mirror` source (a real nginx on 127.0.0.1) and the
//! `offline` source (under `unshare -n`, with no network at all).

use std::{
    fs,
    path::{Path, PathBuf},
};

use banger_testkit::{kernel, nginx::Nginx, server::Server, sha256_hex};
use serde_json::Value;

use crate::util::{kernels_listing, stderr, Published, TestContext};

/// `kernel pull NAME --arch x86_64` and `extra`.
fn pull<'a>(name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["kernel", "pull", name, "--arch", "x86_64"];
    args.extend(extra);
    args
}

/// A trusted catalog of two kernels served over HTTPS, and an empty directory to mirror into.
struct Setup {
    t: TestContext,
    server: Server,
    void: Published,
    alpine: Published,
    dir: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let mut t = TestContext::new();
        let server = t.https_server();
        let void = t.publish("void-6.12", "void-6.12", "6.12.3", &server);
        let alpine = t.publish("alpine-6.6", "alpine-6.6", "6.6.1", &server);
        t.write_catalog(&[&alpine.entry, &void.entry]);
        let dir = t.path("mirror");
        Self {
            t,
            server,
            void,
            alpine,
            dir,
        }
    }

    fn dir(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    fn mirror(&self, extra: &[&str]) -> String {
        let mut args = vec!["kernel", "mirror", self.dir(), "--arch", "x86_64"];
        args.extend(extra);
        self.t.ok(&args)
    }

    fn downloads(&self) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.starts_with("GET "))
            .count()
    }
}

#[test]
fn a_mirrored_directory_served_by_nginx_is_a_mirror_and_mirroring_again_downloads_nothing() {
    let s = Setup::new();
    let dry = s.mirror(&["--dry-run"]);
    assert!(
        dry.contains("would add") && dry.contains("void-6.12-x86_64.tar.zst"),
        "{dry}"
    );
    assert!(
        !s.dir.join("catalog.json").exists(),
        "a dry run wrote files"
    );
    assert_eq!(s.downloads(), 0);

    let out = s.mirror(&[]);
    assert_eq!(out.matches("added").count(), 2, "{out}");
    assert_eq!(s.downloads(), 2);
    for p in [&s.void, &s.alpine] {
        assert_eq!(
            sha256_hex(&fs::read(s.dir.join(&p.file)).unwrap()),
            p.entry["sha256"]
        );
    }
    let index: Value =
        serde_json::from_slice(&fs::read(s.dir.join("catalog.json")).unwrap()).unwrap();
    let entries = index["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[1]["url"], s.void.file,
        "URLs are relative to the directory"
    );
    assert_eq!(entries[1]["sha256"], s.void.entry["sha256"]);

    // Again: every bundle is checked on disk and skipped; the server sees no request.
    let again: Value = serde_json::from_str(&s.mirror(&["--json"])).unwrap();
    let actions: Vec<&str> = again["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["skip", "skip"]);
    assert_eq!(s.downloads(), 2, "{:?}", s.server.requests());

    // A partial file is replaced, and only it is downloaded.
    let void_path = s.dir.join(&s.void.file);
    let bytes = fs::read(&void_path).unwrap();
    fs::write(&void_path, &bytes[..bytes.len() / 2]).unwrap();
    let out = s.mirror(&[]);
    assert!(out.contains("replaced") && out.contains("skipped"), "{out}");
    assert_eq!(s.downloads(), 3);
    assert_eq!(fs::read(&void_path).unwrap(), bytes);
    let leftovers: Vec<String> = kernel::list(&s.dir)
        .into_iter()
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // nginx serves the directory; pulling through it gives the same files as the source.
    let nginx = Nginx::serve(&s.dir);
    let listed: Value = serde_json::from_str(&s.t.ok(&[
        "kernel",
        "list",
        "--available",
        "--source",
        "mirror",
        "--mirror",
        &nginx.url(""),
        "--json",
    ]))
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["verified"] == true));
    let out = s.t.ok(&pull(
        "void-6.12",
        &["--source", "mirror", "--mirror", &nginx.url("")],
    ));
    assert!(out.contains("checked against the trusted catalog"), "{out}");
    kernel::assert_same_tree(
        &s.void.tree,
        &s.t.kernels().join("void-6.12"),
        &["manifest.json"],
    );
    let manifest: Value =
        serde_json::from_slice(&fs::read(s.t.kernels().join("void-6.12/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["source"], "mirror");
    assert_eq!(manifest["verified"], true);
    assert_eq!(manifest["url"], nginx.url(&s.void.file));
    assert!(nginx
        .requests()
        .contains(&format!("GET /{} 200", s.void.file)));
    assert_eq!(
        s.downloads(),
        3,
        "the pull went to the source instead of the mirror"
    );
}

#[test]
fn a_mirror_serving_tampered_bytes_is_rejected_naming_its_url() {
    let s = Setup::new();
    s.mirror(&[]);
    let path = s.dir.join(&s.void.file);
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&path, &bytes).unwrap();

    let nginx = Nginx::serve(&s.dir);
    let url = nginx.url("");
    let err = s.t.fails(
        &pull("void-6.12", &["--source", "mirror", "--mirror", &url]),
        &format!(
            "checksum mismatch for kernel `void-6.12` from `{}`",
            nginx.url(&s.void.file)
        ),
    );
    assert!(
        err.contains(s.void.entry["sha256"].as_str().unwrap()),
        "{err}"
    );
    assert!(
        kernels_listing(&s.t).is_empty(),
        "{:?}",
        kernels_listing(&s.t)
    );

    // `kernel mirror` from the tampered mirror refuses too, and writes nothing.
    let copy = s.t.path("copy");
    let err = s.t.fails(
        &[
            "kernel",
            "mirror",
            copy.to_str().unwrap(),
            "void-6.12",
            "--arch",
            "x86_64",
            "--source",
            "mirror",
            "--mirror",
            &url,
        ],
        "integrity error",
    );
    assert!(err.contains(&nginx.url(&s.void.file)), "{err}");
    assert!(kernel::list(&copy).is_empty(), "{:?}", kernel::list(&copy));
}

#[test]
fn offline_pulls_work_with_no_network_and_reject_tampered_files() {
    let s = Setup::new();
    s.mirror(&[]);
    let unshare = ["unshare", "-n"];
    let probe = s.t.banger_under(&unshare, &["--version"]);
    assert!(
        probe.status.success(),
        "`unshare -n` must work here (CI runs as root): {}",
        stderr(&probe)
    );

    // The same command over the network fails inside the namespace: there is no network.
    let online = s.t.banger_under(&unshare, &pull("alpine-6.6", &[]));
    assert!(!online.status.success());
    assert!(
        stderr(&online).contains("network error"),
        "{}",
        stderr(&online)
    );

    let out = s.t.banger_under(
        &unshare,
        &pull("void-6.12", &["--source", "offline", "--dir", s.dir()]),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    kernel::assert_same_tree(
        &s.void.tree,
        &s.t.kernels().join("void-6.12"),
        &["manifest.json"],
    );

    // BANGER_OFFLINE_DIR works as well as --dir; a tampered bundle is refused.
    let path = s.dir.join(&s.alpine.file);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    fs::write(&path, &bytes).unwrap();
    let mut t = s.t;
    t.env("BANGER_OFFLINE_DIR", s.dir.to_str().unwrap());
    let out = t.banger_under(&unshare, &pull("alpine-6.6", &["--source", "offline"]));
    // A verification failure (docs/errors.md).
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "checksum mismatch for kernel `alpine-6.6` from `{}`",
            path.display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(!t.kernels().join("alpine-6.6").exists());
}

#[test]
fn entries_only_a_mirror_lists_need_allow_unverified() {
    let s = Setup::new();
    s.mirror(&[]);
    // The mirror's own catalog gains a kernel the trusted catalog does not have.
    let extra = s.t.publish("extra-1.0", "extra-1.0", "1.0.0", &s.server);
    fs::copy(s.t.path("www").join(&extra.file), s.dir.join(&extra.file)).unwrap();
    let mut index: Value =
        serde_json::from_slice(&fs::read(s.dir.join("catalog.json")).unwrap()).unwrap();
    let mut entry = extra.entry.clone();
    entry["url"] = Value::from(extra.file.clone());
    index["entries"].as_array_mut().unwrap().push(entry);
    fs::write(s.dir.join("catalog.json"), index.to_string()).unwrap();

    let nginx = Nginx::serve(&s.dir);
    let url = nginx.url("");
    let listed = s.t.ok(&[
        "kernel",
        "list",
        "--available",
        "--source",
        "mirror",
        "--mirror",
        &url,
    ]);
    let extra_line = listed.lines().find(|l| l.starts_with("extra-1.0")).unwrap();
    assert!(extra_line.contains(" NO "), "{listed}");

    let from_mirror = ["--source", "mirror", "--mirror", &url];
    s.t.fails(&pull("extra-1.0", &from_mirror), "pass --allow-unverified");
    assert!(kernels_listing(&s.t).is_empty());
    s.t.ok(&pull(
        "extra-1.0",
        &[&from_mirror[..], &["--allow-unverified"]].concat(),
    ));
    let manifest: Value =
        serde_json::from_slice(&fs::read(s.t.kernels().join("extra-1.0/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["verified"], false);
    assert_eq!(manifest["trust"], "source");
    assert_eq!(manifest["sha256"], extra.entry["sha256"]);

    // The same rule for `kernel mirror` and for the offline source.
    let copy = s.t.path("copy");
    let copy = copy.to_str().unwrap();
    let mirror = [
        "kernel",
        "mirror",
        copy,
        "extra-1.0",
        "--arch",
        "x86_64",
        "--source",
        "mirror",
        "--mirror",
        &url,
    ];
    s.t.fails(&mirror, "--allow-unverified");
    // With no names, the verified kernels are mirrored and the unverified one is skipped with
    // a warning, not a failure.
    let everything = s.t.path("everything");
    let everything = everything.to_str().unwrap();
    let out = s.t.banger(&[
        "kernel", "mirror", everything, "--arch", "x86_64", "--source", "mirror", "--mirror", &url,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: skipping: `extra-1.0` (x86_64) is not in the"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint: pass --allow-unverified"));
    assert!(!Path::new(everything).join(&extra.file).exists());
    assert!(Path::new(everything).join(&s.void.file).exists());
    let mut allowed = mirror.to_vec();
    allowed.push("--allow-unverified");
    assert!(s.t.ok(&allowed).contains("unverified"));
    s.t.fails(
        &pull(
            "extra-1.0",
            &["--source", "offline", "--dir", copy, "--force"],
        ),
        "pass --allow-unverified",
    );

    // A name that nobody lists is simply unknown.
    s.t.fails(
        &pull("ghost-1.0", &["--source", "mirror", "--mirror", &url]),
        "no kernel `ghost-1.0` for x86_64",
    );
}

#[test]
fn mirror_and_offline_options_are_checked() {
    let s = Setup::new();
    s.t.fails(
        &pull("void-6.12", &["--source", "mirror"]),
        "pass --mirror URL or set BANGER_MIRROR_URL",
    );
    s.t.fails(
        &pull("void-6.12", &["--source", "mirror", "--mirror", "ftp://x"]),
        "is not an http:// or https:// URL",
    );
    s.t.fails(
        &pull(
            "void-6.12",
            &["--source", "offline", "--dir", "/nonexistent"],
        ),
        "`/nonexistent` is not a directory",
    );
    s.t.fails(
        &pull(
            "void-6.12",
            &[
                "--source",
                "offline",
                "--dir",
                s.dir().trim_end_matches("mirror"),
                "--opt",
                "colour=blue",
            ],
        ),
        "takes no option `colour`",
    );
    s.t.fails(
        &[
            "kernel",
            "mirror",
            s.dir(),
            "nosuch-1.0",
            "--arch",
            "x86_64",
        ],
        "no kernel `nosuch-1.0` for x86_64",
    );
    // An offline directory without the bundle says which file it looked for.
    fs::create_dir_all(&s.dir).unwrap();
    s.t.fails(
        &pull("void-6.12", &["--source", "offline", "--dir", s.dir()]),
        &format!("cannot open `{}`", s.dir.join(&s.void.file).display()),
    );
}
