//! Fixtures, generated fresh in a temp dir on every run (deterministic content, no network):
//!
//! * `seed/`, then `origin.git` (bare, packed) and `big/` (the building, a clone of `origin.git`).
//!   `--quick` shrinks them; the full run has 20,000 source files in 200 directories plus a canonical
//!   `state/` of about 10 MB of JSON (1,000 files of ~10 KB), a history of a few commits, and an orphan
//!   one-file branch `tiny` (a cheap base for the tenants of `list` and `prune`, whose cost does not
//!   depend on how many files a tenant has checked out).
//! * `clone/` and `pusher/`: two more clones of `origin.git`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::harness::{Env, Prog, Res, Rng, ps};

/// How big to make things.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Source files (besides `state/`).
    pub files: usize,
    /// JSON files in `state/agents/`.
    pub state_files: usize,
    /// Approximate size of each state file in bytes.
    pub state_file_bytes: usize,
    /// Commits after the first one.
    pub history: usize,
    /// Files on the `medium` branch (the first source files), the base of the parallel adds.
    pub medium: usize,
}

/// The generated fixtures.
pub struct Fixture {
    /// Main worktree of the building.
    pub big: PathBuf,
    /// Bare remote.
    pub origin: PathBuf,
    /// A clone of the remote (safe-pull runs here).
    pub clone: PathBuf,
    /// Another clone that pushes upstream commits.
    pub pusher: PathBuf,
    /// Where git-neighbor puts tenants by default (`../{repo}.worktrees`).
    pub tenants_root: PathBuf,
    /// Files on the `medium` branch.
    pub medium_files: usize,
    /// Tracked files in `big`.
    pub tracked: usize,
    /// State files.
    pub state_files: usize,
    /// Bytes of JSON in `state/`.
    pub state_bytes: u64,
    /// Commits on `main`.
    pub commits: usize,
    /// Seconds spent generating.
    pub setup_secs: f64,
}

/// The relative path of source file `i`.
pub fn src_path(i: usize) -> String {
    let dir = i / 100;
    format!("src/m{:02}/d{:02}/f{:03}.txt", dir / 10, dir % 10, i % 100)
}

/// The relative path (inside `state/`) of state file `j`.
pub fn state_rel(j: usize) -> String {
    format!("agents/agent-{j:04}.json")
}

fn text_file(rng: &mut Rng, i: usize) -> String {
    let lines = 4 + rng.below(50) as usize;
    let mut s = format!("// file {i}\n");
    for k in 0..lines {
        s += &format!("line {k}: {:016x} {:016x} {:08x}\n", rng.next(), rng.next(), rng.below(1 << 32));
    }
    s
}

fn state_file(rng: &mut Rng, j: usize, bytes: usize) -> Res<String> {
    let mut history = Vec::new();
    let mut doc = serde_json::json!({
        "id": format!("agent-{j:04}"),
        "counter": 0,
        "last_stream": null,
        "frame": 0,
        "history": [],
    });
    // About 110 bytes per pretty-printed entry.
    for seq in 0..(bytes / 110).max(1) {
        history.push(serde_json::json!({
            "seq": seq,
            "note": format!("{:016x}{:016x}", rng.next(), rng.next()),
            "score": rng.below(1000),
        }));
    }
    doc["history"] = serde_json::Value::Array(history);
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}

fn write(root: &Path, rel: &str, text: &str) -> Res<()> {
    let p = root.join(rel);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(p, text)?;
    Ok(())
}

/// Generate everything under `env.root`.
///
/// The files are written and committed in `seed/`; `origin.git` is a `--no-local` bare clone of it (so
/// its objects are packed, as after a `git gc`) and the building `big/` is a clone of that. Nothing is
/// deleted while generating: on some filesystems mass deletion slows file creation for a while after.
pub fn generate(env: &Env, sizes: Sizes) -> Res<Fixture> {
    let start = Instant::now();
    let root = &env.root;
    let seed = root.join("seed");
    std::fs::create_dir_all(&seed)?;
    env.out(Prog::Git, &seed, &["init", "-q", "-b", "main"])?;
    let mut rng = Rng::new(0x5eed);
    write(&seed, "README.md", "A benchmark fixture for git-neighbor.\n")?;
    for i in 0..sizes.files {
        write(&seed, &src_path(i), &text_file(&mut rng, i))?;
    }
    let mut state_bytes = 0;
    for j in 0..sizes.state_files {
        let text = state_file(&mut rng, j, sizes.state_file_bytes)?;
        state_bytes += text.len() as u64;
        write(&seed.join("state"), &state_rel(j), &text)?;
    }
    env.out(Prog::Git, &seed, &["add", "-A"])?;
    env.out(Prog::Git, &seed, &["commit", "-q", "-m", "initial"])?;
    // A little history: each later commit edits 1% of the files.
    for c in 0..sizes.history {
        for _ in 0..(sizes.files / 100).max(1) {
            let i = rng.below(sizes.files as u64) as usize;
            write(&seed, &src_path(i), &text_file(&mut rng, i))?;
        }
        env.out(Prog::Git, &seed, &["commit", "-q", "-a", "-m", &format!("change {}", c + 1)])?;
    }
    // The orphan one-file branch `tiny`, made with plumbing so the worktree is untouched.
    let blob = env.out_input(Prog::Git, &seed, &["hash-object", "-w", "--stdin"], b"tiny\n")?;
    let tree = env.out_input(Prog::Git, &seed, &["mktree"], format!("100644 blob {blob}\tREADME.md\n").as_bytes())?;
    let commit = env.out(Prog::Git, &seed, &["commit-tree", &tree, "-m", "tiny"])?;
    env.out(Prog::Git, &seed, &["update-ref", "refs/heads/tiny", &commit])?;
    // `medium`: the first source files only, through a temporary index.
    let listing = env.out(Prog::Git, &seed, &["ls-tree", "-r", "main", "--", "src"])?;
    let entries: Vec<&str> = listing.lines().take(sizes.medium).collect();
    let index = root.join("medium.index");
    let vars = [("GIT_INDEX_FILE", index.as_path())];
    env.out_with(Prog::Git, &seed, &["update-index", "--index-info"], Some(entries.join("\n").as_bytes()), &vars)?;
    let tree = env.out_with(Prog::Git, &seed, &["write-tree"], None, &vars)?;
    let commit = env.out(Prog::Git, &seed, &["commit-tree", &tree, "-m", "medium"])?;
    env.out(Prog::Git, &seed, &["update-ref", "refs/heads/medium", &commit])?;

    let origin = root.join("origin.git");
    env.out(Prog::Git, root, &["clone", "-q", "--bare", "--no-local", ps(&seed), ps(&origin)])?;
    let big = root.join("big");
    env.out(Prog::Git, root, &["clone", "-q", ps(&origin), ps(&big)])?;
    env.out(Prog::Git, &big, &["branch", "-q", "--no-track", "tiny", "origin/tiny"])?;
    let clone = root.join("clone");
    env.out(Prog::Git, root, &["clone", "-q", ps(&origin), ps(&clone)])?;
    let pusher = root.join("pusher");
    env.out(Prog::Git, root, &["clone", "-q", ps(&origin), ps(&pusher)])?;
    Ok(Fixture {
        tenants_root: root.join("big.worktrees"),
        big,
        origin,
        clone,
        pusher,
        medium_files: sizes.medium.min(sizes.files),
        tracked: sizes.files + sizes.state_files + 1,
        state_files: sizes.state_files,
        state_bytes,
        commits: 1 + sizes.history,
        setup_secs: start.elapsed().as_secs_f64(),
    })
}
