//! The command definition as users see it: clap's derive output plus, for every command, an EXAMPLES
//! section (as git's own pages have), kept in this one table so help, man pages and completions share it.

use clap::CommandFactory;

/// `(command path, examples)`: each example is a command line and, after `#`, what it does.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "init",
        "git neighbor init                    # write .neighbor.toml, create the shared state\n\
              git neighbor init --hooks            # and install the hooks that guard shared state",
    ),
    (
        "add",
        "git neighbor add fix-login             # branch neighbor/fix-login, next to the repository\n\
             cd \"$(git neighbor add agent-7)\"       # the path is the only line on stdout\n\
             git neighbor add scratch --ephemeral   # gone with the process that asked for it\n\
             git neighbor add api --base origin/main --carry .env --owner alice --task T-12",
    ),
    (
        "list",
        "git neighbor list          # every worktree, its status and lease\n\
              git neighbor list --full   # plus dirty and ahead/behind its base\n\
              git neighbor list --json | jq -r '.[] | select(.status == \"stale\") | .name'",
    ),
    (
        "remove",
        "git neighbor remove fix-login          # refuses (exit 3) if it holds work\n\
                git neighbor remove --force fix-login  # saves the work under refs/neighbor/rescue/ first\n\
                git neighbor remove api --keep-branch  # the directory goes, the branch stays",
    ),
    (
        "keep",
        "git neighbor keep api --reason \"review pending\"  # prune leaves it alone\n\
              git neighbor keep api --undo",
    ),
    ("lock", "git neighbor lock api --reason \"on a USB disk\"  # git's worktree lock: nothing removes it"),
    ("unlock", "git neighbor unlock api"),
    (
        "prune",
        "git neighbor prune --dry-run   # what would go, and what is kept and why\n\
               git neighbor prune             # remove only what is provably abandoned",
    ),
    (
        "rescue",
        "git neighbor rescue                         # list what was saved\n\
                git neighbor rescue show remove-api-17321   # what it holds\n\
                git neighbor rescue restore remove-api --branch api-again\n\
                git neighbor rescue prune --older-than 30d",
    ),
    (
        "delta",
        "echo '{\"ops\":[{\"op\":\"incr\",\"path\":\"stats.json\",\"pointer\":\"/runs\",\"value\":1}]}' \\\n  \
               | git neighbor delta write --frame 3 --stream agent-1\n\
               git neighbor delta list --frame 3\n\
               git neighbor delta show 3/agent-1\n\
               git neighbor delta push origin   # share waiting deltas through a remote",
    ),
    (
        "merge-frame",
        "git neighbor merge-frame                 # the next frame, in one commit\n\
                     git neighbor merge-frame --frame 3 --expect a,b --wait 30s\n\
                     git neighbor merge-frame --dry-run       # the plan and the diff, nothing written\n\
                     git neighbor merge-frame --push origin   # merge and publish atomically",
    ),
    (
        "run",
        "git neighbor run -- make test   # in a fresh tenant, removed afterwards when clean\n\
             git neighbor run agent-3 --stream agent-3 --timeout 20m -- ./agent.sh\n\
             git neighbor run --keep -- sh -c 'edit && git commit -am wip'\n\
             git neighbor run --json -- ./agent.sh  # the command's stdout goes to stderr; the report to stdout",
    ),
    (
        "land",
        "git neighbor land fix-login --test 'cargo test'  # updated, tested, then the target moves\n\
              git neighbor land api --into release --squash\n\
              git neighbor land --queue fix-login   # enqueue and return; prints its position",
    ),
    (
        "queue",
        "git neighbor queue                       # every entry and its state\n\
               git neighbor queue show fix-login        # why an entry was ejected\n\
               git neighbor queue cancel 3\n\
               git neighbor pool fill 4                 # tests run in these pre-built tenants\n\
               git neighbor queue run --parallel 4 --test 'make test'   # land them all, in order\n\
               git neighbor queue run --batch 4 --test 'make test'      # 4 entries per tested tree",
    ),
    (
        "conflicts",
        "git neighbor conflicts                  # every live tenant against each other and the target\n\
                   git neighbor conflicts api web          # those two, each other and the target\n\
                   git neighbor conflicts --against origin/main\n\
                   git neighbor conflicts --exit-code >/dev/null; [ $? = 5 ] && echo 'some pair would conflict'\n\
                   git neighbor conflicts --json | jq -r '.pairs[] | select(.clean | not) | \"\\(.a) \\(.b)\"'",
    ),
    (
        "pool",
        "git neighbor pool fill 8         # keep 8 tenants ready\n\
              git neighbor pool claim --json   # claim one at once (its name, path and lease id)\n\
              git neighbor pool release pool-3 --lease-id 9f2c...",
    ),
    (
        "task",
        "git neighbor task add \"fix the login race\" --id login --label bug   # prints the id\n\
              git neighbor task add \"ship it\" --blocked-by login   # ready once login is done\n\
              id=$(git neighbor task claim --next)   # exit 5 when nothing is ready\n\
              git neighbor task done \"$id\"\n\
              git neighbor task done login --land --test 'cargo test'   # land its tenant, then done\n\
              cd \"$(git neighbor task claim --next --tenant)\"   # a tenant of its own, named after the task\n\
              git neighbor task claim --next --run -- ./agent.sh   # done when it exits 0, failed otherwise\n\
              git neighbor task list --ready --json\n\
              git neighbor task edit login --subject \"fix the login race (2FA too)\" --label p1\n\
              git neighbor task sync origin   # share the tasks; from now on every change goes through origin\n\
              git neighbor task claim --next   # exactly once across clones once shared\n\
              git neighbor task release login --local   # this clone alone, published by the next sync\n\
              git neighbor -c tasks.claim-ttl=2m task claim --next --run -- ./agent.sh   # heartbeat every 40s",
    ),
    (
        "trust",
        "git neighbor trust --show              # the [setup] commands, and what is approved\n\
               git neighbor trust --expect 3fa9c2d1e0b4  # approve them, if they are still what you saw\n\
               git neighbor trust --revoke            # setup is refused again",
    ),
    (
        "safe-pull",
        "git neighbor safe-pull              # like git pull --rebase, never stashing\n\
                   git neighbor safe-pull --evacuate   # dirty while the fleet is live: move the work to a tenant",
    ),
    (
        "hooks",
        "git neighbor hooks install             # your own hooks are kept and still run\n\
               git neighbor hooks install --on-path   # find git-neighbor on PATH at every run\n\
               git neighbor hooks                     # their status, and what each runs\n\
               git neighbor hooks uninstall",
    ),
    (
        "doctor",
        "git neighbor doctor         # exit 1 only for what can lose work or block the fleet\n\
                git neighbor doctor --fix   # repair what cannot lose data",
    ),
    (
        "status",
        "git neighbor status           # where you are, tenants, leases, fleet live or idle\n\
                git neighbor status --fetch   # ask the upstream too\n\
                PS1='$(git neighbor status --short 2>/dev/null) $ '   # api* +2 -1 live",
    ),
    (
        "log",
        "git neighbor log -n 20\n\
             git neighbor log --follow --name api",
    ),
    (
        "lint",
        "git neighbor lint                 # every tracked shell script\n\
              git neighbor lint scripts/*.sh",
    ),
    (
        "claude",
        "git neighbor init --claude   # register these as Claude Code's worktree hooks\n\
         echo '{\"name\":\"fix-login\",\"cwd\":\"/src/repo\"}' | git neighbor claude worktree-create",
    ),
    (
        "mcp",
        "git neighbor mcp                              # serve MCP on stdin/stdout (an agent starts it)\n\
             claude mcp add neighbor -- git neighbor mcp   # register it with Claude Code\n\
             git neighbor -C /src/repo mcp                 # serve that repository wherever it is started",
    ),
    (
        "demo",
        "git neighbor demo          # a throwaway repository, a fleet, a crash, a refusal\n\
              git neighbor demo --keep   # keep the repository to look around",
    ),
];

