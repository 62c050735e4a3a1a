//! Path validation accept/reject lists and the on-disk symlink refusal,
//! using a real scratch directory under the system temp dir.

use std::fs;
use std::path::PathBuf;

use crate::frames::delta::{PathError, RelPath, StateSource, check_no_symlinks, validate_rel_path};

#[test]
fn accepted_paths() {
    let long_component = "c".repeat(255);
    let long_path = vec!["p".repeat(204); 5].join("/");
    assert_eq!(long_path.len(), 1024);
    let ok = [
        "a",
        "a.json",
        "stats.json",
        "dir/file.json",
        "a/b/c/d.jsonl",
        ".hidden",
        "..a",
        "a.b/c.d",
        ".gitignored",
        ".gitattributes.json",
        "gitignore",
        "g~1",
        "gitatt~x",
        "git~2x",
        "my.git",
        ".github/x.json",
        "-",
        "with space/x y.json",
        "ünïcode/ファイル.json",
        long_component.as_str(),
        long_path.as_str(),
    ];
    for p in ok {
        let rel = validate_rel_path(p).unwrap_or_else(|e| panic!("{p:?} refused: {e}"));
        assert_eq!(rel.as_str(), p);
    }
}

/// Recognises the expected refusal.
type Expect = fn(&PathError) -> bool;

