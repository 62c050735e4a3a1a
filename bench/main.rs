//! The benchmark harness: every performance claim of git-neighbor, measured beside raw git on the same
//! repositories in the same run.
//!
//! `cargo bench --bench neighbor` builds git-neighbor with the release settings (the bench profile
//! inherits them), generates fixtures in a temp dir, runs every case in [`cases::CASES`], writes
//! `BENCHMARKS.md` and `bench/merge-frame-growth.svg`, and deletes the fixtures. Needs only the Rust
//! toolchain and git. Options (after `--`):
//!
//! * `--quick`: small fixtures, few runs (under a minute); writes to `--out` or the target directory.
//! * `--out DIR`: write `BENCHMARKS.md` and `merge-frame-growth.svg` into DIR instead.
//! * `--only ID[,ID…]`: run only these cases (implies the target directory unless `--out`).
//! * `--tmp DIR`: make the fixtures under DIR instead of `<target dir>/bench-fixtures/` (they need a few
//!   GB for a moment; the target dir is on the build disk, which a small tmpfs `/tmp` may not be). Given
//!   more than once (`--tmp /dev/shm --tmp /mnt/disk/x`), the whole suite runs once per directory, one
//!   after the other with fresh fixtures, and the report has one results table per file system: what a
//!   disk costs beside what the code costs.
//! * `--keep`: keep the fixtures (their path is printed).
//! * `--bin PATH`: measure this git-neighbor binary instead of the one cargo just built.
//!
//! Exit code 0 unless the harness itself breaks (a case fails to run): speed is reported, never asserted.

mod cases;
mod fixture;
mod harness;
mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use cases::{Bench, CASES, Case, Cell, Growth, Plan, Row, Verdict};
use harness::{Env, Prog, Res, fmt_ms, thousands};

/// Hand-written analysis, embedded at the end of the report.
const NOTES: &str = include_str!("notes.md");

const USAGE: &str = "usage: cargo bench --bench neighbor -- [--quick] [--out DIR] [--only ID[,ID…]] [--tmp DIR]... [--keep] [--bin PATH]";

struct Args {
    quick: bool,
    out: Option<PathBuf>,
    only: Option<Vec<String>>,
    tmp: Vec<PathBuf>,
    bin: Option<PathBuf>,
    keep: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args { quick: false, out: None, only: None, tmp: Vec::new(), bin: None, keep: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--keep" => a.keep = true,
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            "--out" => a.out = Some(it.next().ok_or("--out needs a directory")?.into()),
            "--tmp" => a.tmp.push(it.next().ok_or("--tmp needs a directory")?.into()),
            "--bin" => a.bin = Some(it.next().ok_or("--bin needs a path")?.into()),
            "--only" => {
                let ids: Vec<String> = it.next().ok_or("--only needs case ids")?.split(',').map(String::from).collect();
                if let Some(bad) = ids.iter().find(|id| !CASES.iter().any(|c| c.id == id.as_str())) {
                    let known: Vec<&str> = CASES.iter().map(|c| c.id).collect();
                    return Err(format!("unknown case `{bad}`; cases: {}", known.join(", ")));
                }
                a.only = Some(ids);
            }
            "-h" | "--help" => return Err(String::new()),
            other => match other.strip_prefix("--out=") {
                Some(d) => a.out = Some(d.into()),
                None => return Err(format!("unknown argument `{other}`")),
            },
        }
    }
    Ok(a)
}

