//! OCI registries as a transport, against a real registry (`docker-registry`, TLS from a CA
//! made at test time, htpasswd Basic auth): interop both ways, pull, mirror, publish, resume,
//! `oci://` catalog URLs and the bad inputs a registry can present.

use std::{fs, path::Path, process::Command};

use banger_testkit::{
    registry::{Auth, Registry, TokenIssuer},
    sha256_hex,
};
use serde_json::{json, Value};

use crate::util::{kernels_listing, stderr, Published, TestContext};

const USER: &str = "fleet";
const PASSWORD: &str = "s3cr3t-token";

/// A registry with Basic auth, and a context that trusts its CA and has its credentials.
fn setup() -> (TestContext, Registry) {
    let registry = Registry::start(Auth::Basic(USER, PASSWORD));
    let mut t = TestContext::new();
    t.env("SSL_CERT_FILE", registry.ca_file().display().to_string());
    t.env("BANGER_OCI_USERNAME", USER);
    t.env("BANGER_OCI_PASSWORD", PASSWORD);
    (t, registry)
}

/// One request with curl: (status, headers, body).
fn curl(
    registry: &Registry,
    method: &str,
    path: &str,
    body: Option<&Path>,
    content_type: &str,
) -> (u16, String, Vec<u8>) {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("https://{}{path}", registry.address())
    };
    let mut command = Command::new("curl");
    command
        .args(["-sS", "--cacert"])
        .arg(registry.ca_file())
        .args([
            "-u",
            &format!("{USER}:{PASSWORD}"),
            "-X",
            method,
            "-D",
            "-",
            "-H",
        ])
        .arg(format!("Content-Type: {content_type}"))
        .arg(&url);
    if let Some(body) = body {
        command
            .arg("--data-binary")
            .arg(format!("@{}", body.display()));
    }
    let out = command.output().expect("curl");
    let text = out.stdout;
    let split = text.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let headers = String::from_utf8_lossy(&text[..split]).into_owned();
    let status = headers.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, headers, text[split..].to_vec())
}

/// Push a blob with plain HTTP requests: POST an upload, PUT the bytes with their digest.
fn curl_blob(registry: &Registry, repo: &str, file: &Path) -> String {
    let digest = format!("sha256:{}", sha256_hex(&fs::read(file).unwrap()));
    let (status, headers, _) = curl(
        registry,
        "POST",
        &format!("/v2/{repo}/blobs/uploads/"),
        None,
        "application/octet-stream",
    );
    assert_eq!(status, 202, "{headers}");
    let location = headers
        .lines()
        .find_map(|l| {
            l.strip_prefix("Location: ")
                .or_else(|| l.strip_prefix("location: "))
        })
        .unwrap()
        .trim()
        .to_owned();
    let sep = if location.contains('?') { '&' } else { '?' };
    let (status, headers, _) = curl(
        registry,
        "PUT",
        &format!("{location}{sep}digest={digest}"),
        Some(file),
        "application/octet-stream",
    );
    assert_eq!(status, 201, "{headers}");
    digest
}

