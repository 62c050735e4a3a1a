//! The command line: global options, the subcommand enum, and dispatch.
//!
//! Each subcommand lives in `commands/<name>.rs` as an `Args` struct (its `///` comments are the help)
//! and a `run` function returning the process exit code.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::building::{ConfigPolicy, Ctx};
use crate::commands;
use crate::config;
use crate::error::Error;
use crate::ui::{ColorChoice, Ui};

/// Let many writers share one git repository without destroying each other's work.
///
/// Exit codes: 0 success, 1 error, 2 usage, 3 refused by the protocol (data would be lost, fleet live,
/// guard tripped), 4 building lock not acquired within --lock-timeout.
#[derive(Debug, Parser)]
#[command(name = "git-neighbor", bin_name = "git neighbor", version, max_term_width = 100)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Cmd,
}

/// Options every command takes; `-h` lists them under their own heading, after the command's own.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Run as if started in PATH.
    #[arg(short = 'C', global = true, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s.
    #[arg(short = 'c', global = true, value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Print data as JSON (schemas in git-neighbor-reference(7)).
    #[arg(long, global = true)]
    pub json: bool,
    /// Silence status messages on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail on stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// How long to wait for the building lock before exiting with code 4.
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s", value_parser = parse_dur)]
    pub lock_timeout: Duration,
}

impl Global {
    /// The global options when none is given (what clap gives for an empty command line; a test checks that
    /// they agree). Building clap's parser for them took about 0.1 ms of every hook run.
    pub fn defaults() -> Global {
        Global {
            dir: None,
            config: Vec::new(),
            color: ColorChoice::Auto,
            json: false,
            quiet: false,
            verbose: 0,
            lock_timeout: Duration::from_secs(30),
        }
    }
}

fn parse_dur(s: &str) -> Result<Duration, String> {
    config::parse_duration(s)
}

/// A command's own options, built only when that command is the one invoked (clap's `Command::defer`):
/// building every command's options on every start was about a quarter of the CPU of a short command
/// (`status --json`, `delta write`). Help, completion and the man pages build them all, as before.
#[derive(Debug, Clone)]
pub struct Lazy<T>(pub T);

impl<T> std::ops::Deref for Lazy<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: clap::FromArgMatches> clap::FromArgMatches for Lazy<T> {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(m).map(Lazy)
    }
    fn from_arg_matches_mut(m: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(m).map(Lazy)
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(m)
    }
    fn update_from_arg_matches_mut(&mut self, m: &mut clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(m)
    }
}

impl<T: clap::Subcommand> clap::Subcommand for Lazy<T> {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        cmd.defer(T::augment_subcommands)
    }
    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(T::augment_subcommands_for_update)
    }
    fn has_subcommand(name: &str) -> bool {
        T::has_subcommand(name)
    }
}

