//! `conflicts`: the conflict forecast: which tenants would conflict with each other or with the target if
//! merged now, uncommitted work included, and on which paths.

use owo_colors::Style;

use crate::building::Ctx;
use crate::building::forecast::{self, Forecast, Request};
use crate::error::Error;
use crate::ui::{self, Ui};

/// The exit code of `--exit-code` when some pair would conflict.
pub const CONFLICTS_FOUND: u8 = 5;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only these tenants: the pairs among them, and each against the target (default: every live tenant).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Merge with this revision instead of the target branch (state.target).
    #[arg(long, value_name = "REV")]
    pub against: Option<String>,
    /// Exit 5 when some pair would conflict (default: 0 whatever the forecast).
    #[arg(long)]
    pub exit_code: bool,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let f = forecast::forecast(ctx, &Request { names: a.names.clone(), against: a.against.clone() })?;
    for s in &f.skipped {
        ui.warn(format!("tenant {} left out: {}", s.name, s.reason));
    }
    if ui.json {
        ui.json_out(&f)?;
    } else {
        ui.data(&render(ui, &f))?;
    }
    Ok(if a.exit_code && f.conflicting > 0 { CONFLICTS_FOUND } else { 0 })
}

/// The matrix (rows: tenants; columns: the same tenants by number, then the target) and the list of
/// conflicting pairs with their paths.
fn render(ui: &Ui, f: &Forecast) -> String {
    let n = f.tenants.len();
    if n == 0 {
        return "no live tenants to forecast\n".into();
    }
    let cell = |a: &str, b: &str, target: bool| {
        f.pairs.iter().find(|p| p.target == target && ((p.a == a && p.b == b) || (!target && p.a == b && p.b == a)))
    };
    let bad = Style::new().red().bold();
    let mut head = vec![String::new(), "TENANT".to_string()];
    head.extend((1..=n).map(|i| i.to_string()));
    head.push(f.target.name.clone());
    let mut table = vec![head];
    for (i, t) in f.tenants.iter().enumerate() {
        let mut row = vec![format!("{}", i + 1), format!("{}{}", t.name, if t.dirty { "*" } else { "" })];
        for (j, u) in f.tenants.iter().enumerate() {
            row.push(if i == j {
                "-".into()
            } else {
                match cell(&t.name, &u.name, false) {
                    Some(p) if !p.clean => ui.out_style("X", bad),
                    Some(_) => ".".into(),
                    None => "?".into(),
                }
            });
        }
        row.push(match cell(&t.name, &f.target.name, true) {
            Some(p) if !p.clean => ui.out_style("X", bad),
            Some(_) => ".".into(),
            None => "?".into(),
        });
        table.push(row);
    }
    let mut s = ui::table(&table);
    if f.tenants.iter().any(|t| t.dirty) {
        s += "* uncommitted changes included\n";
    }
    s += "\n";
    if f.conflicting == 0 {
        s += &format!("no conflicts among {n} tenant(s) and {}\n", f.target.name);
        return s;
    }
    s += &format!("{} conflicting pair(s):\n", f.conflicting);
    for p in f.pairs.iter().filter(|p| !p.clean) {
        let b = if p.target { format!("{} (target)", p.b) } else { p.b.clone() };
        let paths: Vec<String> = p
            .conflicts
            .iter()
            .map(|c| match &c.kind {
                Some(k) => format!("{} ({k})", if c.path.is_empty() { "?" } else { &c.path }),
                None => c.path.clone(),
            })
            .collect();
        s += &format!("  {} × {b}: {}\n", p.a, paths.join(", "));
    }
    let batches: Vec<String> = f.batches.iter().map(|b| b.join(" ")).collect();
    s += &format!("batches that could land together: [{}]\n", batches.join("] then ["));
    s
}
