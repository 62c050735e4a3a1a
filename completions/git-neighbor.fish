# fish completion for `git neighbor …` and `git-neighbor …` (written by git-neighbor).
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
