//! OCI registries as a home for kernel bundles (docs/oci.md).
//!
//! A bundle's sha256 is its blob's address, so a registry can deliver the bytes a trusted
//! catalog names, but never substitute others: the host checks every byte as always.
//!
//! - [`reference`]: repositories and `oci://REGISTRY/REPOSITORY@sha256:…` bundle URLs;
//! - [`auth`]: credentials (environment, docker config, credential helpers) and challenges;
//! - [`client`]: the distribution API on `banger-fetch` ([`Registry`]), credentials bound to
//!   the registry's origin;
//! - [`listing`]: listing a repository's kernels within one byte budget;
//! - [`layout`]: banger's artifact layout, with `oci-spec`'s types.
#![forbid(unsafe_code)]

pub mod auth;
pub mod client;
mod error;
pub mod layout;
pub mod listing;
pub mod reference;

pub use client::Registry;
pub use error::OciError;
pub use reference::{BundleUrl, Repository};
