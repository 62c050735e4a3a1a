//! Supervising a child: no shell, its own process group, signals forwarded (each followed by SIGCONT, so a
//! stopped child still gets it), no terminal on stdin unless asked, the death of git's dispatcher treated
//! as SIGTERM, a timeout that escalates TERM → grace → KILL, the tail of its stderr kept for the fallback delta, and a reaper sidecar that
//! kills the group if the supervisor itself is killed with `kill -9` (no `unsafe` pre-exec hooks needed,
//! and it works the same on Linux and macOS).

pub mod fleet;
pub mod job;
pub mod proc;
pub mod users;

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::Serialize;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::error::Error;

/// What to run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Working directory.
    pub dir: PathBuf,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Kill after this long.
    pub timeout: Option<Duration>,
    /// Between TERM and KILL.
    pub grace: Duration,
    /// Pass a terminal stdin on to the child (otherwise it gets /dev/null when stdin is a terminal).
    pub terminal_stdin: bool,
    /// Send the child's stdout to our stderr (our stdout is reserved for a JSON report).
    pub stdout_to_stderr: bool,
}

/// How the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum End {
    /// Exited with a code.
    Exited(i32),
    /// Killed by a signal.
    Signaled(i32),
    /// Killed by us after the timeout.
    TimedOut,
    /// Never started: a signal arrived first, or it could not be spawned.
    NotStarted(i32),
}

impl End {
    /// The exit code `run` passes on: the child's, 124 on timeout, 128+N on signal N.
    pub fn code(self) -> u8 {
        match self {
            End::Exited(c) => u8::try_from(c).unwrap_or(1),
            End::Signaled(n) | End::NotStarted(n) => u8::try_from(128 + n).unwrap_or(255),
            End::TimedOut => 124,
        }
    }
}

/// The result of a supervised run.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// How it ended.
    pub end: End,
    /// Last lines of its stderr.
    pub stderr_tail: Vec<String>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// A signal we received and forwarded, if any.
    pub forwarded: Option<i32>,
}

/// Lines of stderr kept for the fallback delta.
pub const TAIL: usize = 20;

/// Signals arriving at this process, recorded from the moment of installation.
pub struct Signals {
    last: Arc<AtomicI32>,
    target: Arc<AtomicI32>,
    handle: signal_hook::iterator::Handle,
}

impl Signals {
    /// Start catching SIGINT, SIGTERM and SIGHUP (forwarded to the child's group once there is one).
    pub fn install() -> Result<Self, Error> {
        let mut it = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            .map_err(|e| Error::new(format!("cannot install signal handlers: {e}")))?;
        let handle = it.handle();
        let last = Arc::new(AtomicI32::new(0));
        let target = Arc::new(AtomicI32::new(0));
        let (l, t) = (last.clone(), target.clone());
        std::thread::spawn(move || {
            for sig in it.forever() {
                l.store(sig, Ordering::SeqCst);
                let pg = t.load(Ordering::SeqCst);
                if pg > 0
                    && let Ok(s) = Signal::try_from(sig)
                {
                    forward(pg, s);
                }
            }
        });
        Ok(Signals { last, target, handle })
    }

    /// Forward signals to this process group from now on (0: none). A signal that arrived before the
    /// group existed is forwarded at once, so none is lost in between.
    pub fn set_target(&self, pg: i32) {
        self.target.store(pg, Ordering::SeqCst);
        if pg > 0
            && let Some(sig) = self.received()
            && let Ok(s) = Signal::try_from(sig)
        {
            forward(pg, s);
        }
    }

