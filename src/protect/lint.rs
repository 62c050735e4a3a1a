//! Rule 8: shell scripts that a heterogeneous fleet runs must not assume bash 4 or GNU tools, and must
//! not do what the protocol forbids (stash on a live branch, raw `git worktree add` races).
//!
//! Deliberately a line scanner, not a shell parser: cheap, predictable, and easy to silence on one line
//! with `# neighbor-lint: ignore` (or `ignore=RULE`).

use serde::Serialize;

/// One finding.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// File as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Rule id.
    pub rule: &'static str,
    /// What is wrong.
    pub message: &'static str,
    /// What to write instead.
    pub hint: &'static str,
}

struct Rule {
    id: &'static str,
    /// Matches when the code contains this text (at a word start when `word` is set).
    needle: &'static str,
    word: bool,
    message: &'static str,
    hint: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        id: "bash4-assoc-array",
        needle: "declare -A",
        word: true,
        message: "associative arrays need bash 4 (macOS ships bash 3.2)",
        hint: "use two parallel indexed arrays, or a file",
    },
    Rule {
        id: "bash4-assoc-array",
        needle: "typeset -A",
        word: true,
        message: "associative arrays need bash 4 (macOS ships bash 3.2)",
        hint: "use two parallel indexed arrays, or a file",
    },
    Rule {
        id: "bash4-assoc-array",
        needle: "local -A",
        word: true,
        message: "associative arrays need bash 4 (macOS ships bash 3.2)",
        hint: "use two parallel indexed arrays, or a file",
    },
    Rule {
        id: "bash4-mapfile",
        needle: "mapfile",
        word: true,
        message: "mapfile needs bash 4",
        hint: "use a while-read loop",
    },
    Rule {
        id: "bash4-mapfile",
        needle: "readarray",
        word: true,
        message: "readarray needs bash 4",
        hint: "use a while-read loop",
    },
    Rule {
        id: "bash4-case-conversion",
        needle: ",,}",
        word: false,
        message: "${var,,} needs bash 4",
        hint: "use tr '[:upper:]' '[:lower:]'",
    },
    Rule {
        id: "bash4-case-conversion",
        needle: "^^}",
        word: false,
        message: "${var^^} needs bash 4",
        hint: "use tr '[:lower:]' '[:upper:]'",
    },
    Rule { id: "bash4-pipe-stderr", needle: "|&", word: false, message: "|& needs bash 4", hint: "use 2>&1 |" },
    Rule { id: "bash4-append-both", needle: "&>>", word: false, message: "&>> needs bash 4", hint: "use >>file 2>&1" },
    Rule {
        id: "bash4-coproc",
        needle: "coproc",
        word: true,
        message: "coproc needs bash 4",
        hint: "use a named pipe or a background job",
    },
    Rule {
        id: "brace-range-variable",
        needle: "{1..$",
        word: false,
        message: "brace expansion does not expand variables",
        hint: "use $(seq 1 \"$n\")",
    },
    Rule {
        id: "brace-range-variable",
        needle: "{0..$",
        word: false,
        message: "brace expansion does not expand variables",
        hint: "use $(seq 0 \"$n\")",
    },
    Rule {
        id: "gnu-timeout",
        needle: "timeout ",
        word: true,
        message: "timeout is GNU coreutils; macOS has none",
        hint: "use git neighbor run --timeout D -- CMD",
    },
    Rule {
        id: "gnu-sed-in-place",
        needle: "sed -i ",
        word: true,
        message: "sed -i without a suffix differs between GNU and BSD sed",
        hint: "use sed -i.bak … && rm file.bak, or write to a temp file and mv",
    },
    Rule {
        id: "gnu-readlink-f",
        needle: "readlink -f",
        word: true,
        message: "readlink -f is GNU-only (older macOS)",
        hint: "use cd \"$(dirname \"$p\")\" && pwd -P",
    },
    Rule {
        id: "gnu-date-d",
        needle: "date -d",
        word: true,
        message: "date -d is GNU-only",
        hint: "compute with $(( )) on epoch seconds from date +%s",
    },
    Rule { id: "gnu-grep-p", needle: "grep -P", word: true, message: "grep -P is GNU-only", hint: "use grep -E" },
    Rule {
        id: "gnu-xargs-r",
        needle: "xargs -r",
        word: true,
        message: "xargs -r is GNU-only",
        hint: "guard with a test for empty input",
    },
    Rule {
        id: "gnu-stat-c",
        needle: "stat -c",
        word: true,
        message: "stat -c is GNU-only (BSD uses stat -f)",
        hint: "use wc -c < file for sizes, or ls -l",
    },
    Rule {
        id: "protocol-stash",
        needle: "git stash",
        word: true,
        message: "the stash is shared by every worktree: never stash on a branch the fleet writes",
        hint: "use git neighbor safe-pull (or safe-pull --evacuate)",
    },
    Rule {
        id: "protocol-stash",
        needle: "--autostash",
        word: false,
        message: "autostash hides edits in the shared stash and can leave conflict markers",
        hint: "use git neighbor safe-pull",
    },
    Rule {
        id: "protocol-raw-worktree",
        needle: "git worktree add",
        word: true,
        message: "parallel raw git worktree add races on .git/config.lock and leaks half-made branches",
        hint: "use git neighbor add (or run) and let it clean up",
    },
];

