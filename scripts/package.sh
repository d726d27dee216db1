#!/usr/bin/env bash
# Build banger's Debian package from this tree: a release build of banger and its built-in
# plugins, the man pages and shell completions generated from that binary, then cargo-deb (the
# pinned version below, installed with `cargo install --locked` when missing) packs what
# host/Cargo.toml's [package.metadata.deb] lists. The last line printed is the .deb's path.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo_deb_version=3.8.0
if ! cargo deb --version 2>/dev/null | grep -qF "$cargo_deb_version"; then
    cargo install cargo-deb --version "$cargo_deb_version" --locked >&2
fi

cargo build --release --workspace --locked >&2
banger=target/release/banger
assets=target/package-assets
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions"
"$banger" manpages "$assets/man"
"$banger" completions bash > "$assets/completions/banger"
"$banger" completions zsh > "$assets/completions/_banger"
"$banger" completions fish > "$assets/completions/banger.fish"

mkdir -p target/debian
cargo deb -p banger --no-build --output target/debian >&2
ls -t target/debian/banger_*.deb | head -n 1