impl<T: clap::Args> clap::Args for Lazy<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.defer(T::augment_args)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(T::augment_args_for_update)
    }
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Write a commented .neighbor.toml (never overwriting) and create the shared state.
    Init(Lazy<commands::init::Args>),
    /// Create a tenant: a worktree on its own branch. Prints its path as the only line on stdout.
    Add(Lazy<commands::add::Args>),
    /// List every worktree of the building with its status.
    #[command(alias = "ls")]
    List(Lazy<commands::list::Args>),
    /// Remove a tenant; refuses (exit 3) if it holds work, unless --force (which saves a rescue ref).
    #[command(alias = "rm")]
    Remove(Lazy<commands::remove::Args>),
    /// Mark a tenant kept: prune leaves it alone.
    Keep(Lazy<commands::keep::Args>),
    /// Lock a tenant (git worktree lock): nothing removes it.
    Lock(Lazy<commands::lock::Args>),
    /// Unlock a tenant.
    Unlock(Lazy<commands::lock::UnlockArgs>),
    /// Remove what is provably abandoned; never anything with work in it.
    Prune(Lazy<commands::prune::Args>),
    /// Work saved under refs/neighbor/rescue/ (no subcommand: list).
    Rescue {
        /// What to do.
        #[command(subcommand)]
        cmd: Option<Lazy<commands::rescue::Cmd>>,
    },
    /// Deltas: notes of changes to canonical state, written per frame and stream (no subcommand: list).
    Delta {
        /// What to do.
        #[command(subcommand)]
        cmd: Option<Lazy<commands::delta::Cmd>>,
    },
    /// Apply all of a frame's deltas to the target branch in one commit.
    MergeFrame(Lazy<commands::merge_frame::Args>),
    /// Run a command in its own tenant: lease, elevator, timeout, signals, fallback delta, cleanup.
    Run(Lazy<commands::run::Args>),
    /// Land a tenant onto its target: one at a time, up to date, tested, compare-and-swap.
    Land(Lazy<commands::land::Args>),
    /// The speculative merge queue `land --queue` feeds: list, show, cancel, run (no subcommand: list).
    Queue {
        /// What to do.
        #[command(subcommand)]
        cmd: Option<Lazy<commands::queue::Cmd>>,
    },
    /// Forecast which tenants would conflict with each other or the target, uncommitted work included.
    ///
    /// Every pair of live tenants, and every tenant against the target (state.target, or --against), is
    /// merged in memory (git merge-tree) over the merge base of their HEAD commits; a tenant's side is the
    /// tree of its files as they are on disk (staged, unstaged and untracked, not ignored), read through a
    /// private index, so nothing in the tenant is touched. Answers are cached by the trees merged, so a
    /// second run over unchanged tenants merges nothing; it also proposes batches of tenants that could
    /// land together (no two of a batch conflict). Exit 0 whatever the forecast (5 with --exit-code
    /// when some pair would conflict); 1 for an unknown tenant or revision.
    Conflicts(Lazy<commands::conflicts::Args>),
    /// K frames of N supervised runs in parallel, each frame merged, with a per-frame report.
    Fleet(Lazy<commands::fleet::Args>),
    /// Pre-built tenants: fill, claim, release, list (no subcommand: list).
    Pool {
        /// What to do.
        #[command(subcommand)]
        cmd: Option<Lazy<commands::pool::Cmd>>,
    },
    /// Tasks: add, list, show, claim (exactly once), release, done, fail, block, sync (no subcommand: list).
    Task {
        /// What to do.
        #[command(subcommand)]
        cmd: Option<Lazy<commands::task::Cmd>>,
    },
    /// Approve the [setup] commands of .neighbor.toml (by hash), show the approval, or revoke it.
    Trust(Lazy<commands::trust::Args>),
    /// Pull by rebase without ever stashing; refuses (exit 3) to mix a dirty checkout with a live fleet.
    ///
    /// Clean checkout: fast-forward, or rebase local commits (a conflicting rebase is aborted: nothing
    /// changes, exit 1). Dirty checkout while the fleet is live (a lease held in this building, or an
    /// upstream commit younger than fleet.live-window): refuse with exit 3 and touch nothing. Dirty and
    /// idle: save a rescue ref, pull, and re-apply the changes (staged and unstaged); if they would
    /// conflict, the checkout is left (or put back) exactly as it was and the exit code is 1.
    SafePull(Lazy<commands::safe_pull::Args>),
    /// Install, remove or inspect the git hooks that guard shared state (no subcommand: status).
    Hooks {
        /// What to do.
        #[command(subcommand)]
        cmd: Option<Lazy<commands::hooks::Cmd>>,
    },
    /// What installed git hooks run: `git neighbor hook <git-hook-name> [ARGS]`.
    ///
    /// The installed hooks run it as `git-neighbor-hook <git-hook-name> [ARGS]` when that binary is
    /// installed (beside git-neighbor): the same code and answers, in a smaller binary that starts faster.
    Hook(Lazy<commands::hook::Args>),
    /// Find what makes the building unsafe; --fix repairs what cannot lose data.
    ///
    /// Checks stale tenants and locks, orphaned branches, leftover stashes and rebases, conflict markers in
    /// state files, missing hooks, invalid config, too old git. Exit 1 while a problem remains that can lose
    /// work or block the fleet; warnings (hooks missing in a fresh clone unless `hooks.required`, a branch
    /// that belongs to no tenant) leave it 0, so doctor can gate CI.
    Doctor(Lazy<commands::doctor::Args>),
    /// Summary of the building.
    Status(Lazy<commands::status::Args>),
    /// Show the lifecycle log (events.jsonl).
    Log(Lazy<commands::log::Args>),
    /// Check shell scripts for bash-4 and GNU-only constructs and protocol violations (exit 1 on findings).
    Lint(Lazy<commands::lint::Args>),
    /// Demonstrate git-neighbor in a throwaway repository.
    Demo(Lazy<commands::demo::Args>),
    /// Serve the Model Context Protocol on stdin/stdout: add, list, status, remove, run, delta_write,
    /// merge_frame, land and rescue_list as tools for an agent.
    ///
    /// Each tool does what the command of the same name does and returns the JSON it prints with --json;
    /// an error or refusal is a tool result with isError and {code, kind, message, hints}, where code is
    /// the command's exit code (3: refused). run is bounded by its timeout (default 2m) and its output is
    /// captured, each stream cut to its last 64 KiB. Ends with exit 0 when the client closes stdin.
    Mcp(Lazy<commands::mcp::Args>),
    /// Claude Code's WorktreeCreate/WorktreeRemove hooks (registered by `init --claude`).
    Claude {
        /// Which hook.
        #[command(subcommand)]
        cmd: Lazy<commands::claude::Cmd>,
    },
    /// Print shell completions.
    Completions(Lazy<commands::completions::Args>),
    /// Internal: what the completion scripts call.
    #[command(name = "__complete", hide = true)]
    Complete(Lazy<commands::complete::Args>),
    /// Internal: write man pages and completions from the command definition.
    #[command(name = "__gen-docs", hide = true)]
    GenDocs(Lazy<commands::gen_docs::Args>),
    /// Internal: end a supervised child's process group if its supervisor dies.
    #[command(name = "__reaper", hide = true)]
    Reaper(Lazy<commands::reaper::Args>),
    /// Internal: hold an ephemeral tenant's lease while a process lives.
    #[command(name = "__lease-keeper", hide = true)]
    LeaseKeeper(Lazy<commands::keeper::Args>),
    /// Internal: keep `status --short --watch`'s answer current for the worktree it runs in.
    #[command(name = "__prompt-watch", hide = true)]
    PromptWatch,
}

