//! `conflicts`: the forecast agrees with real merges (tenant × tenant and tenant × target, uncommitted work
//! included), never touches a tenant, answers a second run from its cache, and survives a tenant being
//! committed to while it runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::{TestRepo, write_in};
use crate::faults::Faults;

const SHARED: &str = "l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10\n";
const RENAMED: &str = "alpha\nbeta\ngamma\ndelta\nepsilon\nzeta\neta\ntheta\niota\nkappa\n";

/// A building whose tenants cover the kinds of change: disjoint edits, the same line edited twice, a
/// rename against an edit, add/add, modify/delete, and edits that are only staged, only on disk, or
/// untracked; and a target that moved since.
fn building() -> (TestRepo, Vec<(&'static str, PathBuf)>) {
    let t = TestRepo::new();
    t.write("shared.txt", SHARED);
    t.write("a.txt", "a1\na2\na3\n");
    t.write("b.txt", "b1\nb2\nb3\n");
    t.write("ren.txt", RENAMED);
    t.write("del.txt", "keep me\nor not\n");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "files"]);
    let mut tenants = Vec::new();
    for name in
        ["disj1", "disj2", "same1", "same2", "rename", "editren", "addadd1", "addadd2", "moddel", "delmod", "idle"]
    {
        tenants.push((name, t.add(name, &[])));
    }
    let dir = |n: &str| tenants.iter().find(|(m, _)| *m == n).map(|(_, p)| p.clone()).unwrap();
    let commit = |n: &str, msg: &str| t.git_in(&dir(n), &["commit", "-q", "-am", msg]);
    // Committed edits of different files.
    write_in(&dir("disj1"), "a.txt", "A1\na2\na3\n");
    commit("disj1", "a");
    write_in(&dir("disj2"), "b.txt", "B1\nb2\nb3\n");
    commit("disj2", "b");
    // The same line: committed in one, only on disk (unstaged) in the other.
    write_in(&dir("same1"), "shared.txt", &SHARED.replace("l5\n", "five\n"));
    commit("same1", "five");
    write_in(&dir("same2"), "shared.txt", &SHARED.replace("l5\n", "FIVE\n"));
    // A rename, committed; an edit of the same file, staged only.
    t.git_in(&dir("rename"), &["mv", "ren.txt", "moved.txt"]);
    commit("rename", "move");
    write_in(&dir("editren"), "ren.txt", &RENAMED.replace("beta\n", "BETA\n"));
    t.git_in(&dir("editren"), &["add", "ren.txt"]);
    // The same new file: untracked in one, committed in the other.
    write_in(&dir("addadd1"), "new.txt", "mine\n");
    write_in(&dir("addadd2"), "new.txt", "theirs\n");
    t.git_in(&dir("addadd2"), &["add", "new.txt"]);
    commit("addadd2", "new");
    // Deleted (committed) against edited (on disk).
    t.git_in(&dir("moddel"), &["rm", "-q", "del.txt"]);
    commit("moddel", "del");
    write_in(&dir("delmod"), "del.txt", "keep me\nand more\n");
    // The target moves: a disjoint line of shared.txt, and b.txt's first line again.
    t.write("shared.txt", &SHARED.replace("l9\n", "nine\n"));
    t.write("b.txt", "bee\nb2\nb3\n");
    t.git(&["commit", "-q", "-am", "target moves"]);
    (t, tenants)
}

