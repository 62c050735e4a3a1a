//! Installing git hooks that call `git-neighbor-hook <name> "$@"` (else `git-neighbor hook <name> "$@"`),
//! without ever losing the user's own.
//!
//! Our lines live in one block between marker lines. In a shell hook (or one without a shebang, which git
//! runs with `sh`) the block goes right after the shebang, so it runs first and a refusal stops the
//! commit, and then the user's script runs as before; nothing is `exec`ed. A hook in another language (or
//! a binary, or a symlink) is moved aside to `<name>.neighbor-chained` and our small `sh` script calls it
//! after our check. The block's second line records how it was installed (`created`, `existing mode=…`,
//! `chained`), which is everything `uninstall` needs to give back the original bytes and mode exactly;
//! a hook file we created from nothing is deleted. Installing twice changes nothing the second time.
//!
//! The hooks directory honours `core.hooksPath` (relative to the worktree root when relative, as git
//! does), else `<common-dir>/hooks`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::building::{Ctx, state_dir};
use crate::error::{Error, IoContext};
use crate::git::Repo;

/// The hooks git-neighbor installs.
pub const NAMES: &[&str] = &["pre-commit", "pre-push", "pre-rebase", "post-checkout"];

const BEGIN: &str = "# >>> git-neighbor >>>";
const END: &str = "# <<< git-neighbor <<<";
const ORIGIN: &str = "# origin: ";
/// Suffix of a user's non-shell hook moved aside so ours can chain to it.
pub const CHAINED: &str = ".neighbor-chained";
const SHEBANG: &str = "#!/bin/sh\n";

/// How our block came to be in a hook file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// We created the file.
    Created,
    /// Inserted into the user's shell hook, whose mode was `mode`; `eol` when we had to end its
    /// shebang line with a newline.
    Existing { mode: u32, eol: bool },
    /// The user's hook was moved to `<name>.neighbor-chained`.
    Chained,
}

impl Origin {
    fn render(self) -> String {
        match self {
            Origin::Created => "created".into(),
            Origin::Existing { mode, eol } => format!("existing mode={mode:o}{}", if eol { " eol-added" } else { "" }),
            Origin::Chained => "chained".into(),
        }
    }
    fn parse(s: &str) -> Option<Origin> {
        let s = s.trim();
        if s == "created" {
            return Some(Origin::Created);
        }
        if s == "chained" {
            return Some(Origin::Chained);
        }
        let rest = s.strip_prefix("existing mode=")?;
        let (mode, eol) = match rest.split_once(' ') {
            Some((m, flag)) => (m, flag == "eol-added"),
            None => (rest, false),
        };
        Some(Origin::Existing { mode: u32::from_str_radix(mode, 8).ok()?, eol })
    }
}

/// The directory git runs hooks from.
pub fn hooks_dir(repo: &Repo) -> Result<PathBuf, Error> {
    let configured = repo.config_path("core.hooksPath");
    Ok(match configured {
        Some(p) => {
            if p.is_absolute() {
                p
            } else {
                repo.here().join(p)
            }
        }
        None => repo.common_dir.join("hooks"),
    })
}

/// The hook body calls `git-neighbor-hook` (the hooks' own small binary, which starts faster), else
/// `git-neighbor hook`; either answers the same. Directly, not through `git neighbor`: it runs on every
/// commit, and going through git's dispatch would cost another process. When nothing follows our block (a
/// hook file we created) the shell `exec`s it, so no shell waits around for it.
fn body(name: &str, last: bool) -> String {
    let missing = format!("  echo \"git-neighbor is not on PATH: its {name} check was skipped\" >&2\n");
    let branches = |run: &dyn Fn(&str) -> String| {
        format!(
            "if command -v git-neighbor-hook >/dev/null 2>&1; then\n  {}\n\
             elif command -v git-neighbor >/dev/null 2>&1; then\n  {}\n",
            run("git-neighbor-hook"),
            run("git-neighbor hook")
        )
    };
    if last {
        return format!("{}fi\n{}", branches(&|cmd| format!("exec {cmd} {name} \"$@\"")), missing.trim_start());
    }
    if name == "pre-push" {
        // pre-push gets the refs on stdin: read it once, give it to us, then give it back to the rest.
        return format!(
            "gn_stdin=$(cat)\n{}else\n{missing}fi\n\
             if [ -n \"$gn_stdin\" ]; then\nexec 0<<GN_STDIN_EOF\n$gn_stdin\nGN_STDIN_EOF\nelse\nexec 0</dev/null\nfi\n",
            branches(&|cmd| format!("printf '%s\\n' \"$gn_stdin\" | {cmd} {name} \"$@\" || exit $?"))
        );
    }
    format!("{}else\n{missing}fi\n", branches(&|cmd| format!("{cmd} {name} \"$@\" || exit $?")))
}

