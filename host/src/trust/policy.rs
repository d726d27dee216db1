//! The trust policy, in one place: which bytes count as verified, what they are checked
//! against, and which entries need `--allow-unverified`. `kernel list --available`,
//! `kernel pull`, `kernel import` and `kernel mirror` all decide here.
//!
//! | source | trusted catalog has (name, arch) | the source offers | checked against | verified | needs `--allow-unverified` |
//! |---|---|---|---|---|---|
//! | catalog transport | yes | anything or nothing | trusted entry | yes | no |
//! | catalog transport | no | an entry | the source's entry | no | yes |
//! | other source | yes, same sha256 | an entry | trusted entry | yes | no |
//! | other source | yes, other sha256 | an entry | the source's declaration | no | no |
//! | other source | no | an entry | the source's declaration | no | no |
//! | any | no | nothing | - | - | - (not found) |
//!
//! Catalog transports (`catalog`, `mirror`, `offline`, `oci`) only move bytes for the trusted
//! catalog, so what only their own index lists needs the user's explicit consent. Other
//! sources are plugins the user installed and chose with `--source`; what they declare is
//! what their bytes are checked against, and it counts as verified only when it is the
//! trusted catalog's digest. Whatever the source, the host hashes every byte itself.

use crate::{plugins::Declared, store::manifest::Trust};
use banger_catalog::{Arch, Catalog, Entry, KernelName, Sha256};

/// Sources that move bytes for the trusted catalog.
pub const CATALOG_TRANSPORTS: [&str; 4] = ["catalog", "mirror", "offline", "oci"];

/// Whether `source` is a catalog transport.
pub fn is_catalog_transport(source: &str) -> bool {
    CATALOG_TRANSPORTS.contains(&source)
}

/// What bytes must be for one (name, arch), and on whose word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The entry whose sha256 and size the bytes must have.
    pub entry: Entry,
    pub trust: Trust,
}

impl Verdict {
    /// The entry's name, arch and sha256 as checked types, for the paths they name. Every
    /// entry is validated where it enters banger, so this fails only on a bug; but no string
    /// reaches a path unchecked.
    pub fn key(&self) -> anyhow::Result<(KernelName, Arch, Sha256)> {
        let e = &self.entry;
        let field = |field: &str, problem: String| {
            anyhow::anyhow!("entry `{}` ({}): {field}: {problem}", e.name, e.arch)
        };
        Ok((
            e.name.parse().map_err(|p| field("name", p))?,
            e.arch.parse().map_err(|p| field("arch", p))?,
            e.sha256.parse().map_err(|p| field("sha256", p))?,
        ))
    }

    /// Whether the digest is the trusted catalog's.
    pub fn verified(&self) -> bool {
        self.trust == Trust::Catalog
    }

    /// Whether installing or mirroring this needs `--allow-unverified` from `source`.
    pub fn needs_allow_unverified(&self, source: &str) -> bool {
        !self.verified() && is_catalog_transport(source)
    }

    /// The verdict once the source has opened the bundle and declared what it sends: for a
    /// source's own entry, the declaration is what the bytes must match, and it is verified
    /// if the trusted catalog has that very digest. A trusted verdict does not change.
    pub fn settle(self, declared: &Declared, trusted: Option<&Entry>) -> Self {
        if self.verified() {
            return self;
        }
        let entry = Entry {
            sha256: declared.sha256.to_string(),
            size: declared.size,
            ..self.entry
        };
        judge_offered(trusted, entry)
    }
}

/// The verdict for (name, arch) from `source`, given the trusted entry and the entry the
/// source lists, if any; `None` when there is nothing to install.
pub fn judge(source: &str, trusted: Option<&Entry>, offered: Option<&Entry>) -> Option<Verdict> {
    match (trusted, offered) {
        (Some(trusted), _) if is_catalog_transport(source) => Some(Verdict {
            entry: trusted.clone(),
            trust: Trust::Catalog,
        }),
        (_, Some(offered)) => Some(judge_offered(trusted, offered.clone())),
        (_, None) => None,
    }
}

fn judge_offered(trusted: Option<&Entry>, offered: Entry) -> Verdict {
    match trusted {
        Some(t) if t.sha256 == offered.sha256 && t.size == offered.size => Verdict {
            entry: t.clone(),
            trust: Trust::Catalog,
        },
        _ => Verdict {
            entry: offered,
            trust: Trust::Source,
        },
    }
}

