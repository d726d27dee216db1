//! End-to-end tests of the `banger` binary against real components on loopback.
// host/clippy.toml keeps banger's own output inert; the tests may print what they like.
#![allow(clippy::disallowed_macros, clippy::disallowed_methods)]

mod abi;
mod budgets;
mod check;
mod contract;
mod example_plugin;
mod exits;
mod handoff;
mod hostile;
mod image;
mod import;
mod inert;
mod json;
mod listing;
mod mirror;
mod modes;
mod oci;
mod origins;
mod plugins;
mod publish;
mod pull;
mod readme;
mod reliability;
mod rotation;
mod secrets;
mod signed;
mod ui;
mod util;
