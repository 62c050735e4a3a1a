//! Hermetic processes, timing and statistics for the benchmark harness.
//!
//! Every process the harness starts (git, git-neighbor, and git's own children) gets the same pinned
//! environment: a temp `HOME`, a temp global git config, no system config, `LC_ALL=C`, `TZ=UTC`, and the
//! directory of the git-neighbor binary first on `PATH` (so `git neighbor …` and installed hooks find the
//! binary under test). A process is timed from just before `spawn` to just after `wait`, with stdout and
//! stderr captured, the way a script calling it would see it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Any failure of the harness itself (not of a measured command's speed).
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Fail with a message.
pub fn fail<T>(msg: impl Into<String>) -> Res<T> {
    Err(msg.into().into())
}

/// A temp path as `&str` (the harness makes them, so they are plain ASCII).
pub fn ps(p: &Path) -> &str {
    p.to_str().expect("the harness's temp paths are UTF-8")
}

/// Which program to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prog {
    /// `git`
    Git,
    /// the git-neighbor binary under test
    Nb,
    /// `sh`, for baselines that are several git processes (run in parallel by a script)
    Sh,
    /// worktrunk's `wt`, when it is installed (the harness never downloads it)
    Wt,
}

/// The pinned environment and the binary under test.
pub struct Env {
    /// Temp root holding every fixture.
    pub root: PathBuf,
    /// The git-neighbor binary.
    pub bin: PathBuf,
    home: PathBuf,
    path_var: OsString,
}

impl Env {
    /// Make the temp root's `home/` with a pinned global git config.
    pub fn new(root: PathBuf, bin: PathBuf) -> Res<Env> {
        let home = root.join("home");
        std::fs::create_dir_all(&home)?;
        // gc.auto=0 and maintenance.auto=false: a background `git gc --auto` started by one measured
        // command would otherwise steal the CPU from the next one, on either side.
        std::fs::write(
            home.join(".gitconfig"),
            "[user]\n\tname = Bench\n\temail = bench@example.invalid\n[init]\n\tdefaultBranch = main\n\
             [gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n[advice]\n\tdetachedHead = false\n\
             [protocol \"file\"]\n\tallow = always\n",
        )?;
        let bin_dir = bin.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut dirs = vec![bin_dir];
        dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        let path_var = std::env::join_paths(dirs)?;
        Ok(Env { root, bin, home, path_var })
    }

    /// What `prog` is started as.
    fn program(&self, prog: Prog) -> OsString {
        match prog {
            Prog::Git => "git".into(),
            Prog::Nb => self.bin.clone().into_os_string(),
            Prog::Sh => "sh".into(),
            Prog::Wt => "wt".into(),
        }
    }

    /// A command for `prog` in `dir` with the pinned environment (nothing inherited but `PATH`).
    pub fn command(&self, prog: Prog, dir: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(self.program(prog));
        self.pin(&mut c, dir, args);
        c
    }

