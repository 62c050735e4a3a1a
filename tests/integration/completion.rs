//! Completion as a user gets it: git's own bash completion script (which git ships) loads ours for
//! `git neighbor …`, and `git-neighbor …` typed directly, in a real bash, with live tenant names.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::TestRepo;

/// git's completion script, where git's packages put it (or contrib in a source tree).
fn git_completion() -> Option<PathBuf> {
    let candidates = [
        "/usr/share/bash-completion/completions/git",
        "/usr/share/git/completion/git-completion.bash",
        "/usr/share/git-core/contrib/completion/git-completion.bash",
        "/etc/bash_completion.d/git",
    ];
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// COMPREPLY for `line` (completing its last word, empty after a trailing space), run in `dir`.
fn complete(t: &TestRepo, dir: &Path, ours: &Path, git_script: &Path, line: &str, direct: bool) -> Vec<String> {
    let script = format!(
        r#"source '{git}'
source '{ours}'
COMP_LINE='{line}'
COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< "$COMP_LINE"
case "$COMP_LINE" in *' ') COMP_WORDS+=("") ;; esac
COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
if [ {direct} = 1 ]; then _git_neighbor_direct; else __git_wrap__git_main; fi
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        git = git_script.display(),
        ours = ours.display(),
        direct = u8::from(direct),
    );
    let mut c = Command::new("bash");
    t.env(&mut c);
    let out = c.args(["--norc", "--noprofile", "-c", &script]).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v
}

#[test]
fn git_neighbor_completes_through_gits_own_completion() {
    let Some(git_script) = git_completion() else {
        // Every git package we know ships it; say so loudly rather than pass silently elsewhere.
        panic!("git's bash completion script was not found; install git's completion (package git or bash-completion)");
    };
    let t = TestRepo::new();
    t.add("alpha", &[]);
    t.add("beta", &[]);
    let ours = t.root.join("git-neighbor.bash");
    let o = t.neighbor(&["completions", "bash"]).ok();
    std::fs::write(&ours, o.stdout).unwrap();
    // `git neighbor re<TAB>`: subcommands, hidden ones never.
    assert_eq!(complete(&t, &t.dir, &ours, &git_script, "git neighbor re", false), ["remove", "rescue"]);
    // `git neighbor remove <TAB>`: the live tenant names.
    assert_eq!(complete(&t, &t.dir, &ours, &git_script, "git neighbor remove ", false), ["alpha", "beta"]);
    assert_eq!(complete(&t, &t.dir, &ours, &git_script, "git neighbor lock b", false), ["beta"]);
    let all = complete(&t, &t.dir, &ours, &git_script, "git neighbor ", false);
    assert!(all.contains(&"safe-pull".to_string()) && !all.iter().any(|c| c.starts_with("__")), "{all:?}");
    // `git-neighbor …` typed directly.
    assert_eq!(complete(&t, &t.dir, &ours, &git_script, "git-neighbor remove a", true), ["alpha"]);
    assert!(complete(&t, &t.dir, &ours, &git_script, "git-neighbor remove --f", true).contains(&"--force".to_string()));
}
