//! Shell completion at run time: the installed scripts for bash, zsh and fish call the hidden
//! `git-neighbor __complete -- WORD…` with the words after `neighbor` (the last one being completed), and
//! this module answers from the command definition itself (subcommands, long options, hidden commands
//! never offered) plus the building's live names: tenants, pool tenants, delta specs and rescue ids.
//!
//! The same scripts serve `git neighbor …` (git's own bash and zsh completion look for `_git_neighbor`
//! and `_git-neighbor`) and `git-neighbor …` typed directly.

/// Live names a positional argument can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Tenant names.
    Tenants,
    /// Pool tenants.
    PoolTenants,
    /// `frame/stream` of deltas in the mailbox (waiting, applied or quarantined).
    DeltaSpecs,
    /// Rescue ids.
    Rescues,
}

/// Which live names the first positional argument of a command takes, by its path (`delta show`).
fn names_for(path: &str) -> Option<Names> {
    Some(match path {
        "remove" | "keep" | "lock" | "unlock" | "land" | "conflicts" => Names::Tenants,
        "pool release" => Names::PoolTenants,
        "delta show" | "delta drop" => Names::DeltaSpecs,
        "rescue show" | "rescue restore" | "rescue drop" => Names::Rescues,
        _ => return None,
    })
}

/// The candidates for the last of `words` (the words after the command name, the last one possibly
/// empty), with `live` asked for names only when a positional argument wants them.
pub fn candidates(root: &clap::Command, words: &[String], live: &dyn Fn(Names) -> Vec<String>) -> Vec<String> {
    let mut cmd = root.clone();
    cmd.build();
    let Some((current, done)) = words.split_last() else { return Vec::new() };
    let mut path: Vec<String> = Vec::new();
    let mut positional = 0usize;
    let mut i = 0;
    while i < done.len() {
        let w = done[i].as_str();
        if w == "--" {
            return Vec::new(); // a command and its arguments follow: the shell's own completion
        }
        if let Some(long) = w.strip_prefix("--") {
            let (name, has_value) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            if !has_value && takes_value(&cmd, |a| a.get_long() == Some(name)) {
                i += 1;
            }
        } else if let Some(short) = w.strip_prefix('-').filter(|s| s.len() == 1) {
            let c = short.chars().next();
            if takes_value(&cmd, |a| a.get_short() == c) {
                i += 1;
            }
        } else if let Some(sub) = (positional == 0)
            .then(|| cmd.get_subcommands().find(|s| s.get_name() == w || s.get_all_aliases().any(|a| a == w)).cloned())
            .flatten()
        {
            path.push(sub.get_name().to_string());
            cmd = sub;
        } else {
            positional += 1;
        }
        i += 1;
    }
    // The value of an option?
    if let Some(prev) = done.last()
        && let Some(arg) = cmd.get_arguments().find(|a| {
            prev.strip_prefix("--").is_some_and(|l| a.get_long() == Some(l))
                || prev.strip_prefix('-').is_some_and(|s| s.len() == 1 && a.get_short() == s.chars().next())
        })
        && arg.get_action().takes_values()
    {
        return matching(arg.get_possible_values().iter().map(|v| v.get_name().to_string()), current);
    }
    if current.starts_with('-') {
        let longs = cmd
            .get_arguments()
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .chain(std::iter::once("--help".to_string()));
        return matching(longs, current);
    }
    if positional == 0 && cmd.has_subcommands() {
        let subs = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
            .map(|s| s.get_name().to_string());
        return matching(subs, current);
    }
    match (positional, names_for(&path.join(" "))) {
        (0, Some(kind)) => matching(live(kind).into_iter(), current),
        _ => Vec::new(),
    }
}

fn takes_value(cmd: &clap::Command, is: impl Fn(&clap::Arg) -> bool) -> bool {
    cmd.get_arguments().find(|a| is(a)).is_some_and(|a| a.get_action().takes_values())
}

fn matching(all: impl Iterator<Item = String>, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = all.filter(|c| c.starts_with(prefix)).collect();
    v.sort();
    v.dedup();
    v
}

/// The bash script: `_git_neighbor` for git's completion, and `git-neighbor` typed directly.
pub const BASH: &str = r#"# bash completion for `git neighbor …` and `git-neighbor …` (written by git-neighbor).
# git's own completion loads this file as git-neighbor's and calls _git_neighbor; it is also registered
# for git-neighbor typed directly. Candidates come from `git-neighbor __complete`, which knows the live
# tenant names, delta specs, rescue ids and pool tenants.

