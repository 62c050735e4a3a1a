//! Process ancestry and liveness: who called us (through `git`'s dispatcher), whether a pid lives.
//! `/proc` where there is one, `ps` everywhere else (macOS, BSD).

/// Programs that run a command as their child and exit when it does, so they are never the real caller:
/// git's dispatcher, and wrappers such as `timeout`, `xargs`, `flock`, `sudo`.
pub const PASS_THROUGH: &[&str] = &[
    "git", "timeout", "xargs", "flock", "sudo", "doas", "time", "nice", "nohup", "env", "stdbuf", "ionice", "chrt",
    "taskset", "setsid", "strace", "ltrace", "unbuffer",
];

/// The process that invoked us: our parent, walking up past git's dispatcher and the wrappers in
/// [`PASS_THROUGH`] (`timeout 60 git neighbor pool claim` is called by the shell, not by `timeout`).
pub fn caller_pid() -> u32 {
    let mut pid = nix::unistd::getppid().as_raw() as u32;
    for _ in 0..16 {
        match proc_parent(pid) {
            Some((comm, grand)) if grand > 1 && PASS_THROUGH.contains(&comm.as_str()) => pid = grand,
            _ => break,
        }
    }
    pid
}

/// The process a claim or an ephemeral tenant follows: `--follow-pid`, else `$NEIGHBOR_FOLLOW_PID`, else
/// [`caller_pid`]. A named pid must be a live process.
pub fn follow_pid(flag: Option<u32>) -> Result<u32, crate::error::Error> {
    let named = match flag {
        Some(p) => Some((p, "--follow-pid")),
        None => match std::env::var("NEIGHBOR_FOLLOW_PID").ok().filter(|v| !v.trim().is_empty()) {
            Some(v) => Some((
                v.trim()
                    .parse::<u32>()
                    .map_err(|_| crate::error::Error::usage(format!("NEIGHBOR_FOLLOW_PID={v} is not a process id")))?,
                "NEIGHBOR_FOLLOW_PID",
            )),
            None => None,
        },
    };
    match named {
        None => Ok(caller_pid()),
        Some((p, _)) if p > 1 && pid_alive(p) => Ok(p),
        Some((p, from)) => Err(crate::error::Error::usage(format!("{from}: no process {p} is running")).hint(
            "name the pid of the process whose life the claim should follow (e.g. your agent's, `$$` in a shell)",
        )),
    }
}

/// A process's command name and parent pid.
pub fn proc_parent(pid: u32) -> Option<(String, u32)> {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        // No /proc (macOS, BSD): ask ps, which every Unix has.
        let out = std::process::Command::new("ps").args(["-o", "ppid=,comm=", "-p", &pid.to_string()]).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut it = text.split_whitespace();
        let ppid = it.next()?.parse().ok()?;
        let comm = it.collect::<Vec<_>>().join(" ");
        let comm = std::path::Path::new(&comm).file_name().map(|c| c.to_string_lossy().into_owned()).unwrap_or(comm);
        return Some((comm, ppid));
    };
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let ppid = stat[close + 1..].split_whitespace().nth(1)?.parse().ok()?;
    Some((comm, ppid))
}

/// Who a process is beyond its pid, which the system hands out again (and, after a reboot, to anything):
/// this boot's id and the process's start time, from `/proc`. `None` where `/proc` does not tell; then
/// the pid alone decides.
pub fn identity(pid: u32) -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22 (starttime), counted after the `(comm)` field, which may hold spaces.
    let start = stat[stat.rfind(')')? + 1..].split_whitespace().nth(19)?.to_string();
    Some(format!("{}/{start}", boot.trim()))
}

/// Whether the process recorded as `pid` with `identity` (from [`identity`]) still runs: its pid exists
/// and, where both are known, it is the same process, not a later one given the same pid.
pub fn same_process_alive(pid: u32, recorded: Option<&str>) -> bool {
    if !pid_alive(pid) {
        return false;
    }
    match (recorded, identity(pid)) {
        (Some(then), Some(now)) => then == now,
        _ => true,
    }
}

/// Whether a process exists.
pub fn pid_alive(pid: u32) -> bool {
    use nix::errno::Errno;
    let Ok(raw) = i32::try_from(pid) else { return false };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Ok(()) => true,
        Err(e) => e == Errno::EPERM,
    }
}

/// Whether a process is stopped (Ctrl-Z, SIGSTOP, SIGTTIN): it holds what it holds but makes no progress.
pub fn is_stopped(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|st| st == "T" || st == "t"),
        Err(_) => std::process::Command::new("ps")
            .args(["-o", "stat=", "-p", &pid.to_string()])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim_start().starts_with('T')),
    }
}

/// Our process's ancestors, nearest first (`/proc`, else `ps`).
pub fn ancestor_pids() -> Vec<u32> {
    let mut out = Vec::new();
    let mut pid = std::process::id();
    for _ in 0..64 {
        let Some((_, parent)) = proc_parent(pid) else { break };
        if parent == 0 || out.contains(&parent) {
            break;
        }
        out.push(parent);
        pid = parent;
    }
    out
}