    fn pin(&self, c: &mut Command, dir: &Path, args: &[&str]) {
        c.env_clear()
            .env("PATH", &self.path_var)
            .env("HOME", &self.home)
            .env("GIT_CONFIG_GLOBAL", self.home.join(".gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .env("TMPDIR", &self.root)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    }

    /// Time one run (as [`Env::time`]) and take the peak resident set of the largest process in the tree
    /// it starts (the command itself or one of the git processes it waited for). The command is started by
    /// this harness's own binary (`--peak-rss-of`, see [`peak_rss_wrapper`]), whose only child it is, so
    /// `getrusage(RUSAGE_CHILDREN)` there sees nothing else (KiB, as Linux gives it; file-backed pages of
    /// binaries and libraries count, as in `/usr/bin/time`'s figure). The wrapper adds one process start
    /// to the time measured.
    pub fn time_peak(&self, prog: Prog, dir: &Path, args: &[&str]) -> Res<(Duration, u64)> {
        let out = self.root.join(format!("peak-rss.{}", std::process::id()));
        let _ = std::fs::remove_file(&out);
        let mut c = Command::new(std::env::current_exe()?);
        let mut all: Vec<&str> = vec!["--peak-rss-of", ps(&out)];
        let program = self.program(prog);
        all.push(program.to_str().ok_or("program path is not UTF-8")?);
        all.extend_from_slice(args);
        self.pin(&mut c, dir, &all);
        let start = Instant::now();
        let o = c.output()?;
        let took = start.elapsed();
        check(prog, args, &o)?;
        let kb = std::fs::read_to_string(&out)?.trim().parse()?;
        Ok((took, kb))
    }

    /// Run to completion; fail (with git's or git-neighbor's stderr) unless it exits 0. Returns stdout.
    pub fn out(&self, prog: Prog, dir: &Path, args: &[&str]) -> Res<String> {
        self.out_with(prog, dir, args, None, &[])
    }

    /// Like [`Env::out`], feeding `input` on stdin.
    pub fn out_input(&self, prog: Prog, dir: &Path, args: &[&str], input: &[u8]) -> Res<String> {
        self.out_with(prog, dir, args, Some(input), &[])
    }

    /// Like [`Env::out`], with stdin and extra environment variables.
    pub fn out_with(
        &self,
        prog: Prog,
        dir: &Path,
        args: &[&str],
        input: Option<&[u8]>,
        vars: &[(&str, &Path)],
    ) -> Res<String> {
        let mut c = self.command(prog, dir, args);
        c.envs(vars.iter().map(|(k, v)| (*k, *v)));
        if input.is_some() {
            c.stdin(Stdio::piped());
        }
        let mut child = c.spawn()?;
        if let (Some(bytes), Some(mut w)) = (input, child.stdin.take()) {
            use std::io::Write;
            w.write_all(bytes)?;
        }
        let o = child.wait_with_output()?;
        check(prog, args, &o)?;
        Ok(String::from_utf8_lossy(&o.stdout).trim_end().to_string())
    }

    /// Time one run: wall time and the CPU time (user + system) of the whole process tree it started,
    /// from `getrusage(RUSAGE_CHILDREN)` around it. CPU time hardly moves with other load on the machine,
    /// so it separates what a command costs from what it waited for. Not for concurrent children.
    pub fn time_cpu(&self, prog: Prog, dir: &Path, args: &[&str]) -> Res<(Duration, Duration)> {
        let before = children_cpu()?;
        let wall = self.time(prog, dir, args)?;
        Ok((wall, children_cpu()?.saturating_sub(before)))
    }

    /// Time one run (spawn to exit, output captured); fail unless it exits 0.
    pub fn time(&self, prog: Prog, dir: &Path, args: &[&str]) -> Res<Duration> {
        self.time_input(prog, dir, args, None)
    }

    /// Time one run fed `input` on stdin; fail unless it exits 0.
    pub fn time_input(&self, prog: Prog, dir: &Path, args: &[&str], input: Option<&[u8]>) -> Res<Duration> {
        let mut c = self.command(prog, dir, args);
        if input.is_some() {
            c.stdin(Stdio::piped());
        }
        let start = Instant::now();
        let mut child = c.spawn()?;
        if let (Some(bytes), Some(mut w)) = (input, child.stdin.take()) {
            use std::io::Write;
            w.write_all(bytes)?;
        }
        let o = child.wait_with_output()?;
        let took = start.elapsed();
        check(prog, args, &o)?;
        Ok(took)
    }

    /// Time one run of the executable file `program` (a hook file, as git starts it: directly, so its
    /// `#!` line picks the interpreter) in `dir` with the pinned environment; fail unless it exits 0.
    pub fn time_file(&self, program: &Path, dir: &Path, args: &[&str]) -> Res<Duration> {
        let mut c = Command::new(program);
        self.pin(&mut c, dir, args);
        let start = Instant::now();
        let o = c.output()?;
        let took = start.elapsed();
        check_named(&program.display().to_string(), args, &o)?;
        Ok(took)
    }

    /// Does `git-neighbor <words> --help` succeed? (How the harness knows a command exists yet.)
    pub fn has_command(&self, words: &str) -> bool {
        let mut args: Vec<&str> = words.split_whitespace().collect();
        args.push("--help");
        self.command(Prog::Nb, &self.root, &args).output().map(|o| o.status.success()).unwrap_or(false)
    }
}

/// `--peak-rss-of FILE PROGRAM ARGS…` as this binary's first arguments: run PROGRAM with ARGS (same
/// directory, environment and streams), write its peak resident set in KiB to FILE, and exit as it did.
/// `None` when the harness was not started that way.
pub fn peak_rss_wrapper() -> Option<std::process::ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != "--peak-rss-of" {
        return None;
    }
    let run = || -> Res<u8> {
        let out = PathBuf::from(args.next().ok_or("--peak-rss-of needs FILE PROGRAM")?);
        let program = args.next().ok_or("--peak-rss-of needs a PROGRAM")?;
        let status = Command::new(program).args(args).status()?;
        let rss = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)?.max_rss();
        std::fs::write(out, format!("{rss}\n"))?;
        Ok(status.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1))
    };
    Some(match run() {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("error: --peak-rss-of: {e}");
            std::process::ExitCode::from(1)
        }
    })
}