#[test]
fn refused_paths() {
    let long_component = format!("a/{}", "c".repeat(256));
    let long_path = format!("{}/{}", vec!["p".repeat(204); 4].join("/"), "q".repeat(205));
    let cases: &[(&str, Expect)] = &[
        ("", |e| matches!(e, PathError::Empty)),
        ("/etc/passwd", |e| matches!(e, PathError::Absolute)),
        ("/", |e| matches!(e, PathError::Absolute)),
        ("../x", |e| matches!(e, PathError::DotDotComponent)),
        ("..", |e| matches!(e, PathError::DotDotComponent)),
        ("a/../b", |e| matches!(e, PathError::DotDotComponent)),
        ("a/..", |e| matches!(e, PathError::DotDotComponent)),
        ("./a", |e| matches!(e, PathError::DotComponent)),
        ("a/./b", |e| matches!(e, PathError::DotComponent)),
        (".", |e| matches!(e, PathError::DotComponent)),
        ("a\\b", |e| matches!(e, PathError::Backslash)),
        ("..\\x", |e| matches!(e, PathError::Backslash)),
        ("a//b", |e| matches!(e, PathError::EmptyComponent)),
        ("a/", |e| matches!(e, PathError::TrailingSlash)),
        ("a\0b", |e| matches!(e, PathError::ControlChar { offset: 1 })),
        ("a\nb", |e| matches!(e, PathError::ControlChar { .. })),
        ("a\tb", |e| matches!(e, PathError::ControlChar { .. })),
        ("a\u{7f}", |e| matches!(e, PathError::ControlChar { .. })),
        ("a\u{85}", |e| matches!(e, PathError::ControlChar { .. })),
        (long_component.as_str(), |e| matches!(e, PathError::ComponentTooLong { len: 256 })),
        // Names git refuses to check out (verify_path with protectNTFS and protectHFS), and names
        // Windows folds onto others.
        (".git/config", |e| matches!(e, PathError::Reserved { .. })),
        ("a/.GIT/x", |e| matches!(e, PathError::Reserved { .. })),
        ("git~1/hooks/x", |e| matches!(e, PathError::Reserved { .. })),
        ("GIT~1", |e| matches!(e, PathError::Reserved { .. })),
        (".git./x", |e| matches!(e, PathError::Reserved { .. })),
        (".git /x", |e| matches!(e, PathError::Reserved { .. })),
        (".git::$INDEX_ALLOCATION/x", |e| matches!(e, PathError::Reserved { .. })),
        (".g\u{200c}it/x", |e| matches!(e, PathError::Reserved { .. })),
        ("\u{feff}.git/x", |e| matches!(e, PathError::Reserved { .. })),
        (".gitmodules", |e| matches!(e, PathError::Reserved { .. })),
        ("a/GITMOD~1", |e| matches!(e, PathError::Reserved { .. })),
        // Files git reads as its own instructions, in any spelling a file system folds onto them.
        (".gitattributes", |e| matches!(e, PathError::Reserved { .. })),
        ("a/.GitAttributes", |e| matches!(e, PathError::Reserved { .. })),
        (".gitignore/x.json", |e| matches!(e, PathError::Reserved { .. })),
        ("a/.GITIGNORE", |e| matches!(e, PathError::Reserved { .. })),
        (".git\u{200d}ignore", |e| matches!(e, PathError::Reserved { .. })),
        (".gitattributes::$DATA", |e| matches!(e, PathError::Reserved { .. })),
        ("gitatt~1", |e| matches!(e, PathError::Reserved { .. })),
        ("GITIGN~2", |e| matches!(e, PathError::Reserved { .. })),
        ("gi7d29~1", |e| matches!(e, PathError::Reserved { .. })),
        ("gi250a~9", |e| matches!(e, PathError::Reserved { .. })),
        ("a..", |e| matches!(e, PathError::Reserved { .. })),
        ("...", |e| matches!(e, PathError::Reserved { .. })),
        ("x /y", |e| matches!(e, PathError::Reserved { .. })),
        (long_path.as_str(), |e| matches!(e, PathError::TooLong { len: 1025 })),
    ];
    for (p, expected) in cases {
        match validate_rel_path(p) {
            Ok(_) => panic!("{p:?} was accepted"),
            Err(e) => assert!(expected(&e), "{p:?} refused for the wrong reason: {e}"),
        }
        let via_serde = serde_json::from_value::<RelPath>(serde_json::Value::String((*p).to_owned()));
        assert!(via_serde.is_err(), "{p:?} accepted by Deserialize");
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "delta-engine-{name}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        ));
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(unix)]
#[test]
fn symlinks_are_refused() {
    use std::os::unix::fs::symlink;

    let scratch = Scratch::new("symlinks");
    let state = scratch.0.join("state");
    let outside = scratch.0.join("outside");
    fs::create_dir_all(state.join("real")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret.json"), "{}").unwrap();
    fs::write(state.join("real/file.json"), "{}").unwrap();
    symlink(&outside, state.join("dirlink")).unwrap();
    symlink(outside.join("secret.json"), state.join("filelink.json")).unwrap();
    symlink(state.join("real/file.json"), state.join("real/inner.json")).unwrap();
    symlink(&state, scratch.0.join("state-link")).unwrap();

    let check = |dir: &PathBuf, p: &str| check_no_symlinks(dir, &validate_rel_path(p).unwrap());
    // Existing and absent paths without links are fine.
    check(&state, "real/file.json").unwrap();
    check(&state, "real/absent.json").unwrap();
    check(&state, "absent/deeper/x.json").unwrap();
    check(&state, "real/file.json/below").unwrap();
    // A link anywhere on the way, or at the end, is refused.
    for p in ["dirlink/secret.json", "dirlink", "filelink.json", "real/inner.json"] {
        match check(&state, p) {
            Err(PathError::Symlink { path }) => assert!(path.starts_with(&state), "{p}"),
            other => panic!("{p}: {other:?}"),
        }
    }
    // So is a state directory that is itself a link.
    assert!(matches!(check(&scratch.0.join("state-link"), "real/file.json"), Err(PathError::Symlink { .. })));
    // A missing state directory has nothing to refuse.
    check(&scratch.0.join("nope"), "a.json").unwrap();
    // One checker for many paths answers each as the one-off check does, whatever came before: what it saw
    // to be no link is remembered, a link never is.
    let paths = [
        "real/file.json",
        "real/inner.json",
        "real/absent.json",
        "dirlink/secret.json",
        "real/file.json/below",
        "filelink.json",
        "dirlink",
        "absent/deeper/x.json",
    ];
    for dir in [state.clone(), scratch.0.join("state-link"), scratch.0.join("nope")] {
        let mut links = crate::frames::delta::NoSymlinks::new(&dir);
        for round in 0..2 {
            for p in paths.iter().chain(paths.iter().rev()) {
                let one = check(&dir, p).map_err(|e| e.to_string());
                let many = links.check(&validate_rel_path(p).unwrap()).map_err(|e| e.to_string());
                assert_eq!(many, one, "{} {p} (round {round})", dir.display());
            }
        }
    }

    // DirSource applies the same rule when reading.
    let source = crate::frames::delta::DirSource::new(&state);
    let read = |p: &str| source.read(&validate_rel_path(p).unwrap());
    assert_eq!(read("real/file.json").unwrap(), Some(b"{}".to_vec()));
    assert_eq!(read("real/absent.json").unwrap(), None);
    let err = read("dirlink/secret.json").unwrap_err();
    assert!(err.to_string().contains("refusing to follow symlink"), "{err}");
    assert!(read("filelink.json").is_err());
}

#[test]
fn join_onto_builds_the_expected_path() {
    let rel = validate_rel_path("a/b/c.json").unwrap();
    let base = std::path::Path::new("base");
    assert_eq!(rel.join_onto(base), base.join("a").join("b").join("c.json"));
    assert_eq!(rel.components().collect::<Vec<_>>(), ["a", "b", "c.json"]);
}
