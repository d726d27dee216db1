//! No raw control or bidirectional character reaches the terminal, from any subcommand. One
//! hostile fixture holds ESC sequences, C1 controls, DEL and every bidirectional control in the
//! paths the user gives (the state directory, `--from`, `--rootfs`, `--dir`, `--out`,
//! `--mirror`, the plugin directory), in file names, in plugin messages and errors, and in
//! entry fields; a table of commands runs over it, in order, and every line of their stdout
//! and stderr is checked. Entry fields holding such characters are refused, naming the field.
//!
//! To cover a new subcommand, add a row to [`steps`].

use std::{fs, os::unix::fs::PermissionsExt, path::PathBuf};

use banger_testkit::{archive::pack_with_gnu_tar, kernel, sha256_hex};

use crate::{
    abi::fixture,
    signed::{minisign_keypair, minisign_sign},
    util::TestContext,
};

/// Every bidirectional control (Unicode's Bidi_Control property).
const BIDI: [char; 12] = [
    '\u{061c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
];

/// Hostile text: an ESC sequence that would clear the screen and set the title, a C1 CSI, DEL,
/// a carriage return, then every bidirectional control. Usable in a file name.
fn hostile() -> String {
    let mut text = "x\u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m\u{7f}\r".to_owned();
    text.extend(BIDI);
    text
}

/// What inert output shows of [`hostile`]'s first bidirectional control: its escape.
const ESCAPED: &str = r"\u{61c}";

/// Whether `c` may appear raw in output: anything but a control or a bidirectional control,
/// and newlines (which end lines).
fn allowed(c: char) -> bool {
    c == '\n' || !(c.is_control() || BIDI.contains(&c))
}

/// How a step must end.
enum Ends {
    Ok,
    Fails,
}

