//! A registry faked by the test [`Server`]: the distribution API's GET paths as files, and
//! canned answers for the rest, so that a test can make it serve what no real registry would:
//! floods of tags, pages over their `n`, indexes that name one manifest many times, `Link`
//! pages and upload `Location`s on another origin. The repository is always `acme/kernels`.

use std::{fs, path::PathBuf};

use serde_json::{json, Value};

use crate::{server::Server, sha256_hex};

/// The repository path every fake serves.
pub const REPOSITORY: &str = "acme/kernels";

/// A fake registry on 127.0.0.1; it stops when dropped.
pub struct FakeRegistry {
    pub server: Server,
    root: PathBuf,
    _dir: tempfile::TempDir,
}

impl FakeRegistry {
    /// A fake over plain HTTP, which clients allow for a registry on loopback.
    pub fn http() -> Self {
        Self::start(Server::http)
    }

    /// A fake over HTTPS with a CA made now ([`Server::ca_file`]).
    pub fn https() -> Self {
        Self::start(Server::https)
    }

    fn start(serve: fn(&std::path::Path) -> Server) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("v2").join(REPOSITORY);
        for sub in ["manifests", "blobs", "tags"] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        Self {
            server: serve(dir.path()),
            root,
            _dir: dir,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        let url = self.server.url("");
        let rest = url.split_once("://").unwrap().1;
        rest.trim_end_matches('/').to_owned()
    }

    /// `127.0.0.1:PORT/acme/kernels`, as `--oci` takes it.
    pub fn repository(&self) -> String {
        format!("{}/{REPOSITORY}", self.address())
    }

    /// The path of `rest` under the repository, as requested (`v2/acme/kernels/<rest>`).
    pub fn path(rest: &str) -> String {
        format!("v2/{REPOSITORY}/{rest}")
    }

    /// Serve `bytes` at `v2/acme/kernels/<path>`; returns their `sha256:` digest.
    pub fn write(&self, path: &str, bytes: &[u8]) -> String {
        fs::write(self.root.join(path), bytes).unwrap();
        format!("sha256:{}", sha256_hex(bytes))
    }

    /// A banger manifest for kernel `name` whose layer is (digest, size), with `description`;
    /// returns its descriptor in an index, for `architecture` (`amd64`, `arm64`).
    pub fn manifest(
        &self,
        name: &str,
        layer: (&str, u64),
        description: &str,
        architecture: &str,
    ) -> Value {
        let manifest = json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.banger.kernel.v1",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": format!("sha256:{}", sha256_hex(b"{}")), "size": 2},
            "layers": [{"mediaType": "application/vnd.banger.kernel.bundle.v1.tar+zstd", "digest": layer.0, "size": layer.1}],
            "annotations": {
                "com.thaloco.banger.kernel.name": name,
                "com.thaloco.banger.kernel.distro": "void",
                "org.opencontainers.image.version": "6.12.3",
                "org.opencontainers.image.description": description,
            },
        })
        .to_string();
        let digest = format!("sha256:{}", sha256_hex(manifest.as_bytes()));
        self.write(&format!("manifests/{digest}"), manifest.as_bytes());
        json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest, "size": manifest.len(),
            "platform": {"os": "linux", "architecture": architecture},
        })
    }

    /// Tag `tag` with an index of `descriptors`.
    pub fn index(&self, tag: &str, descriptors: &[Value]) {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": descriptors,
        });
        self.write(&format!("manifests/{tag}"), index.to_string().as_bytes());
    }

    /// Answer `tags/list?<query>` with `tags`, and a `Link` to `next` (any URL or reference)
    /// when there is one.
    pub fn tags_page(&self, query: &str, tags: &[String], next: Option<&str>) {
        let body = json!({"name": REPOSITORY, "tags": tags}).to_string();
        self.tags_page_raw(query, body.as_bytes(), next);
    }

    /// [`FakeRegistry::tags_page`] with a body of the caller's making.
    pub fn tags_page_raw(&self, query: &str, body: &[u8], next: Option<&str>) {
        let link = next.map(|next| format!("Link: <{next}>; rel=\"next\""));
        let headers: Vec<&str> = link.iter().map(String::as_str).collect();
        self.server.respond(
            &Self::path(&format!("tags/list?{query}")),
            200,
            &headers,
            body,
        );
    }
}
