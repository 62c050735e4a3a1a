//! The conflict forecast behind `conflicts`: for every pair of live tenants, and for every tenant against
//! the target, whether merging them would conflict and on which paths, uncommitted work included.
//!
//! A tenant's side is the tree of everything on disk in its worktree (tracked changes, staged or not, and
//! untracked files), built in a private copy of its index: its own index and files are never written. A
//! pair is merged for real, in memory (`merge-tree`), over the merge base of the two HEAD commits. The
//! answer depends on nothing but the three trees, so it is cached under `forecast.json` by (base tree,
//! tree, tree): a second run over unchanged tenants runs no merge at all. A pair where one side did not
//! change anything since the base (or both sides are the same tree) is clean without a merge.
//!
//! Tenants committing meanwhile are fine: each side is read once (HEAD, then the files), so a tenant is
//! seen as it was before or after a commit, never as an error. The worktree trees and the merges run on
//! worker threads; the repository handle (merge bases, commit trees) stays on the calling thread.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use super::lease::{self, Mode};
use super::registry::Phase;
use super::state_dir::{self, StateDir};
use super::{Ctx, Status, survey};
use crate::error::Error;
use crate::git::merge::{Conflict, conflicts_between};
use crate::git::{revs, snapshot};

/// git's empty tree: the base of two sides that share no history (as `--allow-unrelated-histories`).
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
/// At most this many merges are kept in the cache (the least recently used go first).
const CACHE_CAP: usize = 4096;

/// What to forecast.
#[derive(Debug, Default, Clone)]
pub struct Request {
    /// Only these tenants (pairs among them, and each against the target); empty: every live tenant.
    pub names: Vec<String>,
    /// The revision to forecast against instead of `state.target`.
    pub against: Option<String>,
}

/// The forecast: what `conflicts` shows (and prints with `--json`).
#[derive(Debug, Serialize)]
pub struct Forecast {
    /// What the tenants were merged with.
    pub target: Target,
    /// The tenants, as read.
    pub tenants: Vec<Side>,
    /// Tenants left out, and why (no commit checked out, worktree unreadable).
    pub skipped: Vec<Skipped>,
    /// Every pair: tenant × tenant (in the order of `tenants`), then each tenant × the target.
    pub pairs: Vec<Pair>,
    /// How many pairs would conflict.
    pub conflicting: usize,
    /// The tenants grouped, in their order, into batches that could land together: no two tenants of a
    /// batch conflict with each other (see [`batches`]).
    pub batches: Vec<Vec<String>>,
    /// Where the answers came from.
    pub cache: CacheStats,
}

/// The revision the tenants are merged with.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// As given (`--against`), else `state.target`.
    pub name: String,
    /// The full ref it names, if it names one.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// Its commit.
    pub commit: String,
    /// Its tree.
    pub tree: String,
}

/// One tenant as the forecast saw it.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// Tenant name.
    pub name: String,
    /// Its branch.
    pub branch: String,
    /// HEAD commit.
    pub head: String,
    /// The tree of its files on disk (uncommitted changes and untracked files included).
    pub tree: String,
    /// Whether that tree differs from HEAD's (something uncommitted).
    pub dirty: bool,
}

/// A tenant the forecast could not read.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Tenant name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// Where a pair's answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// No merge needed: one side changed nothing since the base, or both are the same tree.
    Trivial,
    /// The cache (a merge of the same three trees done before).
    Cache,
    /// A merge run now.
    Merge,
}

/// One pair's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    /// A tenant.
    pub a: String,
    /// Another tenant, or the target's name when `target`.
    pub b: String,
    /// `b` is the target.
    pub target: bool,
    /// The merge base of the two HEAD commits (`null`: no shared history; merged over the empty tree).
    pub base: Option<String>,
    /// Merging them would not conflict.
    pub clean: bool,
    /// The paths that would conflict, and how.
    pub conflicts: Vec<Conflict>,
    /// Where the answer came from.
    pub source: Source,
}

/// Where the answers came from, counted.
#[derive(Debug, Default, Clone, Serialize)]
pub struct CacheStats {
    /// Pairs answered from the cache.
    pub hits: usize,
    /// Pairs merged now (`merge-tree` calls).
    pub merged: usize,
    /// Pairs clean without a merge.
    pub trivial: usize,
    /// Worktrees whose files were read into a tree now (`add -A` in a private index): the others were
    /// clean (HEAD's tree) or unchanged since the last forecast (the tree built then).
    pub snapshots: usize,
}

