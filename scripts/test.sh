#!/usr/bin/env bash
# The whole test suite, from a fresh clone: check for the tools the tests drive, install what
# is missing when this machine can (root with apt-get), or stop at once with the list and how
# to get each; then build the plugins the tests load, run every test, and fuzz for a minute.
# README.md names this script as the test command; .ci/run runs exactly that.
set -euo pipefail
cd "$(dirname "$0")/.."

# tool to look for, and the Debian package that provides it.
needed=(
    "cargo:"             # a Rust toolchain: https://rustup.rs
    "cc:gcc"
    "zstd:zstd"
    "tar:tar"
    "rclone:rclone"
    "nginx:nginx"
    "unshare:util-linux"
    "/usr/bin/time:time"
    "strace:strace"
    "minisign:minisign"
    "docker-registry:docker-registry"
    "htpasswd:apache2-utils"
    "skopeo:skopeo"
    "curl:curl"
    "jq:jq"
    "man:man-db"
    "lintian:lintian"
    "mkfifo:coreutils"
    "sha256sum:coreutils"
    "qemu-system-x86_64:qemu-system-x86"  # kernel check --boot (TCG)
    "busybox:busybox-static"              # the smoke boot's initramfs
    "dpkg-deb:dpkg"                       # a real Debian kernel, fetched by the tests
    "lz4:lz4"                             # independent extractions of bzImage payloads,
    "xz:xz-utils"                         # and the payload bombs of banger-kernel-image
    "gzip:gzip"
)
# Installed without their recommends: QEMU's GUI, OVMF and tools are not needed for a
# microvm boot on the serial console, and are most of its size.
lean="qemu-system-x86"
missing=()
packages=()
for item in "${needed[@]}"; do
    tool=${item%%:*}
    package=${item#*:}
    found=
    if [[ $tool == /* ]]; then
        [ -x "$tool" ] && found=1
    else
        command -v "$tool" >/dev/null 2>&1 && found=1
        # Debian keeps nginx in /usr/sbin, which is not on every PATH.
        [ -z "$found" ] && [ -x "/usr/sbin/$tool" ] && found=1
    fi
    if [ "$tool" = tar ] && [ -n "$found" ] && ! tar --version 2>/dev/null | grep -q 'GNU tar'; then
        found=
    fi
    if [ -z "$found" ]; then
        missing+=("$tool")
        [ -n "$package" ] && packages+=("$package")
    fi
done
[ -e /etc/ssl/certs/ca-certificates.crt ] || packages+=(ca-certificates)

if [ ${#packages[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${packages[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # The tests start their own nginx on a free port; keep the package from starting one on
    # port 80 while it installs.
    added_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        added_policy=1
    fi
    apt-get update -qq
    full=()
    slim=()
    for package in "${packages[@]}"; do
        if [[ " $lean " == *" $package "* ]]; then slim+=("$package"); else full+=("$package"); fi
    done
    [ ${#full[@]} -eq 0 ] || apt-get install -y -qq "${full[@]}" >/dev/null
    [ ${#slim[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${slim[@]}" >/dev/null
    [ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d
    exec bash "$PWD/scripts/test.sh" "$@"
fi

problems=()
[ ${#missing[@]} -eq 0 ] || problems+=("missing tools: ${missing[*]}")
[ ${#packages[@]} -eq 0 ] || problems+=("on Debian or Ubuntu: sudo apt-get install ${packages[*]}")
command -v cargo >/dev/null 2>&1 || problems+=("a Rust toolchain: https://rustup.rs")
[ "$(id -u)" = 0 ] || problems+=("not root: the tests use unshare -n and private mount namespaces (run as root, e.g. in a container or VM)")
if [ ${#problems[@]} -gt 0 ]; then
    echo "cannot run the tests:" >&2
    printf '  - %s\n' "${problems[@]}" >&2
    exit 1
fi

# The real-kernel tests resolve and download a Debian kernel package at test time
# (crates/testkit/src/distro.rs), which needs package lists even where nothing was missing.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null &&
    ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    apt-get update -qq
fi

# The plugin workspaces outside banger's own (the fixture plugins, built against other
# versions of the interface, and the example third-party plugin) share one target directory,
# target/nested, where the tests load them from: their common dependencies build once, and no
# test runs cargo.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
{
    cargo build --workspace --locked &&
        CARGO_TARGET_DIR=target/nested cargo build --locked \
            --manifest-path tests/fixture-plugins/Cargo.toml &&
        CARGO_TARGET_DIR=target/nested cargo build --locked \
            --manifest-path examples/source-plugin/Cargo.toml &&
        cargo test --workspace --locked &&
        cargo run -p banger-fuzz --locked -- --seconds 60 &&
        bash scripts/test-package.sh
} 2>&1 | tee "$log" || status=$?
# cargo prints one summary per test binary, the last often a doc-test run with no tests in
# it, and the package test its own `package: N passed, N failed`; close with the totals so the
# whole run is summarised in one line.
awk '/^test result:/ { p += $4; f += $6 }
     /^package: [0-9]+ passed, [0-9]+ failed$/ { p += $2; f += $4 }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