/// The tenant's files as a commit of a scratch clone, made by copying them (not through git-neighbor):
/// its parent is the tenant's HEAD, its tree what is on disk (ignored files aside; the test has none).
fn reality_commit(t: &TestRepo, scratch: &Path, tenant: &Path) -> String {
    let head = t.git_in(tenant, &["rev-parse", "HEAD"]);
    t.git_in(scratch, &["checkout", "-q", "-f", "--detach", &head]);
    for e in std::fs::read_dir(scratch).unwrap() {
        let e = e.unwrap();
        if e.file_name() != ".git" {
            let p = e.path();
            if p.is_dir() { std::fs::remove_dir_all(p).unwrap() } else { std::fs::remove_file(p).unwrap() }
        }
    }
    copy_tree(tenant, scratch);
    t.git_in(scratch, &["add", "-A"]);
    t.git_in(scratch, &["commit", "-q", "--allow-empty", "-m", "as on disk"]);
    t.git_in(scratch, &["rev-parse", "HEAD"])
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() == ".git" {
            continue;
        }
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Merge `theirs` into `ours` for real (`git merge` in the scratch clone): `None` when clean, else the
/// unmerged paths.
fn real_merge(t: &TestRepo, scratch: &Path, ours: &str, theirs: &str) -> Option<BTreeSet<String>> {
    t.git_in(scratch, &["checkout", "-q", "-f", "--detach", ours]);
    let o = t.git_out(scratch, &["merge", "-q", "--no-edit", "--no-ff", theirs]);
    if o.code == 0 {
        return None;
    }
    assert_eq!(o.code, 1, "git merge failed otherwise: {}", o.stderr);
    let unmerged = t.git_in(scratch, &["diff", "--name-only", "--diff-filter=U"]);
    t.git_in(scratch, &["merge", "--abort"]);
    Some(unmerged.lines().map(str::to_string).collect())
}

/// Every tenant's index and HEAD, byte for byte, with the index's mtime: what the forecast must not change.
fn tenant_states(t: &TestRepo, tenants: &[(&str, PathBuf)]) -> Vec<(Vec<u8>, std::time::SystemTime, String)> {
    tenants
        .iter()
        .map(|(_, dir)| {
            let git_dir = PathBuf::from(t.git_in(dir, &["rev-parse", "--absolute-git-dir"]));
            let index = git_dir.join("index");
            let mtime = std::fs::metadata(&index).unwrap().modified().unwrap();
            (std::fs::read(&index).unwrap(), mtime, t.git_in(dir, &["rev-parse", "HEAD"]))
        })
        .collect()
}

type Verdicts = BTreeMap<(String, String), Option<BTreeSet<String>>>;

/// The forecast's verdict per pair: `None` clean, else the conflicting paths.
fn verdicts(json: &serde_json::Value) -> Verdicts {
    json["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let key = (p["a"].as_str().unwrap().to_string(), p["b"].as_str().unwrap().to_string());
            let paths: BTreeSet<String> =
                p["conflicts"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap().to_string()).collect();
            assert_eq!(p["clean"].as_bool().unwrap(), paths.is_empty(), "{p}");
            (key, if p["clean"].as_bool().unwrap() { None } else { Some(paths) })
        })
        .collect()
}