/// The cache file: merges by key and dirty tenants' trees by fingerprint.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    #[serde(default)]
    merges: BTreeMap<String, Entry>,
    /// Per tenant: the fingerprint of its uncommitted state when last read, and the tree it gave.
    #[serde(default)]
    trees: BTreeMap<String, TreeEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TreeEntry {
    fingerprint: String,
    tree: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    conflicts: Vec<Conflict>,
    used_ms: u64,
}

/// The last full forecast (every live tenant against `state.target`), as `status` summarises it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Last {
    /// When it was made (RFC 3339).
    pub at: String,
    /// The same, in milliseconds since the epoch.
    pub at_ms: u64,
    /// The target's name.
    pub target: String,
    /// The conflicting pairs.
    pub conflicting: Vec<LastPair>,
}

/// A conflicting pair of the last forecast.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastPair {
    /// A tenant.
    pub a: String,
    /// Another tenant, or the target's name when `target`.
    pub b: String,
    /// `b` is the target.
    pub target: bool,
    /// Conflicting paths.
    pub paths: Vec<String>,
}

fn cache_path(state: &StateDir) -> PathBuf {
    state.root.join("forecast.json")
}

fn last_path(state: &StateDir) -> PathBuf {
    state.root.join("forecast-last.json")
}

fn read_cache(state: &StateDir) -> CacheFile {
    // A cache that cannot be read is an empty one: every answer in it can be computed again.
    std::fs::read(cache_path(state)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

/// The last full forecast, read from the cache file alone (no git, no merge), with pairs whose tenants
/// are gone dropped (`live`: the tenants that exist now).
pub fn last(state: &StateDir, live: &BTreeSet<String>) -> Option<Last> {
    // A file of its own, small whatever the size of the cache: `status` reads it every time.
    let bytes = std::fs::read(last_path(state)).ok()?;
    let mut last: Last = serde_json::from_slice(&bytes).ok()?;
    last.conflicting.retain(|p| live.contains(&p.a) && (p.target || live.contains(&p.b)));
    Some(last)
}

/// Forecast the merges of `req`'s tenants with each other and with the target.
pub fn forecast(ctx: &Ctx, req: &Request) -> Result<Forecast, Error> {
    let target = resolve_target(ctx, req.against.as_deref())?;
    let sides = live_tenants(ctx, &req.names)?;
    let mut skipped = Vec::new();
    // Each worktree's HEAD and files, on worker threads: one `status` says both; the files are HEAD's
    // tree when it lists nothing, the tree built last time when the fingerprint of what it lists is
    // unchanged, else a tree built now through a private index.
    let mut cache = read_cache(&ctx.state);
    let known = &cache.trees;
    let looks = parallel(&sides, |(name, _, path, git_dir)| {
        // A tenant that is being committed to may change under the look: look again, a few times.
        let mut last = None;
        for _ in 0..3 {
            let look = snapshot::look(path, git_dir).and_then(|l| {
                let head = l.head.ok_or_else(|| Error::new(format!("no commit checked out at {}", path.display())))?;
                match l.fingerprint {
                    None => Ok((head, None, None, false)),
                    Some(fp) => match known.get(name.as_str()).filter(|k| k.fingerprint == fp) {
                        Some(k) => Ok((head, Some(k.tree.clone()), Some(fp), false)),
                        None => Ok((head, Some(snapshot::worktree_tree(path, git_dir)?), Some(fp), true)),
                    },
                }
            });
            match look {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::new("no attempt made")))
    });
    let mut tenants = Vec::new();
    let mut commits = Vec::new();
    let mut stats = CacheStats::default();
    let mut seen_trees = BTreeMap::new();
    for ((name, branch, _, _), look) in sides.into_iter().zip(looks) {
        let (head, tree, fingerprint, built) = match look {
            Ok(l) => l,
            Err(e) => {
                skipped.push(Skipped { name, reason: format!("cannot read it: {}", e.message) });
                continue;
            }
        };
        let head_id = gix::ObjectId::from_hex(head.as_bytes()).ok();
        let Some((head_id, head_tree)) = head_id.and_then(|h| Some((h, revs::tree_of(&ctx.repo, h)?))) else {
            skipped.push(Skipped { name, reason: format!("cannot read its HEAD commit {head}") });
            continue;
        };
        stats.snapshots += usize::from(built);
        if let (Some(fingerprint), Some(tree)) = (fingerprint, tree.clone()) {
            seen_trees.insert(name.clone(), TreeEntry { fingerprint, tree });
        }
        let tree = tree.unwrap_or_else(|| head_tree.to_string());
        let dirty = gix::ObjectId::from_hex(tree.as_bytes()).ok() != Some(head_tree);
        tenants.push(Side { name, branch, head, tree, dirty });
        commits.push(head_id);
    }
    let target_commit = gix::ObjectId::from_hex(target.commit.as_bytes())
        .map_err(|e| Error::new(format!("bad target commit {}: {e}", target.commit)))?;

    // Every pair, its base and its key; trivial ones answered at once, the rest from the cache or merged.
    let mut pairs = Vec::new();
    let mut keys = Vec::new();
    let mut jobs: Vec<(String, String, String, String)> = Vec::new();
    let mut queued = BTreeSet::new();
    let mut bases: BTreeMap<(gix::ObjectId, gix::ObjectId), Option<(gix::ObjectId, String)>> = BTreeMap::new();
    let n = tenants.len();
    let mut plan = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            plan.push((i, Some(j)));
        }
    }
    plan.extend((0..n).map(|i| (i, None)));
    let now = state_dir::now_ms();
    for (i, j) in plan {
        let (b_commit, b_name, b_tree) = match j {
            Some(j) => (commits[j], tenants[j].name.clone(), tenants[j].tree.clone()),
            None => (target_commit, target.name.clone(), target.tree.clone()),
        };
        let a = &tenants[i];
        let key_commits = if commits[i] <= b_commit { (commits[i], b_commit) } else { (b_commit, commits[i]) };
        let base = bases
            .entry(key_commits)
            .or_insert_with(|| {
                let base = revs::merge_base_of(&ctx.repo, commits[i], b_commit)?;
                Some((base, revs::tree_of(&ctx.repo, base)?.to_string()))
            })
            .clone();
        let base_tree = base.as_ref().map(|(_, t)| t.clone()).unwrap_or_else(|| EMPTY_TREE.to_string());
        let mut pair = Pair {
            a: a.name.clone(),
            b: b_name,
            target: j.is_none(),
            base: base.map(|(c, _)| c.to_string()),
            clean: true,
            conflicts: Vec::new(),
            source: Source::Trivial,
        };
        let key = if a.tree == b_tree || a.tree == base_tree || b_tree == base_tree {
            stats.trivial += 1;
            None
        } else {
            let (lo, hi) = if a.tree <= b_tree { (&a.tree, &b_tree) } else { (&b_tree, &a.tree) };
            let key = format!("{base_tree} {lo} {hi}");
            if let Some(e) = cache.merges.get_mut(&key) {
                e.used_ms = now;
                pair.conflicts = e.conflicts.clone();
                pair.clean = pair.conflicts.is_empty();
                pair.source = Source::Cache;
                stats.hits += 1;
            } else if queued.insert(key.clone()) {
                jobs.push((key.clone(), base_tree, a.tree.clone(), b_tree));
            }
            Some(key)
        };
        pairs.push(pair);
        keys.push(key);
    }

    // The merges nobody did before, on worker threads.
    let common = ctx.repo.common_dir.clone();
    let results = parallel(&jobs, |(_, base, ours, theirs)| conflicts_between(&common, base, ours, theirs));
    let mut fresh = BTreeMap::new();
    for ((key, ..), res) in jobs.iter().zip(results) {
        fresh.insert(key.clone(), Entry { conflicts: res?, used_ms: now });
    }
    for (pair, key) in pairs.iter_mut().zip(&keys) {
        if let Some(e) = key.as_ref().and_then(|k| fresh.get(k))
            && pair.source == Source::Trivial
        {
            pair.conflicts = e.conflicts.clone();
            pair.clean = pair.conflicts.is_empty();
            pair.source = Source::Merge;
            stats.merged += 1;
        }
    }
    let conflicting = pairs.iter().filter(|p| !p.clean).count();
    let full = req.names.is_empty() && req.against.is_none();
    let last = full.then(|| Last {
        at: state_dir::rfc3339(now),
        at_ms: now,
        target: target.name.clone(),
        conflicting: pairs
            .iter()
            .filter(|p| !p.clean)
            .map(|p| LastPair {
                a: p.a.clone(),
                b: p.b.clone(),
                target: p.target,
                paths: p.conflicts.iter().map(|c| c.path.clone()).collect(),
            })
            .collect(),
    });
    let used: BTreeSet<String> = keys.into_iter().flatten().collect();
    if !fresh.is_empty() || last.is_some() || stats.hits > 0 || !seen_trees.is_empty() {
        let live: Option<BTreeSet<String>> = full.then(|| tenants.iter().map(|t| t.name.clone()).collect());
        save_cache(ctx, Fresh { merges: fresh, trees: seen_trees, live }, &used, now, last)?;
    }
    let mut f = Forecast { target, tenants, skipped, pairs, conflicting, batches: Vec::new(), cache: stats };
    f.batches = batches(&f, &f.tenants.iter().map(|t| t.name.clone()).collect::<Vec<_>>());
    Ok(f)
}

