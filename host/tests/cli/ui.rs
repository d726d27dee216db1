//! What a person at a terminal sees: shell completions and tables that fit their content.

use std::process::Command;

use serde_json::json;

use crate::util::TestContext;

#[test]
fn bash_sources_the_completion_script() {
    let t = TestContext::new();
    let script = t.path("banger.bash");
    std::fs::write(&script, t.ok(&["completions", "bash"])).unwrap();
    let out = Command::new("bash")
        .args([
            "-c",
            "source \"$1\" && complete -p banger",
            "-",
            script.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.is_empty(), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("banger"));
    // Architectures complete from the fixed list.
    assert!(std::fs::read_to_string(&script)
        .unwrap()
        .contains("x86_64 arm64"));
    for shell in ["zsh", "fish"] {
        assert!(t.ok(&["completions", shell]).contains("banger"), "{shell}");
    }
    t.fails(&["completions", "tcsh"], "invalid value 'tcsh'");
}

#[test]
fn tables_align_a_64_character_name() {
    let t = TestContext::new();
    let long = format!("{}-6.12", "k".repeat(59));
    assert_eq!(long.len(), 64);
    let entry = |name: &str| {
        json!({
            "name": name, "distro": "void", "arch": "x86_64", "kernel_version": "6.12.3",
            "url": format!("https://127.0.0.1:9/{name}-x86_64.tar.zst"),
            "sha256": "a".repeat(64), "size": 12345, "description": "fixture",
        })
    };
    t.write_catalog(&[&entry("alpine-6.6"), &entry(&long)]);
    let out = t.ok(&["kernel", "list", "--available"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let column = |line: &str| line.find("x86_64").or_else(|| line.find("ARCH")).unwrap();
    assert!(lines[2].starts_with(&long), "{out}");
    assert_eq!(column(lines[0]), long.len() + 2, "{out}");
    assert!(lines.iter().all(|l| column(l) == column(lines[0])), "{out}");
}

#[test]
fn flags_a_command_would_ignore_are_usage_errors() {
    let t = TestContext::new();
    for (args, message) in [
        (
            &["kernel", "list", "--source", "mirror"][..],
            "--source needs --available",
        ),
        (
            &["kernel", "list", "--mirror", "http://127.0.0.1:9/"],
            "--mirror needs --available",
        ),
        (
            &[
                "kernel",
                "publish",
                "void-6.12",
                "--to",
                "oci://127.0.0.1:9/kernels",
                "--remote",
                "r2",
            ],
            "--remote is for uploads with rclone",
        ),
    ] {
        let out = t.banger(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
    // The same source flags with --available are used, not refused: the mirror is asked.
    let out = t.banger(&[
        "kernel",
        "list",
        "--available",
        "--source",
        "mirror",
        "--mirror",
        "http://127.0.0.1:9/",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    // A mirror nobody answers at: a network failure (docs/errors.md).
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("127.0.0.1:9"), "{err}");
}
