//! Credentials belong to the registry's origin (scheme, host, port), and plain http:// goes
//! only to a loopback registry's own origin. A second loopback server on another port is
//! another origin; each server's log of `Authorization` headers shows who received what.

use std::fs;

use banger_testkit::{
    fake_registry::FakeRegistry,
    server::{Fault, Server},
};

use crate::util::{stderr, TestContext};

const USER: &str = "fleet";
const PASSWORD: &str = "origin-s3cr3t";

/// A context with credentials for any registry, trusting the CAs of `servers`.
fn context(servers: &[&Server]) -> TestContext {
    let mut t = TestContext::new();
    t.env("BANGER_OCI_USERNAME", USER);
    t.env("BANGER_OCI_PASSWORD", PASSWORD);
    trust(&mut t, servers);
    t
}

fn trust(t: &mut TestContext, servers: &[&Server]) {
    let mut pem = Vec::new();
    for server in servers {
        pem.extend(fs::read(server.ca_file()).unwrap());
    }
    let cas = t.path("cas.pem");
    fs::write(&cas, pem).unwrap();
    t.env("SSL_CERT_FILE", cas.display().to_string());
}

/// Make the fake ask for Basic credentials at the first request of `path`.
fn challenge(fake: &FakeRegistry, path: &str, header: &str) {
    fake.server.set_fault_times(
        &FakeRegistry::path(path),
        Fault::Challenge(header.into()),
        1,
    );
}

/// Tag `void-6.12` on `fake` with one x86_64 manifest whose layer is (digest, size).
fn kernel(fake: &FakeRegistry, layer: (&str, u64)) {
    let descriptor = fake.manifest("void-6.12", layer, "Void", "amd64");
    fake.index("void-6.12", &[descriptor]);
}

fn some_layer() -> (String, u64) {
    (format!("sha256:{}", "a".repeat(64)), 10)
}

#[test]
fn a_link_page_on_another_origin_is_followed_without_credentials() {
    let registry = FakeRegistry::http();
    let other = FakeRegistry::https();
    let t = context(&[&other.server]);
    challenge(&registry, "tags/list?n=100", "Basic realm=\"fake\"");
    let next = other.server.url("v2/acme/kernels/tags/list?n=100&last=b");
    registry.tags_page("n=100", &["alpine-6.6".to_owned()], Some(&next));
    other.tags_page("n=100&last=b", &["void-6.12".to_owned()], None);
    let (layer, size) = some_layer();
    kernel(&registry, (&layer, size));
    let descriptor = registry.manifest("alpine-6.6", (&layer, size), "Alpine", "amd64");
    registry.index("alpine-6.6", &[descriptor]);

    let out = t.ok(&[
        "kernel",
        "list",
        "--available",
        "--oci",
        &registry.repository(),
    ]);
    assert!(
        out.contains("alpine-6.6") && out.contains("void-6.12"),
        "{out}"
    );
    // The registry got the credentials; the other origin served its page without any.
    assert!(
        registry
            .server
            .authorized()
            .iter()
            .any(|r| r.starts_with("GET /v2/acme/kernels/tags/list?n=100 Basic")),
        "{:?}",
        registry.server.authorized()
    );
    assert!(other
        .server
        .requests()
        .iter()
        .any(|r| r.starts_with("GET /v2/acme/kernels/tags/list?n=100&last=b 200")));
    assert_eq!(other.server.authorized(), Vec::<String>::new());

    // A page on another origin over plain http is not requested at all.
    let plain = FakeRegistry::http();
    let next = plain.server.url("v2/acme/kernels/tags/list?n=100&last=b");
    registry.tags_page("n=100", &["alpine-6.6".to_owned()], Some(&next));
    t.fails(
        &[
            "kernel",
            "list",
            "--available",
            "--oci",
            &registry.repository(),
        ],
        "only https:// URLs are allowed here",
    );
    assert_eq!(plain.server.requests(), Vec::<String>::new());
}

