#!/usr/bin/env bash
# Build the Debian package (scripts/package.sh), install it with dpkg as root, check what an
# operator relies on, remove it, and run lintian over it. Each check prints `ok` or `FAILED`
# with what it looked at; the last line counts them as `package: N passed, N failed`.
# scripts/test.sh runs this after the cargo tests. It changes the system (dpkg -i, dpkg -r), so
# it refuses to run where a banger package is already installed.
set -uo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "test-package: needs root for dpkg -i" >&2; exit 1; }
if dpkg-query -W -f='${Status}' banger 2>/dev/null | grep -q 'ok installed'; then
    echo "test-package: a banger package is already installed; remove it first (dpkg -r banger)" >&2
    exit 1
fi

deb=$(bash scripts/package.sh) || { echo "test-package: scripts/package.sh failed" >&2; exit 1; }
passed=0
failed=0
check() {
    local what=$1
    shift
    if "$@"; then
        echo "package: ok: $what"
        passed=$((passed + 1))
    else
        echo "package: FAILED: $what" >&2
        failed=$((failed + 1))
    fi
}

# A clean environment, so no plugin path or home directory of the caller's is searched.
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
run() { env -i PATH=/usr/bin:/bin HOME="$home" "$@"; }

check "dpkg -i $deb" dpkg -i "$deb"
check "banger is /usr/bin/banger" test "$(run sh -c 'command -v banger')" = /usr/bin/banger
plugins_loaded() {
    local listing
    listing=$(run banger plugin list --json) || return 1
    for name in catalog import mirror offline oci; do
        jq -e --arg n "$name" \
            'any(.[]; .name == $n and .status == "loaded"
                and .path == "/usr/lib/banger/plugins/libbanger_source_\($n).so")' \
            <<<"$listing" >/dev/null || { echo "plugin $name not loaded from /usr/lib/banger/plugins: $listing" >&2; return 1; }
    done
}
check "plugin list --json: the five built-in plugins loaded from /usr/lib/banger/plugins" plugins_loaded
check "man -w banger-kernel-pull" sh -c 'man -w banger-kernel-pull | grep -qx /usr/share/man/man1/banger-kernel-pull.1.gz'
check "man banger-kernel-pull shows the --help examples" sh -c 'man banger-kernel-pull 2>/dev/null | grep -q "banger kernel pull void-6.12 --arch arm64"'
check "man -w banger" sh -c 'man -w banger >/dev/null'
check "the bash completion file sources" bash -c 'source /usr/share/bash-completion/completions/banger && complete -p banger >/dev/null'
check "zsh and fish completions are installed" test -s /usr/share/zsh/vendor-completions/_banger -a -s /usr/share/fish/vendor_completions.d/banger.fish
check "README and docs under /usr/share/doc/banger" test -s /usr/share/doc/banger/README.md -a -s /usr/share/doc/banger/docs/kernel-catalog.md
check "dpkg -r banger" dpkg -r banger
removed_cleanly() {
    local left
    left=$(ls -d /usr/bin/banger /usr/lib/banger /usr/share/doc/banger /usr/share/man/man1/banger*.1.gz \
        /usr/share/bash-completion/completions/banger 2>/dev/null)
    [ -z "$left" ] || { echo "left behind: $left" >&2; return 1; }
}
check "dpkg -r leaves no file behind" removed_cleanly
lintian_clean() {
    local report
    report=$(lintian --tag-display-limit 0 "$deb" 2>&1)
    echo "$report" | sed 's/^/lintian: /'
    ! grep -q '^E: ' <<<"$report"
}
check "lintian reports no errors" lintian_clean

echo "package: $passed passed, $failed failed"
[ "$failed" = 0 ]
