//! `TestContext`: a private state directory, plugin directory and environment for one test,
//! and helpers to publish fixture kernels on a loopback server.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use banger_testkit::{archive::pack_with_gnu_tar, kernel, server::Server, sha256_hex};

pub struct TestContext {
    pub root: tempfile::TempDir,
    env: Vec<(String, String)>,
    cwd: Option<PathBuf>,
}

/// A bundle published on a server: its file name and catalog entry.
pub struct Published {
    pub tree: PathBuf,
    pub file: String,
    pub entry: serde_json::Value,
}

impl TestContext {
    pub fn new() -> Self {
        let exe_dir = Path::new(env!("CARGO_BIN_EXE_banger"))
            .parent()
            .unwrap()
            .to_owned();
        assert!(
            exe_dir.join("libbanger_source_catalog.so").exists(),
            "libbanger_source_catalog.so is not next to {}; run `cargo build --workspace` first (the README's test command does)",
            exe_dir.display()
        );
        let root = tempfile::tempdir().unwrap();
        for dir in ["state", "plugins", "home", "www"] {
            fs::create_dir(root.path().join(dir)).unwrap();
        }
        let path = |p: &str| root.path().join(p).display().to_string();
        let env = vec![
            ("BANGER_STATE_DIR".into(), path("state")),
            ("BANGER_PLUGIN_PATH".into(), path("plugins")),
            ("HOME".into(), path("home")),
            ("BANGER_CATALOG".into(), path("catalog.json")),
            // Retries are shown but not slept through; a wait a server asks for still is.
            ("BANGER_TEST_NO_RETRY_DELAY".into(), "1".into()),
        ];
        let context = Self {
            root,
            env,
            cwd: None,
        };
        context.write_catalog(&[]);
        context
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    pub fn kernels(&self) -> PathBuf {
        self.path("state/kernels")
    }

    /// Set or override an environment variable for every later `banger` run.
    pub fn env(&mut self, key: &str, value: impl Into<String>) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    /// The value this context gives `key`.
    pub fn env_value(&self, key: &str) -> String {
        let (_, value) = self.env.iter().find(|(k, _)| k == key).unwrap();
        value.clone()
    }

    /// Run every later `banger` in `dir`.
    pub fn set_cwd(&mut self, dir: PathBuf) {
        self.cwd = Some(dir);
    }

    /// Run banger with this context's environment and nothing inherited but PATH.
    pub fn banger(&self, args: &[&str]) -> Output {
        self.banger_under(&[], args)
    }

    /// Run banger under `wrapper` (e.g. `["unshare", "-n"]`), with this context's environment.
    /// A `--json` run's output is held to its schema ([`crate::contract::check`]).
    pub fn banger_under(&self, wrapper: &[&str], args: &[&str]) -> Output {
        let out = self.command_under(wrapper, args).output().unwrap();
        crate::contract::check(args, &out);
        out
    }

    /// The command that runs banger with `args` and this context's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_under(&[], args)
    }

    /// The command that runs banger under `wrapper`; banger's path follows the wrapper's
    /// arguments.
    pub fn command_under(&self, wrapper: &[&str], args: &[&str]) -> Command {
        let banger = env!("CARGO_BIN_EXE_banger");
        let (program, wrapper_args) = match wrapper.split_first() {
            Some((program, rest)) => (*program, rest),
            None => (banger, &[][..]),
        };
        let mut command = Command::new(program);
        command.args(wrapper_args);
        if !wrapper.is_empty() {
            command.arg(banger);
        }
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Run banger and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.banger(args);
        assert!(
            out.status.success(),
            "banger {args:?} failed:\n{}",
            stderr(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run banger and require failure with `expected` in stderr; returns stderr. The status
    /// is one that docs/errors.md documents for a failure: 1 to 6, by class
    /// ([`crate::exits`] pins each class to its status).
    pub fn fails(&self, args: &[&str], expected: &str) -> String {
        let out = self.banger(args);
        let err = stderr(&out);
        assert!(
            out.status.code().is_some_and(|c| FAILURE_STATUSES.contains(&c)),
            "banger {args:?} should fail with a status of docs/errors.md (1 to 6), not {:?}:\n{err}",
            out.status.code()
        );
        assert!(
            err.contains(expected),
            "banger {args:?}: stderr should contain `{expected}`:\n{err}"
        );
        assert!(
            !err.contains("panicked"),
            "banger {args:?} panicked:\n{err}"
        );
        err
    }

    /// Replace the trusted catalog with these entries.
    pub fn write_catalog(&self, entries: &[&serde_json::Value]) {
        let catalog = serde_json::json!({ "schema": 1, "entries": entries });
        fs::write(
            self.path("catalog.json"),
            serde_json::to_string_pretty(&catalog).unwrap(),
        )
        .unwrap();
    }

    /// Make a kernel tree `<tag>`, pack it with GNU tar + zstd into `www/<file>`, and return its
    /// real catalog entry for `url_base`.
    pub fn publish(&self, tag: &str, name: &str, version: &str, server: &Server) -> Published {
        self.publish_for("x86_64", tag, name, version, server)
    }

    /// [`TestContext::publish`] with an entry for `arch`.
    pub fn publish_for(
        &self,
        arch: &str,
        tag: &str,
        name: &str,
        version: &str,
        server: &Server,
    ) -> Published {
        let tree = self.path(&format!("trees/{tag}"));
        kernel::write_tree(&tree, version);
        fs::write(
            tree.join("initrd.img"),
            format!("initrd of {tag}\n").repeat(50),
        )
        .unwrap();
        let file = format!("{tag}-{arch}.tar.zst");
        let bundle = self.path("www").join(&file);
        pack_with_gnu_tar(&tree, &["vmlinux", "initrd.img", "modules"], &bundle);
        let bytes = fs::read(&bundle).unwrap();
        let entry = serde_json::json!({
            "name": name, "distro": "void", "arch": arch, "kernel_version": version,
            "url": server.url(&file), "sha256": sha256_hex(&bytes), "size": bytes.len(),
            "description": format!("fixture kernel {tag}"),
        });
        Published { tree, file, entry }
    }

    /// An HTTPS server over `www/`, trusted through SSL_CERT_FILE.
    pub fn https_server(&mut self) -> Server {
        let server = Server::https(&self.path("www"));
        self.env("SSL_CERT_FILE", server.ca_file().display().to_string());
        server
    }
}

/// Run banger under GNU time: its output and its peak resident set size in MiB.
pub fn with_peak_rss(context: &TestContext, args: &[&str]) -> (Output, f64) {
    let report = tempfile::NamedTempFile::new().unwrap();
    let report_path = report.path().to_str().unwrap().to_owned();
    let out = context.banger_under(&["/usr/bin/time", "-f", "%M", "-o", &report_path], args);
    let kib: f64 = fs::read_to_string(report.path())
        .unwrap()
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .expect("GNU time reports the peak RSS (apt-get install time)");
    (out, kib / 1024.0)
}

/// The exit statuses of a failed command (docs/errors.md).
pub const FAILURE_STATUSES: std::ops::RangeInclusive<i32> = 1..=6;

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Everything below the kernels directory except the lock files.
pub fn kernels_listing(context: &TestContext) -> Vec<String> {
    let dir = context.kernels();
    if !dir.exists() {
        return Vec::new();
    }
    let mut names: Vec<String> = kernel::list(&dir)
        .into_iter()
        .filter(|n| !n.starts_with(".locks"))
        .collect();
    names.sort();
    names
}
