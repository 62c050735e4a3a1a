//! git-neighbor: let many writers (agents, orchestrators, CI, humans) share one git repository without
//! destroying each other's work.
//!
//! The binary is a thin shell around [`main_entry`]. Domain logic (registry, locks, leases, the building
//! survey, the prune plan) lives in modules that return data; `commands/` renders it; [`git`] is the one
//! door to git.
#![warn(missing_docs)]

pub(crate) mod building;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod completion;
pub(crate) mod config;
pub(crate) mod demo;
pub(crate) mod error;
pub(crate) mod failpoint;
pub(crate) mod frames;
pub(crate) mod git;
pub(crate) mod glob;
pub(crate) mod harness;
pub(crate) mod help;
pub(crate) mod mcp;
pub(crate) mod protect;
pub(crate) mod supervise;
pub(crate) mod tasks;
#[cfg(test)]
mod testing;
pub(crate) mod ui;

/// After a usage error: the one mistake clap cannot explain, a command to run given without `--`.
fn usage_hint() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs = args.iter().position(|a| a == "run" || a == "fleet");
    if let Some(at) = runs
        && !args.iter().any(|a| a == "--")
    {
        ui::message(format_args!(
            "hint: put `--` before the command to run, e.g. `git neighbor {} -- {}`",
            args[at],
            args.get(at + 1..).map(|r| r.join(" ")).filter(|r| !r.is_empty()).unwrap_or_else(|| "make test".into())
        ));
    }
}

/// `hook <name> [ARGS]` as the installed hooks call it, run without clap's parser; `None` for anything
/// else ([`cli::hook_fast_path`]).
fn hook_entry(args: &[std::ffi::OsString]) -> Option<u8> {
    let (g, hook) = cli::hook_fast_path(args)?;
    let ui = ui::Ui::new(g.json, g.quiet, 0, g.color);
    Some(match cli::run_hook(&g, &hook) {
        Ok(code) => code,
        Err(e) if e.kind == error::Kind::BrokenPipe => 0,
        Err(e) => {
            ui.error(&e);
            e.kind.code()
        }
    })
}

/// The `git-neighbor-hook` binary, what the installed hooks run: `git-neighbor-hook <name> [ARGS]` is
/// `git-neighbor hook <name> [ARGS]`. It links only the hooks' code, so it starts faster on every commit
/// (fewer pages, a third fewer relocations). Anything the hooks' fast path does not take (an option, a
/// hook git-neighbor does not have) is handed to `git-neighbor hook` itself, the one beside this binary
/// or else the one on PATH, so every answer but the fast path's is the full binary's.
///
/// A hook file can also name this binary on its `#!` line (what `hooks install` writes), and then the
/// kernel runs `git-neighbor-hook <path-of-hook-file> [ARGS]`: a first argument holding a `/` whose
/// file name is one of our hooks stands for that hook.
pub fn hook_main() -> u8 {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.is_empty() {
        args.push("git-neighbor-hook".into());
    }
    if let Some(first) = args.get_mut(1)
        && let Some(name) = hook_of_path(first)
    {
        *first = name.into();
    }
    args.insert(1, "hook".into());
    if let Some(code) = hook_entry(&args) {
        return code;
    }
    let beside =
        std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join("git-neighbor"))).filter(|p| p.is_file());
    let program = beside.as_deref().unwrap_or(std::path::Path::new("git-neighbor"));
    let err = std::os::unix::process::CommandExt::exec(std::process::Command::new(program).args(&args[1..]));
    ui::message(format_args!("error: git-neighbor-hook: cannot run {}: {err}", program.display()));
    ui::message(format_args!(
        "hint: git-neighbor-hook hands everything but a hook's run to git-neighbor: install it beside \
         git-neighbor-hook or on PATH"
    ));
    1
}

/// The hook a hook file's path stands for: its file name, when the path holds a `/` and the name is
/// one of ours.
fn hook_of_path(arg: &std::ffi::OsStr) -> Option<&'static str> {
    let text = arg.to_str()?;
    let (_, name) = text.rsplit_once('/')?;
    protect::hooks::NAMES.iter().copied().find(|n| *n == name)
}

/// Parse arguments, run, print errors; returns the process exit code.
pub fn main_entry() -> u8 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = hook_entry(&args) {
        return code;
    }
    let parsed = help::command_for(&args)
        .try_get_matches_from(args)
        .and_then(|m| <cli::Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            if e.use_stderr() {
                usage_hint();
            }
            return code;
        }
    };
    let ui = ui::Ui::new(cli.global.json, cli.global.quiet, 0, cli.global.color);
    match cli::run(cli) {
        Ok(code) => code,
        Err(e) if e.kind == error::Kind::BrokenPipe => 0,
        Err(e) => {
            ui.error(&e);
            e.kind.code()
        }
    }
}
