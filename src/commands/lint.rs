//! `lint [FILES]`: check shell scripts for bash-4 and GNU-only constructs and protocol violations.

use crate::building::Ctx;
use crate::error::Error;
use crate::protect::lint::{self, Finding};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scripts to check (default: every tracked shell script: *.sh, *.bash, or a shell shebang).
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(ctx: Option<&Ctx>, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let files: Vec<std::path::PathBuf> = if a.files.is_empty() {
        let ctx =
            ctx.ok_or_else(|| Error::new("no files given and not in a repository").hint("git neighbor lint FILE…"))?;
        let root = ctx.repo.here().to_path_buf();
        crate::git::tree::tracked_files(&ctx.repo)?
            .into_iter()
            .map(|f| root.join(f))
            .filter(|p| {
                let first = std::fs::read(p)
                    .ok()
                    .map(|b| {
                        b.split(|c| *c == b'\n')
                            .next()
                            .map(|l| String::from_utf8_lossy(l).into_owned())
                            .unwrap_or_default()
                    })
                    .unwrap_or_default();
                lint::is_shell(&p.to_string_lossy(), &first)
            })
            .collect()
    } else {
        a.files.clone()
    };
    let mut all: Vec<Finding> = Vec::new();
    for f in &files {
        let text = std::fs::read(f).map_err(|e| Error::new(format!("cannot read {}: {e}", f.display())))?;
        all.extend(lint::check(&f.display().to_string(), &String::from_utf8_lossy(&text)));
    }
    if ui.json {
        ui.json_out(&all)?;
    } else {
        let mut s = String::new();
        for x in &all {
            s += &format!("{}:{}:{}: {}: {}\n    hint: {}\n", x.file, x.line, x.column, x.rule, x.message, x.hint);
        }
        ui.data(&s)?;
        ui.status(format!("{} finding(s) in {} script(s)", all.len(), files.len()));
    }
    Ok(if all.is_empty() { 0 } else { 1 })
}
