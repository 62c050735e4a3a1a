//! `install.sh` into a temporary prefix, as a new user runs it: binary, man pages, completions where the
//! shells look, a loud non-zero exit when the binary's directory is not on PATH, reinstalling over itself,
//! and `--uninstall`. (`--binary` installs the test's own build, so this test compiles nothing; CI runs
//! the real build with `./install.sh --prefix`.)

use std::path::Path;
use std::process::Command;

use crate::common::{Out, TestRepo, bin};

fn install(t: &TestRepo, path: &str, args: &[&str]) -> Out {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let mut c = Command::new("sh");
    t.env(&mut c);
    c.env("PATH", path).arg(script).args(args).current_dir(&t.root);
    Out::from_output(c.output().unwrap())
}

#[test]
fn install_into_a_prefix_then_uninstall() {
    let t = TestRepo::new();
    let prefix = t.root.join("prefix");
    let p = prefix.to_str().unwrap();
    let binary = bin();
    let sys_path = std::env::var("PATH").unwrap_or_default();
    // Not on PATH: installed, but said loudly and exit 1, so `install.sh && git neighbor demo` stops there.
    let o = install(&t, &sys_path, &["--prefix", p, "--binary", binary.to_str().unwrap()]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("is NOT on your PATH"), "{}", o.stderr);
    for f in [
        "bin/git-neighbor",
        "share/man/man1/git-neighbor.1",
        "share/man/man1/git-neighbor-add.1",
        "share/man/man7/git-neighbor-reference.7",
        "share/bash-completion/completions/git-neighbor",
        "share/zsh/site-functions/_git-neighbor",
        "share/fish/vendor_completions.d/git-neighbor.fish",
    ] {
        assert!(prefix.join(f).exists(), "{f} not installed");
    }
    // On PATH: exit 0, and git finds the command.
    let with = format!("{}/bin:{sys_path}", p);
    install(&t, &with, &["--prefix", p, "--binary", binary.to_str().unwrap()]).ok();
    let mut git = Command::new("git");
    t.env(&mut git);
    let v = git.env("PATH", &with).args(["neighbor", "--version"]).current_dir(&t.dir).output().unwrap();
    assert!(v.status.success() && String::from_utf8_lossy(&v.stdout).starts_with("git-neighbor "));
    // Uninstall removes what it installed.
    install(&t, &with, &["--prefix", p, "--uninstall"]).ok();
    assert!(!prefix.join("bin/git-neighbor").exists());
    assert!(!prefix.join("share/man/man1/git-neighbor.1").exists());
    assert!(!prefix.join("share/man/man7/git-neighbor-reference.7").exists());
    assert!(!prefix.join("share/bash-completion/completions/git-neighbor").exists());
    // Bad arguments: one line, exit 2.
    let o = install(&t, &with, &["--bogus"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("unknown argument '--bogus'"), "{}", o.stderr);
}
