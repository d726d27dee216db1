//! End-to-end tests of the `banger` binary against real components on loopback.

mod plugins;
mod pull;
mod util;