# Candidates for the words after the command name (the last one is being completed), one per line.
_git_neighbor_candidates () {
	git-neighbor __complete -- "$@" 2>/dev/null
}

# git neighbor …: git's completion has set words, cword and cur.
_git_neighbor () {
	local i start=1
	for ((i = 1; i < cword; i++)); do
		if [ "${words[i]}" = neighbor ]; then start=$i; break; fi
	done
	local IFS=$'\n'
	__gitcomp_nl "$(_git_neighbor_candidates "${words[@]:start+1:cword-start}")"
}

# git-neighbor …
_git_neighbor_direct () {
	local IFS=$'\n'
	COMPREPLY=($(_git_neighbor_candidates "${COMP_WORDS[@]:1:COMP_CWORD}"))
}
complete -o default -F _git_neighbor_direct git-neighbor
"#;

/// The zsh script (`_git-neighbor` in a directory on `$fpath`); zsh's git completion calls it for
/// `git neighbor …` too.
pub const ZSH: &str = r#"#compdef git-neighbor
# zsh completion for `git neighbor …` and `git-neighbor …` (written by git-neighbor). Put this file on
# $fpath as _git-neighbor; zsh's git completion calls _git-neighbor for `git neighbor`.
local -a cands
cands=("${(@f)$(git-neighbor __complete -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")
cands=(${cands:#})
if (( ${#cands} )); then
  compadd -a cands
else
  _default
fi
"#;

/// The fish script (`git-neighbor.fish` in fish's completions directory).
pub const FISH: &str = r#"# fish completion for `git neighbor …` and `git-neighbor …` (written by git-neighbor).
function __git_neighbor_complete
    set -l tokens (commandline -opc) (commandline -ct)
    set -l start 0
    for i in (seq (count $tokens))
        if test "$tokens[$i]" = neighbor -o (basename -- "$tokens[$i]") = git-neighbor
            set start $i
            break
        end
    end
    test $start -gt 0; or return
    git-neighbor __complete -- $tokens[(math $start + 1)..-1] 2>/dev/null
end
complete -c git-neighbor -f -a '(__git_neighbor_complete)'
complete -c git -n '__fish_seen_subcommand_from neighbor' -f -a '(__git_neighbor_complete)'
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(line: &[&str]) -> Vec<String> {
        let words: Vec<String> = line.iter().map(|s| s.to_string()).collect();
        candidates(&crate::help::command(), &words, &|k| match k {
            Names::Tenants => vec!["alpha".into(), "beta".into()],
            Names::PoolTenants => vec!["pool-1".into()],
            Names::DeltaSpecs => vec!["1/east".into(), "1/west".into()],
            Names::Rescues => vec!["remove-t1-1".into()],
        })
    }

    #[test]
    fn subcommands_options_and_live_names() {
        assert_eq!(complete(&["re"]), ["remove", "rescue"]);
        assert!(complete(&[""]).contains(&"safe-pull".to_string()));
        assert!(!complete(&[""]).iter().any(|c| c.starts_with("__")), "hidden commands are never offered");
        assert_eq!(complete(&["remove", ""]), ["alpha", "beta"]);
        assert_eq!(complete(&["remove", "--force", "b"]), ["beta"]);
        assert_eq!(complete(&["-C", "/tmp", "remove", "a"]), ["alpha"]);
        assert_eq!(complete(&["remove", "alpha", ""]), Vec::<String>::new(), "one name only");
        assert!(complete(&["remove", "--"]).contains(&"--force".to_string()));
        assert!(complete(&["remove", "--"]).contains(&"--json".to_string()), "global options too");
        assert_eq!(complete(&["delta", "show", "1/"]), ["1/east", "1/west"]);
        assert_eq!(complete(&["rescue", "drop", ""]), ["remove-t1-1"]);
        assert_eq!(complete(&["pool", "release", ""]), ["pool-1"]);
        assert_eq!(complete(&["--color", ""]), ["always", "auto", "never"]);
        assert!(complete(&["run", "--", "ec"]).is_empty(), "after -- the shell completes the command");
        assert_eq!(complete(&["ls", "--fu"]), ["--full"], "aliases");
    }
}
