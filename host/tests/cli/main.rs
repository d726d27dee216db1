//! End-to-end tests of the `banger` binary against real components on loopback.

mod abi;
mod example_plugin;
mod hostile;
mod image;
mod import;
mod listing;
mod mirror;
mod oci;
mod origins;
mod plugins;
mod publish;
mod pull;
mod readme;
mod reliability;
mod secrets;
mod signed;
mod ui;
mod util;
