//! Every environment variable banger reads, named once (as uv's `uv-static` does): each one a
//! constant here, with what it means and its default, and the same list as [`ALL`], from which
//! `docs/environment.md` is generated and checked. Code elsewhere reads a variable only
//! through one of these constants; a test fails on a variable named anywhere else.
#![forbid(unsafe_code)]

/// One variable: its name, who it is for, what it means and what applies when it is unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    pub group: Group,
    pub meaning: &'static str,
    pub default: &'static str,
}

/// Who sets a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Users and operators of `banger`.
    Runtime,
    /// Maintainers running `banger kernel publish`.
    Publish,
    /// Standard variables of other programs that banger honours too.
    Standard,
    /// banger's own test suite; never needed in use.
    Tests,
}

macro_rules! variables {
    ($( $(#[doc = $doc:literal])+ $name:ident, $group:ident, default $default:literal; )*) => {
        $(
            $(#[doc = $doc])+
            pub const $name: &str = stringify!($name);
        )*
        /// Every variable banger reads, in the order the documentation lists them.
        pub const ALL: &[Var] = &[$(
            Var {
                name: stringify!($name),
                group: Group::$group,
                meaning: concat!($($doc),+),
                default: $default,
            },
        )*];
    };
}

variables! {
    /// The state root (mode 0700; refused if others own it or can write to it).
    BANGER_STATE_DIR, Runtime, default "`$XDG_STATE_HOME/banger`, else `~/.local/state/banger`";
    /// Where kernels are installed.
    BANGER_KERNELS_DIR, Runtime, default "`<state root>/kernels`";
    /// A catalog.json that replaces the trusted one (embedded, or the last signed update);
    /// it is not signed, so it is the user's own word.
    BANGER_CATALOG, Runtime, default "the embedded catalog or its signed update";
    /// Colon-separated plugin directories, searched first.
    BANGER_PLUGIN_PATH, Runtime, default "unset";
    /// The mirror source's base URL (`--mirror`); and `kernel catalog update --source mirror`'s.
    BANGER_MIRROR_URL, Runtime, default "unset";
    /// The offline source's directory (`--dir`); and `kernel catalog update --source offline`'s.
    BANGER_OFFLINE_DIR, Runtime, default "unset";
    /// The oci source's repository (`--oci`).
    BANGER_OCI_REPO, Runtime, default "unset";
    /// The registry user name (else the docker config and its helpers); a secret, never
    /// passed to a program banger runs.
    BANGER_OCI_USERNAME, Runtime, default "unset";
    /// The registry password or token; a secret, like `BANGER_OCI_USERNAME`.
    BANGER_OCI_PASSWORD, Runtime, default "unset";
    /// Where `kernel catalog update` fetches the signed catalog.
    BANGER_CATALOG_URL, Runtime, default "`https://kernels.thaloco.com/catalog.json`";
    /// Trusted minisign keys (a `.pub` file or a directory of them) instead of the embedded
    /// `keys/*.pub`.
    BANGER_CATALOG_KEYS, Runtime, default "the embedded keys";
    /// Seconds a download may stall before it is retried.
    BANGER_HTTP_TIMEOUT, Runtime, default "`30`";
    /// Seconds a download may stay below 1 KiB/s before it is retried.
    BANGER_HTTP_LOW_SPEED_TIME, Runtime, default "`60`";
    /// Skip flushing installs to disk (for benchmarks; unsafe across power loss).
    BANGER_UNSAFE_NO_SYNC, Runtime, default "unset";
    /// Show plugins' info and progress messages.
    BANGER_VERBOSE, Runtime, default "unset";
    /// The minisign secret key `kernel publish` signs the catalog with (`--signing-key`).
    BANGER_SIGNING_KEY, Publish, default "unset";
    /// The signing key's password; a secret, never passed to a program banger runs.
    BANGER_SIGNING_PASSWORD, Publish, default "unset (asked on the terminal)";
    /// The public https:// URL of the bucket `kernel publish` uploads to (`--base-url`).
    BANGER_BASE_URL, Publish, default "`https://kernels.thaloco.com`";
    /// The older, generic name of `BANGER_BASE_URL` that the seed flow documented; read only
    /// when `BANGER_BASE_URL` and `--base-url` are unset.
    BASE_URL, Publish, default "unset";
    /// The rclone remote `kernel publish` uploads with (`--remote`).
    RCLONE_REMOTE, Publish, default "`r2`";
    /// The bucket on that remote (`--bucket`).
    RCLONE_BUCKET, Publish, default "`banger-kernels`";
    /// The XDG state directory, under which the state root is kept.
    XDG_STATE_HOME, Standard, default "`~/.local/state`";
    /// The XDG data directory, whose `banger/plugins` is searched for plugins.
    XDG_DATA_HOME, Standard, default "`~/.local/share`";
    /// The home directory, for the XDG defaults and `~/.docker/config.json`.
    HOME, Standard, default "unset";
    /// An extra CA (PEM) to trust for HTTPS, besides the system roots.
    SSL_CERT_FILE, Standard, default "system roots only";
    /// The directory of the docker config whose credentials the oci source uses.
    DOCKER_CONFIG, Standard, default "`~/.docker`";
    /// The proxy for HTTPS requests (read by the HTTP client itself, with `NO_PROXY`).
    HTTPS_PROXY, Standard, default "unset";
    /// Hosts reached without the proxy.
    NO_PROXY, Standard, default "unset";
    /// Where `kernel check --boot` looks for QEMU and busybox.
    PATH, Standard, default "the system's";
    /// Show retries, but do not sleep through their backoff (a wait a server asks for with
    /// `Retry-After` is still honoured): tests that do not assert on backoff need not wait.
    BANGER_TEST_NO_RETRY_DELAY, Tests, default "unset";
    /// Rewrite the generated documents (`docs/kernel-check.md`'s rules,
    /// `docs/environment.md`) instead of failing when they drift.
    BANGER_BLESS, Tests, default "unset";
}

/// The variables that hold secrets: kept from every program banger runs.
pub const SECRETS: &[&str] = &[
    BANGER_SIGNING_PASSWORD,
    BANGER_OCI_USERNAME,
    BANGER_OCI_PASSWORD,
];

/// The value of `name` if it is set and not empty.
pub fn non_empty(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|value| !value.is_empty())
}

/// [`non_empty`], for a value that must be text: one that is not UTF-8 counts as unset.
pub fn non_empty_string(name: &str) -> Option<String> {
    non_empty(name)?.into_string().ok()
}
