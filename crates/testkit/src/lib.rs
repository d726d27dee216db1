//! Test fixtures shared by banger's test suites. Nothing here ships in a binary.
//!
//! - [`alloc`]: a counting global allocator, for memory and work properties;
//! - [`kernel`]: a fake kernel build tree with a small ELF `vmlinux` and a `Linux version` banner;
//! - [`image`]: fixture kernel images (PVH and IKCONFIG ELFs, arm64 Image, bzImage with each
//!   payload codec, Image.gz, EFI zboot);
//! - [`distro`]: a real Debian cloud kernel, downloaded with apt at test time and cached;
//! - [`archive`]: bundles packed by GNU tar and the zstd CLI, and hand-built hostile archives;
//! - [`shapes`]: valid bundles of hostile shapes (deep, many entries, long links) for budgets;
//! - [`server`]: an HTTP(S) file server on 127.0.0.1 with a CA made at test time, a request
//!   log and fault injection;
//! - [`nginx`]: a real nginx on 127.0.0.1 serving a directory, for mirror tests;
//! - [`registry`]: a real OCI registry (`docker-registry`) on 127.0.0.1, with TLS and htpasswd;
//! - [`fake_registry`]: a registry faked by the test server, serving what no real one would.
#![deny(unsafe_code)]

#[allow(unsafe_code)] // a global allocator cannot be written without it
pub mod alloc;
pub mod archive;
pub mod distro;
pub mod fake_registry;
pub mod image;
pub mod kernel;
pub mod nginx;
pub mod registry;
pub mod server;
pub mod shapes;

pub use banger_bundle::sha256_hex;
