//! The command-layer error: a message, a kind that maps to the documented exit code, optional hints.
//!
//! Library modules return typed errors (`GitError`, `ConfigError`, …) that convert into this one; commands
//! add hints saying what to do next. `main` prints `error: …` then each `hint: …` and exits with the code.

use std::fmt;

/// Which row of the exit-code table an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Exit 1: the request could not be done (bad config, missing repo, git failed, …).
    Error,
    /// Exit 2: the command line itself is wrong.
    Usage,
    /// Exit 3: refused by the protocol (data would be lost, fleet live, guard tripped).
    Refused,
    /// Exit 4: the building lock was not acquired within `--lock-timeout`.
    LockTimeout,
    /// Exit 0, silently: the reader of our stdout went away (`git neighbor list | head`).
    BrokenPipe,
}

impl Kind {
    /// The kind's name in JSON errors.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Error => "error",
            Kind::Usage => "usage",
            Kind::Refused => "refused",
            Kind::LockTimeout => "lock-timeout",
            Kind::BrokenPipe => "broken-pipe",
        }
    }
    /// The process exit code for this kind.
    pub fn code(self) -> u8 {
        match self {
            Kind::Error => 1,
            Kind::Usage => 2,
            Kind::Refused => 3,
            Kind::LockTimeout => 4,
            Kind::BrokenPipe => 0,
        }
    }
}

/// An error as shown to the user.
#[derive(Debug)]
pub struct Error {
    /// Exit-code class.
    pub kind: Kind,
    /// One line saying what went wrong.
    pub message: String,
    /// What to do next, one line each.
    pub hints: Vec<String>,
    /// What lay beneath, printed as `caused by: …` lines.
    pub causes: Vec<String>,
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A plain error (exit 1).
    pub fn new(message: impl Into<String>) -> Self {
        Error { kind: Kind::Error, message: message.into(), hints: Vec::new(), causes: Vec::new() }
    }
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Error { kind: Kind::Usage, ..Error::new(message) }
    }
    /// A protocol refusal (exit 3).
    pub fn refused(message: impl Into<String>) -> Self {
        Error { kind: Kind::Refused, ..Error::new(message) }
    }
    /// The building lock was not acquired in time (exit 4).
    pub fn lock_timeout(message: impl Into<String>) -> Self {
        Error { kind: Kind::LockTimeout, ..Error::new(message) }
    }
    /// stdout was closed by its reader: not a failure, the command ends quietly.
    pub fn broken_pipe() -> Self {
        Error { kind: Kind::BrokenPipe, ..Error::new("broken pipe") }
    }
    /// Attach the error that caused this one (shown as `caused by: …`).
    pub fn caused_by(mut self, cause: impl fmt::Display) -> Self {
        self.causes.push(cause.to_string());
        self
    }
    /// Attach a hint line.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
    /// Prefix the message with context, keeping kind and hints.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(e.to_string())
    }
}

/// Attach a path or action to an io error.
pub trait IoContext<T> {
    /// Map an io error into an [`Error`] that names what was being done.
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::new(format!("{}: {e}", what())))
    }
}
