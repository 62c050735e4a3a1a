//! `__gen-docs DIR` (hidden): write the man pages (`DIR/man/*.1`) and shell completions
//! (`DIR/completions/*`) from the clap definition, so they can never disagree with `--help`.

use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write `man/` and `completions/` into.
    pub out: PathBuf,
}

/// The reference page's source.
const REFERENCE: &str = include_str!("../reference.md");

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    crate::building::state_dir::atomic_write(path, bytes)
}

/// One page per command: clap's sections, with a synopsis that shows every option's value and reads as
/// the user types it (`git neighbor delta write [--frame <N>] …`), and a SEE ALSO section.
fn man_page(cmd: &clap::Command, name: &str, words: &str, parent: Option<&str>, dir: &Path) -> Result<(), Error> {
    let man = clap_mangen::Man::new(cmd.clone().name(name.to_string()))
        .source(format!("git-neighbor {}", env!("CARGO_PKG_VERSION")))
        .manual("git-neighbor Manual");
    let mut out = Vec::new();
    let render = |out: &mut Vec<u8>| -> std::io::Result<()> {
        man.render_title(out)?;
        man.render_name_section(out)?;
        out.extend_from_slice(synopsis(cmd, words).as_bytes());
        man.render_description_section(out)?;
        if cmd.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(out)?;
        }
        if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
            man.render_subcommands_section(out)?;
        }
        if cmd.get_after_long_help().is_some() {
            man.render_extra_section(out)?;
        }
        let mut see = vec!["git\\-neighbor(1)".to_string(), "git\\-neighbor\\-reference(7)".to_string()];
        if let Some(p) = parent.filter(|p| *p != "git-neighbor") {
            see.insert(0, format!("{}(1)", p.replace('-', "\\-")));
        }
        if name == "git-neighbor" {
            see.remove(0);
        }
        out.extend_from_slice(format!(".SH \"SEE ALSO\"\n{}\n", see.join(", ")).as_bytes());
        Ok(())
    };
    render(&mut out).ctx(|| format!("cannot render man page {name}"))?;
    write(&dir.join(format!("{name}.1")), &out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        let sub_words = format!("{words} {}", sub.get_name());
        man_page(sub, &format!("{name}-{}", sub.get_name()), &sub_words, Some(name), dir)?;
    }
    Ok(())
}

/// `git neighbor <words> [--opt <VALUE>]… <POSITIONAL>…` in roff.
fn synopsis(cmd: &clap::Command, words: &str) -> String {
    let mut parts = vec![format!("\\fB{}\\fR", esc(words))];
    for a in cmd.get_arguments().filter(|a| !a.is_hide_set() && !a.is_positional() && !a.is_global_set()) {
        let flag = match (a.get_long(), a.get_short()) {
            (Some(l), _) => format!("\\-\\-{}", esc(l)),
            (None, Some(s)) => format!("\\-{s}"),
            (None, None) => continue,
        };
        let value = if a.get_action().takes_values() {
            let v =
                a.get_value_names().and_then(|v| v.first()).map(|v| v.to_string()).unwrap_or_else(|| "VALUE".into());
            format!(" \\fI<{}>\\fR", esc(&v))
        } else {
            String::new()
        };
        let repeat = if matches!(a.get_action(), clap::ArgAction::Append) { "..." } else { "" };
        let body = format!("\\fB{flag}\\fR{value}{repeat}");
        parts.push(if a.is_required_set() { body } else { format!("[{body}]") });
    }
    if cmd.get_arguments().any(|a| a.is_global_set() && !a.is_hide_set()) {
        parts.push("[\\fIGLOBAL OPTIONS\\fR]".into());
    }
    for a in cmd.get_arguments().filter(|a| a.is_positional() && !a.is_hide_set()) {
        let v = a
            .get_value_names()
            .and_then(|v| v.first())
            .map(|v| v.to_string())
            .unwrap_or_else(|| a.get_id().to_string());
        let many = if matches!(a.get_action(), clap::ArgAction::Append) { "..." } else { "" };
        let body = format!("\\fI<{}>\\fR{many}", esc(&v));
        let body = if a.is_last_set() { format!("\\-\\- {body}") } else { body };
        parts.push(if a.is_required_set() { body } else { format!("[{body}]") });
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        parts.push("\\fI<COMMAND>\\fR".into());
    }
    format!(".SH SYNOPSIS\n{}\n", parts.join(" "))
}