/// Push `bundle` as kernel `name` for x86_64 the way anyone could, following docs/oci.md.
fn curl_push_kernel(
    t: &TestContext,
    registry: &Registry,
    repo: &str,
    name: &str,
    bundle: &Path,
) -> String {
    let layer = curl_blob(registry, repo, bundle);
    let config = t.path("empty.json");
    fs::write(&config, "{}").unwrap();
    let config_digest = curl_blob(registry, repo, &config);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.banger.kernel.v1",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config_digest, "size": 2},
        "layers": [{
            "mediaType": "application/vnd.banger.kernel.bundle.v1.tar+zstd",
            "digest": layer, "size": fs::metadata(bundle).unwrap().len(),
        }],
        "annotations": {
            "org.opencontainers.image.title": format!("{name}-x86_64.tar.zst"),
            "org.opencontainers.image.version": "6.12.3",
            "org.opencontainers.image.description": "pushed with curl",
            "com.thaloco.banger.kernel.name": name,
            "com.thaloco.banger.kernel.distro": "void",
        },
    });
    let manifest_file = t.path("manifest.json");
    fs::write(&manifest_file, manifest.to_string()).unwrap();
    let manifest_digest = format!("sha256:{}", sha256_hex(&fs::read(&manifest_file).unwrap()));
    let (status, headers, _) = curl(
        registry,
        "PUT",
        &format!("/v2/{repo}/manifests/{manifest_digest}"),
        Some(&manifest_file),
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(status, 201, "{headers}");
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": fs::metadata(&manifest_file).unwrap().len(),
            "platform": {"os": "linux", "architecture": "amd64"},
        }],
    });
    let index_file = t.path("index.json");
    fs::write(&index_file, index.to_string()).unwrap();
    let (status, headers, _) = curl(
        registry,
        "PUT",
        &format!("/v2/{repo}/manifests/{name}"),
        Some(&index_file),
        "application/vnd.oci.image.index.v1+json",
    );
    assert_eq!(status, 201, "{headers}");
    layer
}

/// A fixture bundle in `www/`, and its entry.
fn bundle(t: &TestContext, tag: &str, name: &str) -> Published {
    let server = banger_testkit::server::Server::http(&t.path("www"));
    t.publish(tag, name, "6.12.3", &server)
}