fn block(name: &str, origin: Origin) -> String {
    let mut s = format!("{BEGIN} managed by `git neighbor hooks`; `git neighbor hooks uninstall` removes it\n");
    s += &format!("{ORIGIN}{}\n", origin.render());
    s += &body(name, matches!(origin, Origin::Created));
    match origin {
        Origin::Existing { mode, .. } if mode & 0o111 == 0 => {
            s += "exit 0 # the hook below was not executable before git-neighbor; it stays inactive\n"
        }
        Origin::Chained => s += &format!("if [ -x \"$0{CHAINED}\" ]; then \"$0{CHAINED}\" \"$@\"; exit $?; fi\n"),
        _ => {}
    }
    s += END;
    s += "\n";
    s
}

/// Where our block sits in a file: byte range and its recorded origin.
struct Found {
    start: usize,
    end: usize,
    origin: Option<Origin>,
}

fn find_block(content: &[u8]) -> Option<Found> {
    let mut pos = 0;
    let mut start = None;
    let mut origin = None;
    for line in content.split_inclusive(|b| *b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let bare = text.trim_end_matches(['\n', '\r']);
        match start {
            None if bare.starts_with(BEGIN) => start = Some(pos),
            Some(_) if origin.is_none() && bare.starts_with(ORIGIN) => {
                origin = bare.strip_prefix(ORIGIN).and_then(Origin::parse);
            }
            Some(s) if bare == END => return Some(Found { start: s, end: pos + line.len(), origin }),
            _ => {}
        }
        pos += line.len();
    }
    None
}

/// Is this hook content something `sh` runs (a shell shebang, or text without one)?
fn runs_in_sh(content: &[u8]) -> bool {
    if content.contains(&0) {
        return false;
    }
    let Ok(text) = std::str::from_utf8(content) else { return false };
    let Some(first) = text.lines().next().and_then(|l| l.strip_prefix("#!")) else { return true };
    let mut words = first.split_whitespace();
    let mut prog = words.next().unwrap_or("");
    if prog.rsplit('/').next() == Some("env") {
        prog = words.find(|w| !w.starts_with('-')).unwrap_or("");
    }
    matches!(prog.rsplit('/').next(), Some("sh" | "bash" | "dash" | "zsh" | "ksh" | "mksh" | "ash" | "posh"))
}

fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

/// Replace `path` with `bytes` and `mode`, atomically.
fn write_hook(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", state_dir::unique()));
    let res = std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)))
        .and_then(|_| {
            crate::failpoint::hit("hooks-write");
            std::fs::rename(&tmp, path)
        });
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.ctx(|| format!("cannot write hook {}", path.display()))
}

/// What `install` or `uninstall` did to one hook.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Hook name.
    pub hook: String,
    /// Hook file.
    pub path: PathBuf,
    /// `created`, `added` (into the user's hook), `chained` (user's hook moved aside), `updated`,
    /// `unchanged`; for uninstall `removed`, `deleted` (file we created), `restored` (chained hook moved
    /// back), `not-installed`.
    pub action: String,
}

/// Install (or bring up to date) every hook, under the building lock (parallel installers, e.g. agents
/// running `doctor --fix`, would otherwise move each other's files aside). Idempotent.
pub fn install(ctx: &Ctx) -> Result<Vec<Change>, Error> {
    let dir = hooks_dir(&ctx.repo)?;
    ctx.locked(|| {
        std::fs::create_dir_all(&dir).ctx(|| format!("cannot create {}", dir.display()))?;
        sweep_temp_files(&dir);
        NAMES.iter().map(|n| install_one(&dir, n)).collect()
    })
}

