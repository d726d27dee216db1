//! The host hands every catalog transport the one trusted catalog it resolved: after a signed
//! `kernel catalog update` the `catalog`, `mirror` and `offline` sources serve and verify the
//! update's kernels, with `$BANGER_CATALOG` set they see that override instead, and a source
//! started without the catalog (as no banger does now) refuses, naming the option.

use std::{fs, path::Path};

use banger_plugin_api::{
    abi_stable::{
        library::lib_header_from_path,
        sabi_trait::TD_Opaque,
        std_types::{RResult, RStr, RString, RVec, Tuple2},
    },
    Host, Host_TO, LogLevel, PluginError, SourcePluginRef,
};
use banger_testkit::{nginx::Nginx, server::Server};
use serde_json::{json, Value};

use crate::{
    signed::{minisign_keypair, minisign_sign},
    util::{Published, TestContext},
};

/// A machine that trusts a fresh key and has no `$BANGER_CATALOG`, three kernels published
/// over HTTPS (one per transport), and a decoy that is in no catalog the test trusts.
struct Setup {
    t: TestContext,
    _server: Server,
    kernels: [Published; 3],
    decoy: Published,
    secret: std::path::PathBuf,
}

impl Setup {
    fn new() -> Self {
        let mut t = TestContext::new();
        let server = t.https_server();
        let (public, secret) = minisign_keypair(&t, "release");
        t.env("BANGER_CATALOG", "");
        t.env("BANGER_CATALOG_KEYS", public.display().to_string());
        let kernels = [
            t.publish("void", "void-6.12", "6.12.3", &server),
            t.publish("alpine", "alpine-6.6", "6.6.1", &server),
            t.publish("arch", "arch-6.1", "6.1.9", &server),
        ];
        let decoy = t.publish("decoy", "decoy-1.0", "6.1.0", &server);
        Self {
            t,
            _server: server,
            kernels,
            decoy,
            secret,
        }
    }

    /// Store a signed update (serial 1) listing `entries`, through `kernel catalog update`.
    fn update(&self, entries: &[&Value]) {
        let dir = self.t.path("signed");
        fs::create_dir_all(&dir).unwrap();
        let text = json!({
            "schema": 2, "serial": 1, "expires": "2099-01-01T00:00:00Z", "entries": entries,
        });
        fs::write(dir.join("catalog.json"), text.to_string()).unwrap();
        minisign_sign(&self.secret, &dir.join("catalog.json"), false);
        let dir = dir.display().to_string();
        self.t.ok(&[
            "kernel", "catalog", "update", "--source", "offline", "--dir", &dir,
        ]);
    }

    /// A directory holding only `kernel`'s bundle, with no `catalog.json` of its own: a
    /// transport that finds the kernel there found it in the catalog the host handed over.
    fn bare_dir(&self, kernel: &Published) -> String {
        let dir = self.t.path(&format!("bare-{}", kernel.file));
        fs::create_dir_all(&dir).unwrap();
        fs::copy(
            self.t.path("www").join(&kernel.file),
            dir.join(&kernel.file),
        )
        .unwrap();
        dir.display().to_string()
    }

    /// The trusted catalog's names as the `catalog` source lists them.
    fn listed(&self) -> Vec<String> {
        let out: Value =
            serde_json::from_str(&self.t.ok(&["kernel", "list", "--available", "--json"])).unwrap();
        let mut names: Vec<String> = out
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }

    /// Pull the first kernel through `catalog`, the second through `mirror` (nginx over a
    /// bare directory) and the third through `offline` (a bare directory); each must be
    /// installed as verified against the trusted catalog.
    fn pull_through_each_transport(&self) {
        let [over_https, over_mirror, offline] = &self.kernels;
        let mirror_dir = self.bare_dir(over_mirror);
        let nginx = Nginx::serve(Path::new(&mirror_dir));
        let offline_dir = self.bare_dir(offline);
        for (kernel, source) in [
            (over_https, vec!["--source", "catalog"]),
            (
                over_mirror,
                vec!["--source", "mirror", "--mirror", &nginx.url("")],
            ),
            (offline, vec!["--source", "offline", "--dir", &offline_dir]),
        ] {
            let name = kernel.entry["name"].as_str().unwrap();
            let mut args = vec!["kernel", "pull", name, "--arch", "x86_64"];
            args.extend(&source);
            self.t.ok(&args);
            let manifest: Value = serde_json::from_str(
                &fs::read_to_string(self.t.kernels().join(name).join("manifest.json")).unwrap(),
            )
            .unwrap();
            assert_eq!(
                (&manifest["source"], &manifest["verified"]),
                (&json!(source[1]), &json!(true)),
                "{name}"
            );
        }
    }

