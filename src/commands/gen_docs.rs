//! `__gen-docs DIR` (hidden): write the man pages (`DIR/man/*.1`) and shell completions
//! (`DIR/completions/*`) from the clap definition, so they can never disagree with `--help`.

use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write `man/` and `completions/` into.
    pub out: PathBuf,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    crate::building::state_dir::atomic_write(path, bytes)
}

fn man_page(cmd: &clap::Command, name: &str, dir: &Path) -> Result<(), Error> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone().name(name.to_string()))
        .render(&mut out)
        .ctx(|| format!("cannot render man page {name}"))?;
    write(&dir.join(format!("{name}.1")), &out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_page(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}

pub fn run(a: &Args) -> Result<u8, Error> {
    let cmd = crate::help::command();
    man_page(&cmd, "git-neighbor", &a.out.join("man"))?;
    for (shell, file) in [
        (clap_complete::Shell::Bash, "git-neighbor.bash"),
        (clap_complete::Shell::Zsh, "_git-neighbor"),
        (clap_complete::Shell::Fish, "git-neighbor.fish"),
    ] {
        write(&a.out.join("completions").join(file), crate::commands::completions::script(shell).as_bytes())?;
    }
    Ok(0)
}
