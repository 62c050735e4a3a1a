//! The `git-neighbor-hook` binary: what the installed git hooks run (`git-neighbor-hook <name> [ARGS]`,
//! the same as `git-neighbor hook <name> [ARGS]`), built from the hooks' code alone so that it starts
//! faster on every commit. Everything lives in the library.
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(git_neighbor::hook_main())
}
