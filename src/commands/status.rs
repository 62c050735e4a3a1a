//! `status`: a summary of the building: where we are, tenants by status, leases, the building lock, and
//! whether the fleet is live (with the evidence).

use crate::building::{self, Ctx};
use crate::error::Error;
use crate::protect::liveness;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fetch the upstream before judging fleet liveness (default: judge from the last fetched state, so
    /// status stays fast enough for prompts and scripts; safe-pull always fetches).
    #[arg(long)]
    pub fetch: bool,
    /// One line for a shell prompt or a status line: the tenant (or `(main)`), `*` when tracked files
    /// changed (`?` when that look took too long), `+N -M` ahead/behind its base, `live` while the fleet
    /// is live. Example: `api* +2 live`.
    #[arg(long, conflicts_with = "fetch")]
    pub short: bool,
    /// With --short: how long the look at tracked files may take before it shows `?`.
    #[arg(long, value_name = "D", default_value = "50ms", requires = "short",
          value_parser = |s: &str| crate::config::parse_duration(s))]
    pub budget: std::time::Duration,
    /// With --short: answer "did tracked files change" from a watcher process that keeps it current
    /// (started by the first such look, one per worktree, gone after 10 minutes without a look; Linux).
    /// A look it cannot vouch for does the full scan as without --watch.
    #[arg(long, requires = "short")]
    pub watch: bool,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    if a.short {
        let seg = crate::building::prompt::segment(ctx, a.budget, a.watch)?;
        if ui.json {
            ui.json_out(&seg)?;
        } else {
            let here = ctx.repo.workdir.as_deref().and_then(|p| p.file_name()).map(|n| n.to_string_lossy());
            ui.data(&format!("{}\n", seg.line(here.as_deref().unwrap_or("(bare)"))))?;
        }
        return Ok(0);
    }
    let report = building::summary(ctx, a.fetch)?;
    if ui.json {
        ui.json_out(&report)?;
        return Ok(0);
    }
    let mut s = format!("building {} ({})\n", report.building, report.common_dir);
    if let Some(cur) = &report.current_worktree {
        let who = match (report.current_tenant.as_deref(), report.current_task.as_deref()) {
            (Some(n), Some(task)) => format!("tenant {n}, task {task}"),
            (Some(n), None) => format!("tenant {n}"),
            (None, _) => "not a tenant".into(),
        };
        s += &format!("here: {cur} ({who})\n");
    }
    s += &format!("config: {}\n", report.config.as_deref().unwrap_or("defaults (no .neighbor.toml)"));
    let t = &report.tenants;
    let failed = if t.setup_failed > 0 { format!(", {} setup-failed", t.setup_failed) } else { String::new() };
    s += &format!(
        "tenants: {} ({} active, {} kept, {} locked, {} stale{failed}); {} other worktree(s)\n",
        t.total, t.active, t.kept, t.locked, t.stale, report.foreign
    );
    if let Some(k) = &report.tasks {
        s += &format!(
            "tasks: {} ({} ready, {} pending, {} claimed, {} done, {} failed)\n",
            k.total, k.ready, k.pending, k.claimed, k.done, k.failed
        );
        let shown: Vec<String> =
            k.bound.iter().take(10).map(|b| format!("{} in tenant {} ({})", b.task, b.tenant, b.status)).collect();
        if !shown.is_empty() {
            let more = if k.bound.len() > 10 { format!(", and {} more", k.bound.len() - 10) } else { String::new() };
            s += &format!("  {}{more}\n", shown.join(", "));
        }
    }
    s += &format!("leases held: {}\n", report.leases_held);
    s += &match &report.building_lock {
        Some(h) => format!("building lock: held by {}\n", h.describe()),
        None => "building lock: free\n".into(),
    };
    s += &fleet_lines(&report.fleet);
    if let Some(c) = &report.conflicts {
        s += &conflicts_line(c);
    }
    if let Some(i) = &report.interrupted_merge {
        s += &format!("{}\nhint: `git neighbor doctor --fix` finishes it; commit nothing there before\n", i.describe());
    }
    if t.stale > 0 {
        s += "hint: `git neighbor prune` cleans up stale tenants\n";
    }
    ui.data(&s)?;
    Ok(0)
}

/// `conflicts: 2 pairs (a×b, c×main) as of 3m ago`, from the last forecast's cache.
fn conflicts_line(c: &crate::building::forecast::Last) -> String {
    let age = crate::building::state_dir::human_age(crate::building::state_dir::age(c.at_ms));
    if c.conflicting.is_empty() {
        return format!("conflicts: none forecast ({age} ago)\n");
    }
    let shown: Vec<String> = c.conflicting.iter().take(6).map(|p| format!("{}×{}", p.a, p.b)).collect();
    let more = if c.conflicting.len() > shown.len() { ", …" } else { "" };
    let n = c.conflicting.len();
    format!("conflicts: {n} pair{} ({}{more}), forecast {age} ago\n", if n == 1 { "" } else { "s" }, shown.join(", "))
}

fn fleet_lines(f: &liveness::Liveness) -> String {
    let mut s = if f.live {
        format!("fleet: live\n{}", f.evidence.iter().map(|e| format!("  {e}\n")).collect::<String>())
    } else {
        "fleet: idle (no lease held".to_string()
            + &match &f.upstream {
                Some(u) => match u.age_secs {
                    Some(age) => format!(
                        "; {} last got a commit {} ago, live window {})\n",
                        u.name,
                        crate::building::state_dir::human_age(std::time::Duration::from_secs(age)),
                        f.window
                    ),
                    None => format!("; {} unknown)\n", u.name),
                },
                None => "; no upstream)\n".into(),
            }
    };
    if let Some(err) = f.upstream.as_ref().and_then(|u| u.fetch_error.as_deref()) {
        s += &format!("  (fetch failed, judged from the last fetched state: {err})\n");
    }
    s
}
