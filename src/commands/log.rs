//! `log`: the lifecycle log (`events.jsonl`), optionally filtered by tenant and followed.

use std::time::Duration;

use crate::building::Ctx;
use crate::building::events::{self, Event};
use crate::error::Error;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep printing new events as they are appended.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only events of this tenant.
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
    /// Only the last N events.
    #[arg(long, short = 'n', value_name = "COUNT")]
    pub limit: Option<usize>,
}

fn render(ui: &Ui, ev: &Event) -> String {
    if ui.json {
        return serde_json::to_string(ev).unwrap_or_default() + "\n";
    }
    let mut extra: Vec<String> =
        ev.extra.iter().map(|(k, v)| format!("{k}={}", v.to_string().trim_matches('"'))).collect();
    extra.sort();
    format!(
        "{}  {:<10} {:<16} {}  {}\n",
        ev.ts,
        ev.event,
        ev.name.as_deref().unwrap_or("-"),
        ev.branch.as_deref().unwrap_or("-"),
        extra.join(" ")
    )
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let keep = |ev: &Event| a.name.as_ref().is_none_or(|n| ev.name.as_ref() == Some(n));
    let all: Vec<Event> = events::read_all(&ctx.state)?.into_iter().filter(|e| keep(e)).collect();
    let skip = a.limit.map(|n| all.len().saturating_sub(n)).unwrap_or(0);
    let mut seen = events::read_all(&ctx.state)?.len();
    let mut text = String::new();
    for ev in &all[skip..] {
        text.push_str(&render(ui, ev));
    }
    ui.data(&text)?;
    if !a.follow {
        return Ok(0);
    }
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let now = events::read_all(&ctx.state)?;
        let mut text = String::new();
        for ev in now.iter().skip(seen).filter(|e| keep(e)) {
            text.push_str(&render(ui, ev));
        }
        seen = now.len();
        if !text.is_empty() {
            ui.data(&text)?;
        }
    }
}
