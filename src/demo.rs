//! The demonstration behind `git neighbor demo`: a throwaway repository, a building of tenants, a crash,
//! a refusal that saves work, and a prune, each step done by running this very binary as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::error::Error;
use crate::git::GitCmd;
use crate::ui::Ui;

struct Demo {
    exe: PathBuf,
    repo: PathBuf,
    /// `--color` for the commands shown: the demo's own terminal decides.
    color: &'static str,
}

/// Set by SIGINT/SIGTERM: the demo stops at the next step and removes its files.
static INTERRUPTED: std::sync::LazyLock<std::sync::Arc<std::sync::atomic::AtomicBool>> =
    std::sync::LazyLock::new(|| std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)));

fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

impl Demo {
    fn neighbor(&self, args: &[&str]) -> Result<Output, Error> {
        self.neighbor_in(&self.repo, args)
    }
    /// Run git-neighbor with its stdout and stderr on one pipe, so what it prints keeps its order.
    fn neighbor_in(&self, dir: &Path, args: &[&str]) -> Result<Output, Error> {
        let fail = |e: std::io::Error| Error::new(format!("demo: cannot run git-neighbor: {e}"));
        merged_output(self.cmd(dir, args)).map_err(fail)
    }
    fn cmd(&self, dir: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(["--color", self.color]).args(args).current_dir(dir).stdin(Stdio::null()).envs(IDENTITY);
        c
    }
    /// git run as the demo's user would run it (the demo shows what people do by hand), so it is spelled
    /// here rather than as a named operation in `src/git/`.
    fn git(&self, dir: &Path, args: &[&str]) -> Result<String, Error> {
        let mut g = GitCmd::new(dir)?;
        for (k, v) in IDENTITY {
            g = g.env(k, v);
        }
        Ok(g.args(args).read()?)
    }
}

/// Run `c` with stdout and stderr on one pipe; the output's `stdout` holds both, in the order written.
fn merged_output(mut c: Command) -> std::io::Result<Output> {
    use std::io::Read;
    let (mut reader, writer) = std::io::pipe()?;
    let mut child = c.stdout(writer.try_clone()?).stderr(writer).spawn()?;
    drop(c); // the parent's copies of the write end must close, or the read never ends
    let mut all = Vec::new();
    reader.read_to_end(&mut all)?;
    let status = child.wait()?;
    Ok(Output { status, stdout: all, stderr: Vec::new() })
}

fn say(ui: &Ui, text: &str) -> Result<(), Error> {
    if interrupted() {
        return Err(Error::new("demo interrupted"));
    }
    ui.data(&format!("{text}\n"))
}

fn show(ui: &Ui, o: &Output) -> Result<(), Error> {
    let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&o.stderr));
    for line in s.lines() {
        ui.data(&format!("    {line}\n"))?;
    }
    Ok(())
}

/// The demo's commits need an author even on a machine with no git identity configured.
const IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "Demo"),
    ("GIT_AUTHOR_EMAIL", "demo@example.invalid"),
    ("GIT_COMMITTER_NAME", "Demo"),
    ("GIT_COMMITTER_EMAIL", "demo@example.invalid"),
];

/// Run the demonstration.
pub fn run(ui: &Ui, keep: bool) -> Result<u8, Error> {
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, INTERRUPTED.clone())
            .map_err(|e| Error::new(format!("demo: cannot handle signals: {e}")))?;
    }
    let base = std::env::temp_dir().join(format!("git-neighbor-demo-{}", std::process::id()));
    std::fs::create_dir_all(&base).map_err(|e| Error::new(format!("demo: cannot create {}: {e}", base.display())))?;
    let res = script(ui, &base);
    if interrupted() {
        let _ = std::fs::remove_dir_all(&base);
        ui.status(format!("demo interrupted; removed {}", base.display()));
        return Ok(130);
    }
    if keep {
        ui.status(format!("demo files kept in {}", base.display()));
    } else {
        let _ = std::fs::remove_dir_all(&base);
    }
    res
}