/// Open the building for a command that needs a repository.
pub fn open(g: &Global) -> Result<Ctx, Error> {
    open_with(g, ConfigPolicy::Strict).map(|(ctx, _)| ctx)
}

/// Open the building for a command that only looks (`list`, `status`): a `.neighbor.toml` that does not
/// load is a warning, and the defaults are used, so a bad commit cannot hide the building from its users.
pub fn open_read_only(g: &Global, ui: &Ui) -> Result<Ctx, Error> {
    let (ctx, problem) = open_with(g, ConfigPolicy::Lenient)?;
    if let Some(e) = problem {
        ui.warn_error(&e, "showing the building with the default settings");
    }
    Ok(ctx)
}

/// Open the building with a choice of what a broken `.neighbor.toml` does (see [`ConfigPolicy`]).
pub fn open_with(g: &Global, policy: ConfigPolicy) -> Result<(Ctx, Option<Error>), Error> {
    let cwd = std::env::current_dir().map_err(|e| Error::new(format!("cannot read the current directory: {e}")))?;
    Ctx::open(&cwd, &g.config, g.lock_timeout, policy)
}

/// Run the parsed command line; returns the exit code.
/// `hook <name> [ARGS]` exactly as the installed hooks call it (a hook git-neighbor has, no options):
/// parsed here, without building the whole command line (every subcommand and option of the CLI), which
/// is about a third of the start-up of a hook that runs on every commit. The global options take their
/// defaults ([`Global::defaults`]). Anything else (an option anywhere, an
/// unknown hook, a non-UTF-8 argument) returns `None` and goes through the full parser as usual.
pub fn hook_fast_path(args: &[std::ffi::OsString]) -> Option<(Global, commands::hook::Args)> {
    let [_, hook, name, rest @ ..] = args else { return None };
    let name = name.to_str()?;
    if hook != "hook" || !crate::protect::hooks::NAMES.contains(&name) {
        return None;
    }
    let rest: Vec<String> = rest.iter().map(|a| a.to_str().map(str::to_string)).collect::<Option<_>>()?;
    if rest.iter().any(|a| a.starts_with('-')) {
        return None;
    }
    Some((Global::defaults(), commands::hook::Args { name: name.to_string(), args: rest }))
}

/// Run the hook [`hook_fast_path`] parsed.
pub fn run_hook(g: &Global, a: &commands::hook::Args) -> Result<u8, Error> {
    let ui = Ui::new(g.json, g.quiet, g.verbose, g.color);
    commands::hook::run(g, &ui, a)
}