#[test]
fn an_upload_location_on_another_origin_gets_no_credentials() {
    let registry = FakeRegistry::http();
    let storage = FakeRegistry::https();
    let mut t = TestContext::new();
    let bundles = Server::https(&t.path("www"));
    t.env("BANGER_OCI_USERNAME", USER);
    t.env("BANGER_OCI_PASSWORD", PASSWORD);
    trust(&mut t, &[&bundles, &storage.server]);
    let void = t.publish("void", "void-6.12", "6.12.3", &bundles);
    t.write_catalog(&[&void.entry]);
    let sha = void.entry["sha256"].as_str().unwrap();
    challenge(
        &registry,
        &format!("blobs/sha256:{sha}"),
        "Basic realm=\"fake\"",
    );
    let location = format!(
        "Location: {}",
        storage.server.url("upload/session?_state=abc")
    );
    registry.server.respond_to(
        "POST",
        &FakeRegistry::path("blobs/uploads/"),
        202,
        &[&location],
        b"",
    );
    storage
        .server
        .respond_to("PUT", "upload/session*", 201, &[], b"");
    registry
        .server
        .respond_to("PUT", &FakeRegistry::path("manifests/*"), 201, &[], b"");

    t.ok(&[
        "kernel",
        "mirror",
        &format!("oci://{}", registry.repository()),
        "--arch",
        "x86_64",
    ]);
    assert!(
        storage
            .server
            .requests()
            .iter()
            .any(|r| r.starts_with(&format!(
                "PUT /upload/session?_state=abc&digest=sha256:{sha} 201"
            ))),
        "{:?}",
        storage.server.requests()
    );
    assert_eq!(storage.server.authorized(), Vec::<String>::new());
    let authorized = registry.server.authorized();
    assert!(
        authorized
            .iter()
            .any(|r| r == "POST /v2/acme/kernels/blobs/uploads/ Basic"),
        "{authorized:?}"
    );
}

#[test]
fn a_bearer_realm_elsewhere_needs_https_and_its_token_stays_with_the_registry() {
    let registry = FakeRegistry::http();
    registry.tags_page("n=100", &["void-6.12".to_owned()], None);
    kernel(&registry, {
        let (layer, size) = some_layer();
        (&layer.clone(), size)
    });
    let token = br#"{"token":"t0k3n"}"#;

    let issuer = Server::https(&tempfile::tempdir().unwrap().keep());
    issuer.respond("token*", 200, &[], token);
    let t = context(&[&issuer]);

    // A realm over plain http on another origin is never sent anything.
    let plain = Server::http(&tempfile::tempdir().unwrap().keep());
    let realm = plain.url("token");
    challenge(
        &registry,
        "tags/list?n=100",
        &format!("Bearer realm=\"{realm}\",service=\"fake\""),
    );
    t.fails(
        &[
            "kernel",
            "list",
            "--available",
            "--oci",
            &registry.repository(),
        ],
        "over plain http://",
    );
    assert_eq!(plain.requests(), Vec::<String>::new());

    // Over https on another origin, as Docker Hub's is: it gets the credentials, and the
    // registry gets the token.
    challenge(
        &registry,
        "tags/list?n=100",
        &format!("Bearer realm=\"{}\",service=\"fake\"", issuer.url("token")),
    );
    let out = t.ok(&[
        "kernel",
        "list",
        "--available",
        "--oci",
        &registry.repository(),
    ]);
    assert!(out.contains("void-6.12"), "{out}");
    assert!(
        issuer.authorized().iter().any(|r| r.ends_with(" Basic")),
        "{:?}",
        issuer.authorized()
    );
    assert!(registry
        .server
        .authorized()
        .iter()
        .any(|r| r == "GET /v2/acme/kernels/tags/list?n=100 Bearer"));

    // The loopback registry's own origin may be its realm over plain http.
    registry.server.respond("token*", 200, &[], token);
    challenge(
        &registry,
        "tags/list?n=100",
        &format!(
            "Bearer realm=\"{}\",service=\"fake\"",
            registry.server.url("token")
        ),
    );
    t.ok(&[
        "kernel",
        "list",
        "--available",
        "--oci",
        &registry.repository(),
    ]);
    assert!(registry
        .server
        .authorized()
        .iter()
        .any(|r| r.starts_with("GET /token?") && r.ends_with(" Basic")));
}