fn script(ui: &Ui, base: &Path) -> Result<u8, Error> {
    let exe = std::env::current_exe().map_err(|e| Error::new(format!("demo: cannot find own executable: {e}")))?;
    let repo = base.join("building");
    std::fs::create_dir_all(repo.join("state")).map_err(Error::from)?;
    let color = if ui.colors_stdout() { "always" } else { "never" };
    let d = Demo { exe, repo: repo.clone(), color };
    d.git(&repo, &["init", "-q", "-b", "main"])?;
    std::fs::write(repo.join("state/agents.json"), "{\n  \"agents\": []\n}\n").map_err(Error::from)?;
    std::fs::write(repo.join("README.md"), "demo building\n").map_err(Error::from)?;
    d.git(&repo, &["add", "-A"])?;
    d.git(&repo, &["commit", "-q", "-m", "canonical state"])?;
    say(ui, &format!("== A throwaway building at {}", repo.display()))?;
    show(ui, &d.neighbor(&["init"])?)?;

    let n = 8;
    say(
        ui,
        &format!("\n== {n} writers ask for their own apartment at the same instant (git neighbor add, in parallel)"),
    )?;
    let children: Vec<_> = (1..=n)
        .map(|i| d.cmd(&repo, &["add", &format!("agent-{i}")]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn())
        .collect::<Result<_, _>>()
        .map_err(|e| Error::new(format!("demo: cannot spawn: {e}")))?;
    let mut ok = 0;
    for c in children {
        if c.wait_with_output().map(|o| o.status.success()).unwrap_or(false) {
            ok += 1;
        }
    }
    say(ui, &format!("    {ok} of {n} succeeded: each got a worktree on its own branch, no config.lock errors"))?;

    let wt = |i: u32| base.join("building.worktrees").join(format!("agent-{i}"));
    say(ui, "\n== agent-1 commits real work; agent-2 leaves uncommitted edits; the others do nothing")?;
    std::fs::write(wt(1).join("feature.txt"), "agent-1 was here\n").map_err(Error::from)?;
    d.git(&wt(1), &["add", "feature.txt"])?;
    d.git(&wt(1), &["commit", "-q", "-m", "agent-1: feature"])?;
    std::fs::write(wt(2).join("notes.txt"), "half-finished thought\n").map_err(Error::from)?;

    say(ui, "\n== Removing agent-2 would lose its edits, so git-neighbor refuses (exit 3)")?;
    let o = d.neighbor(&["remove", "agent-2"])?;
    show(ui, &o)?;
    say(ui, &format!("    exit code {}", o.status.code().unwrap_or(-1)))?;
    say(ui, "== With --force it first saves the edits under refs/neighbor/rescue/")?;
    show(ui, &d.neighbor(&["remove", "--force", "agent-2"])?)?;
    show(ui, &d.neighbor(&["rescue", "list"])?)?;

    say(ui, "\n== A writer is killed with SIGKILL while creating its apartment")?;
    let mut c =
        d.cmd(&repo, &["add", "crashy"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().map_err(Error::from)?;
    std::thread::sleep(std::time::Duration::from_millis(15));
    let _ = c.kill();
    let _ = c.wait();
    // Its git children may hold the lease a moment longer: wait for the real state, not a fixed time.
    wait_for_dead_lease(&d, "crashy");
    say(ui, "    (whatever it had made is half-made; its lease is dead, so prune will roll it back)")?;

    say(ui, "\n== The building now")?;
    show(ui, &d.neighbor(&["list"])?)?;

    say(ui, "\n== prune (with prune-after=0s): clean merged apartments go; agent-1's unmerged commit is kept")?;
    show(ui, &d.neighbor(&["-c", "worktrees.prune-after=0s", "prune"])?)?;

    say(ui, "\n== A fleet: 3 streams x 2 frames. stream-1 reports a new agent as a delta; stream-2 crashes;")?;
    say(
        ui,
        "   stream-3 hangs and is timed out. Nobody edits state/agents.json directly; merge-frame does, once a frame.",
    )?;
    let script = concat!(
        "case $NEIGHBOR_STREAM in ",
        "stream-1) printf '{\"ops\":[{\"op\":\"append\",\"path\":\"agents.json\",\"pointer\":\"/agents\",\"value\":[\"agent-%s\"]}]}' \"$NEIGHBOR_FRAME\" | git neighbor delta write >/dev/null;; ",
        "stream-2) echo 'stream-2: out of memory (simulated)' >&2; exit 3;; ",
        "*) sleep 30;; esac"
    );
    let path = format!(
        "{}:{}",
        d.exe.parent().map(|p| p.display().to_string()).unwrap_or_default(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut fleet =
        d.cmd(&repo, &["fleet", "--streams", "3", "--frames", "2", "--timeout", "1s", "--", "sh", "-c", script]);
    fleet.env("PATH", path);
    let o = merged_output(fleet).map_err(|e| Error::new(format!("demo: cannot run fleet: {e}")))?;
    show(ui, &o)?;
    say(
        ui,
        &format!("    fleet exit code {} (1: a stream failed; the frames still merged)", o.status.code().unwrap_or(-1)),
    )?;
    say(ui, "== The canonical state after two frames (one commit per frame, no conflict, nothing lost):")?;
    let agents = std::fs::read_to_string(repo.join("state/agents.json")).unwrap_or_default();
    for line in agents.lines() {
        ui.data(&format!("    {line}\n"))?;
    }
    for line in d.git(&repo, &["log", "--format=%h %s", "-3"])?.lines() {
        ui.data(&format!("    {line}\n"))?;
    }
    say(ui, "== Every run cleaned up after itself:")?;
    show(ui, &d.neighbor(&["list"])?)?;

    say(ui, "\n== A human clone of the building, with uncommitted edits to state/agents.json and a script,")?;
    say(ui, "   while the fleet keeps publishing frames (merge-frame --push).")?;
    let origin = base.join("origin.git");
    let human = base.join("human");
    d.git(base, &["clone", "-q", "--bare", &repo.display().to_string(), &origin.display().to_string()])?;
    d.git(&repo, &["remote", "add", "origin", &origin.display().to_string()])?;
    d.git(&repo, &["fetch", "-q", "origin"])?;
    d.git(&repo, &["branch", "-q", "--set-upstream-to=origin/main", "main"])?;
    d.git(base, &["clone", "-q", &origin.display().to_string(), &human.display().to_string()])?;
    std::fs::write(human.join("state/agents.json"), "{\n  \"agents\": [\"hand-edited\"]\n}\n").map_err(Error::from)?;
    std::fs::write(human.join("deploy.sh"), "#!/bin/sh\necho deploying\n").map_err(Error::from)?;
    let delta = r#"{"ops":[{"op":"append","path":"agents.json","pointer":"/agents","value":["agent-3"]}]}"#;
    let mut w = d
        .cmd(&repo, &["delta", "write", "--stream", "stream-1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(Error::from)?;
    if let Some(mut input) = w.stdin.take() {
        use std::io::Write;
        input.write_all(delta.as_bytes()).map_err(Error::from)?;
    }
    w.wait().map_err(Error::from)?;
    show(ui, &d.neighbor(&["merge-frame", "--push", "origin"])?)?;
    say(ui, "\n== `git pull --rebase --autostash` here would hide the edits in the shared stash and could leave")?;
    say(ui, "   conflict markers in agents.json. git neighbor safe-pull refuses instead (exit 3), touching nothing:")?;
    let o = d.neighbor_in(&human, &["safe-pull"])?;
    show(ui, &o)?;
    say(ui, &format!("    exit code {}", o.status.code().unwrap_or(-1)))?;
    say(ui, "== safe-pull --evacuate moves the edits into a new tenant as a commit, then pulls:")?;
    let o = d.neighbor_in(&human, &["safe-pull", "--evacuate", "human-edits"])?;
    show(ui, &o)?;
    // The tenant's path is the line of output that is a directory (stdout and stderr share the pipe).
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let evacuated = text.lines().find(|l| l.starts_with('/') && Path::new(l).is_dir()).unwrap_or("").to_string();
    if !evacuated.is_empty() {
        for line in d.git(Path::new(&evacuated), &["show", "--stat", "--format=    tenant commit: %s", "HEAD"])?.lines()
        {
            ui.data(&format!("    {line}\n"))?;
        }
    }
    let status = d.git(&human, &["status", "--porcelain"])?;
    say(
        ui,
        &format!(
            "    the human checkout is now {} and at the fleet's tip",
            if status.is_empty() { "clean" } else { "NOT clean" }
        ),
    )?;
    let stash = d.git(&human, &["stash", "list"])?;
    say(ui, &format!("    stash entries: {}", stash.lines().count()))?;

    say(ui, "\n== The lifecycle log (last 6 events)")?;
    show(ui, &d.neighbor(&["log", "-n", "6"])?)?;
    say(ui, "\nDone: every writer had its own worktree, nothing with work in it was deleted, crashes and hangs were")?;
    say(ui, "cleaned up and recorded as fallback deltas, and the shared state advanced one commit per frame.")?;
    Ok(0)
}

/// Wait (at most ten seconds) until no live process holds `name`'s lease, as `list --json` reports it.
fn wait_for_dead_lease(d: &Demo, name: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline && !interrupted() {
        let free = d
            .neighbor(&["list", "--json"])
            .ok()
            .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
            .and_then(|v| v.as_array().cloned())
            .is_some_and(|rows| !rows.iter().any(|r| r["name"] == name && !r["lease"].is_null()));
        if free {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
