# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_git_neighbor_global_optspecs
    string join \n C= c= color= json q/quiet v/verbose lock-timeout= h/help V/version
end

function __fish_git_neighbor_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_git_neighbor_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_git_neighbor_using_subcommand
    set -l cmd (__fish_git_neighbor_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -s V -l version -d 'Print version'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "init" -d 'Write a commented .neighbor.toml (never overwriting) and create the shared state'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "add" -d 'Create a tenant: a worktree on its own branch. Prints its path as the only line on stdout'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "list" -d 'List every worktree of the building with its status'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "remove" -d 'Remove a tenant; refuses (exit 3) if it holds work, unless --force (which saves a rescue ref)'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "keep" -d 'Mark a tenant kept: prune leaves it alone'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "lock" -d 'Lock a tenant (git worktree lock): nothing removes it'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "unlock" -d 'Unlock a tenant'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "prune" -d 'Remove what is provably abandoned; never anything with work in it'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "rescue" -d 'Work saved under refs/neighbor/rescue/ (no subcommand: list)'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "delta" -d 'Deltas: notes of changes to canonical state, written per frame and stream (no subcommand: list)'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "merge-frame" -d 'Apply all of a frame\'s deltas to the target branch in one commit'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "run" -d 'Run a command in its own tenant: lease, elevator, timeout, signals, fallback delta, cleanup'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "land" -d 'Land a tenant onto its target: one at a time, up to date, tested, compare-and-swap'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "fleet" -d 'K frames of N supervised runs in parallel, each frame merged, with a per-frame report'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "pool" -d 'Pre-built tenants: fill, claim, release, list (no subcommand: list)'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "safe-pull" -d 'Pull by rebase without ever stashing; refuses (exit 3) to mix a dirty checkout with a live fleet'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "hooks" -d 'Install, remove or inspect the git hooks that guard shared state (no subcommand: status)'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "hook" -d 'What installed git hooks run: `git neighbor hook <git-hook-name> [ARGS]`'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "doctor" -d 'Find what makes the building unsafe; --fix repairs what cannot lose data'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "status" -d 'Summary of the building'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "log" -d 'Show the lifecycle log (events.jsonl)'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "lint" -d 'Check shell scripts for bash-4 and GNU-only constructs and protocol violations (exit 1 on findings)'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "demo" -d 'Demonstrate git-neighbor in a throwaway repository'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "__gen-docs" -d 'Internal: write man pages and completions from the command definition'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "__reaper" -d 'Internal: end a supervised child\'s process group if its supervisor dies'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "__lease-keeper" -d 'Internal: hold an ephemeral tenant\'s lease while a process lives'
complete -c git-neighbor -n "__fish_git_neighbor_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand init" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand init" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand init" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand init" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand init" -l hooks -d 'Also install the git hooks (as `git neighbor hooks install`)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand init" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand init" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand init" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -l base -d 'Base revision (default: worktrees.base, normally HEAD)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -l branch -d 'Branch name (default: the worktrees.branch template, normally neighbor/<name>)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -l path -d 'Worktree path (default: <worktrees.root>/<name>)' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -l carry -d 'Copy this uncommitted file, directory or glob from the current worktree (repeatable)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -l owner -d 'Owner recorded in the registry' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -l task -d 'Task id recorded in the registry' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -l ephemeral -d 'The tenant lives only as long as the calling process (its lease); prune removes it after'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand list" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand list" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand list" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand list" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand list" -l full -d 'Also compute dirty and ahead/behind base (slower; runs git status per worktree, in parallel)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand list" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand list" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand list" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand remove" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand remove" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand remove" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand remove" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand remove" -l force -d 'Remove even with uncommitted changes or unmerged commits, after saving them as a rescue ref'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand remove" -l keep-branch -d 'Keep the tenant\'s branch'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand remove" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand remove" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand remove" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand keep" -l reason -d 'Why it is kept (shown by list)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand keep" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand keep" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand keep" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand keep" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand keep" -l undo -d 'Clear the mark instead'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand keep" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand keep" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand keep" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand keep" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lock" -l reason -d 'Why it is locked' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lock" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lock" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lock" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lock" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lock" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lock" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lock" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lock" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand unlock" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand unlock" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand unlock" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand unlock" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand unlock" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand unlock" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand unlock" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand unlock" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand prune" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand prune" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand prune" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand prune" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand prune" -s n -l dry-run -d 'Show the plan; change nothing'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand prune" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand prune" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand prune" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -f -a "list" -d 'List rescue refs, newest first'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -f -a "show" -d 'Show one rescue: its message and what it changed relative to its parent'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -f -a "drop" -d 'Delete one rescue ref (its work is gone for good unless another ref holds it)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -f -a "prune" -d 'Delete the rescue refs made longer ago than a duration (e.g. 30d), so they do not pile up forever'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -f -a "restore" -d 'Make a branch at the rescued snapshot so the work can be checked out and continued'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and not __fish_seen_subcommand_from list show drop prune restore help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from list" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from list" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from list" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from list" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from list" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from show" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from show" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from show" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from show" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from show" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from drop" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from drop" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from drop" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from drop" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from drop" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from drop" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from drop" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from drop" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from prune" -l older-than -d 'Age: `30d`, `12h`, …' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from prune" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from prune" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from prune" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from prune" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from prune" -l dry-run -d 'Only list what would be deleted'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from prune" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from restore" -l branch -d 'Branch to create (default: rescued/<id>)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from restore" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from restore" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from restore" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from restore" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from restore" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from restore" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from restore" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from help" -f -a "list" -d 'List rescue refs, newest first'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one rescue: its message and what it changed relative to its parent'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from help" -f -a "drop" -d 'Delete one rescue ref (its work is gone for good unless another ref holds it)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Delete the rescue refs made longer ago than a duration (e.g. 30d), so they do not pile up forever'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from help" -f -a "restore" -d 'Make a branch at the rescued snapshot so the work can be checked out and continued'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand rescue; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -f -a "write" -d 'Read a delta (stdin or --file), validate it and store it in the mailbox'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -f -a "list" -d 'List deltas waiting in the mailbox (or archived ones)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -f -a "show" -d 'Print one stored delta (its envelope) as JSON'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -f -a "drop" -d 'Delete a waiting delta'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -f -a "push" -d 'Publish waiting deltas to a remote (frames not yet merged there)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -f -a "fetch" -d 'Fetch waiting deltas from a remote'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and not __fish_seen_subcommand_from write list show drop push fetch help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from write" -l frame -d 'Frame (default: $NEIGHBOR_FRAME, else the next frame to merge)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from write" -l stream -d 'Stream (default: $NEIGHBOR_STREAM, else the current tenant\'s name)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from write" -l file -d 'Read the delta from this file instead of stdin' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from write" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from write" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from write" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from write" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from write" -l fallback -d 'Write a fallback delta ("ran, nothing to say"): no ops; stdin is not read unless --file is given'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from write" -l replace -d 'Overwrite this stream\'s delta for the frame'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from write" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from write" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from write" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from write" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from list" -l frame -d 'Only this frame' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from list" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from list" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from list" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from list" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from list" -l applied -d 'List archived (applied) deltas instead'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from list" -l quarantined -d 'List quarantined deltas instead'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from list" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from show" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from show" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from show" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from show" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from show" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from drop" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from drop" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from drop" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from drop" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from drop" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from drop" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from drop" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from drop" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from push" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from push" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from push" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from push" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from push" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from push" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from push" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from push" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from fetch" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from fetch" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from fetch" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from fetch" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from fetch" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from fetch" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from fetch" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from fetch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from help" -f -a "write" -d 'Read a delta (stdin or --file), validate it and store it in the mailbox'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from help" -f -a "list" -d 'List deltas waiting in the mailbox (or archived ones)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print one stored delta (its envelope) as JSON'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from help" -f -a "drop" -d 'Delete a waiting delta'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from help" -f -a "push" -d 'Publish waiting deltas to a remote (frames not yet merged there)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from help" -f -a "fetch" -d 'Fetch waiting deltas from a remote'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand delta; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -l frame -d 'Frame to merge (default: the last merged frame + 1)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -l expect -d 'Streams expected this frame, comma-separated (default: merge.expect)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -l wait -d 'Wait this long for expected streams before recording them missing' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -l push -d 'Also publish: move the target and the delta refs on this remote atomically (default: origin)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -l reducer -d 'Hand ordering and application to this program (split on spaces; no shell): deltas as JSON lines on stdin, the state directory in $NEIGHBOR_STATE to edit in place' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -s n -l dry-run -d 'Print the plan and the resulting diff; change nothing'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand merge-frame" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -l frame -d 'Frame this run writes for (NEIGHBOR_FRAME); with --stream, a fallback delta is left if CMD writes none' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -l stream -d 'Stream this run writes for (NEIGHBOR_STREAM)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -l timeout -d 'Kill CMD after this long (TERM, then KILL after --grace); exit 124' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -l grace -d 'Time between TERM and KILL' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -l stagger -d 'Gap between launches through the elevator (default: fleet.stagger)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -l base -d 'Base revision for a new tenant' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -l keep -d 'Keep the tenant afterwards, whatever it holds'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -l rm -d 'Remove the tenant afterwards even if it holds work (saved as a rescue ref first)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -l no-stagger -d 'Skip the elevator'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -l pool -d 'Claim a pre-built tenant from the pool instead of creating one'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -l into -d 'Branch to land into (default: the tenant\'s base branch, else state.target)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -l test -d 'Test to run in the tenant after it is brought up to date (run with `sh -c`)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -l no-ff -d 'Always make a merge commit on the target'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -l squash -d 'Land the tenant\'s changes as one commit'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -l rebase -d 'Rebase the tenant onto the target instead of merging the target into it'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -l keep -d 'Keep the tenant after landing (default: remove it)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand land" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand fleet" -l streams -d 'Parallel streams per frame (named stream-1 … stream-N)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand fleet" -l frames -d 'Frames to run' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand fleet" -l stagger -d 'Gap between launches (default: fleet.stagger)' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand fleet" -l timeout -d 'Per-run timeout' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand fleet" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand fleet" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand fleet" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand fleet" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand fleet" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand fleet" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand fleet" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand fleet" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and not __fish_seen_subcommand_from fill claim release list help" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and not __fish_seen_subcommand_from fill claim release list help" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and not __fish_seen_subcommand_from fill claim release list help" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and not __fish_seen_subcommand_from fill claim release list help" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and not __fish_seen_subcommand_from fill claim release list help" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and not __fish_seen_subcommand_from fill claim release list help" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and not __fish_seen_subcommand_from fill claim release list help" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and not __fish_seen_subcommand_from fill claim release list help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and not __fish_seen_subcommand_from fill claim release list help" -f -a "fill" -d 'Make sure at least N pool tenants are free'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and not __fish_seen_subcommand_from fill claim release list help" -f -a "claim" -d 'Claim a free tenant for the calling process; prints its path (the lease id goes to stderr and --json)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and not __fish_seen_subcommand_from fill claim release list help" -f -a "release" -d 'Give a claimed tenant back: reset to its base if nothing unmerged would be lost, else keep it'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and not __fish_seen_subcommand_from fill claim release list help" -f -a "list" -d 'List pool tenants and their claims'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and not __fish_seen_subcommand_from fill claim release list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from fill" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from fill" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from fill" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from fill" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from fill" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from fill" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from fill" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from fill" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from claim" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from claim" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from claim" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from claim" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from claim" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from claim" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from claim" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from claim" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from release" -l lease-id -d 'The lease id `claim` printed' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from release" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from release" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from release" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from release" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from release" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from release" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from release" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from release" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from list" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from list" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from list" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from list" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from list" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from help" -f -a "fill" -d 'Make sure at least N pool tenants are free'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from help" -f -a "claim" -d 'Claim a free tenant for the calling process; prints its path (the lease id goes to stderr and --json)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from help" -f -a "release" -d 'Give a claimed tenant back: reset to its base if nothing unmerged would be lost, else keep it'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from help" -f -a "list" -d 'List pool tenants and their claims'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand pool; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand safe-pull" -l evacuate -d 'Move the uncommitted changes (tracked and untracked) into a new tenant as one commit, print its path, then pull into the now clean checkout. Give NAME as --evacuate=NAME or after the remote' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand safe-pull" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand safe-pull" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand safe-pull" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand safe-pull" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand safe-pull" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand safe-pull" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand safe-pull" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand safe-pull" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "install" -d 'Install pre-commit, pre-push, pre-rebase and post-checkout hooks (idempotent; honours core.hooksPath; your own hooks are kept and still run after ours)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "uninstall" -d 'Remove our hooks, giving back exactly what was there before'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "status" -d 'Show whether each hook is installed'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from install" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from install" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from install" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from install" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from install" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from install" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from status" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from status" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from status" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from status" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from status" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "install" -d 'Install pre-commit, pre-push, pre-rebase and post-checkout hooks (idempotent; honours core.hooksPath; your own hooks are kept and still run after ours)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Remove our hooks, giving back exactly what was there before'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show whether each hook is installed'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hooks; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hook" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hook" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hook" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hook" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hook" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hook" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hook" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand hook" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand doctor" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand doctor" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand doctor" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand doctor" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand doctor" -l fix -d 'Repair what cannot lose data: prune-safe items, merged orphan branches, hooks; stashes are saved as rescue refs (never dropped)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand doctor" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand doctor" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand doctor" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand status" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand status" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand status" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand status" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand status" -l fetch -d 'Fetch the upstream before judging fleet liveness (default: judge from the last fetched state, so status stays fast enough for prompts and scripts; safe-pull always fetches)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand status" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand status" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand status" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand log" -l name -d 'Only events of this tenant' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand log" -s n -l limit -d 'Only the last N events' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand log" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand log" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand log" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand log" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand log" -s f -l follow -d 'Keep printing new events as they are appended'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand log" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand log" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand log" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand log" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lint" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lint" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lint" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lint" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lint" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lint" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lint" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand lint" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand demo" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand demo" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand demo" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand demo" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand demo" -l keep -d 'Keep the throwaway repository instead of deleting it at the end'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand demo" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand demo" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand demo" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand completions" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand completions" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand completions" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand completions" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand completions" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand completions" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand completions" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __gen-docs" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __gen-docs" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __gen-docs" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __gen-docs" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __gen-docs" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __gen-docs" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __gen-docs" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __gen-docs" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __reaper" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __reaper" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __reaper" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __reaper" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __reaper" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __reaper" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __reaper" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __reaper" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __lease-keeper" -s C -d 'Run as if started in PATH' -r -F
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __lease-keeper" -s c -d 'Override one .neighbor.toml key for this call (repeatable), e.g. -c fleet.stagger=3s' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __lease-keeper" -l color -d 'When to colour output' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __lease-keeper" -l lock-timeout -d 'How long to wait for the building lock before exiting with code 4' -r
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __lease-keeper" -l json -d 'Print data as JSON (schemas in git-neighbor(1))'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __lease-keeper" -s q -l quiet -d 'Silence status messages on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __lease-keeper" -s v -l verbose -d 'More detail on stderr'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand __lease-keeper" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "init" -d 'Write a commented .neighbor.toml (never overwriting) and create the shared state'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "add" -d 'Create a tenant: a worktree on its own branch. Prints its path as the only line on stdout'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "list" -d 'List every worktree of the building with its status'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "remove" -d 'Remove a tenant; refuses (exit 3) if it holds work, unless --force (which saves a rescue ref)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "keep" -d 'Mark a tenant kept: prune leaves it alone'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "lock" -d 'Lock a tenant (git worktree lock): nothing removes it'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "unlock" -d 'Unlock a tenant'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "prune" -d 'Remove what is provably abandoned; never anything with work in it'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "rescue" -d 'Work saved under refs/neighbor/rescue/ (no subcommand: list)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "delta" -d 'Deltas: notes of changes to canonical state, written per frame and stream (no subcommand: list)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "merge-frame" -d 'Apply all of a frame\'s deltas to the target branch in one commit'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "run" -d 'Run a command in its own tenant: lease, elevator, timeout, signals, fallback delta, cleanup'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "land" -d 'Land a tenant onto its target: one at a time, up to date, tested, compare-and-swap'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "fleet" -d 'K frames of N supervised runs in parallel, each frame merged, with a per-frame report'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "pool" -d 'Pre-built tenants: fill, claim, release, list (no subcommand: list)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "safe-pull" -d 'Pull by rebase without ever stashing; refuses (exit 3) to mix a dirty checkout with a live fleet'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "hooks" -d 'Install, remove or inspect the git hooks that guard shared state (no subcommand: status)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "hook" -d 'What installed git hooks run: `git neighbor hook <git-hook-name> [ARGS]`'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "doctor" -d 'Find what makes the building unsafe; --fix repairs what cannot lose data'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "status" -d 'Summary of the building'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "log" -d 'Show the lifecycle log (events.jsonl)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "lint" -d 'Check shell scripts for bash-4 and GNU-only constructs and protocol violations (exit 1 on findings)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "demo" -d 'Demonstrate git-neighbor in a throwaway repository'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "completions" -d 'Print shell completions'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "__gen-docs" -d 'Internal: write man pages and completions from the command definition'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "__reaper" -d 'Internal: end a supervised child\'s process group if its supervisor dies'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "__lease-keeper" -d 'Internal: hold an ephemeral tenant\'s lease while a process lives'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and not __fish_seen_subcommand_from init add list remove keep lock unlock prune rescue delta merge-frame run land fleet pool safe-pull hooks hook doctor status log lint demo completions __gen-docs __reaper __lease-keeper help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from rescue" -f -a "list" -d 'List rescue refs, newest first'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from rescue" -f -a "show" -d 'Show one rescue: its message and what it changed relative to its parent'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from rescue" -f -a "drop" -d 'Delete one rescue ref (its work is gone for good unless another ref holds it)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from rescue" -f -a "prune" -d 'Delete the rescue refs made longer ago than a duration (e.g. 30d), so they do not pile up forever'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from rescue" -f -a "restore" -d 'Make a branch at the rescued snapshot so the work can be checked out and continued'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from delta" -f -a "write" -d 'Read a delta (stdin or --file), validate it and store it in the mailbox'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from delta" -f -a "list" -d 'List deltas waiting in the mailbox (or archived ones)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from delta" -f -a "show" -d 'Print one stored delta (its envelope) as JSON'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from delta" -f -a "drop" -d 'Delete a waiting delta'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from delta" -f -a "push" -d 'Publish waiting deltas to a remote (frames not yet merged there)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from delta" -f -a "fetch" -d 'Fetch waiting deltas from a remote'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from pool" -f -a "fill" -d 'Make sure at least N pool tenants are free'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from pool" -f -a "claim" -d 'Claim a free tenant for the calling process; prints its path (the lease id goes to stderr and --json)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from pool" -f -a "release" -d 'Give a claimed tenant back: reset to its base if nothing unmerged would be lost, else keep it'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from pool" -f -a "list" -d 'List pool tenants and their claims'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "install" -d 'Install pre-commit, pre-push, pre-rebase and post-checkout hooks (idempotent; honours core.hooksPath; your own hooks are kept and still run after ours)'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "uninstall" -d 'Remove our hooks, giving back exactly what was there before'
complete -c git-neighbor -n "__fish_git_neighbor_using_subcommand help; and __fish_seen_subcommand_from hooks" -f -a "status" -d 'Show whether each hook is installed'
