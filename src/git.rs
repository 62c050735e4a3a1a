//! The one door to git: gix for in-process reads, and one subprocess builder for the porcelain gix lacks.
//!
//! Nothing else in the crate touches `std::process::Command` to run git. Every subprocess error keeps the
//! arguments and git's stderr, so a failure says exactly which git call failed and why.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::error::Error;

/// A failed git invocation: what was run, its exit status and what git said.
#[derive(Debug, thiserror::Error)]
#[error("`git {args}` failed{}: {}", .code.map(|c| format!(" (exit {c})")).unwrap_or_default(), .stderr.trim())]
pub struct GitError {
    /// The arguments, space-joined.
    pub args: String,
    /// git's exit code, if it exited.
    pub code: Option<i32>,
    /// git's standard error.
    pub stderr: String,
}

impl From<GitError> for Error {
    fn from(e: GitError) -> Self {
        Error::new(e.to_string())
    }
}

fn git_binary() -> Result<&'static Path, Error> {
    static GIT: OnceLock<Option<PathBuf>> = OnceLock::new();
    GIT.get_or_init(|| which::which("git").ok())
        .as_deref()
        .ok_or_else(|| Error::new("git was not found on PATH").hint("install git 2.30 or newer"))
}

/// Exit code, stdout, stderr and the shown arguments of one finished git call.
type Exec = (Option<i32>, Vec<u8>, Vec<u8>, String);

/// Builder for one git subprocess.
pub struct GitCmd {
    cmd: Command,
    shown: Vec<String>,
    stdin: Option<Vec<u8>>,
}

impl GitCmd {
    /// Start a git command that runs in `dir`.
    pub fn new(dir: &Path) -> Result<Self, Error> {
        let mut cmd = Command::new(git_binary()?);
        cmd.current_dir(dir);
        // Git must speak C to us: we parse nothing localised, but keep messages greppable.
        cmd.env("GIT_TERMINAL_PROMPT", "0");
        Ok(GitCmd { cmd, shown: Vec::new(), stdin: None })
    }

    /// Add one argument.
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.shown.push(a.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(a);
        self
    }

    /// Add several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    /// `--end-of-options`: everything after this is user input, never an option.
    pub fn end_of_options(self) -> Self {
        self.arg("--end-of-options")
    }

    /// Set an environment variable for this call.
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    /// Feed these bytes on stdin.
    pub fn stdin(mut self, bytes: Vec<u8>) -> Self {
        self.stdin = Some(bytes);
        self
    }

    /// Run and return raw stdout, failing on a non-zero exit.
    pub fn output(self) -> Result<Vec<u8>, GitError> {
        let (code, out, err, args) = self.exec()?;
        if code == Some(0) {
            Ok(out)
        } else {
            Err(GitError { args, code, stderr: String::from_utf8_lossy(&err).into_owned() })
        }
    }

    /// Run and return stdout as text with the trailing newline trimmed.
    pub fn read(self) -> Result<String, GitError> {
        let out = self.output()?;
        Ok(String::from_utf8_lossy(&out).trim_end_matches('\n').to_string())
    }

    /// Run for effect.
    pub fn run(self) -> Result<(), GitError> {
        self.output().map(drop)
    }

    /// Run and report success as a bool (for predicates like `merge-base --is-ancestor`); a failure to
    /// start git at all is still an error.
    pub fn succeeds(self) -> Result<bool, GitError> {
        let (code, ..) = self.exec()?;
        Ok(code == Some(0))
    }

    /// Run and return the exit code, stdout and stderr, for commands whose non-zero exit is an answer
    /// (`merge-tree` says "conflicts" with exit 1); a failure to start git is still an error.
    pub fn answer(self) -> Result<(Option<i32>, Vec<u8>, String), GitError> {
        let (code, out, err, _) = self.exec()?;
        Ok((code, out, String::from_utf8_lossy(&err).into_owned()))
    }

    fn exec(mut self) -> Result<Exec, GitError> {
        let args = self.shown.join(" ");
        self.cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let spawn_err = |e: std::io::Error| GitError { args: args.clone(), code: None, stderr: e.to_string() };
        let mut child = self.cmd.spawn().map_err(spawn_err)?;
        if let Some(bytes) = self.stdin.take()
            && let Some(mut w) = child.stdin.take()
        {
            use std::io::Write;
            // A closed pipe means git exited early; its status says why.
            let _ = w.write_all(&bytes);
        }
        let out = child.wait_with_output().map_err(spawn_err)?;
        Ok((out.status.code(), out.stdout, out.stderr, args))
    }
}

