#!/bin/sh
# Build git-neighbor from source and install it so that `git neighbor …` works: the binary, its man pages
# and shell completions. Needs the Rust toolchain (cargo) and git; nothing is downloaded but crates.
#
# Usage: ./install.sh [--prefix DIR] [--binary FILE] [--dynamic] [--uninstall]
#   --prefix DIR  binary in DIR/bin, man pages in DIR/share/man, completions in DIR/share/{bash-completion,
#                 zsh/site-functions,fish/vendor_completions.d} (where shells look for a system prefix)
#                 Default: $CARGO_HOME (or ~/.cargo) for the binary and man pages, and the per-user
#                 directories each shell reads without configuration for the completions.
#   --binary FILE install this already built git-neighbor instead of building one (packagers, tests),
#                 and the git-neighbor-hook beside it (what the git hooks run) when there is one
#   --dynamic     link the C library dynamically. By default, on Linux with glibc and its static archive
#                 (libc.a, from the same package as the linker's other files), glibc is linked in: the
#                 git hooks, which start the binary on every commit, start about 0.4 ms sooner. Your own
#                 RUSTFLAGS, when set, are used as they are instead.
#   --uninstall   remove what an install with the same options put in place
# Running it again reinstalls over the previous install.
set -eu
cd "$(dirname "$0")"

prefix=""
binary=""
action=install
linking=static
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --binary) [ $# -ge 2 ] || { echo "install.sh: --binary needs a file" >&2; exit 2; }; binary=$2; shift 2 ;;
    --dynamic) linking=dynamic; shift ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) sed -n '2,/^# Running it again/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

if [ -n "$prefix" ]; then
  root=$prefix
  bash_dir=$prefix/share/bash-completion/completions
  zsh_dir=$prefix/share/zsh/site-functions
  fish_dir=$prefix/share/fish/vendor_completions.d