/// Remove the temporary files of an install or uninstall that was killed before its rename. Call under
/// the building lock.
fn sweep_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if NAMES.iter().any(|h| n.starts_with(&format!(".{h}.tmp.")) || n.starts_with(&format!(".{h}{CHAINED}.tmp."))) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Move the user's hook at `path` to `aside` without ever replacing a file already there: a hard link
/// (which fails when `aside` exists) rather than a rename; `path` is then replaced by our wrapper.
/// An `aside` that is already the same file is what an install killed at this point left: reuse it.
fn link_aside(path: &Path, aside: &Path) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let exists = || {
        Error::new(format!("cannot chain hook {}: {} already exists", path.display(), aside.display()))
            .hint("move that file away, then run `git neighbor hooks install` again")
    };
    match std::fs::hard_link(path, aside) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let (a, b) = (std::fs::symlink_metadata(path), std::fs::symlink_metadata(aside));
            match (a, b) {
                (Ok(a), Ok(b)) if a.dev() == b.dev() && a.ino() == b.ino() => Ok(()),
                _ => Err(exists()),
            }
        }
        Err(_) => {
            // No hard links here (some file systems): check, then rename, under the building lock.
            if std::fs::symlink_metadata(aside).is_ok() {
                return Err(exists());
            }
            std::fs::copy(path, aside).map(drop).ctx(|| format!("cannot move {} aside", path.display()))
        }
    }
}

fn install_one(dir: &Path, name: &str) -> Result<Change, Error> {
    let path = dir.join(name);
    let change = |action: &str| Ok(Change { hook: name.into(), path: path.clone(), action: action.into() });
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write_hook(&path, format!("{SHEBANG}{}", block(name, Origin::Created)).as_bytes(), 0o755)?;
            return change("created");
        }
        Err(e) => return Err(Error::new(format!("cannot inspect {}: {e}", path.display()))),
    };
    if meta.is_file() {
        let content = std::fs::read(&path).ctx(|| format!("cannot read {}", path.display()))?;
        if let Some(found) = find_block(&content) {
            let origin = found.origin.ok_or_else(|| damaged(&path))?;
            let want = block(name, origin);
            if &content[found.start..found.end] == want.as_bytes() {
                return change("unchanged");
            }
            let mut next = content[..found.start].to_vec();
            next.extend_from_slice(want.as_bytes());
            next.extend_from_slice(&content[found.end..]);
            write_hook(&path, &next, mode_of(&meta))?;
            return change("updated");
        }
        if runs_in_sh(&content) {
            let mode = mode_of(&meta);
            let (head, tail, eol) = if content.starts_with(b"#!") {
                match content.iter().position(|b| *b == b'\n') {
                    Some(i) => (content[..=i].to_vec(), content[i + 1..].to_vec(), false),
                    None => ([content.as_slice(), b"\n"].concat(), Vec::new(), true),
                }
            } else {
                (Vec::new(), content.clone(), false)
            };
            let mut next = head;
            next.extend_from_slice(block(name, Origin::Existing { mode, eol }).as_bytes());
            next.extend_from_slice(&tail);
            write_hook(&path, &next, mode | 0o111)?;
            return change("added");
        }
    }
    // Another language, a binary or a symlink: move it aside (bytes, mode and link intact) and chain.
    let aside = dir.join(format!("{name}{CHAINED}"));
    link_aside(&path, &aside)?;
    crate::failpoint::hit("hooks-aside");
    // `path` still holds the user's hook until our wrapper replaces it in one rename.
    if let Err(e) = write_hook(&path, format!("{SHEBANG}{}", block(name, Origin::Chained)).as_bytes(), 0o755) {
        let _ = std::fs::remove_file(&aside);
        return Err(e);
    }
    change("chained")
}

fn damaged(path: &Path) -> Error {
    Error::new(format!("the git-neighbor block in {} was edited (its origin line is missing)", path.display()))
        .hint("remove the lines between the git-neighbor markers by hand, then install again")
}

/// Remove our block from every hook, giving back exactly what was there before (under the building lock).
pub fn uninstall(ctx: &Ctx) -> Result<Vec<Change>, Error> {
    let dir = hooks_dir(&ctx.repo)?;
    ctx.locked(|| {
        sweep_temp_files(&dir);
        NAMES.iter().map(|n| uninstall_one(&dir, n)).collect()
    })
}

