//! `delta write|list|show|drop|push|fetch`: the mailbox of deltas for the frame merge.

mod write;

use serde::Serialize;

use crate::building::Ctx;
use crate::error::Error;
use crate::frames::mailbox::{self, APPLIED, DELTAS, QUARANTINE};
use crate::frames::publish::{self, PushReport};
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
                        // Not by stream: a quarantine ref may carry the blob in its name (a second delta of
                        // a stream, a mailbox ref that named no stream).
                        e.extra.get("frame").and_then(|v| v.as_u64()) == Some(s.frame)
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
                    let bytes = mailbox::read_blob(&ctx.repo, &slot.blob).map_err(|e| {
                        let e = Error::new(format!("{}: {}", slot.r#ref, e.message));
                        if ns == DELTAS {
                            e.hint(format!(
                                "merge-frame quarantines it; `git neighbor delta drop {spec}` removes it now"
                            ))
                        } else {
                            e
                        }
                    })?;
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
        Cmd::Push(a) => {
            let remote = publish::remote_for(ctx, a.remote.as_deref());
            let report = publish::push(ctx, &remote)?;
            pushed(ui, &remote, report)
        }
        Cmd::Fetch(a) => {
            let remote = publish::remote_for(ctx, a.remote.as_deref());
            let tidied = publish::fetch_and_tidy(ctx, &remote, true)?.len();
            let n = mailbox::list(&ctx.repo, DELTAS, None)?.len();
            let gone = if tidied > 0 { format!(" ({tidied} merged there left the mailbox)") } else { String::new() };
            ui.status(format!("fetched deltas from {remote}; {n} waiting{gone}"));
            Ok(0)
        }
    }
}

fn pushed(ui: &Ui, remote: &str, r: PushReport) -> Result<u8, Error> {
    ui.status(format!("pushed {} delta(s) to {remote}", r.pushed.len()));
    if !r.late.is_empty() {
        ui.warn(format!("not pushed, their frame is already merged on {remote}: {}", r.late.join(", ")));
    }
    if ui.json {
        #[derive(Serialize)]
        struct Out<'a> {
            remote: &'a str,
            #[serde(flatten)]
            report: PushReport,
        }
        ui.json_out(&Out { remote, report: r })?;
    }
    Ok(0)
}
