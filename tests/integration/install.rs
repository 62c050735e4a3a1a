//! `install.sh` into a temporary prefix, as a new user runs it: binary, man pages, completions where the
//! shells look, a loud non-zero exit when the binary's directory is not on PATH, reinstalling over itself,
//! and `--uninstall`. (`--binary` installs the test's own build, and the build itself is checked with
//! stand-ins for cargo and the compilers, so nothing here compiles; the real build takes minutes.)

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
        "bin/git-neighbor-hook",
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
    // A binary with no hook binary beside it: the hooks then run `git-neighbor hook`, never the hook
    // binary of an earlier install.
    let alone = t.root.join("alone");
    std::fs::create_dir_all(&alone).unwrap();
    std::fs::copy(&binary, alone.join("git-neighbor")).unwrap();
    install(&t, &with, &["--prefix", p, "--binary", alone.join("git-neighbor").to_str().unwrap()]).ok();
    assert!(prefix.join("bin/git-neighbor").exists());
    assert!(!prefix.join("bin/git-neighbor-hook").exists(), "the earlier hook binary stayed");
    install(&t, &with, &["--prefix", p, "--binary", binary.to_str().unwrap()]).ok();
    assert!(prefix.join("bin/git-neighbor-hook").exists());
    // Uninstall removes what it installed, and says what becomes of hooks that named the hook binary.
    let o = install(&t, &with, &["--prefix", p, "--uninstall"]).ok();
    let named = format!("name {}/bin/git-neighbor-hook, so git now fails them", p);
    assert!(o.stderr.contains(&named), "{}", o.stderr);
    assert!(!prefix.join("bin/git-neighbor").exists());
    assert!(!prefix.join("bin/git-neighbor-hook").exists());
    assert!(!prefix.join("share/man/man1/git-neighbor.1").exists());
    assert!(!prefix.join("share/man/man7/git-neighbor-reference.7").exists());
    assert!(!prefix.join("share/bash-completion/completions/git-neighbor").exists());
    // Bad arguments: one line, exit 2.
    let o = install(&t, &with, &["--bogus"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("unknown argument '--bogus'"), "{}", o.stderr);
}

/// How `install.sh` asks cargo to build, with stand-ins for `cargo`, `rustc` and `cc` first on PATH (the
/// real build takes minutes): glibc linked in (`--target <host>` and `+crt-static` in that target's flags,
/// added to any already there) only on a glibc host whose C compiler finds `libc.a`, and never with
/// `--dynamic` or over the user's own `RUSTFLAGS`.
#[test]
fn glibc_is_linked_in_only_where_it_can_be() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestRepo::new();
    let fake = t.root.join("fake");
    std::fs::create_dir_all(&fake).unwrap();
    let script = |name: &str, body: &str| {
        let p = fake.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    let log = t.root.join("cargo.log");
    script(
        "cargo",
        "printf 'args: %s\\nflags: %s\\nrustflags: %s\\n' \"$*\" \
         \"${CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS-unset}\" \"${RUSTFLAGS-unset}\" > \"$LOG\"\n\
         while [ $# -gt 0 ]; do if [ \"$1\" = --root ]; then root=$2; fi; shift; done\n\
         mkdir -p \"$root/bin\" && cp \"$BIN\" \"$root/bin/git-neighbor\" 2>/dev/null || exit 101\n",
    );
    script("rustc", "if [ \"$1\" = -vV ]; then printf 'rustc 1.95.0\\nhost: %s\\n' \"$HOST\"; fi\n");
    script("cc", "if [ \"$1\" = -print-file-name=libc.a ]; then printf '%s\\n' \"$LIBC_A\"; fi\n");
    let libc_a = t.root.join("libc.a");
    std::fs::write(&libc_a, "").unwrap();
    let prefix = t.root.join("prefix");
    let path = format!("{}:{}/bin:{}", fake.display(), prefix.display(), std::env::var("PATH").unwrap_or_default());
    let gnu = "x86_64-unknown-linux-gnu";
    let found = libc_a.to_str().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| -> String {
        let _ = std::fs::remove_file(&log);
        let mut c = Command::new("sh");
        t.env(&mut c);
        c.env("PATH", &path).env("LOG", &log).env("BIN", bin());
        for (k, v) in env {
            c.env(k, v);
        }
        c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
            .args(["--prefix", prefix.to_str().unwrap()])
            .args(args)
            .current_dir(&t.root);
        let o = Out::from_output(c.output().unwrap());
        assert_eq!(o.code, 0, "{args:?} {env:?}: {}", o.stderr);
        std::fs::read_to_string(&log).unwrap()
    };
    let statically = format!("args: install --locked --force --path . --root {} --target {gnu}\n", prefix.display());
    let dynamically = format!("args: install --locked --force --path . --root {}\n", prefix.display());
    let got = run(&[], &[("HOST", gnu), ("LIBC_A", found)]);
    assert_eq!(got, format!("{statically}flags: -C target-feature=+crt-static\nrustflags: unset\n"));
    let got =
        run(&[], &[("HOST", gnu), ("LIBC_A", found), ("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS", "-C a=b")]);
    assert_eq!(got, format!("{statically}flags: -C a=b -C target-feature=+crt-static\nrustflags: unset\n"));
    for (args, env) in [
        (&["--dynamic"][..], &[("HOST", gnu), ("LIBC_A", found)][..]),
        (&[], &[("HOST", gnu), ("LIBC_A", "libc.a")]),
        (&[], &[("HOST", gnu), ("LIBC_A", "/nowhere/libc.a")]),
        (&[], &[("HOST", "aarch64-apple-darwin"), ("LIBC_A", found)]),
        (&[], &[("HOST", "x86_64-unknown-linux-gnu$(touch x)"), ("LIBC_A", found)]),
    ] {
        assert_eq!(run(args, env), format!("{dynamically}flags: unset\nrustflags: unset\n"), "{args:?} {env:?}");
    }
    let got = run(&[], &[("HOST", gnu), ("LIBC_A", found), ("RUSTFLAGS", "-C opt-level=2")]);
    assert_eq!(got, format!("{dynamically}flags: unset\nrustflags: -C opt-level=2\n"));
    // A static link that fails (cargo exits 101) stops there and names the way out.
    let mut c = Command::new("sh");
    t.env(&mut c);
    c.env("PATH", &path).env("LOG", &log).env("BIN", "/nonexistent").env("HOST", gnu).env("LIBC_A", found);
    c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh")).args(["--prefix", prefix.to_str().unwrap()]);
    let o = Out::from_output(c.current_dir(&t.root).output().unwrap());
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("the build with glibc linked in failed; ./install.sh --dynamic links it dynamically"),
        "{}",
        o.stderr
    );
    assert!(prefix.join("bin/git-neighbor").exists());
}