else
  root=${CARGO_HOME:-$HOME/.cargo}
  bash_dir=${XDG_DATA_HOME:-$HOME/.local/share}/bash-completion/completions
  zsh_dir=${XDG_DATA_HOME:-$HOME/.local/share}/zsh/site-functions
  fish_dir=${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions
fi
bin_dir=$root/bin
man_dir=$root/share/man

if [ "$action" = uninstall ]; then
  # Hook files `git neighbor hooks install` created name git-neighbor-hook by this path on their #! line.
  hooks_named=""
  [ -e "$bin_dir/git-neighbor-hook" ] && hooks_named=$bin_dir/git-neighbor-hook
  for f in "$bin_dir/git-neighbor" "$bin_dir/git-neighbor-hook" "$bash_dir/git-neighbor" "$zsh_dir/_git-neighbor" "$fish_dir/git-neighbor.fish"; do
    if [ -e "$f" ]; then rm -f "$f" && echo "removed $f" >&2; fi
  done
  for f in man/*.1 man/*.7; do
    [ -e "$f" ] || continue
    sec=${f##*.}
    t=$man_dir/man$sec/$(basename "$f")
    if [ -e "$t" ]; then rm -f "$t"; fi
  done
  echo "removed the man pages from $man_dir" >&2
  if [ -n "$hooks_named" ]; then
    echo "install.sh: git hooks made by 'git neighbor hooks install' name $hooks_named, so git now fails them:" >&2
    echo "install.sh: delete those hook files (.git/hooks/pre-commit, pre-push, pre-rebase, post-checkout)," >&2
    echo "install.sh: or run 'git neighbor hooks uninstall' in each repository before uninstalling" >&2
  fi
  exit 0
fi

command -v git >/dev/null 2>&1 || { echo "install.sh: git not found: install git first" >&2; exit 1; }
if [ -n "$binary" ]; then
  [ -x "$binary" ] || { echo "install.sh: --binary $binary is not an executable file" >&2; exit 2; }
  mkdir -p "$bin_dir"
  # Copy then rename, so a git-neighbor running from there (a hook) never sees a half-written file.
  cp "$binary" "$bin_dir/.git-neighbor.tmp.$$" && mv -f "$bin_dir/.git-neighbor.tmp.$$" "$bin_dir/git-neighbor"
  hook_binary=$(dirname "$binary")/git-neighbor-hook
  if [ -x "$hook_binary" ]; then
    cp "$hook_binary" "$bin_dir/.git-neighbor-hook.tmp.$$" &&
      mv -f "$bin_dir/.git-neighbor-hook.tmp.$$" "$bin_dir/git-neighbor-hook"
  else
    # No hook binary of this build: hooks then run `git-neighbor hook`, never an older build's.
    rm -f "$bin_dir/git-neighbor-hook"
  fi
else
  command -v cargo >/dev/null 2>&1 || { echo "install.sh: cargo not found: install the Rust toolchain (rustup) first" >&2; exit 1; }
  # Static glibc only where it links: a glibc target, and a libc.a the C compiler (the linker cargo uses)
  # finds. Never over the user's own RUSTFLAGS, which replace cargo's per-target flags.
  target=""
  if [ "$linking" = static ] && [ -z "${RUSTFLAGS:-}" ] && [ -z "${CARGO_ENCODED_RUSTFLAGS:-}" ]; then
    host=$("${RUSTC:-rustc}" -vV 2>/dev/null | sed -n 's/^host: //p')
    case "$host" in
      *[!A-Za-z0-9_.-]*) ;;
      *-linux-gnu*)
        libc_a=$("${CC:-cc}" -print-file-name=libc.a 2>/dev/null) || libc_a=""
        case "$libc_a" in /*) if [ -f "$libc_a" ]; then target=$host; fi ;; esac
        ;;
    esac
  fi
  if [ -n "$target" ]; then
    # --target keeps the flag off build scripts and proc-macros, which cannot be linked statically.
    var=CARGO_TARGET_$(printf '%s' "$target" | tr 'abcdefghijklmnopqrstuvwxyz.-' 'ABCDEFGHIJKLMNOPQRSTUVWXYZ__')_RUSTFLAGS
    eval "flags=\${$var:-}"
    echo "building git-neighbor (release profile, glibc linked in so hooks start faster; cargo shows its progress)..." >&2
    if ! env "$var=${flags:+$flags }-C target-feature=+crt-static" \
      cargo install --locked --force --path . --root "$root" --target "$target"; then
      echo "install.sh: the build with glibc linked in failed; ./install.sh --dynamic links it dynamically" >&2
      exit 1
    fi
  else
    echo "building git-neighbor (release profile; cargo shows its progress)..." >&2
    cargo install --locked --force --path . --root "$root"
  fi
fi

mkdir -p "$man_dir/man1" "$bash_dir" "$zsh_dir" "$fish_dir"
for f in man/*.1 man/*.7; do
  [ -e "$f" ] || continue
  sec=${f##*.}
  mkdir -p "$man_dir/man$sec"
  cp "$f" "$man_dir/man$sec/"
done
cp completions/git-neighbor.bash "$bash_dir/git-neighbor"
cp completions/_git-neighbor "$zsh_dir/_git-neighbor"
cp completions/git-neighbor.fish "$fish_dir/git-neighbor.fish"

echo "installed:" >&2
echo "  $bin_dir/git-neighbor" >&2
if [ -e "$bin_dir/git-neighbor-hook" ]; then echo "  $bin_dir/git-neighbor-hook (what the git hooks run)" >&2; fi
echo "  man pages in $man_dir (git help neighbor)" >&2
echo "  bash completion: $bash_dir/git-neighbor" >&2
echo "  zsh completion:  $zsh_dir/_git-neighbor" >&2
echo "  fish completion: $fish_dir/git-neighbor.fish" >&2
if command -v zsh >/dev/null 2>&1 && ! zsh -fc 'print -l -- $fpath' 2>/dev/null | grep -qx "$zsh_dir"; then
  echo "  zsh: add this line to ~/.zshrc, before compinit:  fpath+=($zsh_dir)" >&2
fi
case ":${MANPATH:-}:" in
  *":$man_dir:"*|"::") ;;
  *) echo "  man: add $man_dir to MANPATH if 'git help neighbor' does not find the page" >&2 ;;
esac

case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *)
    echo "" >&2
    echo "install.sh: $bin_dir is NOT on your PATH, so 'git neighbor' will say it is not a git command." >&2
    echo "install.sh: add it, e.g.  export PATH=\"$bin_dir:\$PATH\"  (in ~/.profile), then run git neighbor demo" >&2
    exit 1
    ;;
esac
