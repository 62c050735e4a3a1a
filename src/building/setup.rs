//! Running a new tenant's `[setup]` commands (already approved by the trust gate, `protect::trust`).
//!
//! Each command line runs with `sh -c` (users write `npm ci && npm run build` and expect a shell), in the
//! tenant's directory, with the tenant's environment (`ports::tenant_env`: NEIGHBOR_NAME,
//! NEIGHBOR_WORKTREE, NEIGHBOR_PORT(S), COMPOSE_PROJECT_NAME, …) and stdin from /dev/null. Its stdout and
//! stderr go to the tenant's log, `<git-common-dir>/neighbor/setup/<tenant>.log`, and are copied from there
//! to our stderr as they come (never to our stdout, which carries `add`'s path or `--json`). The commands
//! write to the log file directly rather than through a pipe, so a daemon one of them leaves behind
//! cannot keep setup waiting. The first command that fails stops setup.

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::Ctx;
use super::registry::Tenant;
use super::state_dir::StateDir;
use crate::error::{Error, IoContext};

/// Where tenant `name`'s setup output is kept.
pub fn log_path(state: &StateDir, name: &str) -> PathBuf {
    state.root.join("setup").join(format!("{name}.log"))
}

/// Run `cmds` in tenant `t`, in order. Returns `None` when all succeeded, else why setup failed (the
/// first failing command and its exit). Errors are for what stops us from running them at all.
pub fn run(ctx: &Ctx, t: &Tenant, cmds: &[String]) -> Result<Option<String>, Error> {
    let log = log_path(&ctx.state, &t.name);
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).ctx(|| format!("cannot create {}", dir.display()))?;
    }
    let mut file = File::create(&log).ctx(|| format!("cannot create {}", log.display()))?;
    let mut echo = File::open(&log).ctx(|| format!("cannot read {}", log.display()))?;
    let env = super::ports::tenant_env(ctx, t);
    for cmd in cmds {
        crate::failpoint::hit("setup-command");
        writeln!(file, "$ {cmd}").ctx(|| format!("cannot write {}", log.display()))?;
        // Clones share the file offset: the commands' output and our headers interleave in order.
        let (out, err) = (file.try_clone()?, file.try_clone()?);
        let spawned = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(&t.path)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => return Ok(Some(format!("cannot start `sh -c {cmd}`: {e}"))),
        };
        let status = loop {
            pump(&mut echo);
            if let Some(st) = child.try_wait()? {
                break st;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        pump(&mut echo);
        if !status.success() {
            use std::os::unix::process::ExitStatusExt;
            let why = match (status.code(), status.signal()) {
                (Some(c), _) => format!("`{cmd}` exited with {c}"),
                (None, Some(s)) => format!("`{cmd}` was killed by signal {s}"),
                (None, None) => format!("`{cmd}` failed"),
            };
            let _ = writeln!(file, "setup failed: {why}");
            return Ok(Some(why));
        }
    }
    let _ = writeln!(file, "setup done");
    Ok(None)
}

/// Copy what the log gained since the last look to our stderr (best effort: a closed stderr does not
/// stop setup).
fn pump(echo: &mut File) {
    let mut buf = Vec::new();
    if echo.read_to_end(&mut buf).is_ok() && !buf.is_empty() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(&buf);
        let _ = err.flush();
    }
}
