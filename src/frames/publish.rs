//! Sharing the mailbox through a remote: `delta push` publishes waiting deltas with each frame's seal
//! moved by compare-and-swap in the same atomic push, `delta fetch` brings the remote's deltas and its
//! archive, and both drop local copies of deltas the remote's managers already merged.

use serde::Serialize;

use crate::building::Ctx;
use crate::error::Error;
use crate::frames::mailbox::{self, APPLIED, ARCHIVE, DELTAS};

/// The remote `delta push`/`fetch` talk to: the one given, else the current branch's, else `origin`.
pub fn remote_for(ctx: &Ctx, given: Option<&str>) -> String {
    if let Some(r) = given {
        return r.to_string();
    }
    let branch = ctx.repo.gix.head_name().ok().flatten().map(|n| n.shorten().to_string());
    let configured = branch.and_then(|b| {
        ctx.repo.gix.config_snapshot().string(format!("branch.{b}.remote").as_str()).map(|s| s.to_string())
    });
    configured.unwrap_or_else(|| "origin".into())
}

/// Fetch the remote's target (into its tracking ref) and its archive of applied deltas (and, with
/// `deltas`, its waiting deltas), then drop every local delta the remote's managers have merged: its
/// frame is merged there and the archive holds the same blob. Returns the dropped ones. Under the
/// fetch lock: the other writers of this clone fetch into the same refs.
pub fn fetch_and_tidy(ctx: &Ctx, remote: &str, deltas: bool) -> Result<Vec<mailbox::Slot>, Error> {
    mailbox::with_fetch_lock(&ctx.state, ctx.lock_timeout, || {
        let target = &ctx.config.state.target;
        let tracking = crate::git::remote::tracking_ref(&ctx.repo, remote, target);
        let mut specs = vec![
            format!("+refs/heads/{target}:{tracking}"),
            format!("{APPLIED}*:{APPLIED}*"),
            format!("{ARCHIVE}*:{ARCHIVE}*"),
        ];
        if deltas {
            specs.push(format!("{DELTAS}*:{DELTAS}*"));
        }
        crate::git::remote::fetch(&ctx.repo, remote, &specs)?;
        let applied = mailbox::list(&ctx.repo, APPLIED, None)?;
        let mut gone = Vec::new();
        for slot in mailbox::list(&ctx.repo, DELTAS, None)? {
            let archived =
                applied.iter().any(|a| a.frame == slot.frame && a.stream == slot.stream && a.blob == slot.blob);
            if archived && mailbox::frame_commit(&ctx.repo, &tracking, slot.frame)?.is_some() {
                gone.push(slot);
            }
        }
        drop_merged(ctx, &gone)?;
        Ok(gone)
    })
}

