//! The `git-neighbor` binary: everything lives in the library.
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(git_neighbor::main_entry())
}