/// Deletes the fixtures when the run ends, however it ends.
struct TempRoot {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("fixtures kept in {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn main() -> ExitCode {
    // The harness starts itself as a thin wrapper to take one process's peak memory.
    if let Some(code) = harness::peak_rss_wrapper() {
        return code;
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: the benchmark harness failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Run `program --version`-style probes with the caller's environment.
fn probe(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn loadavg() -> String {
    read("/proc/loadavg").map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

fn machine() -> Vec<(String, String)> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpu = read("/proc/cpuinfo")
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = read("/proc/meminfo")
        .and_then(|m| {
            m.lines().find(|l| l.starts_with("MemTotal")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let os = read("/etc/os-release")
        .and_then(|o| o.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())))
        .unwrap_or_else(|| std::env::consts::OS.into());
    let kernel = read("/proc/sys/kernel/osrelease").map(|k| format!(", kernel {}", k.trim())).unwrap_or_default();
    vec![
        ("machine".into(), format!("{cores} cores ({cpu}), {mem} memory")),
        ("OS".into(), format!("{os}{kernel} ({})", std::env::consts::ARCH)),
        ("git".into(), probe("git", &["--version"])),
        ("rustc".into(), probe("rustc", &["--version"])),
    ]
}

/// The file system holding `path`, from /proc/mounts (longest mount point that is a prefix): a short title
/// (`tmpfs on /dev/shm`) and the description for the report (device, mount options, ext4's journal).
fn filesystem(path: &Path) -> (String, String) {
    let unknown = || ("an unknown file system".to_string(), "unknown".to_string());
    let Some(mounts) = read("/proc/mounts") else { return unknown() };
    let best = mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && path.starts_with(f[1]))
                .then(|| (f[0].to_string(), f[1].to_string(), f[2].to_string(), f[3].to_string()))
        })
        .max_by_key(|(_, mp, _, _)| mp.len());
    let Some((dev, mp, fs, opts)) = best else { return unknown() };
    let mut title = format!("{fs} on {mp}");
    let mut s = format!("{fs} ({dev} on {mp}, mounted {opts}; fixtures in {})", path.display());
    if fs == "ext4" {
        // jbd2 lists a journalled device as e.g. `vda-8`; none means ext4 runs without a journal.
        let name = Path::new(&dev).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let journal = std::fs::read_dir("/proc/fs/jbd2")
            .map(|rd| rd.flatten().any(|e| e.file_name().to_string_lossy().starts_with(&format!("{name}-"))))
            .unwrap_or(false);
        let what = if journal { "with a journal" } else { "without a journal" };
        s += &format!(", {what}");
        title += &format!(" ({what}{})", if opts.split(',').any(|o| o == "discard") { ", discard" } else { "" });
    }
    (title, s)
}

fn source_version(env: &Env, custom: bool) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let commit = env.out(Prog::Git, dir, &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|_| "unknown".into());
    let dirty = env
        .out(
            Prog::Git,
            dir,
            &[
                "status",
                "--porcelain",
                "--",
                "src",
                "bench",
                "Cargo.toml",
                "Cargo.lock",
                ":!bench/merge-frame-growth.svg",
            ],
        )
        .map(|s| !s.is_empty())
        .unwrap_or(false);
    let tree = if dirty { " plus uncommitted changes" } else { "" };
    if custom {
        // E.g. what install.sh built from this tree (`--bin <prefix>/bin/git-neighbor`): say both.
        return format!(
            "the binary given with --bin: {}; the source tree beside it is at commit {commit}{tree}",
            env.bin.display()
        );
    }
    let profile = if cfg!(debug_assertions) {
        "UNOPTIMISED build (debug assertions on): figures not meaningful"
    } else {
        "optimised build (bench profile: the release settings plus fat LTO and one codegen unit)"
    };
    format!("{} at commit {commit}{tree}, {profile}", env!("CARGO_PKG_VERSION"))
}

fn summary_line(r: &Row) -> String {
    let c = |c: &Cell| match c {
        Cell::Time(s, note) if s.n() > 0 => {
            format!("{}{}", fmt_ms(s.median()), note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())
        }
        Cell::Time(_, Some(n)) => n.clone(),
        Cell::Text(t) => t.clone(),
        Cell::Missing(m) => format!("not yet implemented: {m}"),
        _ => "—".into(),
    };
    let v = match r.verdict {
        Verdict::Met => "met",
        Verdict::Missed => "MISSED",
        Verdict::Pending => "pending",
        Verdict::Info => "",
    };
    format!(
        "  {:<58} neighbor {:<24} git {:<24} {:<14} {} {}",
        r.label,
        c(&r.nb),
        c(&r.raw),
        r.ratio.as_deref().unwrap_or(""),
        r.target,
        v
    )
}

/// The cargo target directory: this harness runs as `<target>/<profile>/deps/neighbor-…`. Outside the
/// tracked tree (ignored, or elsewhere with `CARGO_TARGET_DIR`).
fn target_dir() -> Res<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.ancestors().nth(3).ok_or("cannot find the target directory; pass --out and --tmp")?;
    Ok(dir.to_path_buf())
}