/// The command definition with every command's examples attached, every command built (their options
/// are deferred until needed, see [`crate::cli::Lazy`]): for help, completion and the man pages.
pub fn command() -> clap::Command {
    let mut root = crate::cli::Cli::command();
    // Build first: a command's own `after_long_help` is set when its deferred options are added, and the
    // examples go after it.
    root.build();
    for (path, text) in EXAMPLES {
        let body: String = text.lines().map(|l| format!("  {}\n", l.trim_start())).collect();
        let section = format!("Examples:\n{}", body.trim_end_matches('\n'));
        root = root.mut_subcommand(*path, |c| {
            let before = c.get_after_long_help().map(|h| format!("{h}\n\n")).unwrap_or_default();
            c.after_long_help(format!("{before}{section}"))
        });
    }
    root
}

/// The command to parse `args` with: the full one when help may be printed (`-h`, `--help`, `help`
/// anywhere), else the one whose commands build their options only when invoked, so a command that
/// prints no help does not build every other command's. A usage error shows only the short usage, which
/// the invoked command has either way.
pub fn command_for(args: &[std::ffi::OsString]) -> clap::Command {
    if args.iter().skip(1).any(|a| a == "-h" || a == "--help" || a == "help") {
        command()
    } else {
        crate::cli::Cli::command()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_visible_command_has_examples() {
        let root = super::command();
        let missing: Vec<&str> = root
            .get_subcommands()
            .filter(|c| !c.is_hide_set() && !matches!(c.get_name(), "hook" | "help"))
            .filter(|c| !c.get_after_long_help().is_some_and(|h| h.to_string().contains("Examples:")))
            .map(|c| c.get_name())
            .collect();
        assert!(missing.is_empty(), "commands without examples: {missing:?}");
    }
}