    fn origin(&self) -> Value {
        let status: Value =
            serde_json::from_str(&self.t.ok(&["kernel", "catalog", "status", "--json"])).unwrap();
        status["origin"].clone()
    }
}

fn entries(kernels: &[Published]) -> Vec<&Value> {
    kernels.iter().map(|k| &k.entry).collect()
}

#[test]
fn after_a_signed_update_every_transport_lists_and_pulls_the_updated_catalog() {
    let s = Setup::new();
    assert_eq!(s.listed(), Vec::<String>::new());
    s.update(&entries(&s.kernels));
    assert_eq!(s.origin(), "updated");
    assert_eq!(s.listed(), ["alpine-6.6", "arch-6.1", "void-6.12"]);
    s.pull_through_each_transport();
    // Each source's copy of the catalog went with it.
    let leftovers: Vec<_> = fs::read_dir(s.t.path("state/downloads"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn with_banger_catalog_set_every_transport_sees_the_override_not_the_update() {
    let mut s = Setup::new();
    s.update(&[&s.decoy.entry]);
    let overriding = s.t.path("override.json");
    fs::write(
        &overriding,
        json!({ "schema": 1, "entries": entries(&s.kernels) }).to_string(),
    )
    .unwrap();
    s.t.env("BANGER_CATALOG", overriding.display().to_string());
    assert_eq!(s.origin(), "override");
    assert_eq!(s.listed(), ["alpine-6.6", "arch-6.1", "void-6.12"]);
    s.pull_through_each_transport();
    let decoy = s.bare_dir(&s.decoy);
    s.t.fails(
        &[
            "kernel",
            "pull",
            "decoy-1.0",
            "--arch",
            "x86_64",
            "--source",
            "offline",
            "--dir",
            &decoy,
        ],
        "decoy-1.0",
    );
}

/// Host callbacks that say nothing.
struct Quiet;

impl Host for Quiet {
    fn log(&self, _level: LogLevel, _message: RStr<'_>) {}

    fn progress(&self, _message: RStr<'_>, _done: u64, _total: u64) {}

    fn call(&self, method: RStr<'_>, _input: RStr<'_>) -> RResult<RString, PluginError> {
        RResult::RErr(PluginError::unsupported(method.as_str()))
    }
}

#[test]
fn a_source_started_without_the_trusted_catalog_refuses_naming_the_option() {
    let exe_dir = Path::new(env!("CARGO_BIN_EXE_banger")).parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().display().to_string();
    for (name, options) in [
        ("catalog", vec![]),
        ("mirror", vec![("mirror", "https://mirror.example")]),
        ("offline", vec![("dir", dir.as_str())]),
        ("oci", vec![("repo", "registry.example/acme/kernels")]),
    ] {
        let path = exe_dir.join(format!("libbanger_source_{name}.so"));
        let plugin = lib_header_from_path(&path)
            .and_then(|header| header.init_root_module::<SourcePluginRef>())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let options: RVec<_> = options
            .into_iter()
            .map(|(k, v)| Tuple2(RString::from(k), RString::from(v)))
            .collect();
        let started = (plugin.new_source())(options, Host_TO::from_value(Quiet, TD_Opaque));
        let err = match started {
            RResult::RErr(err) => err,
            RResult::ROk(_) => panic!("the {name} source started without a trusted catalog"),
        };
        assert!(
            err.message()
                .contains("the host passed no trusted catalog (option `banger.catalog`)"),
            "{name}: {}",
            err.message()
        );
    }
}