#[test]
fn a_blob_redirected_to_another_origin_loses_its_credentials() {
    let registry = FakeRegistry::http();
    let mut t = TestContext::new();
    let storage = Server::https(&t.path("www"));
    t.env("BANGER_OCI_USERNAME", USER);
    t.env("BANGER_OCI_PASSWORD", PASSWORD);
    trust(&mut t, &[&storage]);
    let void = t.publish("void", "void-6.12", "6.12.3", &storage);
    let sha = void.entry["sha256"].as_str().unwrap();
    let size = void.entry["size"].as_u64().unwrap();
    registry.tags_page("n=100", &["void-6.12".to_owned()], None);
    kernel(&registry, (&format!("sha256:{sha}"), size));
    challenge(&registry, "manifests/void-6.12", "Basic realm=\"fake\"");
    let blob = FakeRegistry::path(&format!("blobs/sha256:{sha}"));
    let location = format!("Location: {}", storage.url(&void.file));
    registry.server.respond(&blob, 307, &[&location], b"");
    let pull = [
        "kernel",
        "pull",
        "void-6.12",
        "--arch",
        "x86_64",
        "--allow-unverified",
        "--oci",
        &registry.repository(),
    ];
    t.ok(&pull);
    assert!(
        registry
            .server
            .authorized()
            .iter()
            .any(|r| r == &format!("GET /{blob} Basic")),
        "{:?}",
        registry.server.authorized()
    );
    assert!(storage
        .requests()
        .iter()
        .any(|r| r.starts_with(&format!("GET /{} 200", void.file))));
    assert_eq!(storage.authorized(), Vec::<String>::new());

    // A redirect to plain http on another origin is refused before it is sent.
    t.ok(&["kernel", "rm", "void-6.12"]);
    let plain = Server::http(&t.path("www"));
    let location = format!("Location: {}", plain.url(&void.file));
    registry.server.respond(&blob, 307, &[&location], b"");
    t.fails(&pull, "refusing the redirect");
    assert_eq!(plain.requests(), Vec::<String>::new());
}

#[test]
fn a_127_prefixed_name_is_not_loopback_and_gets_no_plain_http() {
    // A proxy logs what would have gone out: nothing is resolved or sent beyond loopback.
    let proxy = Server::http(&tempfile::tempdir().unwrap().keep());
    let mut t = TestContext::new();
    let address = proxy.url("").trim_end_matches('/').to_owned();
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
        t.env(var, &address);
    }
    let repo = "127.example.com:5000/acme/kernels";
    let out = t.banger(&["kernel", "list", "--available", "--oci", repo]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("127.example.com:5000"),
        "{}",
        stderr(&out)
    );
    let requests = proxy.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("CONNECT 127.example.com:5000")),
        "{requests:?}"
    );
    assert!(
        !requests.iter().any(|r| r.starts_with("GET http://")),
        "{requests:?}"
    );
    // With insecure=true the user allows plain http to it, and the proxy sees it.
    t.banger(&[
        "kernel",
        "list",
        "--available",
        "--source",
        "oci",
        "--opt",
        &format!("repo={repo}"),
        "--opt",
        "insecure=true",
    ]);
    assert!(
        proxy
            .requests()
            .iter()
            .any(|r| r.starts_with("GET http://127.example.com:5000/v2/")),
        "{:?}",
        proxy.requests()
    );
}