/// User + system time of every child (and their waited-for descendants) reaped so far.
fn children_cpu() -> Res<Duration> {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    let us = |t: nix::sys::time::TimeVal| t.tv_sec() as u64 * 1_000_000 + t.tv_usec() as u64;
    Ok(Duration::from_micros(us(u.user_time()) + us(u.system_time())))
}

fn check(prog: Prog, args: &[&str], o: &Output) -> Res<()> {
    let name = match prog {
        Prog::Git => "git",
        Prog::Nb => "git-neighbor",
        Prog::Sh => "sh",
        Prog::Wt => "wt",
    };
    check_named(name, args, o)
}

/// [`check`] for a program named by `name` (a path, say).
fn check_named(name: &str, args: &[&str], o: &Output) -> Res<()> {
    if o.status.success() {
        return Ok(());
    }
    fail(format!("`{name} {}` failed ({}): {}", args.join(" "), o.status, String::from_utf8_lossy(&o.stderr).trim()))
}

/// Run `f` over `items` on `workers` threads; the first error wins. Results keep the items' order.
pub fn parallel<T: Sync, R: Send>(workers: usize, items: &[T], f: impl Fn(&T) -> Res<R> + Sync) -> Res<Vec<R>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    let failed = r.is_err();
                    if let Ok(mut v) = results.lock() {
                        v.push((i, r));
                    }
                    if failed {
                        // Stop handing out work; the others finish their current item.
                        next.store(items.len(), std::sync::atomic::Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    let mut v = results.into_inner().map_err(|_| "a worker thread panicked")?;
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, r)| r).collect()
}

/// Delete a directory tree if it exists.
pub fn rm_rf(p: &Path) -> Res<()> {
    match std::fs::remove_dir_all(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(format!("cannot remove {}: {e}", p.display()).into()),
        _ => Ok(()),
    }
}

/// Samples of one measurement, in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Sorted samples (ms).
    sorted: Vec<f64>,
}

impl Stats {
    /// From durations.
    pub fn of(samples: &[Duration]) -> Stats {
        let mut sorted: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        sorted.sort_by(f64::total_cmp);
        Stats { sorted }
    }
    /// Number of samples.
    pub fn n(&self) -> usize {
        self.sorted.len()
    }
    /// Median (mean of the middle two for an even count).
    pub fn median(&self) -> f64 {
        let n = self.sorted.len();
        match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => self.sorted[n / 2],
            _ => (self.sorted[n / 2 - 1] + self.sorted[n / 2]) / 2.0,
        }
    }
    /// Nearest-rank percentile (`p` in 0..=100): with fewer than 10 samples p10/p90 are the min/max.
    pub fn pct(&self, p: f64) -> f64 {
        let n = self.sorted.len();
        if n == 0 {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.sorted[rank.clamp(1, n) - 1]
    }
    /// p10.
    pub fn lo(&self) -> f64 {
        self.pct(10.0)
    }
    /// p90.
    pub fn hi(&self) -> f64 {
        self.pct(90.0)
    }
}

/// `21,001`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `0.84 ms`, `12.3 ms`, `456 ms`, `1.23 s`.
pub fn fmt_ms(ms: f64) -> String {
    if !ms.is_finite() {
        "–".into()
    } else if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// A tiny deterministic generator (xorshift64*) so fixtures are the same on every run.
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    /// Next value.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
