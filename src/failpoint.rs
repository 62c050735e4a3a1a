//! Named fail points for the in-process effects that the crash tests' git shim cannot reach (a ref
//! written by gix, a file renamed into place, an index swapped in, a hook moved aside).
//!
//! `NEIGHBOR_FAILPOINT=<name>#<n>` (or `<name>`, meaning `#1`) makes the process `kill -9` itself the n-th
//! time it passes point `<name>` (a crash: nothing runs after it); `NEIGHBOR_FAILPOINT_TRACE=<file>`
//! appends the name of every point the process passes, one a line, so a suite enumerates the points from
//! a clean run instead of keeping a list that would rot. `NEIGHBOR_FAILPOINT_ACTION=panic` makes the point
//! panic instead (a bug, not a crash: for the code that must survive one, such as the MCP server's tools);
//! `NEIGHBOR_FAILPOINT_ACTION=stop` makes the process stop itself (SIGSTOP) there, so a race test can
//! change the world under it and `kill -CONT` it.
//! The variables are read once; unset, a point costs a check of a static. Not a user interface: the
//! variables are for the test suites.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

struct Conf {
    kill: Option<(String, usize)>,
    trace: Option<PathBuf>,
    panic: bool,
    stop: bool,
}

fn conf() -> &'static Conf {
    static CONF: OnceLock<Conf> = OnceLock::new();
    CONF.get_or_init(|| Conf {
        kill: std::env::var("NEIGHBOR_FAILPOINT").ok().filter(|s| !s.is_empty()).map(|spec| {
            match spec.split_once('#') {
                Some((name, n)) => (name.to_string(), n.parse().unwrap_or(1)),
                None => (spec, 1),
            }
        }),
        trace: std::env::var_os("NEIGHBOR_FAILPOINT_TRACE").filter(|s| !s.is_empty()).map(PathBuf::from),
        panic: std::env::var("NEIGHBOR_FAILPOINT_ACTION").is_ok_and(|a| a == "panic"),
        stop: std::env::var("NEIGHBOR_FAILPOINT_ACTION").is_ok_and(|a| a == "stop"),
    })
}

/// The process passes the point `name`.
pub fn hit(name: &str) {
    let c = conf();
    if c.kill.is_none() && c.trace.is_none() {
        return;
    }
    if let Some(path) = &c.trace
        && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path)
    {
        let _ = f.write_all(format!("{name}\n").as_bytes());
    }
    if let Some((want, n)) = &c.kill
        && want == name
    {
        static PASSED: Mutex<usize> = Mutex::new(0);
        let nth = match PASSED.lock() {
            Ok(mut p) => {
                *p += 1;
                *p
            }
            Err(_) => return,
        };
        if nth == *n {
            if c.panic {
                panic!("fail point {name} (NEIGHBOR_FAILPOINT_ACTION=panic)");
            }
            if c.stop {
                let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
                return;
            }
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        }
    }
}