fn word_start(line: &str, at: usize) -> bool {
    at == 0
        || line[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | '`' | '$' | '{'))
}

/// The code of a line: quoted text blanked (same length, so columns stay right) except command
/// substitutions inside double quotes, which are code; cut at an unquoted `#` that starts a comment.
fn code_part(line: &str) -> String {
    let (mut sq, mut dq, mut subst) = (false, false, 0usize);
    let mut out = String::with_capacity(line.len());
    let mut prev = ' ';
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let quoted = sq || (dq && subst == 0);
        match c {
            '\'' if !dq => {
                sq = !sq;
                out.push(c);
            }
            '"' if !sq && subst == 0 => {
                dq = !dq;
                out.push(c);
            }
            '$' if dq && chars.peek().is_some_and(|(_, n)| *n == '(') => {
                subst += 1;
                out.push(c);
            }
            ')' if subst > 0 => {
                subst -= 1;
                out.push(c);
            }
            '#' if !sq && !dq && (prev.is_whitespace() || i == 0) => return out,
            _ if quoted => out.extend(std::iter::repeat_n(' ', c.len_utf8())),
            _ => out.push(c),
        }
        prev = c;
    }
    out
}

/// The terminator of a here-document this line starts (`<<EOF`, `<<-'EOF'`, `<<"EOF"`), if any. `code` is
/// the masked line (so a `<<` inside quotes does not count) and `raw` the line itself (the word may be
/// quoted); masking keeps byte positions.
fn heredoc_start(code: &str, raw: &str) -> Option<(String, bool)> {
    let at = code.find("<<")?;
    let rest = raw.get(at + 2..)?;
    if rest.starts_with('<') {
        return None; // a here-string
    }
    let (rest, strip_tabs) = match rest.strip_prefix('-') {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let word: String = rest
        .trim_start()
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ';' | '|' | '&' | ')' | '<' | '>'))
        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
        .collect();
    (!word.is_empty()).then_some((word, strip_tabs))
}

/// Check one script's text.
pub fn check(file: &str, text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut heredoc: Option<(String, bool)> = None;
    for (n, raw) in text.lines().enumerate() {
        if n == 0 && raw.starts_with("#!") {
            continue;
        }
        // A here-document's body is text handed to a command, not code.
        if let Some((end, strip_tabs)) = &heredoc {
            let line = if *strip_tabs { raw.trim_start_matches('\t') } else { raw };
            if line == end {
                heredoc = None;
            }
            continue;
        }
        let ignore_all = raw.contains("neighbor-lint: ignore") && !raw.contains("neighbor-lint: ignore=");
        if ignore_all {
            continue;
        }
        let code = code_part(raw);
        let code = code.as_str();
        heredoc = heredoc_start(code, raw);
        for r in RULES {
            if raw.contains(&format!("neighbor-lint: ignore={}", r.id)) {
                continue;
            }
            let mut from = 0;
            while let Some(pos) = code[from..].find(r.needle) {
                let at = from + pos;
                if !r.word || word_start(code, at) {
                    // `git pull --rebase --no-autostash` is the safe spelling, and `git stash list|show`
                    // only read: neither is a finding.
                    let after = code[at + r.needle.len()..].split_whitespace().next().unwrap_or("");
                    let read_only = r.needle == "git stash" && matches!(after, "list" | "show");
                    let safe_spelling = r.needle == "--autostash" && code[..at].ends_with("--no");
                    if !read_only && !safe_spelling {
                        out.push(Finding {
                            file: file.into(),
                            line: n + 1,
                            column: at + 1,
                            rule: r.id,
                            message: r.message,
                            hint: r.hint,
                        });
                    }
                    break;
                }
                from = at + r.needle.len();
            }
        }
        // ${arr[-1]}: negative array index (bash 4.3).
        if let Some(at) = negative_index(code) {
            out.push(Finding {
                file: file.into(),
                line: n + 1,
                column: at + 1,
                rule: "bash4-negative-index",
                message: "negative array indices need bash 4.3",
                hint: "use ${arr[${#arr[@]}-1]}",
            });
        }
    }
    out
}

