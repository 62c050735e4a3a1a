//! Named fail points for crash tests of the steps that make no git call (the test kit kills at git calls).
//!
//! `NEIGHBOR_FAILPOINT=<name>#<n>` (or `<name>`, meaning `#1`) makes the process `kill -9` itself the n-th
//! time it passes point `<name>`; `NEIGHBOR_FAILPOINT_TRACE=<file>` appends the name of every point passed,
//! one a line, so a suite can enumerate them instead of keeping a list. Unset, a point costs one
//! environment lookup. Not a user interface: the variables are for the test suites.

use std::sync::Mutex;

static PASSED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// Pass the fail point `name`.
pub fn point(name: &'static str) {
    let trace = std::env::var_os("NEIGHBOR_FAILPOINT_TRACE");
    let kill = std::env::var("NEIGHBOR_FAILPOINT").ok();
    if trace.is_none() && kill.is_none() {
        return;
    }
    let nth = {
        let Ok(mut passed) = PASSED.lock() else { return };
        passed.push(name);
        passed.iter().filter(|n| **n == name).count()
    };
    if let Some(path) = trace {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(format!("{name}\n").as_bytes());
        }
    }
    if let Some(spec) = kill {
        let (want, n) = spec.split_once('#').map_or((spec.as_str(), 1), |(w, n)| (w, n.parse().unwrap_or(1)));
        if want == name && n == nth {
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        }
    }
}
