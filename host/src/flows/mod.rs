//! The multi-step operations, with no printing of their own: a pull from verdict to installed
//! tree ([`pull`]), filling a mirror with verified bundles ([`mirror`]), and publishing a
//! kernel ([`publish`]). Commands call one of these and print the outcome.

pub mod mirror;
pub mod publish;
pub mod pull;