/// One command over the fixture: its arguments, how it must end, and a piece of text its
/// output must hold, which shows that the hostile text (or the refusal) did reach the output.
struct Step {
    args: Vec<String>,
    ends: Ends,
    shows: String,
    /// Environment variables set for this step only.
    env: Vec<(&'static str, String)>,
}

fn step(args: &[&str], ends: Ends, shows: &str) -> Step {
    Step {
        args: args.iter().map(|a| a.to_string()).collect(),
        ends,
        shows: shows.to_owned(),
        env: Vec::new(),
    }
}

/// A [`step`] with the signed catalog in force.
fn signed(args: &[&str], ends: Ends, shows: &str) -> Step {
    Step {
        env: vec![("BANGER_CATALOG", String::new())],
        ..step(args, ends, shows)
    }
}

/// The fixture: a context whose state directory, plugin directory and trusted catalog all
/// have hostile names, the liar plugin installed, a kernel build tree and a rootfs with
/// hostile names, and the files the steps use.
struct Fixture {
    t: TestContext,
    /// A hostile-named directory holding the inputs.
    dir: PathBuf,
}

fn fixture_context() -> Fixture {
    let mut t = TestContext::new();
    let h = hostile();
    let dir = t.path(&format!("in-{h}"));
    fs::create_dir(&dir).unwrap();
    let state = t.path(&format!("state-{h}"));
    fs::create_dir(&state).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
    t.env("BANGER_STATE_DIR", state.display().to_string());
    let plugins = t.path(&format!("plugins-{h}"));
    fs::create_dir(&plugins).unwrap();
    fs::copy(fixture("liar"), plugins.join("libbanger_source_liar.so")).unwrap();
    // A file name that is no plugin name: discovery reports it.
    fs::write(
        plugins.join(format!("libbanger_source_{h}.so")),
        b"not a library",
    )
    .unwrap();
    t.env("BANGER_PLUGIN_PATH", plugins.display().to_string());
    let catalog = dir.join("catalog.json");
    fs::copy(t.path("catalog.json"), &catalog).unwrap();
    t.env("BANGER_CATALOG", catalog.display().to_string());

    // A build tree in a plain directory (an import records where it came from, and an entry
    // field is refused when it holds such characters), and one in the hostile directory.
    kernel::write_tree(&t.path("plain/build"), "6.1.0");
    // A config that `kernel publish` accepts, so that publishing gets as far as rclone.
    fs::write(t.path("plain/build/.config"), crate::check::READY_CONFIG).unwrap();
    kernel::write_tree(&dir.join("build"), "6.1.0");
    fs::write(dir.join("rootfs.ext4"), b"rootfs").unwrap();

    // What the liar plugin says: an entry whose description holds a bidi control, one whose
    // distro holds an ESC sequence, and a declaration with a path for a sha256.
    let bundle = t.path("plain/bundle.tar.zst");
    pack_with_gnu_tar(&dir.join("build"), &["vmlinux", "modules"], &bundle);
    let bytes = fs::read(&bundle).unwrap();
    let entry = |field: &str, value: &str| {
        let mut entry = serde_json::json!({
            "name": "liar-1.0", "distro": "liar", "arch": "x86_64", "kernel_version": "6.1.0",
            "url": bundle.display().to_string(), "sha256": sha256_hex(&bytes),
            "size": bytes.len(), "description": "fine",
        });
        entry[field] = value.into();
        serde_json::json!([entry])
    };
    fs::write(
        dir.join("bidi-description.json"),
        entry("description", "evil\u{202e}txt.exe").to_string(),
    )
    .unwrap();
    fs::write(
        dir.join("esc-distro.json"),
        entry("distro", "liar\u{1b}[2K").to_string(),
    )
    .unwrap();
    fs::write(
        dir.join("good.json"),
        entry("description", "fine").to_string(),
    )
    .unwrap();
    fs::write(
        dir.join("declare-good.json"),
        serde_json::json!({
            "url": bundle.display().to_string(), "sha256": sha256_hex(&bytes), "size": bytes.len(),
        })
        .to_string(),
    )
    .unwrap();
    fs::write(
        dir.join("declare.json"),
        serde_json::json!({ "url": format!("{}{h}", bundle.display()), "sha256": "../x", "size": 10 })
            .to_string(),
    )
    .unwrap();

    // A signed catalog in a hostile-named offline directory, with a real bundle for its entry.
    let offline = dir.join("offline");
    fs::create_dir(&offline).unwrap();
    let void = offline.join("void-6.12-x86_64.tar.zst");
    pack_with_gnu_tar(&dir.join("build"), &["vmlinux", "modules"], &void);
    let bytes = fs::read(&void).unwrap();
    let catalog = serde_json::json!({
        "schema": 2, "serial": 7, "expires": "2099-01-01T00:00:00Z",
        "entries": [{
            "name": "void-6.12", "distro": "void", "arch": "x86_64", "kernel_version": "6.12.3",
            "url": "https://kernels.example/void-6.12-x86_64.tar.zst",
            "sha256": sha256_hex(&bytes), "size": bytes.len(), "description": "Void Linux",
        }],
    });
    fs::write(offline.join("catalog.json"), catalog.to_string()).unwrap();
    let (public, secret) = minisign_keypair(&t, "release");
    minisign_sign(&secret, &offline.join("catalog.json"), false);
    t.env("BANGER_CATALOG_KEYS", public.display().to_string());

    // An rclone that answers as a storage server's error might: with hostile text.
    let bin = t.path("fakebin");
    fs::create_dir(&bin).unwrap();
    let rclone = bin.join("rclone");
    fs::write(
        &rclone,
        format!("#!/bin/sh\nprintf 'copying {h}\\n'\nprintf 'ERROR : {h}\\n' >&2\nexit 1\n"),
    )
    .unwrap();
    fs::set_permissions(&rclone, fs::Permissions::from_mode(0o755)).unwrap();
    Fixture { t, dir }
}

/// The commands, in the order they run; each leaves the state the next one expects.
#[rustfmt::skip]
fn steps(f: &Fixture) -> Vec<Step> {
    let h = hostile();
    let d = |file: &str| f.dir.join(file).display().to_string();
    let opt = |key: &str, file: &str| format!("{key}={}", d(file));
    let from = f.t.path("plain/build").display().to_string();
    let rootfs = d("rootfs.ext4");
    let out_dir = d("out");
    let mirror = format!("https://127.0.0.1:9/{h}/");
    let warn = format!("warn=look {h}");
    let fail = format!("fail=broken {h}");
    let import = |name: &'static str, from: &str| -> Vec<String> {
        ["kernel", "import", name, "--from", from, "--distro", "void", "--arch", "x86_64"]
            .map(String::from)
            .to_vec()
    };
    let with = |mut args: Vec<String>, more: &[&str]| -> Vec<String> {
        args.extend(more.iter().map(|a| a.to_string()));
        args
    };
    let good = import("good-1.0", &from);
    let hostile_from = import("bad-1.0", &d("build"));
    let missing_from = import("bad-1.0", &d("missing"));
    let bad_description = with(import("bad-1.0", &from), &["--description", &format!("d{h}")]);
    let bad_distro: Vec<String> = import("bad-1.0", &from)
        .into_iter()
        .map(|a| if a == "void" { "vo\u{202e}id".to_owned() } else { a })
        .collect();
    use Ends::{Fails, Ok};
    vec![
        // Paths the user gave, printed back (the state directory is hostile-named).
        step(&strs(&good), Ok, ESCAPED),
        // An import records where it came from: a hostile --from is an entry field, refused.
        step(&strs(&hostile_from), Fails, "url: contains the control character U+001B"),
        step(&strs(&missing_from), Fails, ESCAPED),
        // Entry fields: refused, naming the field.
        step(&strs(&bad_description), Fails, "description: contains the control character"),
        step(&strs(&bad_distro), Fails, "distro: contains the bidirectional control U+202E"),
        step(&["kernel", "list"], Ok, "good-1.0"),
        step(&["kernel", "list", "--json"], Ok, "good-1.0"),
        step(&["kernel", "show", "good-1.0"], Ok, ESCAPED),
        step(&["kernel", "show", "good-1.0", "--json"], Ok, r"\u061c"),
        step(&["kernel", "show", &format!("good{h}")], Fails, "invalid value"),
        step(&["kernel", "list", "--available"], Ok, "the catalog is empty"),
        step(&["kernel", "list", "--available", "--source", "liar", "--opt", &opt("entries", "bidi-description.json")], Fails, "description: contains the bidirectional control U+202E"),
        step(&["kernel", "list", "--available", "--source", "liar", "--opt", &opt("entries", "esc-distro.json")], Fails, "distro: contains the control character U+001B"),
        // Plugin messages and errors.
        step(&["kernel", "list", "--available", "--source", "liar", "--opt", &warn], Ok, ESCAPED),
        step(&["kernel", "list", "--available", "--source", "liar", "--opt", &fail], Fails, ESCAPED),
        step(&["kernel", "pull", "liar-1.0", "--arch", "x86_64", "--source", "liar", "--opt", &opt("entries", "bidi-description.json")], Fails, "description: contains the bidirectional control"),
        step(&["kernel", "pull", "liar-1.0", "--arch", "x86_64", "--source", "liar", "--opt", &opt("entries", "good.json"), "--opt", &opt("declare", "declare.json")], Fails, "with an invalid description: url: contains the control character U+001B"),
        step(&["kernel", "pull", "liar-1.0", "--arch", "x86_64", "--source", "liar", "--opt", &opt("entries", "good.json"), "--opt", &opt("declare", "declare-good.json"), "--opt", &format!("bytes={}", f.t.path("plain/bundle.tar.zst").display()), "--opt", "resumable=true"], Ok, ESCAPED),
        step(&["kernel", "rm", "liar-1.0"], Ok, "liar-1.0"),
        step(&["kernel", "pull", "void-6.12", "--arch", "x86_64", "--source", "offline", "--dir", &d("missing")], Fails, ESCAPED),
        step(&["kernel", "pull", "void-6.12", "--arch", "x86_64", "--source", "mirror", "--mirror", &mirror], Fails, "127.0.0.1"),
        step(&["kernel", "mirror", &d("mirror-out"), "good-1.0"], Fails, "good-1.0"),
        step(&["kernel", "publish", "good-1.0", "--dry-run", "--out", &out_dir, "--catalog", &d("catalog.json")], Ok, ESCAPED),
        Step {
            env: vec![("PATH", format!("{}:{}", f.t.path("fakebin").display(), std::env::var("PATH").unwrap()))],
            ..step(&["kernel", "publish", "good-1.0", "--catalog", &d("catalog.json"), "--remote", "r2", "--bucket", "b", "--base-url", "https://127.0.0.1:9", "--sign-key", &f.t.path("keys-release/release.key").display().to_string()], Fails, r"rclone: ERROR : x\u{1b}[2J")
        },
        step(&["kernel", "catalog", "update", "--source", "offline", "--dir", &d("missing")], Fails, ESCAPED),
        step(&["kernel", "catalog", "update", "--source", "mirror", "--mirror", &mirror], Fails, "127.0.0.1"),
        step(&["kernel", "catalog", "status"], Ok, ESCAPED),
        // The signed catalog from a hostile-named directory, and what uses it.
        signed(&["kernel", "catalog", "update", "--source", "offline", "--dir", &d("offline")], Ok, ESCAPED),
        signed(&["kernel", "catalog", "status"], Ok, ESCAPED),
        signed(&["kernel", "catalog", "status", "--json"], Ok, r"\u061c"),
        signed(&["kernel", "list", "--available"], Ok, "void-6.12"),
        // The offline source lists its bundles at their paths, which are entry fields.
        signed(&["kernel", "pull", "void-6.12", "--arch", "x86_64", "--source", "offline", "--dir", &d("offline")], Fails, "url: contains the control character U+001B"),
        signed(&["kernel", "upgrade", "--all", "--dry-run"], Ok, "good-1.0"),
        step(&["kernel", "upgrade", "--all", "--dry-run"], Ok, "good-1.0"),
        step(&["plugin", "list"], Ok, ESCAPED),
        step(&["plugin", "list", "--json"], Ok, r"\u061c"),
        step(&["image", "register", "--name", "img", "--rootfs", &rootfs, "--kernel-ref", "good-1.0"], Ok, ESCAPED),
        step(&["image", "register", "--name", "img2", "--rootfs", &d("no-rootfs"), "--kernel-ref", "good-1.0"], Fails, ESCAPED),
        step(&["image", "show", "img"], Ok, ESCAPED),
        step(&["image", "show", "img", "--json"], Ok, r"\u061c"),
        step(&["image", "list"], Ok, ESCAPED),
        step(&["image", "list", "--json"], Ok, r"\u061c"),
        step(&["kernel", "rm", "good-1.0"], Fails, "img"),
        step(&["image", "rm", "img"], Ok, "img"),
        step(&["kernel", "gc"], Ok, ""),
        step(&["kernel", "rm", "good-1.0"], Ok, "good-1.0"),
    ]
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Every raw unsafe character in `text`, with its position.
fn raw_unsafe(text: &str) -> Vec<(usize, char)> {
    text.char_indices().filter(|(_, c)| !allowed(*c)).collect()
}

#[test]
fn every_subcommand_keeps_hostile_text_inert() {
    let f = fixture_context();
    let mut problems = Vec::new();
    for step in steps(&f) {
        let args: Vec<&str> = step.args.iter().map(String::as_str).collect();
        let mut command = f.t.command(&args);
        command.envs(step.env.iter().map(|(k, v)| (k, v)));
        let out = command.output().unwrap();
        crate::contract::check(&args, &out);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        let shown = format!("{args:?}");
        let ended_as_it_should = match step.ends {
            Ends::Ok => out.status.success(),
            Ends::Fails => matches!(out.status.code(), Some(1..=6)),
        };
        if !ended_as_it_should {
            problems.push(format!(
                "{shown} ended with {:?}:\n{stdout}\n{stderr}",
                out.status.code()
            ));
        }
        if stderr.contains("panicked") {
            problems.push(format!("{shown} panicked:\n{stderr}"));
        }
        for (stream, text) in [("stdout", &stdout), ("stderr", &stderr)] {
            let raw = raw_unsafe(text);
            if !raw.is_empty() {
                problems.push(format!("{shown}: raw {raw:?} on {stream}:\n{text:?}"));
            }
        }
        let both = format!("{stdout}{stderr}");
        if !both.contains(&step.shows) {
            problems.push(format!(
                "{shown}: the output should show `{}`:\n{both}",
                step.shows
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn a_manifest_with_a_bidi_control_is_a_clear_error() {
    let f = fixture_context();
    let from = f.t.path("plain/build").display().to_string();
    f.t.ok(&[
        "kernel", "import", "good-1.0", "--from", &from, "--distro", "void", "--arch", "x86_64",
    ]);
    let state = PathBuf::from(f.t.env_value("BANGER_STATE_DIR"));
    let path = state.join("kernels/good-1.0/manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    manifest["description"] = "evil\u{202e}gpj.exe".into();
    fs::write(&path, manifest.to_string()).unwrap();
    for args in [&["kernel", "show", "good-1.0"][..], &["kernel", "list"]] {
        let err = f.t.fails(
            args,
            "description: contains the bidirectional control U+202E",
        );
        assert!(raw_unsafe(&err).is_empty(), "{err:?}");
    }
    // A damaged install can still be removed.
    f.t.ok(&["kernel", "rm", "good-1.0"]);
}

#[test]
fn hostile_file_names_in_the_state_directory_stay_inert() {
    let f = fixture_context();
    let h = hostile();
    let from = f.t.path("plain/build").display().to_string();
    f.t.ok(&[
        "kernel", "import", "good-1.0", "--from", &from, "--distro", "void", "--arch", "x86_64",
    ]);
    let state = PathBuf::from(f.t.env_value("BANGER_STATE_DIR"));
    // No record banger wrote has such a name: an image file is skipped, a kernel directory is
    // an error that names it.
    fs::create_dir_all(state.join("images")).unwrap();
    fs::write(state.join(format!("images/{h}.json")), "{}").unwrap();
    let images = f.t.ok(&["image", "list"]);
    assert!(raw_unsafe(&images).is_empty(), "{images:?}");
    fs::create_dir(state.join(format!("kernels/{h}"))).unwrap();
    let err =
        f.t.fails(&["kernel", "list"], "is not the directory of a kernel");
    assert!(
        err.contains(ESCAPED) && raw_unsafe(&err).is_empty(),
        "{err:?}"
    );
}