/// Every pair the forecast calls clean merges cleanly, every pair it calls conflicting conflicts on
/// exactly the paths it names, tenant × tenant and tenant × target; no tenant's index or HEAD changed.
#[test]
fn forecast_agrees_with_real_merges() {
    let (t, tenants) = building();
    let before = tenant_states(&t, &tenants);
    let out = t.neighbor(&["conflicts", "--json"]).ok();
    let json = out.json();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["target"]["name"], "main");
    assert_eq!(json["skipped"].as_array().unwrap().len(), 0, "{json}");
    let forecast = verdicts(&json);
    let n = tenants.len();
    assert_eq!(forecast.len(), n * (n - 1) / 2 + n, "every pair and every tenant against the target");
    assert_eq!(tenant_states(&t, &tenants), before, "the forecast wrote no tenant's index or HEAD");
    let dirty: BTreeMap<String, bool> = json["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["dirty"].as_bool().unwrap()))
        .collect();
    for name in ["same2", "editren", "addadd1", "delmod"] {
        assert!(dirty[name], "{name}'s uncommitted work is part of its side");
    }
    assert!(!dirty["idle"] && !dirty["disj1"]);

    let scratch = t.root.join("scratch");
    t.git(&["clone", "-q", "--shared", t.dir.to_str().unwrap(), scratch.to_str().unwrap()]);
    let reality: BTreeMap<&str, String> =
        tenants.iter().map(|(name, dir)| (*name, reality_commit(&t, &scratch, dir))).collect();
    let target = t.git(&["rev-parse", "main"]);
    let mut conflicting = 0;
    for ((a, b), verdict) in &forecast {
        let theirs = reality.get(b.as_str()).cloned().unwrap_or_else(|| target.clone());
        let real = real_merge(&t, &scratch, &reality[a.as_str()], &theirs);
        assert_eq!(verdict, &real, "{a} × {b}: forecast {verdict:?}, real merge {real:?}");
        conflicting += usize::from(real.is_some());
    }
    assert_eq!(json["conflicting"], conflicting);
    // The cases the building was made for, by name.
    let get = |a: &str, b: &str| {
        let (a, b) = (a.to_string(), b.to_string());
        forecast.get(&(a.clone(), b.clone())).or_else(|| forecast.get(&(b, a))).cloned().unwrap()
    };
    let set = |p: &str| Some(BTreeSet::from([p.to_string()]));
    assert_eq!(get("same1", "same2"), set("shared.txt"), "same line, committed against unstaged");
    assert_eq!(get("addadd1", "addadd2"), set("new.txt"), "add/add, untracked against committed");
    assert_eq!(get("moddel", "delmod"), set("del.txt"), "modify/delete");
    assert_eq!(get("disj2", "main"), set("b.txt"), "a tenant against the moved target");
    assert_eq!(get("rename", "editren"), None, "a rename against a staged edit merges");
    assert_eq!(get("disj1", "disj2"), None);
    assert_eq!(get("same1", "main"), None, "different lines of one file");
    let kinds: BTreeSet<String> = json["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["conflicts"].as_array().unwrap().iter().filter_map(|c| c["kind"].as_str().map(str::to_string)))
        .collect();
    assert!(kinds.contains("modify/delete") && kinds.contains("contents"), "{kinds:?}");

    // Batches that could land together hold no conflicting pair, and every tenant once.
    let batches: Vec<Vec<String>> = serde_json::from_value(json["batches"].clone()).unwrap();
    let mut all: Vec<&String> = batches.iter().flatten().collect();
    all.sort();
    assert_eq!(all.len(), n);
    all.dedup();
    assert_eq!(all.len(), n);
    for batch in &batches {
        for (i, a) in batch.iter().enumerate() {
            for b in &batch[i + 1..] {
                assert_eq!(get(a, b), None, "{a} and {b} conflict but share a batch: {batches:?}");
            }
        }
    }

    // The human form: the matrix and the list of conflicting pairs with their paths.
    let human = t.neighbor(&["conflicts", "--color", "never"]).ok().stdout;
    assert!(human.contains("same1 × same2: shared.txt (contents)"), "{human}");
    assert!(human.contains("delmod × moddel: del.txt (modify/delete)"), "{human}");
    assert!(human.contains("disj2 × main (target): b.txt"), "{human}");
}

/// A second run over unchanged tenants merges nothing (no `merge-tree` call at all); a tenant that
/// changes invalidates only its own pairs; `status` summarises the last forecast without merging.
#[test]
fn second_run_merges_nothing_and_a_change_remerges_only_its_pairs() {
    let (t, tenants) = building();
    let f = Faults::new(&t);
    let merge_calls = |f: &Faults| f.calls().iter().filter(|c| c.starts_with("merge-tree")).count();
    let first = f.run(&t, &t.dir, &["conflicts", "--json"], None);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let first = first.json();
    let merged = first["cache"]["merged"].as_u64().unwrap() as usize;
    assert!(merged > 0);
    assert_eq!(merge_calls(&f), merged, "one merge-tree per merged pair");
    assert_eq!(first["cache"]["snapshots"], 4, "the four dirty tenants' files read into trees");
    f.reset();

    let second = f.run(&t, &t.dir, &["conflicts", "--json"], None).ok().json();
    assert_eq!(merge_calls(&f), 0, "a warm run merges nothing: {:?}", f.calls());
    assert!(!f.calls().iter().any(|c| c.starts_with("add ")), "nor reads files into trees: {:?}", f.calls());
    assert_eq!(second["cache"]["merged"], 0);
    assert_eq!(second["cache"]["snapshots"], 0);
    assert_eq!(second["cache"]["hits"].as_u64().unwrap() as usize, merged);
    assert_eq!(verdicts(&second), verdicts(&first), "the cache answers what the merges answered");
    assert!(second["pairs"].as_array().unwrap().iter().all(|p| p["source"] != "merge"));
    f.reset();

    // One tenant changes (an uncommitted edit): only the pairs with it are merged again.
    let disj1 = &tenants.iter().find(|(n, _)| *n == "disj1").unwrap().1;
    write_in(disj1, "b.txt", "b1\nb2\nthree\n");
    let third = f.run(&t, &t.dir, &["conflicts", "--json"], None).ok().json();
    let remerged: Vec<&serde_json::Value> =
        third["pairs"].as_array().unwrap().iter().filter(|p| p["source"] == "merge").collect();
    assert!(!remerged.is_empty());
    assert!(remerged.iter().all(|p| p["a"] == "disj1" || p["b"] == "disj1"), "{remerged:?}");
    assert_eq!(merge_calls(&f), remerged.len());
    assert_eq!(third["cache"]["snapshots"], 1, "only the changed tenant's files are read again");
    assert!(third["pairs"].as_array().unwrap().iter().any(|p| p["source"] == "cache"));
    f.reset();

    // status: one line from the cache, no merge.
    let st = f.run(&t, &t.dir, &["status"], None).ok().stdout;
    assert_eq!(merge_calls(&f), 0);
    let line = st.lines().find(|l| l.starts_with("conflicts: ")).unwrap_or_else(|| panic!("{st}"));
    assert!(line.contains("same1×same2") && line.contains("pairs"), "{line}");
    let js = t.neighbor(&["status", "--json"]).ok().json();
    let listed = js["conflicts"]["conflicting"].as_array().unwrap();
    assert_eq!(listed.len(), third["conflicting"].as_u64().unwrap() as usize);

    // --exit-code: 5 when some pair would conflict; a forecast of clean pairs only is 0.
    assert_eq!(t.neighbor(&["conflicts", "--exit-code"]).code, 5);
    assert_eq!(t.neighbor(&["conflicts", "--exit-code", "disj1", "rename"]).code, 0);
}

/// The racy case through the whole command: a same-size edit with the stat data of its index entry, in
/// a tenant whose index is as new as the entry, is part of the tenant's side.
#[test]
fn an_edit_only_the_racy_check_sees_is_forecast() {
    let t = TestRepo::new();
    t.git(&["config", "core.checkStat", "minimal"]);
    t.git(&["config", "core.trustctime", "false"]);
    let a = t.add("a", &[]);
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_577_836_800);
    let touch = |p: &Path| std::fs::File::options().write(true).open(p).unwrap().set_modified(old).unwrap();
    write_in(&a, "notes.txt", "first\n");
    touch(&a.join("notes.txt"));
    t.git_in(&a, &["add", "notes.txt"]);
    t.git_in(&a, &["commit", "-q", "-m", "notes"]);
    std::fs::write(a.join("notes.txt"), "SECOND").unwrap();
    touch(&a.join("notes.txt"));
    touch(&PathBuf::from(t.git_in(&a, &["rev-parse", "--absolute-git-dir"])).join("index"));
    let json = t.neighbor(&["conflicts", "--json", "a"]).ok().json();
    assert_eq!(json["tenants"][0]["dirty"], true, "{json}");
}

