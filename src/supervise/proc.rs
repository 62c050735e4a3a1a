//! Process ancestry and liveness: who called us (through `git`'s dispatcher), whether a pid lives.
//! `/proc` where there is one, `ps` everywhere else (macOS, BSD).

/// The process that invoked us: our parent, or its parent when that is `git` (as for `git neighbor …`).
pub fn caller_pid() -> u32 {
    let parent = nix::unistd::getppid().as_raw() as u32;
    match proc_parent(parent) {
        Some((comm, grand)) if comm == "git" => grand,
        _ => parent,
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

/// Whether a process exists.
pub fn pid_alive(pid: u32) -> bool {
    use nix::errno::Errno;
    let Ok(raw) = i32::try_from(pid) else { return false };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Ok(()) => true,
        Err(e) => e == Errno::EPERM,
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