fn run(args: &Args) -> Res<usize> {
    let started = Instant::now();
    let load_start = loadavg();
    let bin = match &args.bin {
        Some(b) => std::fs::canonicalize(b).map_err(|e| format!("--bin {}: {e}", b.display()))?,
        None => PathBuf::from(env!("CARGO_BIN_EXE_git-neighbor")),
    };
    if !bin.is_file() {
        return harness::fail(format!("git-neighbor binary not found at {}", bin.display()));
    }
    let bases = if args.tmp.is_empty() { vec![target_dir()?.join("bench-fixtures")] } else { args.tmp.clone() };
    let mode = if args.quick { "quick" } else { "full" };
    let selected: Vec<&'static Case> =
        CASES.iter().filter(|c| args.only.as_ref().is_none_or(|ids| ids.iter().any(|i| i == c.id))).collect();
    let mut passes = Vec::new();
    let (mut growth, mut version) = (None, None);
    let mut broken = 0;
    for (i, base) in bases.iter().enumerate() {
        if bases.len() > 1 {
            eprintln!("== pass {} of {}: fixtures under {}", i + 1, bases.len(), base.display());
        }
        // A pass that cannot run (its directory unusable, its fixtures not made) is reported and the others
        // still run: a failure in the last of three passes must not throw away the first two.
        match one_pass(args, &bin, base, i + 1, &selected) {
            Ok((pass, g, b, v)) => {
                broken += b;
                growth.get_or_insert(g);
                version.get_or_insert(v);
                passes.push(pass);
            }
            Err(e) => {
                broken += 1;
                let e = format!("the pass with fixtures under {} failed: {e}", base.display());
                eprintln!("  HARNESS ERROR: {e}");
                passes.push(report::Pass {
                    title: format!("{} (failed)", base.display()),
                    facts: vec![("error".into(), e)],
                    rows: Vec::new(),
                });
            }
        }
    }
    if growth.is_none() {
        return harness::fail("no pass ran, so no report was written (see the errors above)");
    }

    let default_out = args.out.is_none() && !args.quick && args.only.is_none() && args.bin.is_none();
    let (md_path, svg_path, svg_link) = if default_out {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        (root.join("BENCHMARKS.md"), root.join("bench/merge-frame-growth.svg"), "bench/merge-frame-growth.svg")
    } else {
        let dir = match &args.out {
            Some(d) => d.clone(),
            None => target_dir()?.join("neighbor-bench"),
        };
        std::fs::create_dir_all(&dir)?;
        (dir.join("BENCHMARKS.md"), dir.join("merge-frame-growth.svg"), "merge-frame-growth.svg")
    };
    let mut facts = vec![(
        "date".to_string(),
        jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%SZ", jiff::Timestamp::now()).unwrap_or_default(),
    )];
    let given: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    facts.push((
        "command".into(),
        format!(
            "`cargo bench --bench neighbor{}`",
            if given.is_empty() { String::new() } else { format!(" -- {}", given.join(" ")) }
        ),
    ));
    facts.push(("mode".into(), format!("{mode}{}", if args.only.is_some() { " (selected cases only)" } else { "" })));
    facts.extend(machine());
    facts.push(("git-neighbor".into(), version.unwrap_or_else(|| "unknown".into())));
    facts.push(("load average (1, 5, 15 min)".into(), format!("{load_start} at start; {} at end", loadavg())));
    facts.push(("run time".into(), format!("{:.0} s", started.elapsed().as_secs_f64())));
    let growth = growth.unwrap_or_default();
    let svg_of = passes.first().map(|p: &report::Pass| p.title.clone()).unwrap_or_default();
    let meta = report::Meta { mode, facts, cases: selected, svg_link: svg_link.into(), svg_of };
    std::fs::write(&md_path, report::markdown(&meta, &passes, NOTES))?;
    std::fs::write(&svg_path, report::svg(&growth))?;
    println!("wrote {} and {}", md_path.display(), svg_path.display());
    for p in &passes {
        if passes.len() > 1 {
            println!("{}:", p.title);
        }
        for r in &p.rows {
            println!("{}", summary_line(r));
        }
    }
    Ok(broken)
}

