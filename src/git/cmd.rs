//! The subprocess half of the door: one builder for every git process the crate starts.
//!
//! Every call runs with `LC_ALL=C` and no terminal prompt, and a failure keeps the arguments, the exit
//! code and both of git's output streams, so an error says exactly which git call failed and why, and
//! callers can decide on git's machine-readable stdout (`push --porcelain`) rather than its English.

use std::ffi::OsStr;
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
    /// git's standard output (porcelain formats report rejections here, not on stderr).
    pub stdout: String,
}

impl GitError {
    /// git could not be started at all (not found on PATH).
    pub fn not_started(what: &str, e: Error) -> Self {
        GitError { args: what.to_string(), code: None, stderr: e.message, stdout: String::new() }
    }
}

impl From<GitError> for Error {
    /// One line for the error itself (git's first line of stderr); the rest of what git said follows as
    /// `caused by:` lines, so a multi-line answer from git never makes a multi-line `error:`.
    fn from(e: GitError) -> Self {
        let mut lines = e.stderr.trim().lines().map(str::trim_end).filter(|l| !l.is_empty());
        let first = lines.next().unwrap_or_default();
        let code = e.code.map(|c| format!(" (exit {c})")).unwrap_or_default();
        let mut err = Error::new(format!("`git {}` failed{code}: {first}", e.args));
        for rest in lines {
            err = err.caused_by(rest);
        }
        err
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
        // Git must speak C to us: we decide on machine-readable output, and messages stay greppable.
        cmd.env("LC_ALL", "C").env("GIT_TERMINAL_PROMPT", "0");
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
            Err(GitError {
                args,
                code,
                stderr: String::from_utf8_lossy(&err).into_owned(),
                stdout: String::from_utf8_lossy(&out).into_owned(),
            })
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

    /// Start git now with its stdin left open, for input not known yet: [`Started::finish`] feeds it and
    /// waits. git's own start-up (exec, config, finding the repository) then runs on another core while
    /// the caller works out what to feed it. Dropped unfinished, git reads an empty stdin.
    pub fn start(mut self) -> Result<Started, GitError> {
        let args = self.shown.join(" ");
        self.cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        match self.cmd.spawn() {
            Ok(child) => Ok(Started { child: Some(child), args }),
            Err(e) => Err(GitError { args, code: None, stderr: e.to_string(), stdout: String::new() }),
        }
    }

    fn exec(mut self) -> Result<Exec, GitError> {
        let args = self.shown.join(" ");
        self.cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let spawn_err = |e: std::io::Error| GitError {
            args: args.clone(),
            code: None,
            stderr: e.to_string(),
            stdout: String::new(),
        };
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

/// A git process started by [`GitCmd::start`], waiting for its stdin.
pub struct Started {
    child: Option<std::process::Child>,
    args: String,
}

impl Started {
    /// Feed `bytes` on stdin, close it, and wait: fails on a non-zero exit, as [`GitCmd::run`] does.
    pub fn finish(mut self, bytes: &[u8]) -> Result<(), GitError> {
        let args = std::mem::take(&mut self.args);
        let Some(mut child) = self.child.take() else {
            return Err(GitError { args, code: None, stderr: "already finished".into(), stdout: String::new() });
        };
        if let Some(mut w) = child.stdin.take() {
            use std::io::Write;
            // A closed pipe means git exited early; its status says why.
            let _ = w.write_all(bytes);
        }
        let out = child.wait_with_output().map_err(|e| GitError {
            args: args.clone(),
            code: None,
            stderr: e.to_string(),
            stdout: String::new(),
        })?;
        if out.status.success() {
            return Ok(());
        }
        Err(GitError {
            args,
            code: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        })
    }
}

impl Drop for Started {
    /// Unfinished: close git's stdin, so it reads no input, and reap it.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let _ = child.wait_with_output();
        }
    }
}