/// Escape text for roff: backslashes and hyphens.
fn esc(s: &str) -> String {
    s.replace('\\', "\\e").replace('-', "\\-")
}

/// Inline markdown (`code`, *emphasis*) to roff, escaped.
fn inline(s: &str) -> String {
    let mut out = String::new();
    let mut code = false;
    for c in s.chars() {
        match c {
            '`' => {
                out.push_str(if code { "\\fR" } else { "\\fB" });
                code = !code;
            }
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            _ => out.push(c),
        }
    }
    if code {
        out.push_str("\\fR");
    }
    out
}

/// The reference page (section 7) from its markdown source: `##` sections, paragraphs, tables (one `.TP` per
/// row) and code blocks.
pub fn reference_page(md: &str) -> String {
    let mut out = format!(
        ".TH git-neighbor-reference 7 \"\" \"git-neighbor {}\" \"git-neighbor Manual\"\n",
        env!("CARGO_PKG_VERSION")
    );
    let mut in_code = false;
    let mut para = Vec::new();
    let flush = |para: &mut Vec<String>, out: &mut String| {
        if !para.is_empty() {
            out.push_str(".PP\n");
            let text = inline(&para.join(" "));
            for line in text.lines() {
                let line = if line.starts_with('.') || line.starts_with('\'') {
                    format!("\\&{line}")
                } else {
                    line.to_string()
                };
                out.push_str(&line);
                out.push('\n');
            }
            para.clear();
        }
    };
    for line in md.lines() {
        if line.starts_with("```") {
            flush(&mut para, &mut out);
            out.push_str(if in_code { ".fi\n.RE\n" } else { ".RS 4\n.nf\n" });
            in_code = !in_code;
            continue;
        }
        if in_code {
            out.push_str(&format!("\\&{}\n", line.replace('\\', "\\e").replace('-', "\\-")));
            continue;
        }
        if line.starts_with("# ") {
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            flush(&mut para, &mut out);
            out.push_str(&format!(".SH \"{h}\"\n"));
            continue;
        }
        if line.starts_with('|') {
            flush(&mut para, &mut out);
            if line.chars().all(|ch| matches!(ch, '|' | '-' | ':' | ' ')) {
                continue; // the header's underline
            }
            let cells: Vec<String> =
                line.trim().trim_matches('|').split(" | ").map(|c| c.trim().replace("\\|", "|")).collect();
            let header =
                cells.first().is_some_and(|c| matches!(c.as_str(), "code" | "key" | "op" | "action" | "variable"));
            if header {
                continue;
            }
            out.push_str(&format!(".TP\n{}\n{}\n", inline(&cells[0]), inline(&cells[1..].join(" \u{2014} "))));
            continue;
        }
        if line.trim().is_empty() {
            flush(&mut para, &mut out);
        } else {
            para.push(line.trim().replace("\\|", "|"));
        }
    }
    flush(&mut para, &mut out);
    out
}

pub fn run(a: &Args) -> Result<u8, Error> {
    let mut cmd = crate::help::command();
    cmd.build();
    man_page(&cmd, "git-neighbor", "git neighbor", None, &a.out.join("man"))?;
    write(&a.out.join("man").join("git-neighbor-reference.7"), reference_page(REFERENCE).as_bytes())?;
    for (shell, file) in [
        (clap_complete::Shell::Bash, "git-neighbor.bash"),
        (clap_complete::Shell::Zsh, "_git-neighbor"),
        (clap_complete::Shell::Fish, "git-neighbor.fish"),
    ] {
        write(&a.out.join("completions").join(file), crate::commands::completions::script(shell).as_bytes())?;
    }
    Ok(0)
}
