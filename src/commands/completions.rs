//! `completions <shell>`: print a completion script. bash, zsh and fish get scripts that complete at run
//! time (tenant names, delta specs, rescue ids) for both `git neighbor …` and `git-neighbor …`; elvish and
//! powershell get clap's static script.

use crate::error::Error;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Where the scripts go (install.sh puts them there):
  bash  ~/.local/share/bash-completion/completions/git-neighbor (bash-completion loads it for `git-neighbor`,
        and git's completion loads it for `git neighbor`)
  zsh   a directory on $fpath, as _git-neighbor
  fish  ~/.config/fish/completions/git-neighbor.fish

Examples:
  git neighbor completions bash > ~/.local/share/bash-completion/completions/git-neighbor
  git neighbor completions zsh > ~/.zfunc/_git-neighbor   # with fpath+=(~/.zfunc) before compinit")]
pub struct Args {
    /// Shell to generate for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The script for `shell`.
pub fn script(shell: clap_complete::Shell) -> String {
    match shell {
        clap_complete::Shell::Bash => crate::completion::BASH.to_string(),
        clap_complete::Shell::Zsh => crate::completion::ZSH.to_string(),
        clap_complete::Shell::Fish => crate::completion::FISH.to_string(),
        other => {
            let mut out = Vec::new();
            clap_complete::generate(other, &mut crate::help::command(), "git-neighbor", &mut out);
            String::from_utf8_lossy(&out).into_owned()
        }
    }
}

pub fn run(ui: &Ui, a: &Args) -> Result<u8, Error> {
    ui.data(&script(a.shell))?;
    Ok(0)
}