/// Whether the trusted catalog vouches for the bytes of `entry`: it has the same (name, arch)
/// with the same sha256. What `kernel list --available` shows as VERIFIED.
pub fn vouches(trusted: &Catalog, entry: &Entry) -> bool {
    trusted
        .find(&entry.name, &entry.arch)
        .is_some_and(|t| t.sha256 == entry.sha256 && t.size == entry.size)
}

/// Every (name, arch) `source` could provide, with its verdict: for a catalog transport the
/// trusted entries and whatever else it lists, for any other source what it lists. For
/// `kernel mirror`.
pub fn candidates(source: &str, trusted: &Catalog, listed: &[Entry]) -> Vec<Verdict> {
    let mut out: Vec<Verdict> = Vec::new();
    if is_catalog_transport(source) {
        out.extend(
            trusted
                .entries
                .iter()
                .filter_map(|t| judge(source, Some(t), None)),
        );
    }
    for entry in listed {
        if out
            .iter()
            .any(|v| v.entry.name == entry.name && v.entry.arch == entry.arch)
        {
            continue;
        }
        out.extend(judge(
            source,
            trusted.find(&entry.name, &entry.arch),
            Some(entry),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sha: char, size: u64) -> Entry {
        Entry {
            name: "void-6.12".into(),
            distro: "void".into(),
            arch: "x86_64".into(),
            kernel_version: "6.12.3".into(),
            url: "https://k.example/void-6.12-x86_64.tar.zst".into(),
            sha256: sha.to_string().repeat(64),
            size,
            description: String::new(),
        }
    }

    /// The policy table of the module documentation and docs/kernel-catalog.md, row by row:
    /// (source, trusted, offered) → (digest checked, verified, needs --allow-unverified).
    #[test]
    fn the_trust_policy_table() {
        let t = entry('a', 10);
        let same = entry('a', 10);
        let other = entry('b', 10);
        type Row<'a> = (
            &'a str,
            Option<&'a Entry>,
            Option<&'a Entry>,
            Option<(char, bool, bool)>,
        );
        let rows: Vec<Row> = vec![
            ("catalog", Some(&t), None, Some(('a', true, false))),
            ("mirror", Some(&t), Some(&other), Some(('a', true, false))),
            ("offline", Some(&t), None, Some(('a', true, false))),
            ("mirror", None, Some(&other), Some(('b', false, true))),
            ("offline", None, Some(&other), Some(('b', false, true))),
            ("catalog", None, None, None),
            ("mirror", None, None, None),
            (
                "sha256sums",
                Some(&t),
                Some(&same),
                Some(('a', true, false)),
            ),
            ("import", Some(&t), Some(&other), Some(('b', false, false))),
            ("import", None, Some(&other), Some(('b', false, false))),
            ("sha256sums", Some(&t), None, None),
        ];
        for (source, trusted, offered, expected) in rows {
            let got = judge(source, trusted, offered).map(|v| {
                (
                    v.entry.sha256.chars().next().unwrap(),
                    v.verified(),
                    v.needs_allow_unverified(source),
                )
            });
            assert_eq!(got, expected, "{source} {trusted:?} {offered:?}");
        }
    }

    #[test]
    fn a_declaration_equal_to_the_trusted_digest_is_verified() {
        let t = entry('a', 10);
        let listed = judge("import", Some(&t), Some(&entry('b', 10))).unwrap();
        assert!(!listed.verified());
        let declared = |sha: char, size| Declared {
            url: "x".into(),
            sha256: sha.to_string().repeat(64).parse().unwrap(),
            size,
            resumable: false,
            resumed_from: 0,
        };
        assert!(listed
            .clone()
            .settle(&declared('a', 10), Some(&t))
            .verified());
        let settled = listed.settle(&declared('c', 12), Some(&t));
        assert_eq!((settled.verified(), settled.entry.size), (false, 12));
    }

    #[test]
    fn mirror_candidates_follow_the_same_rules() {
        let t = entry('a', 10);
        let trusted = Catalog {
            schema: 1,
            serial: 0,
            expires: None,
            entries: vec![t.clone()],
        };
        let mut extra = entry('c', 5);
        extra.name = "alpine-6.6".into();
        let listed = [entry('b', 10), extra];
        let found: Vec<(String, bool)> = candidates("mirror", &trusted, &listed)
            .into_iter()
            .map(|v| (v.entry.name.clone(), v.verified()))
            .collect();
        assert_eq!(
            found,
            [("void-6.12".into(), true), ("alpine-6.6".into(), false)]
        );
        let found: Vec<bool> = candidates("third-party", &trusted, &[t.clone(), entry('b', 10)])
            .into_iter()
            .map(|v| v.verified())
            .collect();
        assert_eq!(found, [true]);
    }
}
