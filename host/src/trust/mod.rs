//! What banger trusts and why: the one trust policy ([`policy`]: what bytes are checked
//! against, what needs `--allow-unverified`), the effective trusted catalog ([`catalog`]), the
//! trusted minisign keys ([`keys`]), signed catalog updates ([`update`]), and signing a
//! catalog at publish time ([`signing`]).

pub mod catalog;
pub mod keys;
pub mod policy;
pub mod signing;
pub mod update;
