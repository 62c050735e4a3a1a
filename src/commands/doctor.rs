//! `doctor [--fix]`: report what makes this building unsafe; with `--fix`, repair what cannot lose data.

use crate::cli::Global;
use crate::error::Error;
use crate::protect::doctor::{self, Report, Status};
use crate::ui::{self, Ui};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repair what cannot lose data: prune-safe items, merged orphan branches, hooks; stashes are saved as
    /// rescue refs (never dropped).
    #[arg(long)]
    pub fix: bool,
}

pub fn run(g: &Global, ui: &Ui, a: &Args) -> Result<u8, Error> {
    // A broken .neighbor.toml is a finding here, not a reason to stop.
    let (ctx, config_error) = crate::cli::open_with(g, crate::building::ConfigPolicy::Lenient)?;
    let mut findings = doctor::examine(&ctx, config_error.as_ref())?;
    if a.fix {
        doctor::fix(&ctx, &mut findings);
    }
    let report = Report::new(findings);
    if ui.json {
        ui.json_out(&report)?;
    } else {
        let mut rows = Vec::new();
        for f in &report.findings {
            let word = match f.status {
                Status::Ok => ui.out_style("ok", owo_colors::Style::new().green()),
                Status::Warning => ui.out_style("warning", owo_colors::Style::new().yellow()),
                Status::Problem => ui.out_style("problem", owo_colors::Style::new().red().bold()),
                Status::Fixed => ui.out_style("fixed", owo_colors::Style::new().cyan()),
            };
            rows.push(vec![word, f.check.clone(), f.message.clone()]);
            if let (Some(h), true) = (&f.hint, matches!(f.status, Status::Problem | Status::Warning)) {
                rows.push(vec![String::new(), String::new(), format!("hint: {h}")]);
            }
        }
        ui.data(&ui::table(&rows))?;
        let fixable = |s: Status| report.findings.iter().filter(|f| f.status == s && f.fixable).count();
        let (fixable, fixable_warnings) = (fixable(Status::Problem), fixable(Status::Warning));
        if report.healthy && report.warnings > 0 {
            let fix = if fixable_warnings > 0 && !a.fix {
                format!("; `git neighbor doctor --fix` repairs {fixable_warnings} of them safely")
            } else {
                String::new()
            };
            ui.status(format!("healthy, with {} warning(s){fix}", report.warnings));
        } else if report.healthy {
            ui.status("healthy");
        } else if fixable > 0 && !a.fix {
            ui.status(format!(
                "{} problem(s); `git neighbor doctor --fix` repairs {fixable} of them safely",
                report.problems
            ));
        } else {
            ui.status(format!("{} problem(s) need you", report.problems));
        }
    }
    Ok(if report.healthy { 0 } else { 1 })
}