/// Write what this run learnt into the cache file: under `forecast.lock` (the one bounded wait), read it
/// again, add the new merges, mark the used ones, drop the least recently used beyond [`CACHE_CAP`], and
/// replace the file by write-to-temp-and-rename.
fn save_cache(ctx: &Ctx, fresh: Fresh, used: &BTreeSet<String>, now: u64, last: Option<Last>) -> Result<(), Error> {
    ctx.state.ensure()?;
    let lock = ctx.state.root.join("forecast.lock");
    let timed_out =
        || lease::timeout_error("forecast cache lock", &lock, ctx.lock_timeout, "held by another `conflicts`", "wait");
    lease::wait_for(&lock, Mode::Exclusive, ctx.lock_timeout, timed_out, |_| {
        let mut file = read_cache(&ctx.state);
        for k in used {
            if let Some(e) = file.merges.get_mut(k) {
                e.used_ms = now;
            }
        }
        file.merges.extend(fresh.merges);
        if let Some(live) = &fresh.live {
            file.trees.retain(|name, _| live.contains(name));
        }
        file.trees.extend(fresh.trees);
        if file.merges.len() > CACHE_CAP {
            let mut ages: Vec<(u64, String)> = file.merges.iter().map(|(k, e)| (e.used_ms, k.clone())).collect();
            ages.sort();
            let drop = ages.len() - CACHE_CAP;
            for (_, k) in ages.into_iter().take(drop) {
                file.merges.remove(&k);
            }
        }
        if let Some(last) = &last {
            let bytes = serde_json::to_vec(last).map_err(|e| Error::new(format!("cannot encode the forecast: {e}")))?;
            state_dir::atomic_write(&last_path(&ctx.state), &bytes)?;
        }
        let bytes = serde_json::to_vec(&file).map_err(|e| Error::new(format!("cannot encode the cache: {e}")))?;
        state_dir::atomic_write(&cache_path(&ctx.state), &bytes)
    })
}

