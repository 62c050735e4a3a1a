//! Concurrency stress: N workers for a bounded time do a random mix of add, run, remove, prune, land and
//! list, while agents make plain `git commit`s (through a slow pre-commit hook) and leave uncommitted
//! files inside the tenants. Every commit and file the agents made is logged; afterwards `prune` repairs
//! and the invariant checker must find all of it reachable, and nothing half-written or left over.
//!
//! The seed is printed; `NEIGHBOR_SEED=<n>` replays a run's choices (timing still varies).
//! `NEIGHBOR_LONG=1` runs longer with more workers.

use crate::common::*;
use crate::invariants::{self, Before, Opts};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// xorshift64*: small, seedable, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Default)]
struct Log {
    /// Commits agents made.
    commits: Vec<String>,
    /// (worktree, path, blob) of files agents left uncommitted.
    files: Vec<(PathBuf, String, String)>,
    /// Operation counts: (name, exit code) → n.
    ops: std::collections::BTreeMap<(String, i32), usize>,
}

fn git_ok(t: &TestRepo, dir: &Path, args: &[&str]) -> Option<String> {
    let o = t.git_out(dir, args);
    (o.code == 0).then(|| o.stdout.trim().to_string())
}

fn worker(t: &TestRepo, id: usize, seed: u64, until: Instant, log: &Mutex<Log>) {
    let mut rng = Rng((seed ^ (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1);
    let mut mine: Vec<(String, PathBuf)> = Vec::new();
    let mut n = 0;
    let note = |op: &str, code: i32| {
        *log.lock().unwrap().ops.entry((op.to_string(), code)).or_default() += 1;
    };
    while Instant::now() < until {
        n += 1;
        let pick = |rng: &mut Rng, mine: &Vec<(String, PathBuf)>| {
            (!mine.is_empty()).then(|| mine[rng.below(mine.len())].clone())
        };
        match rng.below(12) {
            0 | 1 => {
                let name = format!("w{id}-{n}");
                let o = t.neighbor(&["add", &name]);
                note("add", o.code);
                if o.code == 0 {
                    mine.push((name, PathBuf::from(o.stdout.trim())));
                }
            }
            2..=4 => {
                // An agent commits inside a tenant, through the slow hook.
                let Some((_, p)) = pick(&mut rng, &mine) else { continue };
                let file = format!("c{id}-{n}.txt");
                if std::fs::write(p.join(&file), format!("commit {id} {n}\n")).is_err() {
                    continue;
                }
                let ok = git_ok(t, &p, &["add", "--", &file]).is_some()
                    && git_ok(t, &p, &["commit", "-q", "-m", &format!("agent {id} {n}")]).is_some();
                note("git commit", i32::from(!ok));
                if ok && let Some(c) = git_ok(t, &p, &["rev-parse", "HEAD"]) {
                    log.lock().unwrap().commits.push(c);
                }
            }
            5 => {
                // An agent leaves a file uncommitted.
                let Some((_, p)) = pick(&mut rng, &mine) else { continue };
                let file = format!("u{id}-{n}.txt");
                if std::fs::write(p.join(&file), format!("uncommitted {id} {n}\n")).is_ok()
                    && let Some(h) = git_ok(t, &p, &["hash-object", "--", &file])
                {
                    log.lock().unwrap().files.push((p.clone(), file, h));
                }
            }
            6 => {
                let Some((name, _)) = pick(&mut rng, &mine) else { continue };
                let force = rng.below(3) == 0;
                let o = if force { t.neighbor(&["remove", "--force", &name]) } else { t.neighbor(&["remove", &name]) };
                if o.code <= 1 {
                    mine.retain(|(m, _)| *m != name); // removed, or gone already (prune took it)
                }
                note(if force { "remove --force" } else { "remove" }, o.code);
                if std::env::var("NEIGHBOR_DEBUG").is_ok() && o.code != 0 {
                    eprintln!("DEBUG remove {name} force={force}: {} {}", o.code, o.stderr.trim());
                }
            }
            7 | 8 => {
                let o = t.neighbor(&["prune"]);
                note("prune", o.code);
            }
            9 => {
                let name = format!("r{id}-{n}");
                let o = t.neighbor(&["run", &name, "--", "sh", "-c", "echo ran > ran.txt"]);
                note("run", o.code);
            }
            10 => {
                let Some((name, _)) = pick(&mut rng, &mine) else { continue };
                let o = t.neighbor(&["land", &name]);
                note("land", o.code);
                if o.code <= 1 && o.stderr.contains("no tenant") || o.code == 0 {
                    mine.retain(|(m, _)| *m != name);
                }
                if std::env::var("NEIGHBOR_DEBUG").is_ok() && o.code != 0 {
                    eprintln!("DEBUG land {name}: {} {}", o.code, o.stderr.trim());
                }
            }
            _ => {
                let o = t.neighbor(&["list"]);
                note("list", o.code);
            }
        }
    }
}

#[test]
fn stress_removals_against_agents() {
    let long = std::env::var("NEIGHBOR_LONG").is_ok_and(|v| !v.is_empty() && v != "0");
    let seed: u64 = std::env::var("NEIGHBOR_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    });
    let (workers, secs) = if long { (8, 60) } else { (4, 8) };
    eprintln!("stress: seed {seed} (replay with NEIGHBOR_SEED={seed}), {workers} workers for {secs}s");
    let t = Arc::new(TestRepo::new());
    // Prune everything clean at once, as the attack did; agents' commits go through a slow hook.
    t.write(".neighbor.toml", "[worktrees]\nprune-after = \"0s\"\n");
    t.git(&["add", ".neighbor.toml"]);
    t.git(&["commit", "-q", "-m", "config"]);
    let hooks = t.root.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(hooks.join("pre-commit"), "#!/bin/sh\nsleep 0.3\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(hooks.join("pre-commit"), std::fs::Permissions::from_mode(0o755)).unwrap();
    t.git(&["config", "core.hooksPath", hooks.to_str().unwrap()]);
    let log = Arc::new(Mutex::new(Log::default()));
    let until = Instant::now() + Duration::from_secs(secs);
    let handles: Vec<_> = (0..workers)
        .map(|id| {
            let (t, log) = (Arc::clone(&t), Arc::clone(&log));
            std::thread::spawn(move || worker(&t, id, seed, until, &log))
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // Ephemeral leftovers: wait for their keepers to go, then repair.
    std::thread::sleep(Duration::from_millis(200));
    t.neighbor(&["prune"]).ok();
    let log = log.lock().unwrap();
    let total: usize = log.ops.values().sum();
    let before = Before { commits: log.commits.iter().cloned().collect(), changes: log.files.clone() };
    let bad = invariants::violations(&t, &before, Opts { after_prune: true, allow_kept_branches: true });
    let mut summary: Vec<String> = log.ops.iter().map(|((op, code), n)| format!("{op}={code}:{n}")).collect();
    summary.sort();
    eprintln!(
        "stress: seed {seed}: {total} operations, {} agent commits, {} uncommitted files, {} violation(s); {}",
        log.commits.len(),
        log.files.len(),
        bad.len(),
        summary.join(" ")
    );
    let crashed: Vec<&String> = summary.iter().filter(|s| s.contains("=101:") || s.contains("=-1:")).collect();
    assert!(crashed.is_empty(), "seed {seed}: commands panicked or died: {crashed:?}");
    if std::env::var("NEIGHBOR_DEBUG").is_ok() && !bad.is_empty() {
        let ev = std::fs::read_to_string(t.common_dir().join("neighbor/events.jsonl")).unwrap_or_default();
        eprintln!("DEBUG events:\n{ev}");
        std::mem::forget(Arc::clone(&t));
    }
    assert!(bad.is_empty(), "seed {seed}: {} violation(s):\n  {}", bad.len(), bad.join("\n  "));
}
