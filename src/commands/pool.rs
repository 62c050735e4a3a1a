//! `pool fill|claim|release|list`: pre-built tenants handed out in O(1).

use crate::building::Ctx;
use crate::building::pool;
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
    ///
    /// The claim lasts as long as the process that called `git neighbor pool claim`: git's dispatcher and
    /// wrappers such as `timeout`, `xargs`, `flock`, `sudo`, `nice` are looked through to the process that
    /// ran them. When that is still not the process that will use the tenant, name it with --follow-pid
    /// or NEIGHBOR_FOLLOW_PID. The claim is yours once this command exits 0; one whose claimant died is
    /// released (reset, or kept out of the pool when it holds work) before anyone else gets it.
    Claim {
        /// Follow this process's life instead of the caller's [env: NEIGHBOR_FOLLOW_PID].
        #[arg(long, value_name = "PID")]
        follow_pid: Option<u32>,
    },
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
        Cmd::Claim { follow_pid } => {
            let watch = crate::supervise::proc::follow_pid(*follow_pid)?;
            let c = pool::claim_for(ctx, watch, |c| {
                if ui.json { ui.json_out(c) } else { ui.data(&format!("{}\n", c.path.display())) }
            })?;
            ui.status(format!("claimed {} (lease id {})", c.name, c.lease_id));
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
