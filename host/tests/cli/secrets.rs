//! Secrets never reach output or the programs banger runs: a URL that does not parse shows no
//! password, a failing credential helper's answer is never printed, and neither rclone nor a
//! credential helper inherits banger's secret variables.

use std::{fs, os::unix::fs::PermissionsExt, path::Path};

use banger_testkit::{fake_registry::FakeRegistry, server::Server};
use serde_json::json;

use crate::util::{stderr, TestContext};

const SECRETS: [&str; 3] = [
    "BANGER_SIGNING_PASSWORD",
    "BANGER_OCI_USERNAME",
    "BANGER_OCI_PASSWORD",
];

/// Everything a run printed.
fn printed(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(out))
}

/// An executable script `name` in `<t>/bin`, which comes first on PATH.
fn script(t: &mut TestContext, name: &str, body: &str) {
    let bin = t.path("bin");
    fs::create_dir_all(&bin).unwrap();
    let path = bin.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    t.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
}

/// A docker config holding `config`, which banger reads through `DOCKER_CONFIG`.
fn docker_config(t: &mut TestContext, config: serde_json::Value) {
    let docker = t.path("docker");
    fs::create_dir_all(&docker).unwrap();
    fs::write(docker.join("config.json"), config.to_string()).unwrap();
    t.env("DOCKER_CONFIG", docker.display().to_string());
}

/// Assert that the environment dump at `path` holds none of banger's secret variables.
fn assert_no_secret_variable(path: &Path) {
    let env = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(env.contains("PATH="), "not an environment dump: {env}");
    for name in SECRETS {
        assert!(!env.contains(name), "{name} reached the child:\n{env}");
    }
}

#[test]
fn an_unparseable_url_never_shows_its_password() {
    let t = TestContext::new();
    let server = Server::http(&t.path("www"));
    let void = t.publish("void", "void-6.12", "6.12.3", &server);
    t.write_catalog(&[&void.entry]);
    let url = "http://bob:hunter2-PW@127.0.0.1:99999/kernels";
    for args in [
        vec![
            "kernel",
            "pull",
            "void-6.12",
            "--arch",
            "x86_64",
            "--source",
            "mirror",
            "--mirror",
            url,
        ],
        vec![
            "kernel",
            "list",
            "--available",
            "--source",
            "mirror",
            "--mirror",
            url,
        ],
        vec![
            "kernel", "catalog", "update", "--source", "mirror", "--mirror", url,
        ],
    ] {
        let out = t.banger(&args);
        let all = printed(&out);
        assert!(!out.status.success(), "{args:?}: {all}");
        assert!(!all.contains("hunter2-PW"), "{args:?}: {all}");
        assert!(!all.contains("bob"), "{args:?}: {all}");
        // Not retried as if it were a network failure: an invalid port stays invalid.
        assert!(!all.contains("retrying"), "{args:?}: {all}");
        // What it was is still said: the scheme and host, and why.
        assert!(all.contains("`http://127.0.0.1"), "{args:?}: {all}");
        assert!(all.contains("invalid port"), "{args:?}: {all}");
    }
}

#[test]
fn a_failing_credential_helper_is_named_and_its_answer_never_shown() {
    let mut t = TestContext::new();
    let registry = FakeRegistry::http();
    script(
        &mut t,
        "docker-credential-leaky",
        "read registry\nprintf '{\"Username\":\"fleet\",\"Secret\":\"helper-s3cr3t\"}'\necho 'Secret: helper-s3cr3t' >&2\nexit 3\n",
    );
    docker_config(
        &mut t,
        json!({"credHelpers": {registry.address(): "leaky"}}),
    );
    let out = t.banger(&[
        "kernel",
        "list",
        "--available",
        "--oci",
        &registry.repository(),
    ]);
    let all = printed(&out);
    assert!(!out.status.success(), "{all}");
    assert!(!all.contains("helper-s3cr3t"), "{all}");
    assert!(all.contains("docker-credential-leaky"), "{all}");
    assert!(all.contains("it failed (exit status: 3)"), "{all}");
}

#[test]
fn a_credential_helper_gets_no_secret_variable() {
    let mut t = TestContext::new();
    let registry = FakeRegistry::http();
    registry.tags_page("n=100", &[], None);
    let dump = t.path("helper-env");
    script(
        &mut t,
        "docker-credential-recorder",
        &format!(
            "env > '{}'\nread registry\nprintf '{{\"Username\":\"fleet\",\"Secret\":\"x\"}}'\n",
            dump.display()
        ),
    );
    docker_config(&mut t, json!({"credsStore": "recorder"}));
    // A user name alone is not a credential pair, so the helper is asked; an empty password
    // is still a variable that must not reach it.
    t.env("BANGER_SIGNING_PASSWORD", "signing-s3cr3t");
    t.env("BANGER_OCI_USERNAME", "oci-user");
    t.env("BANGER_OCI_PASSWORD", "");
    t.ok(&[
        "kernel",
        "list",
        "--available",
        "--oci",
        &registry.repository(),
    ]);
    assert_no_secret_variable(&dump);
}

#[test]
fn rclone_gets_no_secret_variable() {
    let mut t = TestContext::new();
    let server = t.https_server();
    let dir = crate::check::ready_build_dir(&t, "void", "6.12.3");
    t.ok(&crate::import::import_args("void-6.12", &dir, "x86_64"));
    let (_, secret) = crate::signed::minisign_keypair(&t, "release");
    let catalog = t.path("repo/catalog.json");
    fs::create_dir_all(catalog.parent().unwrap()).unwrap();
    fs::write(&catalog, "{\"schema\": 1, \"entries\": []}\n").unwrap();
    // A fake rclone that records its environment, then fails: the upload is not the point.
    let dump = t.path("rclone-env");
    script(
        &mut t,
        "rclone",
        &format!("env > '{}'\nexit 1\n", dump.display()),
    );
    t.env("RCLONE_REMOTE", "testr");
    t.env("RCLONE_BUCKET", "kernels");
    t.env("BASE_URL", server.url("").trim_end_matches('/'));
    for name in SECRETS {
        t.env(name, format!("{name}-value"));
    }
    let out = t.banger(&[
        "kernel",
        "publish",
        "void-6.12",
        "--catalog",
        catalog.to_str().unwrap(),
        "--sign-key",
        secret.to_str().unwrap(),
    ]);
    assert!(
        stderr(&out).contains("rclone could not upload"),
        "{}",
        stderr(&out)
    );
    assert_no_secret_variable(&dump);
}
