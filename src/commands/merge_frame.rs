//! `merge-frame`: apply all of a frame's deltas to the target branch in one commit.

use std::time::Duration;

use crate::building::Ctx;
use crate::error::Error;
use crate::frames::merge::{self, Options, Outcome};
use crate::ui::{self, Ui};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Frame to merge (default: the last merged frame + 1).
    #[arg(long, value_name = "N", value_parser = super::delta::parse_frame)]
    pub frame: Option<u64>,
    /// Streams expected this frame, comma-separated (default: merge.expect).
    #[arg(long, value_name = "S1,S2…", value_delimiter = ',')]
    pub expect: Option<Vec<String>>,
    /// Wait this long for expected streams before recording them missing.
    #[arg(long, value_name = "D", default_value = "0s", value_parser = |s: &str| crate::config::parse_duration(s))]
    pub wait: Duration,
    /// Print the plan and the resulting diff; change nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Also publish: move the target and the delta refs on this remote atomically (default: origin).
    #[arg(long, value_name = "REMOTE", num_args = 0..=1, default_missing_value = "origin")]
    pub push: Option<String>,
    /// Hand ordering and application to this program (split on spaces; no shell): deltas as JSON lines on
    /// stdin, the state directory in $NEIGHBOR_STATE to edit in place (leaving only plain files and
    /// directories there).
    #[arg(long, value_name = "CMD")]
    pub reducer: Option<String>,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let opts = Options {
        frame: a.frame,
        expect: a.expect.clone(),
        wait: a.wait,
        dry_run: a.dry_run,
        push: a.push.clone(),
        reducer: a.reducer.as_ref().map(|r| r.split_whitespace().map(String::from).collect()),
    };
    let progress = ui.progress("merging the frame (waiting for expected streams, then applying)");
    let r = merge::merge(ctx, &opts)?;
    drop(progress);
    for n in &r.notes {
        ui.status(n);
    }
    if ui.json {
        ui.json_out(&r)?;
        return Ok(0);
    }
    if r.already_merged {
        ui.status(format!(
            "frame {} is already merged into {} ({}); nothing to do",
            r.frame,
            r.target,
            r.commit.as_deref().map(|c| &c[..10.min(c.len())]).unwrap_or("?")
        ));
        return Ok(0);
    }
    if r.nothing_to_merge && r.streams.is_empty() {
        ui.status(format!("frame {}: nothing to merge (no deltas); no commit made", r.frame));
        return Ok(0);
    }
    let mut rows = vec![vec!["STREAM".to_string(), "STATUS".into(), "OPS".into(), "REASON".into()]];
    for s in &r.streams {
        let status = serde_json::to_value(s.status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        rows.push(vec![s.stream.clone(), status, s.ops.to_string(), s.reason.clone().unwrap_or_default()]);
    }
    ui.data(&ui::table(&rows))?;
    if let Some(diff) = &r.diff {
        ui.data(&format!("{diff}\n"))?;
    }
    let n = |o: Outcome| r.streams.iter().filter(|s| s.status == o).count();
    let summary = format!(
        "{} applied, {} fallback, {} missing, {} crashed, {} quarantined; {} file(s) changed",
        n(Outcome::Applied),
        n(Outcome::Fallback),
        n(Outcome::Missing),
        n(Outcome::Crashed),
        n(Outcome::Quarantined),
        r.changed.len()
    );
    if r.nothing_to_merge {
        ui.status(format!("frame {}: nothing to merge ({summary}); no commit made", r.frame));
    } else if r.dry_run {
        ui.status(format!("frame {} (dry run, nothing written): {summary}", r.frame));
    } else {
        let c = r.commit.as_deref().unwrap_or("");
        let pushed = r.pushed.as_deref().map(|p| format!(" and pushed to {p}")).unwrap_or_default();
        ui.status(format!(
            "frame {} merged into {} as {}{pushed}: {summary}",
            r.frame,
            r.target,
            &c[..10.min(c.len())]
        ));
    }
    Ok(0)
}