    /// When our parent is git's dispatcher (`git neighbor run …`), treat its death (even by `kill -9`,
    /// which it cannot pass on) like SIGTERM: the pid an orchestrator holds is the dispatcher's.
    pub fn follow_dispatcher(&self) {
        let parent = nix::unistd::getppid();
        let Ok(raw) = u32::try_from(parent.as_raw()) else { return };
        if proc::proc_parent(raw).is_none_or(|(comm, _)| comm != "git") {
            return;
        }
        let (l, t) = (self.last.clone(), self.target.clone());
        std::thread::spawn(move || {
            while nix::unistd::getppid() == parent {
                std::thread::sleep(Duration::from_millis(50));
            }
            l.store(SIGTERM, Ordering::SeqCst);
            let pg = t.load(Ordering::SeqCst);
            if pg > 0 {
                forward(pg, Signal::SIGTERM);
            }
        });
    }

    /// The last signal received, if any.
    pub fn received(&self) -> Option<i32> {
        Some(self.last.load(Ordering::SeqCst)).filter(|s| *s != 0)
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.handle.close();
    }
}

/// Send `sig` to the group, then SIGCONT: a stopped member (Ctrl-Z, SIGTTIN, `kill -STOP`) would
/// otherwise hold the signal pending for ever.
fn forward(pg: i32, sig: Signal) {
    let _ = killpg(Pid::from_raw(pg), sig);
    if sig != Signal::SIGCONT {
        let _ = killpg(Pid::from_raw(pg), Signal::SIGCONT);
    }
}

fn group_alive(pg: i32) -> bool {
    killpg(Pid::from_raw(pg), None).is_ok()
}

/// Make sure nothing of the group survives: TERM, a short wait, KILL.
fn end_group(pg: i32, grace: Duration) {
    if !group_alive(pg) {
        return;
    }
    forward(pg, Signal::SIGTERM);
    let until = Instant::now() + grace;
    while group_alive(pg) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = killpg(Pid::from_raw(pg), Signal::SIGKILL);
}

/// The child's stdout: ours, or our stderr when our stdout is reserved for a JSON report.
fn child_stdout(to_stderr: bool) -> Result<Stdio, Error> {
    use std::os::fd::AsFd;
    if !to_stderr {
        return Ok(Stdio::inherit());
    }
    let fd = std::io::stderr().as_fd().try_clone_to_owned();
    fd.map(Stdio::from).map_err(|e| Error::new(format!("cannot pass stderr to the command as its stdout: {e}")))
}

/// Run `spec` under supervision. `sigs` must have been installed before anything worth cleaning up.
pub fn run(spec: &Spec, sigs: &Signals) -> Result<Outcome, Error> {
    let started = Instant::now();
    if let Some(sig) = sigs.received() {
        return Ok(Outcome {
            end: End::NotStarted(sig),
            stderr_tail: Vec::new(),
            duration_ms: 0,
            forwarded: Some(sig),
        });
    }
    let (prog, args) = spec
        .argv
        .split_first()
        .ok_or_else(|| Error::usage("no command given").hint("git neighbor run -- CMD [ARG]…"))?;
    let mut child = Command::new(prog)
        .args(args)
        .current_dir(&spec.dir)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .process_group(0)
        .stdin(child_stdin(spec.terminal_stdin))
        .stdout(child_stdout(spec.stdout_to_stderr)?)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::new(format!("cannot start '{prog}': {e}"))
                .hint("the command runs without a shell: give the program and its arguments")
        })?;
    let pg = i32::try_from(child.id()).unwrap_or(0);
    sigs.set_target(pg);
    // `run --stdin` at a terminal: the child's group becomes the terminal's foreground while it runs, so
    // reading the terminal works (the terminal's Ctrl-C then reaches it directly).
    let foreground = if spec.terminal_stdin { Foreground::hand_to(pg) } else { None };
    let reaper = spawn_reaper(pg);
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL)));
    let tee = child.stderr.take().map(|err| {
        let tail = tail.clone();
        std::thread::spawn(move || {
            let mut out = std::io::stderr();
            for line in std::io::BufReader::new(err).split(b'\n').map_while(Result::ok) {
                let _ = out.write_all(&line);
                let _ = out.write_all(b"\n");
                if let Ok(mut t) = tail.lock() {
                    if t.len() == TAIL {
                        t.pop_front();
                    }
                    t.push_back(String::from_utf8_lossy(&line).into_owned());
                }
            }
        })
    });
    let mut timed_out = false;
    let mut kill_at: Option<Instant> = None;
    let status = loop {
        // try_wait reaps the leader: a zombie would still count as a live group member.
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {}
            Err(_) => break None,
        }
        if let Some(limit) = spec.timeout
            && !timed_out
            && started.elapsed() >= limit
        {
            timed_out = true;
            forward(pg, Signal::SIGTERM);
            kill_at = Some(Instant::now() + spec.grace);
        }
        if kill_at.is_some_and(|t| Instant::now() >= t) {
            let _ = killpg(Pid::from_raw(pg), Signal::SIGKILL);
            kill_at = None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(foreground);
    // Whatever the leader did, nothing of its group outlives the run.
    end_group(pg, Duration::from_millis(200));
    sigs.target.store(0, Ordering::SeqCst);
    if let Some(mut r) = reaper {
        let _ = r.kill();
        let _ = r.wait();
    }
    if let Some(t) = tee {
        let _ = t.join();
    }
    use std::os::unix::process::ExitStatusExt;
    let end = match status {
        _ if timed_out => End::TimedOut,
        Some(st) => match (st.code(), st.signal()) {
            (Some(c), _) => End::Exited(c),
            (None, Some(s)) => End::Signaled(s),
            _ => End::Exited(1),
        },
        None => End::Exited(1),
    };
    let stderr_tail = tail.lock().map(|t| t.iter().cloned().collect()).unwrap_or_default();
    Ok(Outcome { end, stderr_tail, duration_ms: started.elapsed().as_millis() as u64, forwarded: sigs.received() })
}

