//! The environment variables that hold banger's secrets, and the one function that keeps them
//! from the programs banger runs (rclone, docker credential helpers): a child gets what it
//! needs from its own configuration, never banger's passwords.
//!
//! It lives here, with [`crate::DisplaySafeUrl`], because this crate owns keeping secrets out
//! of what banger shows and passes on; both the host and the OCI crate already depend on it.

use std::process::Command;

/// Every variable that holds a secret of banger's: the minisign key's password and the
/// registry credentials.
pub const SECRET_VARIABLES: &[&str] = banger_env::SECRETS;

/// `command`, which will not pass any of [`SECRET_VARIABLES`] to the child.
pub fn without_secrets(command: &mut Command) -> &mut Command {
    for name in SECRET_VARIABLES {
        command.env_remove(name);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_get_no_secret_variable() {
        let mut command = Command::new("env");
        for name in SECRET_VARIABLES {
            command.env(name, "secret-value");
        }
        let out = without_secrets(&mut command).output().unwrap();
        let env = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success());
        assert!(!env.contains("secret-value"), "{env}");
        assert!(
            env.contains("PATH="),
            "the rest of the environment stays: {env}"
        );
    }
}
