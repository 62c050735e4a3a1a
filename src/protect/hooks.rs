//! Installing git hooks that call `git-neighbor-hook <name> "$@"` (else `git-neighbor hook <name> "$@"`),
//! without ever losing the user's own.
//!
//! A hook file we create from nothing, in the repository's own hooks directory, names `git-neighbor-hook`
//! by its absolute path on its `#!` line: git runs it with no shell in between, one process start less on
//! every commit. Everywhere else (a `core.hooksPath` directory, which may be committed and shared; a path
//! a `#!` line cannot hold; `install --on-path`) the hook is an `sh` script that finds the binaries on
//! PATH at every run.
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
/// The rest of our block's first line.
const MANAGED: &str = " managed by `git neighbor hooks`; `git neighbor hooks uninstall` removes it\n";
const ORIGIN: &str = "# origin: ";
/// Suffix of a user's non-shell hook moved aside so ours can chain to it.
pub const CHAINED: &str = ".neighbor-chained";
const SHEBANG: &str = "#!/bin/sh\n";

/// How our block came to be in a hook file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// We created the file; `on_path` when asked to find the binaries on PATH at every run
    /// (`install --on-path`) rather than name one by its path.
    Created { on_path: bool },
    /// Inserted into the user's shell hook, whose mode was `mode`; `eol` when we had to end its
    /// shebang line with a newline.
    Existing { mode: u32, eol: bool },
    /// The user's hook was moved to `<name>.neighbor-chained`.
    Chained,
}

