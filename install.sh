#!/bin/sh
# Build git-neighbor from source and put it on PATH as `git-neighbor` (so `git neighbor …` works).
# Usage: ./install.sh [PREFIX]   (default PREFIX: $CARGO_HOME or ~/.cargo; the binary goes to PREFIX/bin)
set -eu
cd "$(dirname "$0")"
prefix=${1:-${CARGO_HOME:-$HOME/.cargo}}
command -v cargo >/dev/null 2>&1 || { echo "install.sh: cargo not found; install Rust from rustup first" >&2; exit 1; }
command -v git >/dev/null 2>&1 || { echo "install.sh: git not found" >&2; exit 1; }
cargo install --quiet --locked --force --path . --root "$prefix"
bin="$prefix/bin"
# Man pages and shell completions, when the tree ships them.
if [ -d man ]; then
  mkdir -p "$prefix/share/man/man1" && cp man/*.1 "$prefix/share/man/man1/" 2>/dev/null || true
fi
if [ -d completions ]; then
  mkdir -p "$prefix/share/git-neighbor/completions" && cp completions/* "$prefix/share/git-neighbor/completions/" 2>/dev/null || true
fi
case ":$PATH:" in
  *":$bin:"*) ;;
  *) echo "install.sh: add $bin to PATH to use 'git neighbor'" >&2 ;;
esac
echo "installed $bin/git-neighbor" >&2
