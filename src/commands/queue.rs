//! `queue list|show|cancel|run`: the speculative merge queue that `land --queue` feeds.

use crate::building::Ctx;
use crate::building::queue::{self, Entry};
use crate::error::Error;
use crate::ui::{self, Ui};

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// List the entries, oldest first, with their state (queued, testing, landed, ejected, cancelled).
    List,
    /// Show one entry: by id, or the latest entry of a tenant; an ejected entry says why.
    Show {
        /// Entry id (`3` or `#3`) or tenant name.
        entry: String,
    },
    /// Take a queued entry out of the queue (a running `queue run` never lands it).
    Cancel {
        /// Entry id (`3` or `#3`) or tenant name.
        entry: String,
    },
    /// Land the queue: speculate, test up to N trees at once, land in order by compare-and-swap.
    ///
    /// Builds in memory the target as it will be after each entry ahead (each tip merged onto the previous
    /// speculative commit), tests those trees with `sh -c CMD`, and moves the target to the speculative
    /// commit itself, so the tree that lands is exactly the tree that was tested. Tests run in free pool
    /// tenants (`pool fill N` makes them, or `--fill-pool`), claimed for the run and checked out detached at the speculative
    /// commit, their branch untouched; afterwards they are released as `pool release` does (back on their
    /// branch, reset to their base). The pool is not filled: the tests beyond its free tenants run in
    /// scratch worktrees (`.queue-<k>` beside the tenants, removed afterwards). A tree's verdict is kept and never tested
    /// again. A failing or conflicting entry is ejected (its tenant kept with the reason) and the entries
    /// behind it are speculated again without it; so is everything when the target moves under the
    /// queue. Exit 0 when every entry landed, 1 when some were ejected (the others still land).
    Run {
        /// How many speculative trees to test at once.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
        parallel: u16,
        /// The test, run with `sh -c` in a checkout of each speculative tree (none: land untested).
        #[arg(long, value_name = "CMD")]
        test: Option<String>,
        /// Test B entries together as one tree; a failing batch is bisected.
        #[arg(long, value_name = "B", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
        batch: u16,
        /// Order by the conflict forecast: an entry that conflicts with one ahead of it is held back (it never
        /// shares a batch with it) and the entries behind it land without waiting; it is decided once nothing
        /// ahead of it is left (ejected if it still conflicts). Without it, the queue lands strictly in order.
        #[arg(long)]
        by_forecast: bool,
        /// First fill the pool to N free tenants (as `pool fill N`, running `[setup]`), so every test runs in a
        /// pool tenant set up like any tenant; the tenants made stay in the pool afterwards.
        #[arg(long)]
        fill_pool: bool,
    },
}

fn short(oid: &str) -> &str {
    &oid[..oid.len().min(10)]
}

fn describe(e: &Entry) -> String {
    let mut s =
        format!("#{} {}: {} ({} at {}) into {}", e.id, e.state.name(), e.tenant, e.branch, short(&e.tip), e.into);
    if let Some(c) = &e.landed_as {
        s.push_str(&format!(" as {}", short(c)));
    }
    if let Some(r) = &e.reason {
        s.push_str(&format!(": {r}"));
    }
    s
}

pub fn run(ctx: &Ctx, ui: &Ui, cmd: &Cmd) -> Result<u8, Error> {
    match cmd {
        Cmd::List => {
            let all = queue::list(ctx)?;
            if ui.json {
                ui.json_out(&all)?;
            } else {
                let mut rows = vec![vec![
                    "ID".to_string(),
                    "STATE".into(),
                    "TENANT".into(),
                    "INTO".into(),
                    "TIP".into(),
                    "REASON".into(),
                ]];
                for e in all {
                    rows.push(vec![
                        e.id.to_string(),
                        e.state.name().into(),
                        e.tenant.clone(),
                        e.into.clone(),
                        short(&e.tip).into(),
                        e.reason.clone().unwrap_or_else(|| "-".into()),
                    ]);
                }
                ui.data(&ui::table(&rows))?;
            }
        }
        Cmd::Show { entry } => {
            let e = queue::show(ctx, entry)?;
            if ui.json {
                ui.json_out(&e)?;
            } else {
                ui.data(&format!("{}\n", describe(&e)))?;
            }
        }
        Cmd::Cancel { entry } => {
            let e = queue::cancel(ctx, entry)?;
            if ui.json {
                ui.json_out(&e)?;
            }
            ui.status(format!("cancelled #{} ({})", e.id, e.tenant));
        }
        Cmd::Run { parallel, test, batch, by_forecast, fill_pool } => {
            let req = queue::RunRequest {
                parallel: usize::from(*parallel),
                test: test.clone(),
                batch: usize::from(*batch),
                by_forecast: *by_forecast,
                fill_pool: *fill_pool,
            };
            let r = queue::run(ctx, &req, &|line| ui.status(line))?;
            if ui.json {
                ui.json_out(&r)?;
            }
            ui.status(format!(
                "queue: {} landed, {} ejected{}; {} tree(s) tested, {} verdict(s) reused; {} pool tenant(s) used",
                r.landed.len(),
                r.ejected.len(),
                if r.held.is_empty() {
                    String::new()
                } else {
                    format!(" ({} held back by the forecast)", r.held.len())
                },
                r.tested,
                r.cached,
                r.pool.len()
            ));
            return Ok(if r.ejected.is_empty() { 0 } else { 1 });
        }
    }
    Ok(0)
}
