//! Named fail points for the in-process effects that the crash tests' git shim cannot reach (a ref
//! written by gix, a file renamed into place, an index swapped in).
//!
//! `NEIGHBOR_FAILPOINT=<name>` kills the process with SIGKILL (a crash, nothing runs after it) when it
//! reaches that point; `NEIGHBOR_FAILPOINT_TRACE=<file>` appends the name of every point the process
//! passes, so a test enumerates the points from a clean run instead of keeping a list that would rot.
//! Both variables are read once; unset, a point costs a check of a static.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

struct Conf {
    kill: Option<String>,
    trace: Option<PathBuf>,
}

fn conf() -> &'static Conf {
    static CONF: OnceLock<Conf> = OnceLock::new();
    CONF.get_or_init(|| Conf {
        kill: std::env::var("NEIGHBOR_FAILPOINT").ok().filter(|s| !s.is_empty()),
        trace: std::env::var_os("NEIGHBOR_FAILPOINT_TRACE").filter(|s| !s.is_empty()).map(PathBuf::from),
    })
}

/// The process passes the point `name`.
pub fn hit(name: &str) {
    let c = conf();
    if let Some(path) = &c.trace
        && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path)
    {
        let _ = f.write_all(format!("{name}\n").as_bytes());
    }
    if c.kill.as_deref() == Some(name) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}