/// Delete these merged deltas from the mailbox, each by compare-and-swap on its blob. A slot that
/// another command of this clone deleted or replaced meanwhile (`delta drop`, `delta write --replace`, a
/// local merge) is its business: only a slot still holding the merged blob must go.
fn drop_merged(ctx: &Ctx, gone: &[mailbox::Slot]) -> Result<(), Error> {
    if gone.is_empty() {
        return Ok(());
    }
    let tx: String = gone.iter().map(|s| format!("delete {} {}\n", s.r#ref, s.blob)).collect();
    let Err(e) = crate::git::refs::transaction(&ctx.repo, None, &tx) else { return Ok(()) };
    let holds = |s: &&mailbox::Slot| mailbox::holds(&ctx.repo, &s.r#ref, &s.blob);
    let still: Vec<mailbox::Slot> = gone.iter().filter(holds).cloned().collect();
    if still.len() == gone.len() {
        return Err(e.into());
    }
    drop_merged(ctx, &still)
}

/// Push waiting deltas whose frame is not merged on the remote yet, with each frame's seal moved by
/// compare-and-swap in the same atomic push: if a manager merged the frame in between, the push is
/// refused and retried, and those deltas are then reported late (kept here, never orphaned there). A
/// delta replaced since it was pushed replaces the remote's copy by compare-and-swap too.
pub fn push(ctx: &Ctx, remote: &str) -> Result<PushReport, Error> {
    use crate::git::remote::{Push, PushOutcome, ls_remote, tracking_ref};
    let target = &ctx.config.state.target;
    let tracking = tracking_ref(&ctx.repo, remote, target);
    let spec = |s: &mailbox::Slot| format!("{}/{}", s.frame, s.stream);
    let mut merged = Vec::new();
    for _attempt in 0..PUSH_ATTEMPTS {
        // Seals first: a frame merged after this read changes its seal and refuses our push.
        let seals = mailbox::remote_seals(&ctx.repo, remote)?;
        merged.extend(fetch_and_tidy(ctx, remote, false)?.iter().map(spec));
        let there: std::collections::BTreeMap<String, String> =
            ls_remote(&ctx.repo, remote, &[&format!("{DELTAS}*")])?.into_iter().collect();
        let mut specs = Vec::new();
        let mut publishing = Vec::new();
        let mut leases: Vec<(String, String)> = Vec::new();
        let mut frame_merged = Vec::new();
        let mut frames: std::collections::BTreeMap<u64, String> = std::collections::BTreeMap::new();
        for slot in mailbox::list(&ctx.repo, DELTAS, None)? {
            let seal = format!("{}{}", mailbox::SEALS, slot.frame);
            let sealed = seals.get(&seal) == Some(&mailbox::merged_seal(&ctx.repo, slot.frame)?);
            // Fetched after the seals were read: a frame sealed then is held now, unless rewound.
            let held = mailbox::frame_commit(&ctx.repo, &tracking, slot.frame)?.is_some();
            if sealed && !held {
                return Err(mailbox::rewound_past(remote, target, slot.frame));
            }
            if sealed || held {
                frame_merged.push(slot);
                continue;
            }
            match there.get(&slot.r#ref) {
                Some(b) if *b == slot.blob => continue,
                Some(old) => leases.push((slot.r#ref.clone(), old.clone())),
                None => {}
            }
            specs.push(format!("{}:{}", slot.blob, slot.r#ref));
            publishing.push(format!("{}/{}", slot.frame, slot.stream));
            if let std::collections::btree_map::Entry::Vacant(e) = frames.entry(slot.frame) {
                e.insert(mailbox::seal_token(&ctx.repo, slot.frame)?);
            }
        }
        // A delta whose frame is merged there is late only if that merge did not take it: another
        // command of this clone (a manager, another writer's push) may have published it since this
        // push looked. The remote archives a frame's deltas in the push that merges it, so its archive,
        // read now, tells.
        let mut late = Vec::new();
        if !frame_merged.is_empty() {
            let archive = remote_archive(ctx, remote)?;
            let (taken, missed): (Vec<_>, Vec<_>) =
                frame_merged.into_iter().partition(|s| archive.contains(&(s.frame, s.stream.clone(), s.blob.clone())));
            drop_merged(ctx, &taken)?;
            merged.extend(taken.iter().map(spec));
            late = missed.iter().map(spec).collect();
        }
        if specs.is_empty() {
            return Ok(PushReport { pushed: Vec::new(), merged, late });
        }
        for (frame, token) in &frames {
            let seal = format!("{}{frame}", mailbox::SEALS);
            specs.push(format!("{token}:{seal}"));
            leases.push((seal.clone(), seals.get(&seal).cloned().unwrap_or_default()));
        }
        let mut p = Push::new(&ctx.repo, remote, specs.clone()).atomic();
        for (r, old) in &leases {
            p = p.lease(r, old);
        }
        match p.run()? {
            PushOutcome::Pushed => return Ok(PushReport { pushed: publishing, merged, late }),
            // A frame was merged, or another writer of the same frames pushed, in between: look again.
            PushOutcome::Rejected(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    Err(Error::new(format!("{remote} kept changing while pushing deltas; nothing of this attempt was published"))
        .hint("run `git neighbor delta push` again"))
}

/// Every delta the remote has archived, read now: (frame, stream, blob). Its frame archives are trees;
/// one this clone does not have yet is fetched (an archive never changes once its frame is merged).
fn remote_archive(ctx: &Ctx, remote: &str) -> Result<std::collections::BTreeSet<(u64, String, String)>, Error> {
    use crate::git::remote::ls_remote;
    let refs = ls_remote(&ctx.repo, remote, &[&format!("{APPLIED}*"), &format!("{ARCHIVE}*")])?;
    let missing: Vec<&(String, String)> = refs
        .iter()
        .filter(|(r, oid)| {
            r.starts_with(ARCHIVE)
                && gix::ObjectId::from_hex(oid.as_bytes()).is_ok_and(|id| !ctx.repo.gix.has_object(id))
        })
        .collect();
    if !missing.is_empty() {
        let specs: Vec<String> = missing.iter().map(|(r, _)| format!("+{r}:{r}")).collect();
        mailbox::with_fetch_lock(&ctx.state, ctx.lock_timeout, || {
            crate::git::remote::fetch(&ctx.repo, remote, &specs)
        })?;
    }
    let mut out = std::collections::BTreeSet::new();
    for (r, oid) in &refs {
        if let Some((f, s)) = r.strip_prefix(APPLIED).and_then(|rest| rest.split_once('/')) {
            if let Ok(frame) = f.parse::<u64>() {
                out.insert((frame, s.to_string(), oid.clone()));
            }
        } else if let Some(frame) = mailbox::archive_frame(r) {
            out.extend(
                mailbox::archive_entries(&ctx.repo, frame, r, oid).into_iter().map(|s| (s.frame, s.stream, s.blob)),
            );
        }
    }
    Ok(out)
}

/// How often `delta push` looks again when the remote moved under it.
const PUSH_ATTEMPTS: u32 = 8;

/// What `delta push` did.
#[derive(Debug, Serialize)]
pub struct PushReport {
    /// `<frame>/<stream>` of the deltas this push published (new there, or replacing an older copy).
    pub pushed: Vec<String>,
    /// Deltas the remote has already merged (whoever published them); their copies here are dropped.
    pub merged: Vec<String>,
    /// Deltas not published because their frame is already merged there without them.
    pub late: Vec<String>,
}