impl Origin {
    fn render(self) -> String {
        match self {
            Origin::Created { on_path: false } => "created".into(),
            Origin::Created { on_path: true } => "created on-path".into(),
            Origin::Existing { mode, eol } => format!("existing mode={mode:o}{}", if eol { " eol-added" } else { "" }),
            Origin::Chained => "chained".into(),
        }
    }
    fn parse(s: &str) -> Option<Origin> {
        let s = s.trim();
        if s == "created" {
            return Some(Origin::Created { on_path: false });
        }
        if s == "created on-path" {
            return Some(Origin::Created { on_path: true });
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

/// The program a hook file we create names on its `#!` line, so that git runs it with no shell: the
/// `git-neighbor-hook` beside this binary, by the name PATH gives it when that is the same file (a
/// package manager's stable link rather than a versioned directory it replaces on upgrade). `None` when
/// the hooks directory is not the repository's own (a `core.hooksPath` directory may be committed, and
/// the path is this machine's), or the path is not one a `#!` line can hold (relative, whitespace, long).
fn direct_program(repo: &Repo, dir: &Path) -> Option<String> {
    // Component by component, so `<common-dir>/../x` (a `core.hooksPath` beside the git dir) is not inside.
    let plain = dir.components().all(|c| matches!(c, std::path::Component::RootDir | std::path::Component::Normal(_)));
    if !plain || !dir.starts_with(&repo.common_dir) {
        return None;
    }
    let beside = std::env::current_exe().ok()?.parent()?.join("git-neighbor-hook");
    if !is_executable(&beside) {
        return None;
    }
    let same = |p: &Path| {
        let (a, b) = (std::fs::canonicalize(p), std::fs::canonicalize(&beside));
        matches!((a, b), (Ok(a), Ok(b)) if a == b)
    };
    let program = which::which("git-neighbor-hook").ok().filter(|p| p.is_absolute() && same(p)).unwrap_or(beside);
    let text = program.to_str()?;
    // Linux reads at most 127 bytes of a `#!` line before 5.1; a space would split it into two words.
    let fits = program.is_absolute() && text.len() <= 120 && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    fits.then(|| text.to_string())
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && mode_of(&m) & 0o111 != 0)
}

/// The whole of a hook file we create: `#!<program>` and our block as comments when the hook can run
/// `program` directly, else an `sh` script.
fn created_file(name: &str, on_path: bool, direct: Option<&str>) -> String {
    match direct {
        Some(program) if !on_path => format!(
            "#!{program}\n{BEGIN}{MANAGED}\
             {ORIGIN}created\n\
             # git runs the program named on the first line, with this file's path and git's arguments, and no\n\
             # shell. If git says it cannot run this hook, that program is gone: run `git neighbor hooks install`.\n\
             {END}\n"
        ),
        _ => format!("{SHEBANG}{}", block(name, Origin::Created { on_path })),
    }
}

/// One `#!` line and nothing else.
fn lone_shebang(bytes: &[u8]) -> bool {
    bytes.starts_with(b"#!") && bytes.iter().filter(|b| **b == b'\n').count() == 1 && bytes.ends_with(b"\n")
}

/// The program a lone `#!` line runs, when that is not a shell (a hook we made to run git-neighbor-hook
/// directly).
fn direct_of(head: &[u8]) -> Option<PathBuf> {
    if !lone_shebang(head) || runs_in_sh(head) {
        return None;
    }
    let line = std::str::from_utf8(&head[2..]).ok()?.trim();
    Some(PathBuf::from(line.split_whitespace().next()?))
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
    block_for(name, origin, matches!(origin, Origin::Created { .. }))
}

/// Our block; `last` when nothing follows it in the file, so the shell can `exec` git-neighbor.
fn block_for(name: &str, origin: Origin, last: bool) -> String {
    let mut s = format!("{BEGIN}{MANAGED}");
    s += &format!("{ORIGIN}{}\n", origin.render());
    s += &body(name, last);
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
/// running `doctor --fix`, would otherwise move each other's files aside). Idempotent. `on_path`: hook
/// files we create find the binaries on PATH at every run (an `sh` script) instead of naming
/// `git-neighbor-hook` by its path; a hook file installed that way keeps it.
pub fn install(ctx: &Ctx, on_path: bool) -> Result<Vec<Change>, Error> {
    let dir = hooks_dir(&ctx.repo)?;
    let direct = direct_program(&ctx.repo, &dir);
    ctx.locked(|| {
        std::fs::create_dir_all(&dir).ctx(|| format!("cannot create {}", dir.display()))?;
        sweep_temp_files(&dir);
        NAMES.iter().map(|n| install_one(&dir, n, on_path, direct.as_deref())).collect()
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

fn install_one(dir: &Path, name: &str, on_path: bool, direct: Option<&str>) -> Result<Change, Error> {
    let path = dir.join(name);
    let change = |action: &str| Ok(Change { hook: name.into(), path: path.clone(), action: action.into() });
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write_hook(&path, created_file(name, on_path, direct).as_bytes(), 0o755)?;
            return change("created");
        }
        Err(e) => return Err(Error::new(format!("cannot inspect {}: {e}", path.display()))),
    };
    if meta.is_file() {
        let content = std::fs::read(&path).ctx(|| format!("cannot read {}", path.display()))?;
        if let Some(found) = find_block(&content) {
            let mut origin = found.origin.ok_or_else(|| damaged(&path))?;
            if let Origin::Created { on_path: recorded } = origin {
                origin = Origin::Created { on_path: recorded || on_path };
            }
            let next = wanted(name, &content, &found, origin, direct);
            if next == content {
                return change("unchanged");
            }
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

/// What a hook file holding our block (`found`, recorded as `origin`) should hold: a file we created
/// and nobody added to is rewritten whole; otherwise only our block is, with a `#!` line that ran
/// git-neighbor-hook directly turned back into `sh` (the file has other lines now).
fn wanted(name: &str, content: &[u8], found: &Found, origin: Origin, direct: Option<&str>) -> Vec<u8> {
    let (head, tail) = (&content[..found.start], &content[found.end..]);
    if let Origin::Created { on_path } = origin
        && lone_shebang(head)
        && tail.is_empty()
    {
        return created_file(name, on_path, direct).into_bytes();
    }
    let head = if direct_of(head).is_some() { SHEBANG.as_bytes() } else { head };
    // Lines someone added after our block in a file we created run after our check, not never.
    let last = matches!(origin, Origin::Created { .. }) && tail.is_empty();
    [head, block_for(name, origin, last).as_bytes(), tail].concat()
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
        Origin::Created { .. } if lone_shebang(&rest) => {
            std::fs::remove_file(&path).ctx(|| format!("cannot remove {}", path.display()))?;
            change("deleted")
        }
        Origin::Created { .. } => {
            // Lines added to a file whose `#!` line ran git-neighbor-hook are shell lines: give them a shell.
            if direct_of(&content[..found.start]).is_some() {
                rest = [SHEBANG.as_bytes(), &content[found.end..]].concat();
            }
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
    /// `installed`, `outdated` (an older block: `install` updates it), `broken` (the program its `#!`
    /// line names is gone, so git fails every run of the hook: `install` rewrites it) or `missing`.
    pub state: String,
    /// The user has a hook of their own here too (kept and run after ours).
    pub user_hook: bool,
    /// The program git runs for this hook with no shell, when the hook names one (null: an `sh` script
    /// that finds git-neighbor on PATH).
    pub program: Option<PathBuf>,
}

/// The state of every hook.
pub fn status(repo: &Repo) -> Result<Vec<HookStatus>, Error> {
    let dir = hooks_dir(repo)?;
    let direct = direct_program(repo, &dir);
    Ok(NAMES
        .iter()
        .map(|name| {
            let path = dir.join(name);
            let content = std::fs::read(&path).ok();
            let found = content.as_deref().and_then(find_block);
            let mut program = None;
            let (state, user_hook) = match (&content, &found) {
                (None, _) => ("missing", false),
                (Some(_), None) => ("missing", true),
                (Some(c), Some(f)) => {
                    program = direct_of(&c[..f.start]);
                    let user = !matches!(f.origin, Some(Origin::Created { .. }));
                    // A file naming another git-neighbor-hook than ours (another install) is current too;
                    // one whose `#!` line runs any other program does not run the guard at all.
                    let names = program
                        .as_deref()
                        .filter(|p| p.file_name().is_some_and(|n| n == "git-neighbor-hook"))
                        .and_then(Path::to_str)
                        .or(direct.as_deref());
                    let current = f.origin.is_some_and(|o| wanted(name, c, f, o, names) == *c);
                    let state = match &program {
                        Some(p) if !is_executable(p) => "broken",
                        _ if current => "installed",
                        _ => "outdated",
                    };
                    (state, user)
                }
            };
            HookStatus { hook: name.to_string(), path, state: state.into(), user_hook, program }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_round_trips() {
        for o in [
            Origin::Created { on_path: false },
            Origin::Created { on_path: true },
            Origin::Chained,
            Origin::Existing { mode: 0o644, eol: true },
        ] {
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
