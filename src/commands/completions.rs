//! `completions`: print a completion script for a shell.

use clap::CommandFactory;

use crate::error::Error;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Shell to generate for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(a: &Args) -> Result<u8, Error> {
    let mut cmd = crate::cli::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "git-neighbor", &mut out);
    crate::ui::Ui::new(false, false, 0, crate::ui::ColorChoice::Never).data(&String::from_utf8_lossy(&out))?;
    Ok(0)
}