/// A repository as git-neighbor sees it: the building's paths and a gix handle for reads.
pub struct Repo {
    /// gix handle opened at the current directory.
    pub gix: gix::Repository,
    /// `$(git rev-parse --git-common-dir)`, absolute.
    pub common_dir: PathBuf,
    /// This worktree's private git dir, absolute.
    pub git_dir: PathBuf,
    /// This worktree's root, if not bare.
    pub workdir: Option<PathBuf>,
    /// The main worktree, if the repository is not bare.
    pub main_worktree: Option<PathBuf>,
}

/// One worktree of the building, read from git's metadata.
#[derive(Debug, Clone)]
pub struct WorktreeInfo {
    /// Absolute root path.
    pub path: PathBuf,
    /// Admin id under `<common>/worktrees/` (`None` for the main worktree).
    pub id: Option<String>,
    /// Its private git dir.
    pub git_dir: PathBuf,
    /// `refs/heads/...` if on a branch.
    pub branch: Option<String>,
    /// Lock reason, if locked (empty string for a reasonless lock).
    pub locked: Option<String>,
    /// Whether the root directory exists.
    pub exists: bool,
}

fn absolute(p: &Path) -> PathBuf {
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|c| c.join(p)).unwrap_or_else(|_| p.to_path_buf())
    };
    // Canonicalise when possible so paths compare equal however they were reached (symlinked tmp dirs).
    std::fs::canonicalize(&p).unwrap_or(p)
}

impl Repo {
    /// Find the repository containing `dir`.
    pub fn discover(dir: &Path) -> Result<Self, Error> {
        let gix = gix::discover(dir).map_err(|e| {
            Error::new(format!("not in a git repository ({}): {e}", dir.display()))
                .hint("run git neighbor inside a repository, or pass -C <path>")
        })?;
        let common_dir = absolute(gix.common_dir());
        let git_dir = absolute(gix.git_dir());
        let workdir = gix.workdir().map(absolute);
        let bare = gix.config_snapshot().boolean("core.bare").unwrap_or(false);
        let main_worktree = if gix.kind() == gix::repository::Kind::LinkedWorkTree || workdir.is_none() {
            if bare { None } else { common_dir.parent().map(Path::to_path_buf) }
        } else {
            workdir.clone()
        };
        Ok(Repo { gix, common_dir, git_dir, workdir, main_worktree })
    }

    /// git-neighbor's shared state directory.
    pub fn state_dir(&self) -> PathBuf {
        self.common_dir.join("neighbor")
    }

    /// Where git commands about the building run from (the current worktree, else the common dir).
    pub fn here(&self) -> &Path {
        self.workdir.as_deref().unwrap_or(&self.common_dir)
    }

    /// A git command run in the current worktree (or the bare repository).
    pub fn git(&self) -> Result<GitCmd, Error> {
        GitCmd::new(self.here())
    }

    /// A git command run inside another worktree.
    pub fn git_in(&self, dir: &Path) -> Result<GitCmd, Error> {
        GitCmd::new(dir)
    }