pub fn run(cli: Cli) -> Result<u8, Error> {
    let g = &cli.global;
    if let Some(dir) = &g.dir {
        std::env::set_current_dir(dir).map_err(|e| {
            Error::new(format!("cannot change to '{}': {e}", dir.display())).hint("check the path given with -C")
        })?;
    }
    let ui = Ui::new(g.json, g.quiet, g.verbose, g.color);
    match &cli.command {
        Cmd::Init(a) => commands::init::run(g, &ui, a),
        Cmd::Add(a) => commands::add::run(&open(g)?, &ui, a),
        Cmd::List(a) => commands::list::run(&open_read_only(g, &ui)?, &ui, a),
        Cmd::Remove(a) => commands::remove::run(&open(g)?, &ui, a),
        Cmd::Keep(a) => commands::keep::run(&open(g)?, &ui, a),
        Cmd::Lock(a) => commands::lock::run(&open(g)?, &ui, a),
        Cmd::Unlock(a) => commands::lock::run_unlock(&open(g)?, &ui, a),
        Cmd::Prune(a) => commands::prune::run(&mut open(g)?, &ui, a),
        Cmd::Rescue { cmd } => {
            commands::rescue::run(&open(g)?, &ui, cmd.as_deref().unwrap_or(&commands::rescue::Cmd::List))
        }
        Cmd::Delta { cmd } => {
            let list = commands::delta::Cmd::List(Default::default());
            commands::delta::run(&open(g)?, &ui, cmd.as_deref().unwrap_or(&list))
        }
        Cmd::MergeFrame(a) => commands::merge_frame::run(&open(g)?, &ui, a),
        Cmd::Run(a) => commands::run::run(&open(g)?, &ui, a),
        Cmd::Land(a) => commands::land::run(&open(g)?, &ui, a),
        Cmd::Queue { cmd } => {
            commands::queue::run(&open(g)?, &ui, cmd.as_deref().unwrap_or(&commands::queue::Cmd::List))
        }
        Cmd::Conflicts(a) => commands::conflicts::run(&open(g)?, &ui, a),
        Cmd::Fleet(a) => commands::fleet::run(&open(g)?, &ui, a),
        Cmd::Pool { cmd } => commands::pool::run(&open(g)?, &ui, cmd.as_deref().unwrap_or(&commands::pool::Cmd::List)),
        Cmd::Task { cmd } => {
            let list = commands::task::Cmd::List { ready: false, status: None, owner: None };
            commands::task::run(&open(g)?, &ui, cmd.as_deref().unwrap_or(&list))
        }
        Cmd::GenDocs(a) => commands::gen_docs::run(a),
        Cmd::Reaper(a) => commands::reaper::run(a),
        Cmd::PromptWatch => commands::prompt_watch::run(&open_read_only(g, &ui)?),
        Cmd::Trust(a) => commands::trust::run(&open(g)?, &ui, a),
        Cmd::SafePull(a) => commands::safe_pull::run(&open(g)?, &ui, a),
        Cmd::Hooks { cmd } => {
            commands::hooks::run(&open(g)?, &ui, cmd.as_deref().unwrap_or(&commands::hooks::Cmd::Status))
        }
        Cmd::Hook(a) => commands::hook::run(g, &ui, a),
        Cmd::Doctor(a) => commands::doctor::run(g, &ui, a),
        Cmd::Status(a) => commands::status::run(&open_read_only(g, &ui)?, &ui, a),
        Cmd::Log(a) => commands::log::run(&open(g)?, &ui, a),
        Cmd::Lint(a) => commands::lint::run(open(g).ok().as_ref(), &ui, a),
        Cmd::Demo(a) => commands::demo::run(&ui, a),
        Cmd::Completions(a) => commands::completions::run(&ui, a),
        Cmd::Claude { cmd } => commands::claude::run(g, &ui, cmd),
        Cmd::Mcp(a) => commands::mcp::run(g, a),
        Cmd::Complete(a) => commands::complete::run(&ui, a),
        Cmd::LeaseKeeper(a) => commands::keeper::run(&open(g)?, a),
    }
}

#[cfg(test)]
mod tests {
    /// The hook's fast path and clap agree on what the global options are when none is given.
    #[test]
    fn global_defaults_are_clap_defaults() {
        let m = <super::Global as clap::Args>::augment_args(clap::Command::new("git-neighbor"))
            .try_get_matches_from(["git-neighbor"])
            .unwrap();
        let by_clap = <super::Global as clap::FromArgMatches>::from_arg_matches(&m).unwrap();
        assert_eq!(format!("{by_clap:?}"), format!("{:?}", super::Global::defaults()));
    }

    #[test]
    fn clap_definition_is_sound() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    /// Every command's `--help`, as a user sees it, pinned: a change to the help is a reviewed change.
    #[test]
    fn help_snapshots() {
        fn walk(cmd: &mut clap::Command, path: &str, out: &mut Vec<(String, String)>) {
            let help = cmd.render_long_help().to_string();
            out.push((path.to_string(), help));
            for sub in cmd.get_subcommands_mut() {
                if sub.is_hide_set() {
                    continue;
                }
                let name = format!("{path} {}", sub.get_name());
                walk(sub, &name, out);
            }
        }
        let mut root = crate::help::command().term_width(100);
        root.build();
        let mut all = Vec::new();
        walk(&mut root, "git-neighbor", &mut all);
        for (path, help) in all {
            let name = path.replace(' ', "__");
            insta::assert_snapshot!(name, help, &path);
        }
    }
}
