//! `delta write|list|show|drop|push|fetch`: the mailbox of deltas for the frame merge.

mod write;

use serde::Serialize;

use crate::building::Ctx;
use crate::error::Error;
use crate::frames::mailbox::{self, APPLIED, DELTAS, QUARANTINE};
use crate::ui::{self, Ui};

pub use write::WriteArgs;

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Read a delta (stdin or --file), validate it and store it in the mailbox.
    Write(WriteArgs),
    /// List deltas waiting in the mailbox (or archived ones).
    List(ListArgs),
    /// Print one stored delta (its envelope) as JSON.
    Show {
        /// <frame>/<stream>
        spec: String,
    },
    /// Delete a waiting delta.
    Drop {
        /// <frame>/<stream>
        spec: String,
    },
    /// Publish waiting deltas to a remote (frames not yet merged there).
    Push(RemoteArgs),
    /// Fetch waiting deltas from a remote.
    Fetch(RemoteArgs),
}

#[derive(Debug, Default, clap::Args)]
pub struct ListArgs {
    /// Only this frame.
    #[arg(long, value_name = "N", value_parser = parse_frame)]
    pub frame: Option<u64>,
    /// List archived (applied) deltas instead.
    #[arg(long, conflicts_with = "quarantined")]
    pub applied: bool,
    /// List quarantined deltas instead.
    #[arg(long)]
    pub quarantined: bool,
}

#[derive(Debug, clap::Args)]
pub struct RemoteArgs {
    /// Remote name or URL (default: the current branch's remote, else origin).
    pub remote: Option<String>,
}

pub(crate) fn parse_frame(s: &str) -> Result<u64, String> {
    mailbox::parse_frame(s).map_err(|e| e.message)
}

