//! `status`: a summary of the building: where we are, tenants by status, leases, the building lock, and
//! whether the fleet is live (with the evidence).

use serde::Serialize;

use crate::building::lease;
use crate::building::{self, Ctx, Status};
use crate::error::Error;
use crate::protect::liveness;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fetch the upstream before judging fleet liveness (default: judge from the last fetched state, so
    /// status stays fast enough for prompts and scripts; safe-pull always fetches).
    #[arg(long)]
    pub fetch: bool,
}

#[derive(Serialize)]
struct Report {
    building: String,
    common_dir: String,
    state_dir: String,
    main_worktree: Option<String>,
    current_worktree: Option<String>,
    current_tenant: Option<String>,
    config: Option<String>,
    tenants: Counts,
    foreign: usize,
    leases_held: usize,
    building_lock: Option<lease::Holder>,
    fleet: liveness::Liveness,
    /// A merge-frame interrupted after its commit point, waiting to be finished.
    interrupted_merge: Option<crate::frames::merge::Interrupted>,
}

#[derive(Serialize, Default)]
struct Counts {
    total: usize,
    active: usize,
    kept: usize,
    locked: usize,
    stale: usize,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    // One read of the registry (the survey's) serves the counts, the current tenant and the leases.
    let rows = building::survey(ctx)?;
    let tenants: Vec<crate::building::registry::Tenant> = rows.iter().filter_map(|r| r.tenant.clone()).collect();
    let mut c = Counts::default();
    let mut foreign = 0;
    for r in &rows {
        match r.status {
            Status::Foreign | Status::Main => foreign += 1,
            s => {
                c.total += 1;
                match s {
                    Status::Active => c.active += 1,
                    Status::Kept => c.kept += 1,
                    Status::Locked => c.locked += 1,
                    _ => c.stale += 1,
                }
            }
        }
    }
    let report = Report {
        building: ctx.repo.building_name(),
        common_dir: ctx.repo.common_dir.display().to_string(),
        state_dir: ctx.state.root.display().to_string(),
        main_worktree: ctx.repo.main_worktree.as_ref().map(|p| p.display().to_string()),
        current_worktree: ctx.repo.workdir.as_ref().map(|p| p.display().to_string()),
        current_tenant: ctx
            .repo
            .workdir
            .as_deref()
            .and_then(|here| tenants.iter().find(|t| t.path == here))
            .map(|t| t.name.clone()),
        config: ctx.config.source.as_ref().map(|p| p.display().to_string()),
        leases_held: rows.iter().filter(|r| r.lease.is_some()).count(),
        building_lock: lease::building_lock_holder(&ctx.state),
        fleet: liveness::observe_among(ctx, a.fetch, &tenants)?,
        tenants: c,
        foreign,
        interrupted_merge: crate::frames::merge::interrupted(ctx),
    };
    if ui.json {
        ui.json_out(&report)?;
        return Ok(0);
    }
    let mut s = format!("building {} ({})\n", report.building, report.common_dir);
    if let Some(cur) = &report.current_worktree {
        let who =
            report.current_tenant.as_deref().map(|n| format!("tenant {n}")).unwrap_or_else(|| "not a tenant".into());
        s += &format!("here: {cur} ({who})\n");
    }
    s += &format!("config: {}\n", report.config.as_deref().unwrap_or("defaults (no .neighbor.toml)"));
    let t = &report.tenants;
    s += &format!(
        "tenants: {} ({} active, {} kept, {} locked, {} stale); {} other worktree(s)\n",
        t.total, t.active, t.kept, t.locked, t.stale, report.foreign
    );
    s += &format!("leases held: {}\n", report.leases_held);
    s += &match &report.building_lock {
        Some(h) => format!("building lock: held by {}\n", h.describe()),
        None => "building lock: free\n".into(),
    };
    s += &fleet_lines(&report.fleet);
    if let Some(i) = &report.interrupted_merge {
        s += &format!("{}\nhint: `git neighbor doctor --fix` finishes it; commit nothing there before\n", i.describe());
    }
    if t.stale > 0 {
        s += "hint: `git neighbor prune` cleans up stale tenants\n";
    }
    ui.data(&s)?;
    Ok(0)
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