/// The terminal on our stdin, handed to the child's process group while it runs and taken back after.
struct Foreground {
    ours: Pid,
}

impl Foreground {
    /// Hand the terminal to group `pg` if stdin is a terminal whose foreground group is ours.
    fn hand_to(pg: i32) -> Option<Foreground> {
        use std::io::IsTerminal;
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        let ours = nix::unistd::getpgrp();
        if nix::unistd::tcgetpgrp(&stdin).ok()? != ours {
            return None;
        }
        // SIGTTOU is blocked around tcsetpgrp so taking the terminal back from the background never stops us.
        let mut ttou = nix::sys::signal::SigSet::empty();
        ttou.add(Signal::SIGTTOU);
        let _ = ttou.thread_block();
        let handed = nix::unistd::tcsetpgrp(&stdin, Pid::from_raw(pg)).is_ok();
        if handed {
            // A read that raced the hand-over stopped it (SIGTTIN): let it try again.
            let _ = killpg(Pid::from_raw(pg), Signal::SIGCONT);
        }
        handed.then_some(Foreground { ours })
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        let _ = nix::unistd::tcsetpgrp(std::io::stdin(), self.ours);
        let mut ttou = nix::sys::signal::SigSet::empty();
        ttou.add(Signal::SIGTTOU);
        let _ = ttou.thread_unblock();
    }
}

/// The child's stdin: ours, unless it is a terminal the child was not given (`run --stdin`).
fn child_stdin(terminal_stdin: bool) -> Stdio {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() && !terminal_stdin { Stdio::null() } else { Stdio::inherit() }
}

/// A sidecar in its own process group that kills the child's group `pg` if we die (used by `run` and
/// by merge-frame's reducer).
pub(crate) fn spawn_reaper(pg: i32) -> Option<std::process::Child> {
    let exe = std::env::current_exe().ok()?;
    Command::new(exe)
        .args(["__reaper", &std::process::id().to_string(), &pg.to_string()])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// The reaper's loop: wait while `watch` lives and the group exists; if `watch` dies first, end the group.
pub fn reap(watch: u32, pg: i32) {
    loop {
        if !group_alive(pg) {
            return;
        }
        if !proc::pid_alive(watch) {
            end_group(pg, Duration::from_secs(2));
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
