//! `pool fill|claim|release|list`: pre-built tenants handed out in O(1).

use crate::building::lease::{self, Holder, Share};
use crate::building::pool;
use crate::building::{self, Ctx};
use crate::error::Error;
use crate::ui::{self, Ui};

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Make sure at least N pool tenants are free.
    Fill {
        /// How many free tenants to have.
        n: usize,
    },
    /// Claim a free tenant for the calling process; prints its path (the lease id goes to stderr and --json).
    Claim,
    /// Give a claimed tenant back: reset to its base if nothing unmerged would be lost, else keep it.
    Release {
        /// Tenant name.
        name: String,
        /// The lease id `claim` printed.
        #[arg(long, value_name = "ID")]
        lease_id: String,
    },
    /// List pool tenants and their claims.
    List,
}

pub fn run(ctx: &Ctx, ui: &Ui, cmd: &Cmd) -> Result<u8, Error> {
    match cmd {
        Cmd::Fill { n } => {
            let progress = ui.progress(format!("filling the pool to {n} free tenant(s)"));
            let made = pool::fill(ctx, *n)?;
            drop(progress);
            if ui.json {
                ui.json_out(&made)?;
            }
            ui.status(format!("pool: made {} tenant(s); {n} free", made.len()));
        }
        Cmd::Claim => {
            let watch = crate::supervise::proc::caller_pid();
            let (t, lease_id) = pool::claim(ctx, watch)?;
            // The lease follows the caller: a keeper shares it and lets go when the caller exits.
            lease::with_lease(&ctx.state, &t.name, &Holder::me(), Share::HandOver, |_| {
                building::spawn_lease_keeper(&t, watch)
            })?;
            if ui.json {
                ui.json_out(
                    &serde_json::json!({"name": t.name, "path": t.path, "branch": t.branch, "lease_id": lease_id}),
                )?;
            } else {
                ui.data(&format!("{}\n", t.path.display()))?;
            }
            ui.status(format!("claimed {} (lease id {lease_id})", t.name));
        }
        Cmd::Release { name, lease_id } => {
            let r = pool::release(ctx, name, lease_id)?;
            if ui.json {
                ui.json_out(&r)?;
            }
            match &r.kept {
                Some(why) => ui.warn(format!("{name} was not reset: {why}; it is kept out of the pool")),
                None => ui.status(format!("released {name}; reset to its base")),
            }
        }
        Cmd::List => {
            let all = pool::list(ctx)?;
            if ui.json {
                ui.json_out(&all)?;
            } else {
                let mut rows = vec![vec!["NAME".to_string(), "STATE".into(), "CLAIMED BY".into(), "PATH".into()]];
                for m in all {
                    let by = m.claim.map(|c| format!("pid {}", c.pid)).unwrap_or_else(|| "-".into());
                    rows.push(vec![m.name, m.state.into(), by, m.path.display().to_string()]);
                }
                ui.data(&ui::table(&rows))?;
            }
        }
    }
    Ok(0)
}