fn uninstall_one(dir: &Path, name: &str) -> Result<Change, Error> {
    let path = dir.join(name);
    let aside = dir.join(format!("{name}{CHAINED}"));
    let change = |action: &str| Ok(Change { hook: name.into(), path: path.clone(), action: action.into() });
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) if m.is_file() => m,
        Ok(_) => return change("not-installed"),
        Err(_) => {
            // Our wrapper is gone but the user's hook is still aside: put it back.
            if std::fs::symlink_metadata(&aside).is_ok() {
                std::fs::rename(&aside, &path).ctx(|| format!("cannot restore {}", path.display()))?;
                return change("restored");
            }
            return change("not-installed");
        }
    };
    let content = std::fs::read(&path).ctx(|| format!("cannot read {}", path.display()))?;
    let Some(found) = find_block(&content) else { return change("not-installed") };
    let origin = found.origin.ok_or_else(|| damaged(&path))?;
    let mut rest = content[..found.start].to_vec();
    rest.extend_from_slice(&content[found.end..]);
    match origin {
        Origin::Created if rest == SHEBANG.as_bytes() => {
            std::fs::remove_file(&path).ctx(|| format!("cannot remove {}", path.display()))?;
            change("deleted")
        }
        Origin::Created => {
            write_hook(&path, &rest, mode_of(&meta))?;
            change("removed")
        }
        Origin::Existing { mode, eol } => {
            if eol && rest.last() == Some(&b'\n') {
                rest.pop();
            }
            write_hook(&path, &rest, mode)?;
            change("removed")
        }
        Origin::Chained => {
            if rest != SHEBANG.as_bytes() {
                return Err(Error::new(format!("{} has lines outside the git-neighbor block", path.display()))
                    .hint(format!("move them into {} by hand, then uninstall again", aside.display())));
            }
            // One rename puts the user's hook back over our wrapper: there is no moment without either.
            if std::fs::symlink_metadata(&aside).is_ok() {
                std::fs::rename(&aside, &path).ctx(|| format!("cannot restore {}", path.display()))?;
            } else {
                std::fs::remove_file(&path).ctx(|| format!("cannot remove {}", path.display()))?;
            }
            change("restored")
        }
    }
}

/// One hook's state.
#[derive(Debug, Clone, Serialize)]
pub struct HookStatus {
    /// Hook name.
    pub hook: String,
    /// Hook file.
    pub path: PathBuf,
    /// `installed`, `outdated` (an older block: `install` updates it) or `missing`.
    pub state: String,
    /// The user has a hook of their own here too (kept and run after ours).
    pub user_hook: bool,
}

/// The state of every hook.
pub fn status(repo: &Repo) -> Result<Vec<HookStatus>, Error> {
    let dir = hooks_dir(repo)?;
    Ok(NAMES
        .iter()
        .map(|name| {
            let path = dir.join(name);
            let content = std::fs::read(&path).ok();
            let found = content.as_deref().and_then(find_block);
            let (state, user_hook) = match (&content, &found) {
                (None, _) => ("missing", false),
                (Some(_), None) => ("missing", true),
                (Some(c), Some(f)) => {
                    let current = f.origin.is_some_and(|o| &c[f.start..f.end] == block(name, o).as_bytes());
                    let user = !matches!(f.origin, Some(Origin::Created));
                    (if current { "installed" } else { "outdated" }, user)
                }
            };
            HookStatus { hook: name.to_string(), path, state: state.into(), user_hook }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_round_trips() {
        for o in [Origin::Created, Origin::Chained, Origin::Existing { mode: 0o644, eol: true }] {
            assert_eq!(Origin::parse(&o.render()), Some(o));
        }
    }

    #[test]
    fn shell_detection() {
        assert!(runs_in_sh(b"#!/bin/sh\necho hi\n"));
        assert!(runs_in_sh(b"#!/usr/bin/env bash\n"));
        assert!(runs_in_sh(b"echo no shebang\n"));
        assert!(!runs_in_sh(b"#!/usr/bin/env python3\nprint(1)\n"));
        assert!(!runs_in_sh(b"\x7fELF\x00\x01"));
    }

    #[test]
    fn block_is_found_and_removed_exactly() {
        let user = "#!/bin/sh\necho mine\n";
        let b = block("pre-commit", Origin::Existing { mode: 0o755, eol: false });
        let installed = format!("#!/bin/sh\n{b}echo mine\n");
        let f = find_block(installed.as_bytes()).expect("found");
        assert_eq!(f.origin, Some(Origin::Existing { mode: 0o755, eol: false }));
        let rest = [&installed.as_bytes()[..f.start], &installed.as_bytes()[f.end..]].concat();
        assert_eq!(rest, user.as_bytes());
    }
}
