#!/usr/bin/env bash
# Builds the Debian package with cargo-deb (metadata: [package.metadata.deb] in
# Cargo.toml; maintainer scripts: debian/) and prints its path:
#   scripts/package.sh            # -> target/debian/scanwall_<version>-1_<arch>.deb
# Man pages (one per command) and bash/zsh/fish completions are generated from
# the release binary into the staging folder target/release/deb-staging/, which
# the package's assets list. Installs cargo-deb when it is missing. Needs
# dpkg-dev (dpkg-shlibdeps for the library dependencies) and the build's
# system packages (scripts/system-packages.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version >/dev/null 2>&1; then
  echo "scripts/package.sh: installing cargo-deb $CARGO_DEB_VERSION" >&2
  # Its own build folder (a temporary one), not this project's target directory.
  env -u CARGO_TARGET_DIR cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi

cargo build --release --locked
target_dir="${CARGO_TARGET_DIR:-target}"
bin="$target_dir/release/scanwall"
stage="$target_dir/release/deb-staging"
rm -rf "$stage"
mkdir -p "$stage/man" "$stage/completions"
"$bin" man --dir "$stage/man" >/dev/null
# Debian policy: man pages compressed, without a time stamp in the header.
gzip -9n "$stage"/man/*.1
"$bin" completions bash > "$stage/completions/scanwall.bash"
"$bin" completions zsh > "$stage/completions/_scanwall"
"$bin" completions fish > "$stage/completions/scanwall.fish"

# The binary is built above; cargo-deb strips a copy of it (the release profile
# keeps line tables for backtraces and perf, which the package does not need).
cargo deb --no-build --strip --output "$target_dir/debian/"
