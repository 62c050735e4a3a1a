# bash completion for `git neighbor …` and `git-neighbor …` (written by git-neighbor).
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
