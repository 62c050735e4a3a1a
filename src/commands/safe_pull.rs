//! `safe-pull`: pull without ever stashing; refuse (exit 3) when a dirty checkout meets a live fleet.

use crate::building::Ctx;
use crate::error::Error;
use crate::protect::safe_pull::{self, Outcome, Report, Request};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remote to pull from (default: the current branch's upstream).
    pub remote: Option<String>,
    /// Branch on the remote (default: the current branch's upstream branch).
    #[arg(requires = "remote")]
    pub branch: Option<String>,
    /// Move the uncommitted changes (tracked and untracked) into a new tenant as one commit, print its
    /// path, then pull into the now clean checkout. Give NAME as --evacuate=NAME or after the remote.
    #[arg(long, value_name = "NAME", num_args = 0..=1)]
    pub evacuate: Option<Option<String>>,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let req = Request { remote: a.remote.clone(), branch: a.branch.clone(), evacuate: a.evacuate.clone() };
    let print_path = |ev: &safe_pull::Evacuated| -> Result<(), Error> {
        if !ui.json {
            ui.data(&format!("{}\n", ev.path.display()))?;
        }
        ui.status(format!(
            "moved your uncommitted changes to tenant {} (branch {}, commit {})",
            ev.tenant,
            ev.branch,
            &ev.commit[..10.min(ev.commit.len())]
        ));
        Ok(())
    };
    let report = safe_pull::safe_pull(ctx, &req, &print_path)?;
    if ui.json {
        ui.json_out(&report)?;
    }
    match report.result {
        Outcome::Refused => Err(refusal(&report)),
        Outcome::Conflict => Err(conflict(&report)),
        _ => {
            if a.evacuate.is_some() && report.evacuated.is_none() {
                ui.status("nothing to evacuate: the checkout has no uncommitted changes");
            }
            ui.status(success_line(&report));
            if let Some(r) = &report.rescue {
                ui.verbose(format!("rescue ref saved first: {r}"));
            }
            Ok(0)
        }
    }
}

fn short(c: &str) -> &str {
    &c[..10.min(c.len())]
}

fn success_line(r: &Report) -> String {
    let kept = if r.reapplied { "; your uncommitted changes were re-applied" } else { "" };
    match r.result {
        Outcome::UpToDate => format!("already up to date with {} ({})", r.upstream, short(&r.fetched)),
        Outcome::FastForward => format!("fast-forwarded {} to {} ({}){kept}", short(&r.from), r.upstream, short(&r.to)),
        Outcome::Rebased => {
            format!(
                "rebased your commits onto {} ({}); HEAD is now {}{kept}",
                r.upstream,
                short(&r.fetched),
                short(&r.to)
            )
        }
        _ => String::new(),
    }
}

fn refusal(r: &Report) -> Error {
    let shown: Vec<&str> = r.dirty.iter().take(3).map(String::as_str).collect();
    let more = if r.dirty.len() > 3 { format!(" and {} more", r.dirty.len() - 3) } else { String::new() };
    let mut e = Error::refused(format!(
        "not pulling {} into a checkout with uncommitted changes ({}{more}) while the fleet is live: {}",
        r.upstream,
        shown.join(", "),
        r.fleet.evidence.join("; ")
    ));
    e = e
        .hint("nothing was changed: no stash, no autostash, same files, index and refs")
        .hint("move the changes into a new tenant and pull: git neighbor safe-pull --evacuate [NAME]")
        .hint(format!(
            "or commit them first (safe-pull then rebases your commit), or wait until the fleet is idle (no lease held, no upstream commit for {})",
            r.fleet.window
        ));
    e
}

fn conflict(r: &Report) -> Error {
    let paths = r.conflicts.join(", ");
    match r.conflict_in.as_deref() {
        Some("rebase") => Error::new(format!(
            "your local commits conflict with {} ({}) in: {paths}; the rebase was aborted and your checkout is as it was",
            r.upstream,
            short(&r.fetched)
        ))
        .hint(format!("rebase by hand and resolve: git rebase {}", short(&r.fetched)))
        .hint("nothing was stashed"),
        _ => {
            let mut e = Error::new(format!(
                "re-applying your uncommitted changes on {} ({}) would conflict in: {paths}; your checkout is exactly as it was",
                r.upstream,
                short(&r.fetched)
            ))
            .hint("commit your changes and run safe-pull again (it then rebases your commit), or move them aside: git neighbor safe-pull --evacuate");
            if let Some(rescue) = &r.rescue {
                e = e.hint(format!("a copy is also saved in {rescue}"));
            }
            e
        }
    }
}
