//! `task sync [<remote>]`: share the plane through an ordinary git remote. A fetch of
//! `refs/neighbor/tasks/*` and a push of the tasks changed here, each ref guarded by
//! `--force-with-lease` on the value the remote had, so a change published from a stale read is refused
//! by the remote exactly as a local compare-and-swap is.
//!
//! Per task, three values decide: B, what the remote had at the last sync (kept under
//! `refs/neighbor/sync/<remote-key>/base/`), L here, R on the remote now. L = R: in step. Only R moved:
//! take it. Only L moved (or the task is new here): push it with the lease R. Both moved: the remote's
//! change was published first and wins; ours is replaced by it and reported as lost (so of two machines
//! that claimed one task, the second to sync learns who holds it). A push refused because the remote moved
//! meanwhile starts another round.

use serde::Serialize;

use crate::building::Ctx;
use crate::error::Error;
use crate::git::remote::{self, Push, PushOutcome};
use crate::git::{blob, refs};

use super::{Task, store};

/// Rounds of fetch + push before giving up on a remote that keeps moving.
const ROUNDS: usize = 16;

/// What a sync did.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Tasks taken from the remote.
    pub pulled: Vec<String>,
    /// Tasks published to the remote.
    pub pushed: Vec<String>,
    /// Tasks changed both here and on the remote since the last sync: the remote's version is kept, and
    /// here is what it says now.
    pub lost: Vec<Task>,
}

fn key(remote: &str) -> String {
    // FNV-1a of the remote as given: a stable ref component for a name, a URL or a path.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in remote.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Fetch the remote's tasks, take what moved there, push what moved here.
pub fn sync(ctx: &Ctx, remote_name: &str) -> Result<Report, Error> {
    if remote_name.is_empty() || remote_name.starts_with('-') {
        return Err(Error::usage(format!("'{remote_name}' is not a remote")));
    }
    let k = key(remote_name);
    let fetched_ns = format!("refs/neighbor/sync/{k}/fetched/");
    let base_ns = format!("refs/neighbor/sync/{k}/base/");
    let mut report = Report::default();
    for _ in 0..ROUNDS {
        // One sync of this clone at a time (the fetch lock, as `delta push` takes it): every sync fetches
        // into the same refs and moves the same base refs.
        let again = crate::frames::mailbox::with_fetch_lock(&ctx.state, ctx.lock_timeout, || {
            round(ctx, remote_name, &fetched_ns, &base_ns, &mut report)
        })?;
        if !again {
            report.pulled.sort();
            report.pulled.dedup();
            return Ok(report);
        }
    }
    Err(Error::new(format!("the tasks on '{remote_name}' kept moving; not every change was published"))
        .hint("run `git neighbor task sync` again"))
}

/// One fetch, decide, push; `true` when a push was refused because the remote moved (go again).
fn round(ctx: &Ctx, remote_name: &str, fetched_ns: &str, base_ns: &str, report: &mut Report) -> Result<bool, Error> {
    let repo = &ctx.repo;
    {
        // Fetch into a namespace of our own, pruned so that it is exactly the remote's set.
        remote::fetch_pruned(repo, remote_name, &format!("+{}*:{fetched_ns}*", store::PREFIX))?;
        let id_of = |ns: &str, v: Vec<(String, String)>| {
            v.into_iter()
                .filter_map(|(r, o)| r.strip_prefix(ns).map(|id| (id.to_string(), o)))
                .collect::<std::collections::BTreeMap<String, String>>()
        };
        let theirs = id_of(fetched_ns, refs::under(repo, fetched_ns)?);
        let base = id_of(base_ns, refs::under(repo, base_ns)?);
        let ours = id_of(store::PREFIX, refs::under(repo, store::PREFIX)?);
        let mut ids: Vec<&String> = theirs.keys().chain(ours.keys()).collect();
        ids.sort();
        ids.dedup();
        let mut set_base = String::new();
        let mut push = Vec::new();
        for id in ids {
            if super::validate_id(id).is_err() {
                continue;
            }
            let (l, r, b) = (ours.get(id), theirs.get(id), base.get(id));
            let local = store::ref_of(id);
            match (l, r) {
                (Some(l), Some(r)) if l == r => {
                    if b != Some(r) {
                        set_base.push_str(&format!("update {base_ns}{id} {r}\n"));
                    }
                }
                (None, Some(r)) => {
                    if refs::create_if_absent(repo, &local, r, &format!("neighbor: task sync {id}"))? == refs::Cas::Done
                    {
                        report.pulled.push(id.clone());
                        set_base.push_str(&format!("update {base_ns}{id} {r}\n"));
                    }
                }
                (Some(l), None) => push.push((id.clone(), l.clone(), None)),
                (Some(l), Some(r)) if b == Some(r) => push.push((id.clone(), l.clone(), Some(r.clone()))),
                (Some(l), Some(r)) => {
                    // The remote moved: take it. If ours moved too, ours is lost to the remote's.
                    let both = b != Some(l);
                    if refs::update_if(repo, &local, r, l, &format!("neighbor: task sync {id}"))? == refs::Cas::Done {
                        set_base.push_str(&format!("update {base_ns}{id} {r}\n"));
                        if both {
                            if let Some(blob::Found::Blob(bytes)) =
                                blob::read_many(repo, std::slice::from_ref(r))?.pop()
                                && let Ok(t) = serde_json::from_slice::<Task>(&bytes)
                            {
                                report.lost.push(t);
                            }
                        } else {
                            report.pulled.push(id.clone());
                        }
                    }
                }
                (None, None) => {}
            }
        }
        let mut again = false;
        if !push.is_empty() {
            let specs: Vec<String> = push.iter().map(|(id, l, _)| format!("{l}:{}", store::ref_of(id))).collect();
            let mut p = Push::new(repo, remote_name, specs);
            for (id, _, r) in &push {
                p = p.lease(&store::ref_of(id), r.as_deref().unwrap_or(""));
            }
            let refused = match p.run()? {
                PushOutcome::Pushed => Vec::new(),
                PushOutcome::Rejected(lines) => lines,
            };
            for (id, l, _) in &push {
                let full = store::ref_of(id);
                if refused.iter().any(|line| line.split('\t').nth(1).is_some_and(|s| s.ends_with(&format!(":{full}"))))
                {
                    again = true;
                } else {
                    report.pushed.push(id.clone());
                    set_base.push_str(&format!("update {base_ns}{id} {l}\n"));
                }
            }
        }
        if !set_base.is_empty() {
            refs::transaction(repo, Some("neighbor: task sync"), &set_base)?;
        }
        Ok(again)
    }
}