    /// The building's name: the main worktree's directory name, or the bare directory's without `.git`.
    pub fn building_name(&self) -> String {
        let base = self.main_worktree.as_deref().unwrap_or(&self.common_dir);
        let name = base.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "repo".into());
        name.strip_suffix(".git").map(str::to_string).unwrap_or(name)
    }

    /// The directory relative paths in config are anchored at (main worktree, else the bare dir).
    pub fn anchor_dir(&self) -> &Path {
        self.main_worktree.as_deref().unwrap_or(&self.common_dir)
    }

    /// Resolve a revision to a commit id, and the full ref name it names if it names one.
    pub fn resolve(&self, spec: &str) -> Result<(gix::ObjectId, Option<String>), Error> {
        let bad = |e: &dyn std::fmt::Display| {
            Error::new(format!("cannot resolve base revision '{spec}': {e}"))
                .hint("pass an existing branch, tag or commit with --base")
        };
        if spec == "HEAD" {
            let id = self.gix.head_id().map_err(|e| bad(&e))?.detach();
            let name = self.gix.head_name().ok().flatten().map(|n| n.as_bstr().to_string());
            return Ok((self.peel_commit(id).map_err(|e| bad(&e))?, name));
        }
        let parsed = self.gix.rev_parse(spec).map_err(|e| bad(&e))?;
        let id = parsed.single().ok_or_else(|| bad(&"it names a range, not one commit"))?.detach();
        let (first, _) = parsed.into_references();
        let name = first.map(|r| r.name().as_bstr().to_string());
        Ok((self.peel_commit(id).map_err(|e| bad(&e))?, name))
    }

    fn peel_commit(&self, id: gix::ObjectId) -> Result<gix::ObjectId, String> {
        let obj = self.gix.find_object(id).map_err(|e| e.to_string())?;
        obj.peel_to_commit().map(|c| c.id).map_err(|e| e.to_string())
    }

    /// A config value, read in-process (no `git config` subprocess).
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.gix.config_snapshot().string(key).map(|v| v.to_string()).filter(|s| !s.is_empty())
    }

    /// Every value of a multi-valued config key, in order.
    pub fn config_strings(&self, key: &str) -> Vec<String> {
        self.gix.config_snapshot().strings(key).unwrap_or_default().into_iter().map(|v| v.to_string()).collect()
    }

    /// A boolean config value (`None` when unset or not a boolean).
    pub fn config_bool(&self, key: &str) -> Option<bool> {
        self.gix.config_snapshot().boolean(key)
    }

    /// A path config value with `~` expanded, as `git config --type=path` would give it.
    pub fn config_path(&self, key: &str) -> Option<PathBuf> {
        let raw = self.config_string(key)?;
        match raw.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(rest)),
            None => Some(PathBuf::from(raw)),
        }
    }

    /// The commit a full ref name points at now, if it exists.
    pub fn ref_target(&self, full_name: &str) -> Option<gix::ObjectId> {
        let mut r = self.gix.try_find_reference(full_name).ok().flatten()?;
        r.peel_to_id().ok().map(|id| id.detach())
    }

    /// Every worktree of the building: main (if any) first, then linked ones in id order.
    pub fn worktrees(&self) -> Result<Vec<WorktreeInfo>, Error> {
        let mut out = Vec::new();
        if let Some(main) = &self.main_worktree {
            out.push(WorktreeInfo {
                path: main.clone(),
                id: None,
                git_dir: self.common_dir.clone(),
                branch: read_head_branch(&self.common_dir),
                locked: None,
                exists: main.exists(),
            });
        }
        let proxies = self.gix.worktrees().map_err(|e| Error::new(format!("cannot list worktrees: {e}")))?;
        let mut linked: Vec<WorktreeInfo> = proxies
            .iter()
            .filter_map(|p| {
                let id = p.id().ok()?.to_string();
                let path = p.base().ok()?;
                let path = if path.is_absolute() { path } else { p.git_dir().join(path) };
                let exists = path.exists();
                let path = if exists { absolute(&path) } else { path };
                Some(WorktreeInfo {
                    branch: read_head_branch(p.git_dir()),
                    locked: p.lock_reason().map(|r| r.to_string()),
                    git_dir: p.git_dir().to_path_buf(),
                    id: Some(id),
                    path,
                    exists,
                })
            })
            .collect();
        linked.sort_by(|a, b| a.id.cmp(&b.id));
        out.extend(linked);
        Ok(out)
    }
}

/// The installed git's version as (major, minor, patch), from `git version`.
pub fn version() -> Result<(u32, u32, u32), Error> {
    let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let text = GitCmd::new(&dir)?.arg("version").read()?;
    parse_version(&text).ok_or_else(|| Error::new(format!("cannot understand `git version` output: {text}")))
}

/// Parse `git version 2.47.3` (also `2.39.2.windows.1`, `2.43.0-rc1`).
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let v = text.trim().strip_prefix("git version ")?;
    let mut nums = v.split(['.', '-', ' ']).map(|p| p.parse::<u32>().ok());
    Some((nums.next()??, nums.next()??, nums.next().flatten().unwrap_or(0)))
}

/// Read `HEAD` of a (private) git dir and return `refs/heads/...` when it is a symbolic ref.
pub fn read_head_branch(git_dir: &Path) -> Option<String> {
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    head.strip_prefix("ref: ").map(|r| r.trim().to_string())
}

/// Make a user path absolute against the current directory (without requiring it to exist).
pub fn absolute_path(p: &Path) -> PathBuf {
    absolute(p)
}

/// `OsString` helper for paths passed to git.
pub fn os(p: &Path) -> OsString {
    p.as_os_str().to_os_string()
}
