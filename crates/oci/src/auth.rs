//! Credentials and challenges, as docker users expect them.
//!
//! Credentials come from `BANGER_OCI_USERNAME` and `BANGER_OCI_PASSWORD`, else from the docker
//! config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): a `credHelpers` entry for
//! the registry, the `credsStore`, or the `auths` entry, in that order, as docker reads them.
//! A helper is run as `docker-credential-<name> get` with the registry on its standard input,
//! and without banger's secret variables ([`banger_fetch::secrets`]); what it prints is read,
//! never shown: a failing helper is named with its exit status only.
//! A registry's 401 carries a `WWW-Authenticate` challenge: `Basic` (send the credentials) or
//! `Bearer realm=…,service=…,scope=…` (ask the realm for a token, with the credentials if
//! there are any, as distribution's token auth describes).

use std::{
    io::{Read, Write},
    path::PathBuf,
    process::{Command, Stdio},
};

use ct_codecs::{Base64, Decoder, Encoder};

use crate::OciError;

/// A user name and password (or token) for a registry.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials {{ username: {:?}, password: <redacted> }}",
            self.username
        )
    }
}

impl Credentials {
    /// The `Authorization` value for Basic auth.
    pub fn basic(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        let encoded = Base64::encode_to_string(pair.as_bytes()).unwrap_or_default();
        format!("Basic {encoded}")
    }
}

/// The credentials for `registry`, if any are configured.
pub fn credentials(registry: &str) -> Result<Option<Credentials>, OciError> {
    if let (Some(username), Some(password)) = (
        banger_env::non_empty_string(banger_env::BANGER_OCI_USERNAME),
        banger_env::non_empty_string(banger_env::BANGER_OCI_PASSWORD),
    ) {
        return Ok(Some(Credentials { username, password }));
    }
    let Some(path) = docker_config_path() else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(OciError::DockerConfig {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        }
    };
    let config: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| OciError::DockerConfig {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
    let helper = config["credHelpers"][registry]
        .as_str()
        .or_else(|| config["credsStore"].as_str());
    if let Some(helper) = helper {
        return run_helper(helper, registry).map(Some);
    }
    let auth = &config["auths"][registry];
    if let Some(encoded) = auth["auth"].as_str() {
        let decoded = Base64::decode_to_vec(encoded, None)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|pair| {
                let (user, pass) = pair.split_once(':')?;
                Some(Credentials {
                    username: user.to_owned(),
                    password: pass.to_owned(),
                })
            });
        return decoded.map(Some).ok_or_else(|| OciError::DockerConfig {
            path: path.display().to_string(),
            reason: format!("the `auth` of `{registry}` is not base64 of user:password"),
        });
    }
    if let (Some(username), Some(password)) = (auth["username"].as_str(), auth["password"].as_str())
    {
        return Ok(Some(Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        }));
    }
    Ok(None)
}

fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = banger_env::non_empty(banger_env::DOCKER_CONFIG) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os(banger_env::HOME)
        .map(PathBuf::from)
        .filter(|home| home.is_absolute())
        .map(|home| home.join(".docker/config.json"))
}

/// The most a credential helper's answer (`{"Username", "Secret"}`) may hold.
const HELPER_ANSWER_CAP: u64 = 64 << 10;
/// How long a credential helper may take to answer.
const HELPER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `docker-credential-<helper> get`, as the credential-helper protocol describes.
fn run_helper(helper: &str, registry: &str) -> Result<Credentials, OciError> {
    let failed = |reason: String| OciError::Helper {
        registry: registry.to_owned(),
        helper: helper.to_owned(),
        reason,
    };
    if !helper
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(failed("not a helper name".into()));
    }
    let mut command = Command::new(format!("docker-credential-{helper}"));
    command
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // Its stderr is its own business, and may echo what it read: never shown.
        .stderr(Stdio::null());
    let mut child = banger_fetch::secrets::without_secrets(&mut command)
        .spawn()
        .map_err(|e| failed(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(registry.as_bytes());
    }
    // The answer holds the secret: it is parsed, and never put into a message. It is read to
    // at most HELPER_ANSWER_CAP bytes, and the helper gets HELPER_TIMEOUT to finish.
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut answer = Vec::new();
        (&mut stdout)
            .take(HELPER_ANSWER_CAP)
            .read_to_end(&mut answer)
            .map(|_| answer)
    });
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| failed(e.to_string()))? {
            Some(status) => break status,
            None if started.elapsed() > HELPER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "it did not answer within {} s",
                    HELPER_TIMEOUT.as_secs()
                )));
            }
            None => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    };
    if !status.success() {
        return Err(failed(format!("it failed ({status})")));
    }
    let answer = reader
        .join()
        .map_err(|_| failed("its answer could not be read".into()))?
        .map_err(|e| failed(e.to_string()))?;
    if answer.len() as u64 >= HELPER_ANSWER_CAP {
        return Err(failed(format!(
            "its answer is over {HELPER_ANSWER_CAP} bytes"
        )));
    }
    let answer: serde_json::Value = serde_json::from_slice(&answer).map_err(|e| {
        failed(format!(
            "its answer is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    match (answer["Username"].as_str(), answer["Secret"].as_str()) {
        (Some(username), Some(secret)) => Ok(Credentials {
            username: username.to_owned(),
            password: secret.to_owned(),
        }),
        _ => Err(failed("its answer has no Username and Secret".into())),
    }
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parse a challenge; `None` when it is not one banger can answer.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Some(Self::Basic),
            "bearer" => {
                let mut realm = None;
                let mut service = None;
                let mut scope = None;
                for (key, value) in params_of(params)? {
                    match key.as_str() {
                        "realm" => realm = Some(value),
                        "service" => service = Some(value),
                        "scope" => scope = Some(value),
                        _ => {}
                    }
                }
                let realm =
                    realm.filter(|r| r.starts_with("https://") || r.starts_with("http://"))?;
                Some(Self::Bearer {
                    realm,
                    service,
                    scope,
                })
            }
            _ => None,
        }
    }
}

/// `key="value",key2="value, with comma"` → pairs; `None` when malformed.
fn params_of(text: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (quoted[..end].to_owned(), &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        pairs.push((key, value));
        rest = remaining.trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
        } else if !rest.is_empty() {
            return None;
        }
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_or_are_refused() {
        assert_eq!(
            Challenge::parse("Basic realm=\"registry\""),
            Some(Challenge::Basic)
        );
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        for bad in [
            "Bearer",
            "Bearer service=\"x\"",
            "Bearer realm=\"ftp://x\"",
            "Bearer realm=\"https://x",
            "Bearer realm=\"https://x\" junk",
            "Negotiate abc",
        ] {
            assert_eq!(Challenge::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn basic_credentials_encode_as_base64() {
        let c = Credentials {
            username: "alice".into(),
            password: "s3cr3t".into(),
        };
        assert_eq!(c.basic(), "Basic YWxpY2U6czNjcjN0");
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