/// The whole suite once (pass number `n`), with its fixtures made under `base` (and deleted at the end
/// unless `--keep`): the results, the `merge-frame` growth, how many cases the harness itself failed to
/// run, and the source's version.
fn one_pass(
    args: &Args,
    bin: &Path,
    base: &Path,
    n: usize,
    selected: &[&'static Case],
) -> Res<(report::Pass, Growth, usize, String)> {
    let started = Instant::now();
    let load_start = loadavg();
    // The pass number keeps a kept pass's fixtures from being replaced by the next pass's in the same base.
    let tmp = base.join(format!("git-neighbor-bench-{}-{n}", std::process::id()));
    harness::rm_rf(&tmp)?;
    let path = std::fs::create_dir_all(&tmp).and_then(|()| std::fs::canonicalize(&tmp)).map_err(|e| {
        format!("cannot make the fixture directory {}: {e}; give --tmp a writable directory", tmp.display())
    })?;
    let guard = TempRoot { path, keep: args.keep };
    let env = Env::new(guard.path.clone(), bin.to_path_buf())?;
    let (plan, sizes) = if args.quick {
        (
            Plan::quick(),
            fixture::Sizes { files: 2_000, state_files: 100, state_file_bytes: 11_000, history: 3, medium: 500 },
        )
    } else {
        (
            Plan::full(),
            fixture::Sizes { files: 20_000, state_files: 1_000, state_file_bytes: 11_000, history: 3, medium: 2_000 },
        )
    };
    eprintln!("generating fixtures ({} files) in {}", sizes.files, env.root.display());
    let fx = fixture::generate(&env, sizes)?;
    let fixture_desc = format!(
        "`big`, a clone of the bare `origin.git`: {} tracked files ({} source files in {} directories and \
         `state/` of {:.1} MB in {} JSON files), {} commits, packed; branches `tiny` (one file) and `medium` \
         (the first {} files); two more clones of `origin.git`; generated in {:.0} s",
        thousands(fx.tracked),
        thousands(sizes.files),
        sizes.files.div_ceil(100),
        fx.state_bytes as f64 / 1e6,
        thousands(fx.state_files),
        fx.commits,
        thousands(fx.medium_files),
        fx.setup_secs
    );
    let mut bench = Bench { env, fx, plan, growth: Growth::default(), add_stats: None, next_frame: 1 };
    let mut rows = Vec::new();
    let mut broken = 0;
    for case in selected {
        let missing = case.needs.iter().find(|w| !bench.env.has_command(w)).copied();
        eprintln!(
            "[{}]{}",
            case.id,
            missing.map(|m| format!(" git-neighbor side: not yet implemented: {m}")).unwrap_or_default()
        );
        let t = Instant::now();
        match (case.run)(&mut bench, missing) {
            Ok(rs) => {
                for r in &rs {
                    eprintln!("{}", summary_line(r));
                }
                rows.extend(rs);
            }
            Err(e) => {
                broken += 1;
                eprintln!("  HARNESS ERROR: {e}");
                rows.push(Row {
                    label: format!("{}: the harness failed", case.id),
                    nb_cmd: String::new(),
                    nb: Cell::Text(format!("error: {e}")),
                    raw_cmd: String::new(),
                    raw: Cell::Nothing,
                    ratio: None,
                    target: String::new(),
                    verdict: Verdict::Info,
                });
            }
        }
        eprintln!("  ({:.1} s)", t.elapsed().as_secs_f64());
    }
    let (title, fs) = filesystem(&bench.env.root);
    let facts = vec![
        ("fixture".to_string(), fixture_desc),
        ("fixture filesystem".into(), fs),
        ("load average (1, 5, 15 min)".into(), format!("{load_start} at start; {} at end", loadavg())),
        ("run time".into(), format!("{:.0} s", started.elapsed().as_secs_f64())),
    ];
    let growth = std::mem::take(&mut bench.growth);
    let version = source_version(&bench.env, args.bin.is_some());
    drop(bench);
    drop(guard);
    Ok((report::Pass { title, facts, rows }, growth, broken, version))
}