#[test]
fn a_kernel_pushed_with_plain_http_requests_is_listed_and_pulled() {
    let (t, registry) = setup();
    let void = bundle(&t, "void", "void-6.12");
    let repo = "acme/kernels";
    curl_push_kernel(
        &t,
        &registry,
        repo,
        "void-6.12",
        &t.path("www").join(&void.file),
    );
    let oci = format!("{}/{repo}", registry.address());

    let listed: Value =
        serde_json::from_str(&t.ok(&["kernel", "list", "--available", "--oci", &oci, "--json"]))
            .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["name"], "void-6.12");
    assert_eq!(listed[0]["sha256"], void.entry["sha256"]);
    assert_eq!(listed[0]["size"], void.entry["size"]);
    assert_eq!(listed[0]["verified"], false);

    // Only the registry lists it: refused without --allow-unverified, installed with it.
    t.fails(
        &[
            "kernel",
            "pull",
            "void-6.12",
            "--arch",
            "x86_64",
            "--oci",
            &oci,
        ],
        "--allow-unverified",
    );
    t.ok(&[
        "kernel",
        "pull",
        "void-6.12",
        "--arch",
        "x86_64",
        "--oci",
        &oci,
        "--allow-unverified",
    ]);
    banger_testkit::kernel::assert_same_tree(
        &void.tree,
        &t.kernels().join("void-6.12"),
        &["manifest.json"],
    );

    // In the trusted catalog, it is verified and fetched by the catalog's digest.
    t.ok(&["kernel", "rm", "void-6.12"]);
    t.write_catalog(&[&void.entry]);
    let out = t.ok(&[
        "kernel",
        "pull",
        "void-6.12",
        "--arch",
        "x86_64",
        "--source",
        "oci",
        "--opt",
        &format!("repo={oci}"),
    ]);
    assert!(out.contains("checked against the trusted catalog"), "{out}");
    let manifest: Value =
        serde_json::from_slice(&fs::read(t.kernels().join("void-6.12/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(
        manifest["url"],
        format!(
            "oci://{oci}@sha256:{}",
            void.entry["sha256"].as_str().unwrap()
        )
    );
    assert!(
        registry.requests().iter().any(|r| r.starts_with(&format!(
            "GET /v2/{repo}/blobs/sha256:{} 200",
            void.entry["sha256"].as_str().unwrap()
        ))),
        "{:?}",
        registry.requests()
    );
}

#[test]
fn bad_registry_inputs_fail_clearly_and_install_nothing() {
    let (mut t, registry) = setup();
    let oci = format!("{}/acme/kernels", registry.address());
    let void = bundle(&t, "void", "void-6.12");
    curl_push_kernel(
        &t,
        &registry,
        "acme/kernels",
        "void-6.12",
        &t.path("www").join(&void.file),
    );
    let pull = |t: &TestContext, extra: &[&str], expected: &str| {
        let mut args = vec![
            "kernel",
            "pull",
            "void-6.12",
            "--arch",
            "x86_64",
            "--oci",
            &oci,
            "--allow-unverified",
        ];
        args.extend(extra);
        t.fails(&args, expected);
        assert!(kernels_listing(t).is_empty());
    };
    // An unknown tag.
    t.fails(
        &[
            "kernel",
            "pull",
            "alpine-6.6",
            "--arch",
            "x86_64",
            "--oci",
            &oci,
            "--allow-unverified",
        ],
        "no kernel `alpine-6.6` for x86_64",
    );
    // A catalog entry whose digest the registry does not have (another layer digest).
    let mut other = void.entry.clone();
    other["sha256"] = json!("b".repeat(64));
    t.write_catalog(&[&other]);
    pull(&t, &[], "not the trusted catalog's");
    t.write_catalog(&[]);
    // No credentials: a 401 with a hint on how to log in.
    t.env("BANGER_OCI_USERNAME", "");
    t.env("BANGER_OCI_PASSWORD", "");
    let err = t.fails(
        &["kernel", "list", "--available", "--oci", &oci],
        "needs credentials",
    );
    assert!(
        err.contains("docker login") && !err.contains(PASSWORD),
        "{err}"
    );
    // A docker config naming a credential helper that does not exist.
    let docker = t.path("docker");
    fs::create_dir_all(&docker).unwrap();
    fs::write(
        docker.join("config.json"),
        json!({"credHelpers": {registry.address(): "nonexistent"}}).to_string(),
    )
    .unwrap();
    t.env("DOCKER_CONFIG", docker.display().to_string());
    let err = t.fails(
        &["kernel", "list", "--available", "--oci", &oci],
        "docker-credential-nonexistent",
    );
    assert!(err.contains("cannot run it"), "{err}");
    // The docker config's own auths work.
    let auth = {
        use std::io::Write;
        let mut child = Command::new("base64")
            .arg("-w0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{USER}:{PASSWORD}").as_bytes())
            .unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
    };
    fs::write(
        docker.join("config.json"),
        json!({"auths": {registry.address(): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    assert!(t
        .ok(&["kernel", "list", "--available", "--oci", &oci])
        .contains("void-6.12"));
    // A repository name that is not one.
    t.fails(
        &["kernel", "list", "--available", "--oci", "no-slash"],
        "is not a registry repository",
    );
    let _ = stderr;
}

#[test]
fn publish_to_a_registry_is_read_by_skopeo_and_pulled_through_the_catalog() {
    let (mut t, registry) = setup();
    let dir = crate::check::ready_build_dir(&t, "void", "6.12.3");
    let dir_arg = dir.display().to_string();
    t.ok(&[
        "kernel",
        "import",
        "void-6.12",
        "--from",
        &dir_arg,
        "--distro",
        "void",
        "--arch",
        "x86_64",
    ]);
    let (public, secret) = crate::signed::minisign_keypair(&t, "release");
    let catalog = t.path("repo/catalog.json");
    fs::create_dir_all(catalog.parent().unwrap()).unwrap();
    fs::write(&catalog, "{\"schema\": 1, \"entries\": []}\n").unwrap();
    let repo = format!("{}/acme/kernels", registry.address());
    let out: Value = serde_json::from_str(&t.ok(&[
        "kernel",
        "publish",
        "void-6.12",
        "--to",
        &format!("oci://{repo}"),
        "--catalog",
        catalog.to_str().unwrap(),
        "--sign-key",
        secret.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    let sha = out["sha256"].as_str().unwrap().to_owned();
    let entries: Value = serde_json::from_slice(&fs::read(&catalog).unwrap()).unwrap();
    assert_eq!(
        entries["entries"][0]["url"],
        format!("oci://{repo}@sha256:{sha}")
    );
    assert_eq!(entries["serial"], 1);
    // The registry saw the checks: HEAD of the blob, GET of the manifest by digest.
    let requests = registry.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with(&format!("HEAD /v2/acme/kernels/blobs/sha256:{sha} 200"))),
        "{requests:?}"
    );
    assert!(requests.iter().any(|r| r.starts_with("GET /v2/acme/kernels/manifests/sha256:") && r.ends_with(" 200")), "{requests:?}");

    // skopeo reads the layout back as docs/oci.md describes it.
    let certs = t.path("certs");
    fs::create_dir_all(&certs).unwrap();
    fs::copy(registry.ca_file(), certs.join("ca.crt")).unwrap();
    let skopeo = |reference: &str| -> Value {
        let out = Command::new("skopeo")
            .args(["inspect", "--raw", "--cert-dir"])
            .arg(&certs)
            .args(["--creds", &format!("{USER}:{PASSWORD}")])
            .arg(format!("docker://{repo}{reference}"))
            .output()
            .expect("skopeo");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let index = skopeo(":void-6.12");
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let described = &index["manifests"][0];
    assert_eq!(
        described["platform"],
        json!({"os": "linux", "architecture": "amd64"})
    );
    let manifest = skopeo(&format!("@{}", described["digest"].as_str().unwrap()));
    assert_eq!(manifest["artifactType"], "application/vnd.banger.kernel.v1");
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(manifest["config"]["size"], 2);
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.banger.kernel.bundle.v1.tar+zstd"
    );
    assert_eq!(layers[0]["digest"], format!("sha256:{sha}"));
    assert_eq!(layers[0]["size"], out["size"]);
    let annotations = &manifest["annotations"];
    assert_eq!(
        annotations["org.opencontainers.image.title"],
        "void-6.12-x86_64.tar.zst"
    );
    assert_eq!(annotations["org.opencontainers.image.version"], "6.12.3");
    assert_eq!(annotations["com.thaloco.banger.kernel.name"], "void-6.12");
    assert_eq!(annotations["com.thaloco.banger.kernel.distro"], "void");

    // Another machine trusts the signed catalog; its `oci://` entry is pulled by the default
    // catalog source.
    assert!(Command::new("minisign")
        .arg("-V")
        .arg("-p")
        .arg(&public)
        .arg("-m")
        .arg(&catalog)
        .output()
        .unwrap()
        .status
        .success());
    t.env("BANGER_CATALOG", catalog.display().to_string());
    t.env("BANGER_STATE_DIR", t.path("state2").display().to_string());
    let out = t.ok(&["kernel", "pull", "void-6.12", "--arch", "x86_64"]);
    assert!(out.contains("checked against the trusted catalog"), "{out}");
    banger_testkit::kernel::assert_same_tree(
        &dir,
        &t.path("state2/kernels/void-6.12"),
        &[".config", "config", "System.map", "manifest.json"],
    );
}

#[test]
fn mirroring_into_a_registry_is_verified_idempotent_and_pulls_resume() {
    let (mut t, registry) = setup();
    let server = banger_testkit::server::Server::https(&t.path("www"));
    t.env("SSL_CERT_FILE", {
        // Trust both CAs: the bundle server's and the registry's.
        let both = t.path("cas.pem");
        let mut pem = fs::read(server.ca_file()).unwrap();
        pem.extend(fs::read(registry.ca_file()).unwrap());
        fs::write(&both, pem).unwrap();
        both.display().to_string()
    });
    let void = t.publish("void", "void-6.12", "6.12.3", &server);
    let alpine = t.publish("alpine", "alpine-6.6", "6.6.1", &server);
    t.write_catalog(&[&alpine.entry, &void.entry]);
    let repo = format!("{}/fleet/kernels", registry.address());
    let target = format!("oci://{repo}");
    let out: Value =
        serde_json::from_str(&t.ok(&["kernel", "mirror", &target, "--arch", "x86_64", "--json"]))
            .unwrap();
    let actions: Vec<&str> = out["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["add", "add"]);

    // Pulled back from the registry: byte-identical trees, verified against the catalog.
    let out = t.ok(&[
        "kernel",
        "pull",
        "void-6.12",
        "--arch",
        "x86_64",
        "--oci",
        &repo,
    ]);
    assert!(out.contains("checked against the trusted catalog"), "{out}");
    banger_testkit::kernel::assert_same_tree(
        &void.tree,
        &t.kernels().join("void-6.12"),
        &["manifest.json"],
    );

    // A second mirror uploads nothing.
    let before = registry.requests().len();
    let out: Value =
        serde_json::from_str(&t.ok(&["kernel", "mirror", &target, "--arch", "x86_64", "--json"]))
            .unwrap();
    assert!(
        out["bundles"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["action"] == "skip"),
        "{out}"
    );
    let after = &registry.requests()[before..];
    assert!(
        after
            .iter()
            .all(|r| !r.starts_with("PUT") && !r.starts_with("POST") && !r.starts_with("PATCH")),
        "{:#?}",
        registry.requests()
    );

    // A kept partial download resumes with a 206 from the registry.
    let sha = alpine.entry["sha256"].as_str().unwrap();
    let bytes = fs::read(t.path("www").join(&alpine.file)).unwrap();
    let downloads = t.path("state/downloads");
    fs::create_dir_all(&downloads).unwrap();
    fs::write(
        downloads.join(format!("{sha}.partial")),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    let out = t.banger(&[
        "kernel",
        "pull",
        "alpine-6.6",
        "--arch",
        "x86_64",
        "--oci",
        &repo,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("resumed at byte"), "{}", stderr(&out));
    assert!(
        registry
            .requests()
            .iter()
            .any(|r| r == &format!("GET /v2/fleet/kernels/blobs/sha256:{sha} 206")),
        "{:?}",
        registry.requests()
    );
    banger_testkit::kernel::assert_same_tree(
        &alpine.tree,
        &t.kernels().join("alpine-6.6"),
        &["manifest.json"],
    );
}

#[test]
fn the_bearer_token_flow_works_against_a_registry_with_token_auth() {
    let issuer = TokenIssuer::new(&["fleet/kernels"]);
    let registry = Registry::start(Auth::Token(&issuer));
    let mut t = TestContext::new();
    let server = banger_testkit::server::Server::https(&t.path("www"));
    let cas = t.path("cas.pem");
    let mut pem = Vec::new();
    for ca in [server.ca_file(), issuer.ca_file(), &registry.ca_file()] {
        pem.extend(fs::read(ca).unwrap());
    }
    fs::write(&cas, pem).unwrap();
    t.env("SSL_CERT_FILE", cas.display().to_string());
    let void = t.publish("void", "void-6.12", "6.12.3", &server);
    t.write_catalog(&[&void.entry]);
    let repo = format!("{}/fleet/kernels", registry.address());

    // Push (pull and push scope) and pull (pull scope), each through a token from the realm.
    t.ok(&[
        "kernel",
        "mirror",
        &format!("oci://{repo}"),
        "--arch",
        "x86_64",
    ]);
    t.ok(&[
        "kernel",
        "pull",
        "void-6.12",
        "--arch",
        "x86_64",
        "--oci",
        &repo,
    ]);
    banger_testkit::kernel::assert_same_tree(
        &void.tree,
        &t.kernels().join("void-6.12"),
        &["manifest.json"],
    );
    let tokens = issuer.requests();
    assert!(
        tokens
            .iter()
            .any(|r| r.contains("scope=repository%3Afleet%2Fkernels%3Apull%2Cpush")),
        "{tokens:?}"
    );
    assert!(
        tokens
            .iter()
            .any(|r| r.contains("scope=repository%3Afleet%2Fkernels%3Apull&")),
        "{tokens:?}"
    );
    assert!(
        tokens
            .iter()
            .all(|r| r.contains("service=banger-test-registry")),
        "{tokens:?}"
    );
    // One token per scope per run: the mirror run asked twice at most, the pull once.
    assert!(tokens.len() <= 3, "{tokens:?}");
}

/// A registry faked by a plain HTTP file server on loopback: the distribution API's GET paths
/// as files, so that a test can make it serve what no real registry would.
struct Fake {
    t: TestContext,
    server: banger_testkit::server::Server,
    repo: String,
    root: std::path::PathBuf,
}

impl Fake {
    fn new() -> Self {
        let t = TestContext::new();
        let www = t.path("fake");
        let root = www.join("v2/acme/kernels");
        fs::create_dir_all(root.join("manifests")).unwrap();
        fs::create_dir_all(root.join("blobs")).unwrap();
        fs::create_dir_all(root.join("tags")).unwrap();
        let server = banger_testkit::server::Server::http(&www);
        let repo = format!(
            "{}/acme/kernels",
            server
                .url("")
                .trim_start_matches("http://")
                .trim_end_matches('/')
        );
        Self {
            t,
            server,
            repo,
            root,
        }
    }

    fn write(&self, path: &str, bytes: &[u8]) -> String {
        fs::write(self.root.join(path), bytes).unwrap();
        format!("sha256:{}", sha256_hex(bytes))
    }

    /// Tag `name` with an index of `manifests` descriptors.
    fn tag(&self, name: &str, manifests: Vec<Value>) {
        self.write(
            "tags/list",
            json!({"name": "acme/kernels", "tags": [name]})
                .to_string()
                .as_bytes(),
        );
        let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
        self.write(&format!("manifests/{name}"), index.to_string().as_bytes());
    }

    /// A banger manifest whose layer is `layer` (digest, size); returns its descriptor.
    fn manifest(&self, name: &str, layer: (&str, u64)) -> Value {
        let manifest = json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.banger.kernel.v1",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": format!("sha256:{}", sha256_hex(b"{}")), "size": 2},
            "layers": [{"mediaType": "application/vnd.banger.kernel.bundle.v1.tar+zstd", "digest": layer.0, "size": layer.1}],
            "annotations": {"com.thaloco.banger.kernel.name": name, "com.thaloco.banger.kernel.distro": "void", "org.opencontainers.image.version": "6.12.3"},
        })
        .to_string();
        let digest = self.write(
            &format!("manifests/sha256:{}", sha256_hex(manifest.as_bytes())),
            manifest.as_bytes(),
        );
        json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": manifest.len(), "platform": {"os": "linux", "architecture": "amd64"}})
    }

    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = args.to_vec();
        all.extend(["--oci", &self.repo]);
        all
    }
}

#[test]
fn a_registry_that_lies_or_floods_is_refused_clearly() {
    let fake = Fake::new();
    let void = bundle(&fake.t, "void", "void-6.12");
    let bytes = fs::read(fake.t.path("www").join(&void.file)).unwrap();
    let sha = void.entry["sha256"].as_str().unwrap();
    let pull = [
        "kernel",
        "pull",
        "void-6.12",
        "--arch",
        "x86_64",
        "--allow-unverified",
    ];

    // Bytes that do not match the digest they are served under: the host's check refuses them.
    let mut tampered = bytes.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0xff;
    fs::write(fake.root.join(format!("blobs/sha256:{sha}")), &tampered).unwrap();
    let descriptor = fake.manifest("void-6.12", (&format!("sha256:{sha}"), bytes.len() as u64));
    fake.tag("void-6.12", vec![descriptor.clone()]);
    fake.t.fails(
        &fake.args(&pull),
        "checksum mismatch for kernel `void-6.12`",
    );
    assert!(kernels_listing(&fake.t).is_empty());

    // The registry's manifest names another layer than the trusted catalog.
    let mut trusted = void.entry.clone();
    trusted["sha256"] = json!("c".repeat(64));
    fake.t.write_catalog(&[&trusted]);
    fake.t.fails(&fake.args(&pull), "not the trusted catalog's");
    fake.t.write_catalog(&[]);

    // A manifest or index over 4 MiB.
    fake.write("manifests/void-6.12", &vec![b' '; 5 << 20]);
    fake.t.fails(
        &fake.args(&["kernel", "list", "--available"]),
        "larger than the 4194304 bytes",
    );
    // An index with 10,000 entries.
    fake.tag("void-6.12", vec![descriptor; 10_000]);
    fake.t.fails(
        &fake.args(&["kernel", "list", "--available"]),
        "lists 10000 manifests, more than the 64",
    );
    assert!(kernels_listing(&fake.t).is_empty());
}

#[test]
fn retry_after_is_honoured_and_bounded_and_bad_challenges_are_named() {
    use banger_testkit::server::Fault;
    let fake = Fake::new();
    let void = bundle(&fake.t, "void", "void-6.12");
    let bytes = fs::read(fake.t.path("www").join(&void.file)).unwrap();
    let digest = fake.write(
        &format!("blobs/sha256:{}", void.entry["sha256"].as_str().unwrap()),
        &bytes,
    );
    let descriptor = fake.manifest("void-6.12", (&digest, bytes.len() as u64));
    fake.tag("void-6.12", vec![descriptor]);
    let list = ["kernel", "list", "--available"];
    let tags = "v2/acme/kernels/tags/list?n=100";

    // One 429 asking for a second: waited out, and the listing succeeds.
    fake.server.set_fault_times(tags, Fault::RetryAfter(1), 1);
    let started = std::time::Instant::now();
    let out = fake.t.banger(&fake.args(&list));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert!(
        stderr(&out).contains("waiting 1 s as it asks"),
        "{}",
        stderr(&out)
    );
    // A registry asking for two minutes is not waited for.
    fake.server.set_fault(tags, Fault::RetryAfter(120));
    fake.t.fails(
        &fake.args(&list),
        "asked to wait 120 s, more than the 60 s banger waits",
    );
    // A malformed challenge is named.
    fake.server
        .set_fault(tags, Fault::Challenge("Bearer service=\"x\"".into()));
    fake.t.fails(
        &fake.args(&list),
        "malformed WWW-Authenticate header: `Bearer service=\"x\"`",
    );
}

#[test]
fn credentials_come_from_a_docker_credential_helper_and_never_show() {
    let (mut t, registry) = setup();
    let void = bundle(&t, "void", "void-6.12");
    curl_push_kernel(
        &t,
        &registry,
        "acme/kernels",
        "void-6.12",
        &t.path("www").join(&void.file),
    );
    t.env("BANGER_OCI_USERNAME", "");
    t.env("BANGER_OCI_PASSWORD", "");
    // A credential helper, as `docker login` with a credsStore leaves things.
    let bin = t.path("bin");
    fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-fake");
    fs::write(
        &helper,
        format!("#!/bin/sh\nread registry\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$registry\"\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).unwrap();
    t.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    let docker = t.path("docker");
    fs::create_dir_all(&docker).unwrap();
    fs::write(
        docker.join("config.json"),
        json!({"credsStore": "fake"}).to_string(),
    )
    .unwrap();
    t.env("DOCKER_CONFIG", docker.display().to_string());
    let oci = format!("{}/acme/kernels", registry.address());
    let out = t.banger(&[
        "kernel",
        "pull",
        "void-6.12",
        "--arch",
        "x86_64",
        "--oci",
        &oci,
        "--allow-unverified",
        "--json",
    ]);
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(out.status.success(), "{all}");
    assert!(!all.contains(PASSWORD));
    let manifest = fs::read_to_string(t.kernels().join("void-6.12/manifest.json")).unwrap();
    assert!(
        !manifest.contains(PASSWORD) && !manifest.contains(USER),
        "{manifest}"
    );
}
