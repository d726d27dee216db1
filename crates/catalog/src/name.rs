//! The naming rules shared by catalogs, manifests and the command line.

/// The architectures a bundle can be built for, in catalog spelling.
pub const ARCHES: [&str; 2] = ["x86_64", "arm64"];

/// Check a kernel name: 1-64 chars of `[a-z0-9._-]`, starting with a letter or digit.
/// The rule keeps names safe as directory names and in URLs.
pub fn validate_name(name: &str) -> Result<(), String> {
    validate_name_of("kernel", name)
}

/// Check the name of a `what` (kernel, image) by the same rule as [`validate_name`].
pub fn validate_name_of(what: &str, name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err(format!("a {what} name must not be empty"));
    };
    if name.len() > 64 {
        return Err(format!("{what} name `{name}` is longer than 64 characters"));
    }
    if !first.is_ascii_lowercase() && !first.is_ascii_digit() {
        return Err(format!(
            "{what} name `{name}` must start with a lowercase letter or a digit"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "{what} name `{name}` contains `{bad}`; use only a-z, 0-9, `.`, `_` and `-`"
        ));
    }
    Ok(())
}

/// Check an arch is one of [`ARCHES`].
pub fn validate_arch(arch: &str) -> Result<(), String> {
    if ARCHES.contains(&arch) {
        Ok(())
    } else {
        Err(format!(
            "unknown arch `{arch}`; expected one of {}",
            ARCHES.join(", ")
        ))
    }
}

/// Check a sha256 is 64 lowercase hex digits.
pub fn validate_sha256(sha256: &str) -> Result<(), String> {
    if sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(format!("`{sha256}` is not 64 lowercase hex digits"))
    }
}

/// The catalog arch of the machine banger runs on (`aarch64` is spelled `arm64`).
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_names() {
        for name in ["void-6.12", "a", "0day", "alpine_3.20-lts", &"x".repeat(64)] {
            validate_name(name).unwrap();
        }
    }

    #[test]
    fn rejects_bad_names() {
        for name in [
            "",
            "../x",
            "a/b",
            "Void",
            "-x",
            ".x",
            "a b",
            "é",
            &"x".repeat(65),
            "a\0b",
        ] {
            assert!(validate_name(name).is_err(), "{name:?} should be rejected");
        }
    }

    #[test]
    fn sha256_must_be_lowercase_hex_of_64() {
        validate_sha256(&"a".repeat(64)).unwrap();
        for bad in ["", &"A".repeat(64), &"a".repeat(63), &"g".repeat(64)] {
            assert!(validate_sha256(bad).is_err());
        }
    }
}