/// What one forecast learnt: new merges, the trees of dirty tenants, and (after a forecast of every
/// tenant) which tenants exist, so the trees of tenants gone are forgotten.
struct Fresh {
    merges: BTreeMap<String, Entry>,
    trees: BTreeMap<String, TreeEntry>,
    live: Option<BTreeSet<String>>,
}

/// The revision to merge with: `--against`, else `state.target`.
fn resolve_target(ctx: &Ctx, against: Option<&str>) -> Result<Target, Error> {
    let (name, spec) = match against {
        Some(rev) => (rev.to_string(), rev.to_string()),
        None => (ctx.config.state.target.clone(), format!("refs/heads/{}", ctx.config.state.target)),
    };
    let (commit, reference) = ctx.repo.resolve(&spec).map_err(|_| match against {
        Some(rev) => Error::new(format!("cannot resolve --against revision '{rev}'"))
            .hint("pass an existing branch, tag or commit"),
        None => Error::new(format!("the target branch '{name}' (state.target) does not exist"))
            .hint("create it, set state.target in .neighbor.toml, or pass --against REV"),
    })?;
    let tree = revs::tree_of(&ctx.repo, commit)
        .ok_or_else(|| Error::new(format!("cannot read the tree of {commit} ('{name}')")))?;
    Ok(Target { name, reference, commit: commit.to_string(), tree: tree.to_string() })
}

