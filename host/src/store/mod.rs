//! The state directory and everything kept in it: where it lives and the rules its
//! directories follow ([`state`]), who may own and write a path ([`guard`]), opening files in it without following links ([`files`]),
//! files that appear whole and durably ([`atomic`]), the installed kernels ([`kernels`]) with
//! their `manifest.json` ([`manifest`]) and the check of their bytes ([`expected`]), partial
//! downloads kept for resuming ([`downloads`]), and image records ([`images`]).

pub mod atomic;
pub mod downloads;
pub mod expected;
pub mod files;
pub mod guard;
pub mod images;
pub mod kernels;
pub mod manifest;
pub mod state;