#[derive(Serialize)]
struct Row {
    frame: u64,
    stream: String,
    r#ref: String,
    blob: String,
    status: Option<mailbox::Kind>,
    written_at: Option<String>,
    writer: Option<mailbox::Writer>,
    ops: Option<usize>,
    error: Option<String>,
    /// Why merge-frame quarantined it (`--quarantined`).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

pub fn run(ctx: &Ctx, ui: &Ui, cmd: &Cmd) -> Result<u8, Error> {
    match cmd {
        Cmd::Write(a) => write::run(ctx, ui, a),
        Cmd::List(a) => {
            let ns = if a.applied {
                APPLIED
            } else if a.quarantined {
                QUARANTINE
            } else {
                DELTAS
            };
            // Why each quarantined delta is there: the reason merge-frame logged when it moved it.
            let reasons: Vec<crate::building::events::Event> = if ns == QUARANTINE {
                crate::building::events::read_all(&ctx.state)?.into_iter().filter(|e| e.event == "quarantine").collect()
            } else {
                Vec::new()
            };
            let reason_of = |s: &mailbox::Slot| -> Option<String> {
                reasons
                    .iter()
                    .rev()
                    .find(|e| {
                        e.extra.get("frame").and_then(|v| v.as_u64()) == Some(s.frame)
                            && e.extra.get("stream").and_then(|v| v.as_str()) == Some(s.stream.as_str())
                            && e.extra.get("blob").and_then(|v| v.as_str()) == Some(s.blob.as_str())
                    })
                    .and_then(|e| e.extra.get("reason").and_then(|v| v.as_str()).map(String::from))
            };
            let rows: Vec<Row> = mailbox::list(&ctx.repo, ns, a.frame)?
                .into_iter()
                .map(|s| {
                    let reason = reason_of(&s);
                    let env = mailbox::read(&ctx.repo, &s);
                    let (env, error) = match env {
                        Ok(e) => (Some(e), None),
                        Err(why) => (None, Some(why)),
                    };
                    Row {
                        frame: s.frame,
                        stream: s.stream,
                        r#ref: s.r#ref,
                        blob: s.blob,
                        status: env.as_ref().map(|e| e.status),
                        written_at: env.as_ref().map(|e| e.written_at.clone()),
                        ops: env.as_ref().map(|e| e.delta.get("ops").and_then(|o| o.as_array()).map_or(0, Vec::len)),
                        writer: env.map(|e| e.writer),
                        error,
                        reason,
                    }
                })
                .collect();
            if ui.json {
                ui.json_out(&rows)?;
            } else if rows.is_empty() {
                ui.status("no deltas");
            } else {
                let mut t = vec![vec![
                    "FRAME".to_string(),
                    "STREAM".into(),
                    "STATUS".into(),
                    "OPS".into(),
                    "WRITTEN".into(),
                    "WRITER".into(),
                ]];
                if a.quarantined {
                    t[0].push("REASON".into());
                }
                for r in rows {
                    let reason = r.reason.clone();
                    t.push(vec![
                        r.frame.to_string(),
                        r.stream,
                        r.status
                            .map(|s| format!("{s:?}").to_lowercase())
                            .unwrap_or_else(|| format!("invalid: {}", r.error.unwrap_or_default())),
                        r.ops.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
                        r.written_at.unwrap_or_else(|| "-".into()),
                        r.writer
                            .map(|w| format!("{}@{} pid {}", w.tenant.unwrap_or_else(|| "-".into()), w.host, w.pid))
                            .unwrap_or_else(|| "-".into()),
                    ]);
                    if a.quarantined
                        && let Some(row) = t.last_mut()
                    {
                        row.push(reason.unwrap_or_else(|| "-".into()));
                    }
                }
                ui.data(&ui::table(&t))?;
            }
            Ok(0)
        }
        Cmd::Show { spec } => {
            let (frame, stream) = mailbox::parse_spec(spec)?;
            for ns in [DELTAS, APPLIED, QUARANTINE] {
                if let Some(slot) = mailbox::list(&ctx.repo, ns, Some(frame))?.into_iter().find(|s| s.stream == stream)
                {
                    let bytes = mailbox::read_blob(&ctx.repo, &slot.blob)?;
                    let v: serde_json::Value = serde_json::from_slice(&bytes)
                        .map_err(|e| Error::new(format!("{} is not JSON: {e}", slot.r#ref)))?;
                    ui.json_out(&v)?;
                    return Ok(0);
                }
            }
            Err(Error::new(format!("no delta {frame}/{stream}")).hint("`git neighbor delta list` shows the mailbox"))
        }
        Cmd::Drop { spec } => {
            let (frame, stream) = mailbox::parse_spec(spec)?;
            let slot = mailbox::list(&ctx.repo, DELTAS, Some(frame))?
                .into_iter()
                .find(|s| s.stream == stream)
                .ok_or_else(|| Error::new(format!("no waiting delta {frame}/{stream}")))?;
            crate::git::refs::delete_cas(&ctx.repo, &slot.r#ref, &slot.blob, "git-neighbor delta drop")?;
            ui.status(format!("dropped delta {frame}/{stream}"));
            Ok(0)
        }
        Cmd::Push(a) => push(ctx, ui, &remote_of(ctx, a)?),
        Cmd::Fetch(a) => {
            let remote = remote_of(ctx, a)?;
            let tidied = sync_with(ctx, &remote, true)?.len();
            let n = mailbox::list(&ctx.repo, DELTAS, None)?.len();
            let gone = if tidied > 0 { format!(" ({tidied} merged there left the mailbox)") } else { String::new() };
            ui.status(format!("fetched deltas from {remote}; {n} waiting{gone}"));
            Ok(0)
        }
    }
}

/// Fetch the remote's target (into its tracking ref) and its archive of applied deltas (and, with
/// `deltas`, its waiting deltas), then drop every local delta the remote's managers have merged: its
/// frame is merged there and the archive holds the same blob. Returns the dropped ones. Under the
/// fetch lock: the other writers of this clone fetch into the same refs.
fn sync_with(ctx: &Ctx, remote: &str, deltas: bool) -> Result<Vec<mailbox::Slot>, Error> {
    mailbox::with_fetch_lock(&ctx.state, ctx.lock_timeout, || {
        let target = &ctx.config.state.target;
        let tracking = crate::git::remote::tracking_ref(&ctx.repo, remote, target);
        let mut specs = vec![format!("+refs/heads/{target}:{tracking}"), format!("{APPLIED}*:{APPLIED}*")];
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

fn remote_of(ctx: &Ctx, a: &RemoteArgs) -> Result<String, Error> {
    if let Some(r) = &a.remote {
        return Ok(r.clone());
    }
    let branch = ctx.repo.gix.head_name().ok().flatten().map(|n| n.shorten().to_string());
    let configured = branch.and_then(|b| {
        ctx.repo.gix.config_snapshot().string(format!("branch.{b}.remote").as_str()).map(|s| s.to_string())
    });
    Ok(configured.unwrap_or_else(|| "origin".into()))
}

/// Push waiting deltas whose frame is not merged on the remote yet, with each frame's seal moved by
/// compare-and-swap in the same atomic push: if a manager merged the frame in between, the push is
/// refused and retried, and those deltas are then reported late (kept here, never orphaned there). A
/// delta replaced since it was pushed replaces the remote's copy by compare-and-swap too.
fn push(ctx: &Ctx, ui: &Ui, remote: &str) -> Result<u8, Error> {
    use crate::git::remote::{Push, PushOutcome, ls_remote, tracking_ref};
    let target = &ctx.config.state.target;
    let tracking = tracking_ref(&ctx.repo, remote, target);
    let spec = |s: &mailbox::Slot| format!("{}/{}", s.frame, s.stream);
    let mut merged = Vec::new();
    for _attempt in 0..PUSH_ATTEMPTS {
        // Seals first: a frame merged after this read changes its seal and refuses our push.
        let seals = mailbox::remote_seals(&ctx.repo, remote)?;
        merged.extend(sync_with(ctx, remote, false)?.iter().map(spec));
        let there: std::collections::BTreeMap<String, String> =
            ls_remote(&ctx.repo, remote, &[&format!("{DELTAS}*")])?.into_iter().collect();
        let mut specs = Vec::new();
        let mut publishing = Vec::new();
        let mut leases: Vec<(String, String)> = Vec::new();
        let mut frame_merged = Vec::new();
        let mut frames: std::collections::BTreeMap<u64, String> = std::collections::BTreeMap::new();
        for slot in mailbox::list(&ctx.repo, DELTAS, None)? {
            let seal = format!("{}{}", mailbox::SEALS, slot.frame);
            let merged_seal = mailbox::merged_seal(&ctx.repo, slot.frame)?;
            if seals.get(&seal) == Some(&merged_seal)
                || mailbox::frame_commit(&ctx.repo, &tracking, slot.frame)?.is_some()
            {
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
            let archive: std::collections::BTreeMap<String, String> =
                ls_remote(&ctx.repo, remote, &[&format!("{APPLIED}*")])?.into_iter().collect();
            let (taken, missed): (Vec<_>, Vec<_>) = frame_merged
                .into_iter()
                .partition(|s| archive.get(&format!("{APPLIED}{}/{}", s.frame, s.stream)) == Some(&s.blob));
            drop_merged(ctx, &taken)?;
            merged.extend(taken.iter().map(spec));
            late = missed.iter().map(spec).collect();
        }
        if specs.is_empty() {
            return pushed(ui, remote, Report { pushed: Vec::new(), merged, late });
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
            PushOutcome::Pushed => return pushed(ui, remote, Report { pushed: publishing, merged, late }),
            // A frame was merged, or another writer of the same frames pushed, in between: look again.
            PushOutcome::Rejected(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    Err(Error::new(format!("{remote} kept changing while pushing deltas; nothing of this attempt was published"))
        .hint("run `git neighbor delta push` again"))
}

/// How often `delta push` looks again when the remote moved under it.
const PUSH_ATTEMPTS: u32 = 8;

/// What `delta push` did, as `--json` prints it (with the remote).
#[derive(Serialize)]
struct Report {
    /// `<frame>/<stream>` of the deltas this push published (new there, or replacing an older copy).
    pushed: Vec<String>,
    /// Deltas the remote has already merged (whoever published them); their copies here are dropped.
    merged: Vec<String>,
    /// Deltas not published because their frame is already merged there without them.
    late: Vec<String>,
}

fn pushed(ui: &Ui, remote: &str, r: Report) -> Result<u8, Error> {
    ui.status(format!("pushed {} delta(s) to {remote}", r.pushed.len()));
    if !r.late.is_empty() {
        ui.warn(format!("not pushed, their frame is already merged on {remote}: {}", r.late.join(", ")));
    }
    if ui.json {
        #[derive(Serialize)]
        struct Out<'a> {
            remote: &'a str,
            #[serde(flatten)]
            report: Report,
        }
        ui.json_out(&Out { remote, report: r })?;
    }
    Ok(0)
}