/// `(name, branch, path, git_dir)` of the live tenants (ready, worktree present, not stale, not a free
/// pool slot), or of exactly the named ones, in that order; an unknown or dead name is an error.
fn live_tenants(ctx: &Ctx, names: &[String]) -> Result<Vec<(String, String, PathBuf, PathBuf)>, Error> {
    let rows = survey(ctx)?;
    let live = |r: &super::survey::Entry| {
        let t = r.tenant.as_ref()?;
        let free_slot = t.pool.as_ref().is_some_and(|p| p.claim.is_none());
        let ok = t.phase == Phase::Ready && r.exists && r.status != Status::Stale && !free_slot;
        Some((t.name.clone(), t.branch.clone(), t.path.clone(), r.git_dir.clone()?)).filter(|_| ok)
    };
    if names.is_empty() {
        return Ok(rows.iter().filter_map(live).collect());
    }
    let mut out: Vec<(String, String, PathBuf, PathBuf)> = Vec::new();
    for name in names {
        super::registry::validate_name(name)?;
        if out.iter().any(|(n, ..)| n == name) {
            continue;
        }
        let row = rows.iter().find(|r| r.name.as_deref() == Some(name.as_str()));
        match row.map(|r| (r, live(r))) {
            Some((_, Some(side))) => out.push(side),
            Some((r, None)) => {
                return Err(Error::new(format!(
                    "tenant '{name}' has no worktree to forecast ({})",
                    r.reason.as_deref().unwrap_or(r.status.as_str())
                ))
                .hint("`git neighbor list` shows the tenants and their status"));
            }
            None => {
                return Err(
                    Error::new(format!("no tenant named '{name}'")).hint("`git neighbor list` shows the tenants")
                );
            }
        }
    }
    Ok(out)
}

/// `f` over `items` on as many threads as cores (at most 8), answers in the order of `items`.
fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 8);
    if items.len() <= 1 || threads == 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..threads.min(items.len()) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(k) else { break };
                    let r = f(item);
                    out.lock().unwrap_or_else(|e| e.into_inner()).push((k, r));
                }
            });
        }
    });
    let mut out = out.into_inner().unwrap_or_else(|e| e.into_inner());
    out.sort_by_key(|(k, _)| *k);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Group `order`'s tenants into batches that can land together: no two tenants of a batch conflict
/// with each other by `f`'s forecast. Greedy in `order` (each tenant joins the first batch it conflicts
/// with no member of), so the first batch is as early in `order` as the forecast allows. A tenant that
/// conflicts with the target still gets a batch (its own landing fails, not its batch's). Names `f` did
/// not forecast count as conflicting with nothing.
pub fn batches(f: &Forecast, order: &[String]) -> Vec<Vec<String>> {
    let clash = |a: &str, b: &str| {
        f.pairs.iter().any(|p| !p.clean && !p.target && ((p.a == a && p.b == b) || (p.a == b && p.b == a)))
    };
    let mut out: Vec<Vec<String>> = Vec::new();
    for name in order {
        match out.iter_mut().find(|batch| batch.iter().all(|m| !clash(m, name))) {
            Some(batch) => batch.push(name.clone()),
            None => out.push(vec![name.clone()]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: &str, b: &str, clean: bool, target: bool) -> Pair {
        let conflicts = if clean { Vec::new() } else { vec![Conflict { path: "f".into(), kind: None }] };
        Pair { a: a.into(), b: b.into(), target, base: None, clean, conflicts, source: Source::Merge }
    }

    /// a×b and b×c conflict, c×main too: a and c land together, b after; d joins the first batch.
    #[test]
    fn batches_never_hold_a_conflicting_pair() {
        let f = Forecast {
            target: Target { name: "main".into(), reference: None, commit: String::new(), tree: String::new() },
            tenants: Vec::new(),
            skipped: Vec::new(),
            pairs: vec![
                pair("a", "b", false, false),
                pair("b", "c", false, false),
                pair("a", "c", true, false),
                pair("c", "main", false, true),
            ],
            conflicting: 3,
            batches: Vec::new(),
            cache: CacheStats::default(),
        };
        let order: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        assert_eq!(batches(&f, &order), vec![vec!["a", "c", "d"], vec!["b"]]);
        assert_eq!(batches(&f, &order[1..]), vec![vec!["b", "d"], vec!["c"]]);
    }
}