/// An unknown tenant, a dead one, a bad name and a bad --against: one-line errors with their exit codes.
#[test]
fn bad_names_and_revisions_are_one_line_errors() {
    let t = TestRepo::new();
    t.add("a", &[]);
    let one_error = |o: &crate::common::Out| {
        assert_eq!(o.stderr.lines().filter(|l| l.starts_with("error:")).count(), 1, "{}", o.stderr);
        assert!(o.stdout.is_empty(), "{}", o.stdout);
    };
    let o = t.neighbor(&["conflicts", "a", "nosuch"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("no tenant named 'nosuch'"), "{}", o.stderr);
    one_error(&o);
    let o = t.neighbor(&["conflicts", "--against", "no-such-rev"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("cannot resolve --against revision 'no-such-rev'"), "{}", o.stderr);
    one_error(&o);
    let o = t.neighbor(&["conflicts", "../a"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    one_error(&o);
    let gone = t.add("gone", &[]);
    std::fs::remove_dir_all(&gone).unwrap();
    let o = t.neighbor(&["conflicts", "gone"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("tenant 'gone' has no worktree to forecast"), "{}", o.stderr);
    one_error(&o);
    // Without names the dead tenant is simply not live; --against a tag works.
    t.git(&["tag", "v1"]);
    let json = t.neighbor(&["conflicts", "--json", "--against", "v1"]).ok().json();
    assert_eq!(json["target"]["name"], "v1");
    assert_eq!(json["tenants"].as_array().unwrap().len(), 1);
}

/// An agent commits in a tenant over and over while forecasts run: every forecast succeeds and sees
/// the tenant either before or after some commit, and every commit of the agent succeeds.
#[test]
fn forecast_while_an_agent_commits() {
    let t = TestRepo::new();
    let busy = t.add("busy", &[]);
    let other = t.add("other", &[]);
    write_in(&other, "README.md", "other\n");
    write_in(&busy, "README.md", "agent\n");
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let agent = s.spawn(|| {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || n < 5 {
                write_in(&busy, "README.md", &format!("agent {n}\n"));
                write_in(&busy, &format!("files/f{n}.txt"), "x\n");
                t.git_in(&busy, &["add", "-A"]);
                t.git_in(&busy, &["commit", "-q", "-m", &format!("step {n}")]);
                n += 1;
            }
            n
        });
        // Stops the agent however this thread ends (a failed assertion must not leave it running).
        struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let guard = Stop(&stop);
        for _ in 0..8 {
            let o = t.neighbor(&["conflicts", "--json"]);
            assert_eq!(o.code, 0, "{}", o.stderr);
            let json = o.json();
            assert_eq!(json["skipped"].as_array().unwrap().len(), 0, "{json}");
            assert_eq!(json["tenants"].as_array().unwrap().len(), 2);
            // busy and other both edit README.md: a conflict whichever state of busy was seen.
            let pair = &json["pairs"][0];
            assert_eq!((pair["a"].as_str(), pair["b"].as_str()), (Some("busy"), Some("other")));
            assert_eq!(pair["clean"], false, "{pair}");
            // A state the tenant was in: README.md was never "hello" again once the test began.
            let side = &json["tenants"][0];
            let readme = t.git(&["cat-file", "-p", &format!("{}:README.md", side["tree"].as_str().unwrap())]);
            assert_ne!(readme, "hello", "{side}");
        }
        drop(guard);
        let commits = agent.join().unwrap();
        assert!(commits >= 5);
    });
    let log = t.git_in(&busy, &["rev-list", "--count", "HEAD"]);
    assert!(log.parse::<u32>().unwrap() >= 6);
    assert_eq!(t.git_in(&busy, &["status", "--porcelain"]), "", "the agent's index and files are its own");
}