fn negative_index(code: &str) -> Option<usize> {
    let b = code.as_bytes();
    let mut i = 0;
    while let Some(p) = code[i..].find("${") {
        let start = i + p;
        let mut j = start + 2;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
            j += 1;
        }
        if j > start + 2 && code[j..].starts_with("[-") && b.get(j + 2).is_some_and(u8::is_ascii_digit) {
            return Some(start);
        }
        i = start + 2;
    }
    None
}

/// Does this file look like a shell script (by name or shebang)?
pub fn is_shell(name: &str, first_line: &str) -> bool {
    name.ends_with(".sh")
        || name.ends_with(".bash")
        || (first_line.starts_with("#!") && (first_line.contains("sh") && !first_line.contains("python")))
}

#[cfg(test)]
mod tests {
    use super::*;
    fn rules(text: &str) -> Vec<&'static str> {
        check("t.sh", text).into_iter().map(|f| f.rule).collect()
    }
    #[test]
    fn flags_what_the_fleet_broke_on() {
        assert_eq!(rules("timeout 60 ./worker.sh"), ["gnu-timeout"]);
        assert_eq!(rules("echo ${pids[-1]}"), ["bash4-negative-index"]);
        assert_eq!(rules("declare -A seen"), ["bash4-assoc-array"]);
        assert_eq!(rules("for i in {1..$n}; do :; done"), ["brace-range-variable"]);
        assert_eq!(rules("git pull --rebase --autostash"), ["protocol-stash"]);
        assert!(rules("git pull --rebase --no-autostash").is_empty());
        assert_eq!(rules("  git stash push"), ["protocol-stash"]);
    }
    #[test]
    fn quiet_on_portable_code_comments_and_ignores() {
        assert!(rules("echo ${pids[${#pids[@]}-1]}").is_empty());
        assert!(rules("# timeout 60 would be wrong here").is_empty());
        assert!(rules("timeout 5 x # neighbor-lint: ignore").is_empty());
        assert!(rules("timeout 5 x # neighbor-lint: ignore=gnu-timeout").is_empty());
        assert!(rules("#!/bin/bash\nmy_timeout 5").is_empty());
    }
    #[test]
    fn quiet_on_words_in_strings_heredocs_and_read_only_stash() {
        assert!(rules("echo 'never run git stash here'").is_empty());
        assert!(rules("echo \"do not: timeout 5 x\"").is_empty());
        assert!(rules("cat <<EOF\ngit stash push\ntimeout 5 x\nEOF\necho ok").is_empty());
        assert!(rules("cat <<-'END'\n\tgit stash\n\tEND").is_empty());
        assert!(rules("git stash list").is_empty());
        assert!(rules("n=$(git stash list | wc -l)").is_empty());
        // Code inside a double-quoted command substitution is still code, and code after a heredoc too.
        assert_eq!(rules("x=\"$(git stash push)\""), ["protocol-stash"]);
        assert_eq!(rules("cat <<EOF\ntext\nEOF\ngit stash"), ["protocol-stash"]);
        assert_eq!(rules("echo \"${#a[@]}\"; timeout 5 x"), ["gnu-timeout"]);
    }
}
