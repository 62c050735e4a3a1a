//! `.neighbor.toml`: loading, defaults, `-c key=value` overrides, and errors that name file, line and key.
//!
//! The schema is small and fixed by the contract, so it is walked by hand over toml's span-preserving
//! parse tree: that is what lets an unknown or mistyped key be reported with its line and a suggestion.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::Error;
use crate::git::Repo;

/// The config file name, at the repository root.
pub const FILE: &str = ".neighbor.toml";

/// Effective configuration.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Config {
    /// `[worktrees]`
    pub worktrees: Worktrees,
    /// `[fleet]`
    pub fleet: Fleet,
    /// `[state]`
    pub state: State,
    /// `[merge]`
    pub merge: Merge,
    /// Where the file was read from, if any.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[worktrees]` section.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Worktrees {
    /// Where tenants live; `{repo}` is the building name.
    pub root: String,
    /// Branch template with `{name}`, `{owner}`, `{task}`.
    pub branch: String,
    /// Default base revision.
    pub base: String,
    /// Files/globs copied into every new tenant.
    pub carry: Vec<String>,
    /// Minimum age before prune removes a clean merged tenant.
    #[serde(serialize_with = "ser_dur")]
    pub prune_after: Duration,
}

/// `[fleet]` section.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Fleet {
    /// Minimum gap between launches.
    #[serde(serialize_with = "ser_dur")]
    pub stagger: Duration,
    /// Upstream commit younger than this means the fleet is live.
    #[serde(serialize_with = "ser_dur")]
    pub live_window: Duration,
}

/// `[state]` section.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct State {
    /// Canonical state directory.
    pub dir: String,
    /// Paths only merge-frame may commit.
    pub canonical: Vec<String>,
    /// Branch merge-frame commits to.
    pub target: String,
}

/// `[merge]` section.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Merge {
    /// Streams expected every frame.
    pub expect: Vec<String>,
}

fn ser_dur<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            worktrees: Worktrees {
                root: "../{repo}.worktrees".into(),
                branch: "neighbor/{name}".into(),
                base: "HEAD".into(),
                carry: Vec::new(),
                prune_after: Duration::from_secs(3600),
            },
            fleet: Fleet { stagger: Duration::ZERO, live_window: Duration::from_secs(600) },
            state: State { dir: "state".into(), canonical: vec!["state/**".into()], target: "main".into() },
            merge: Merge { expect: Vec::new() },
            source: None,
        }
    }
}

#[derive(Clone, Copy)]
enum Ty {
    Str,
    List,
    Dur,
}

const SCHEMA: &[(&str, &[(&str, Ty)])] = &[
    (
        "worktrees",
        &[("root", Ty::Str), ("branch", Ty::Str), ("base", Ty::Str), ("carry", Ty::List), ("prune-after", Ty::Dur)],
    ),
    ("fleet", &[("stagger", Ty::Dur), ("live-window", Ty::Dur)]),
    ("state", &[("dir", Ty::Str), ("canonical", Ty::List), ("target", Ty::Str)]),
    ("merge", &[("expect", Ty::List)]),
];

/// A parsed value, before it is stored.
enum Val {
    Str(String),
    List(Vec<String>),
    Dur(Duration),
}

impl Config {
    /// Load from the current worktree's `.neighbor.toml` (or the committed one at HEAD in a bare
    /// repository), then apply `-c` overrides.
    pub fn load(repo: &Repo, overrides: &[String]) -> Result<Config, Error> {
        let mut cfg = Config::default();
        let (text, origin) = match &repo.workdir {
            Some(root) => {
                let path = root.join(FILE);
                match std::fs::read_to_string(&path) {
                    Ok(t) => (Some(t), path),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, path),
                    Err(e) => return Err(Error::new(format!("cannot read {}: {e}", path.display()))),
                }
            }
            None => {
                let blob = repo
                    .gix
                    .rev_parse_single(format!("HEAD:{FILE}").as_str())
                    .ok()
                    .and_then(|id| id.object().ok())
                    .map(|o| String::from_utf8_lossy(&o.data).into_owned());
                (blob, PathBuf::from(format!("HEAD:{FILE}")))
            }
        };
        if let Some(text) = text {
            cfg.apply_file(&text, &origin)?;
            cfg.source = Some(origin);
        }
        for o in overrides {
            cfg.apply_override(o)?;
        }
        Ok(cfg)
    }

    /// Parse a config document (used by `load` and by tests of the parser).
    pub fn apply_file(&mut self, text: &str, origin: &Path) -> Result<(), Error> {
        let shown = origin.display().to_string();
        let line_of = |pos: usize| text[..pos.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1;
        let doc = DeTable::parse(text).map_err(|e| {
            let line = e.span().map(|s| line_of(s.start)).unwrap_or(1);
            Error::new(format!("{shown}:{line}: invalid TOML: {}", e.message().trim()))
                .hint(format!("fix the syntax in {shown}"))
        })?;
        for (section, body) in doc.get_ref().iter() {
            let sname = section.get_ref().as_ref();
            let line = line_of(section.span().start);
            let Some((_, keys)) = SCHEMA.iter().find(|(s, _)| *s == sname) else {
                let sections: Vec<&str> = SCHEMA.iter().map(|(s, _)| *s).collect();
                return Err(unknown(&format!("{shown}:{line}"), sname, &sections));
            };
            let DeValue::Table(table) = body.get_ref() else {
                return Err(Error::new(format!("{shown}:{line}: `{sname}` must be a table ([{sname}])")));
            };
            for (key, value) in table.iter() {
                let kname = key.get_ref().as_ref();
                let line = line_of(key.span().start);
                let full = format!("{sname}.{kname}");
                let Some((_, ty)) = keys.iter().find(|(k, _)| *k == kname) else {
                    let names: Vec<String> = keys.iter().map(|(k, _)| format!("{sname}.{k}")).collect();
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    return Err(unknown(&format!("{shown}:{line}"), &full, &names));
                };
                let v = convert(value, *ty).and_then(|v| check(&full, v)).map_err(|why| {
                    Error::new(format!("{shown}:{line}: {full}: {why}")).hint(format!("fix {full} in {shown}"))
                })?;
                self.store(&full, v);
            }
        }
        Ok(())
    }

    /// Apply one `-c key=value` override; the value is TOML if it parses as TOML, else a bare string.
    pub fn apply_override(&mut self, spec: &str) -> Result<(), Error> {
        let Some((key, raw)) = spec.split_once('=') else {
            return Err(Error::usage(format!("-c {spec}: expected key=value")).hint("for example: -c fleet.stagger=3s"));
        };
        let key = key.trim();
        let where_ = format!("-c {key}");
        let (section, name) = key.split_once('.').unwrap_or(("", key));
        let Some((_, keys)) = SCHEMA.iter().find(|(s, _)| *s == section) else {
            let all: Vec<String> =
                SCHEMA.iter().flat_map(|(s, ks)| ks.iter().map(move |(k, _)| format!("{s}.{k}"))).collect();
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            return Err(unknown(&where_, key, &all).into_usage());
        };
        let Some((_, ty)) = keys.iter().find(|(k, _)| *k == name) else {
            let names: Vec<String> = keys.iter().map(|(k, _)| format!("{section}.{k}")).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            return Err(unknown(&where_, key, &names).into_usage());
        };
        let parsed = DeValue::parse(raw).ok();
        let v = match parsed {
            Some(v) => convert(&v, *ty),
            None => convert(&Spanned::new(0..0, DeValue::String(raw.to_string().into())), *ty),
        };
        // A bare word that TOML rejected but is a string in our schema is fine; anything else is an error.
        let v = v.or_else(|why| match ty {
            Ty::Str => Ok(Val::Str(raw.to_string())),
            Ty::Dur => parse_duration(raw).map(Val::Dur),
            Ty::List => Err(why),
        });
        let v = v.and_then(|v| check(key, v)).map_err(|why| Error::usage(format!("{where_}: {why}")))?;
        self.store(key, v);
        Ok(())
    }

    fn store(&mut self, key: &str, v: Val) {
        match (key, v) {
            ("worktrees.root", Val::Str(s)) => self.worktrees.root = s,
            ("worktrees.branch", Val::Str(s)) => self.worktrees.branch = s,
            ("worktrees.base", Val::Str(s)) => self.worktrees.base = s,
            ("worktrees.carry", Val::List(l)) => self.worktrees.carry = l,
            ("worktrees.prune-after", Val::Dur(d)) => self.worktrees.prune_after = d,
            ("fleet.stagger", Val::Dur(d)) => self.fleet.stagger = d,
            ("fleet.live-window", Val::Dur(d)) => self.fleet.live_window = d,
            ("state.dir", Val::Str(s)) => self.state.dir = s,
            ("state.canonical", Val::List(l)) => self.state.canonical = l,
            ("state.target", Val::Str(s)) => self.state.target = s,
            ("merge.expect", Val::List(l)) => self.merge.expect = l,
            // The schema table and this match list the same keys; convert() guarantees the type.
            _ => {}
        }
    }
}

trait IntoUsage {
    fn into_usage(self) -> Error;
}
impl IntoUsage for Error {
    fn into_usage(mut self) -> Error {
        self.kind = crate::error::Kind::Usage;
        self
    }
}

fn unknown(at: &str, key: &str, known: &[&str]) -> Error {
    let last = key.rsplit('.').next().unwrap_or(key);
    let best = known
        .iter()
        .map(|k| (strsim::levenshtein(last, k.rsplit('.').next().unwrap_or(k)), *k))
        .filter(|(d, _)| *d <= 3)
        .min();
    let mut e = Error::new(format!("{at}: unknown key `{key}`"));
    e = match best {
        Some((_, k)) => e.hint(format!("did you mean `{k}`?")),
        None => e.hint(format!("known keys here: {}", known.join(", "))),
    };
    e
}

fn convert(v: &Spanned<DeValue<'_>>, ty: Ty) -> Result<Val, String> {
    match (ty, v.get_ref()) {
        (Ty::Str, DeValue::String(s)) => Ok(Val::Str(s.to_string())),
        (Ty::Str, other) => Err(format!("expected a string, found {}", type_name(other))),
        (Ty::List, DeValue::Array(items)) => items
            .iter()
            .map(|i| match i.get_ref() {
                DeValue::String(s) => Ok(s.to_string()),
                other => Err(format!("expected an array of strings, found an item of type {}", type_name(other))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Val::List),
        (Ty::List, other) => Err(format!("expected an array of strings, found {}", type_name(other))),
        (Ty::Dur, DeValue::String(s)) => parse_duration(s).map(Val::Dur),
        (Ty::Dur, DeValue::Integer(i)) if i.as_str() == "0" => Ok(Val::Dur(Duration::ZERO)),
        (Ty::Dur, other) => Err(format!("expected a duration string like \"10m\", found {}", type_name(other))),
    }
}

/// Validate a value the way the matching flag is validated. A committed config is untrusted input: its
/// values reach paths, ref names and commit messages, so nothing here may carry a control character, the
/// state dir must be a plain relative directory git would check out, streams are stream names and the
/// target is a branch name.
fn check(key: &str, v: Val) -> Result<Val, String> {
    let strings: Vec<&String> = match &v {
        Val::Str(s) => vec![s],
        Val::List(l) => l.iter().collect(),
        Val::Dur(_) => Vec::new(),
    };
    for s in &strings {
        if let Some(c) = s.chars().find(|c| c.is_control()) {
            return Err(format!("{s:?} contains the control character {c:?}"));
        }
    }
    match (key, v) {
        ("state.dir", Val::Str(s)) => {
            let trimmed = s.strip_suffix('/').unwrap_or(&s);
            crate::frames::delta::validate_rel_path(trimmed)
                .map_err(|e| format!("{s:?} is not a usable state directory: {e}"))?;
            Ok(Val::Str(trimmed.to_string()))
        }
        ("state.target", Val::Str(s)) => {
            let bad = |why: String| format!("{s:?} is not a branch name: {why}");
            if s.is_empty() || s.starts_with('-') {
                return Err(bad("it is empty or starts with '-'".into()));
            }
            gix::validate::reference::name(format!("refs/heads/{s}").as_bytes().into())
                .map_err(|e| bad(e.to_string()))?;
            Ok(Val::Str(s))
        }
        ("merge.expect", Val::List(l)) => {
            for s in &l {
                crate::building::registry::validate_name_as("stream", s).map_err(|e| e.message)?;
            }
            Ok(Val::List(l))
        }
        ("state.canonical" | "worktrees.carry", Val::List(l)) => {
            for s in &l {
                if s.is_empty() {
                    return Err("an entry is empty".into());
                }
                // Globs, so `*` and friends are fine; no component may name a git dir.
                if let Some(c) = s
                    .split('/')
                    .find(|c| !matches!(*c, "" | "." | "..") && crate::frames::delta::check_component(c).is_err())
                {
                    return Err(format!("{s:?} names {c:?}, which git reserves"));
                }
            }
            Ok(Val::List(l))
        }
        (_, v) => Ok(v),
    }
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Parse `1h30m`, `10m`, `2s`, `500ms`, `1d`, or `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration \"{s}\": use a number and a unit, like 500ms, 30s, 10m, 1h");
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ms" => n / 1000.0,
            "s" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            "d" => n * 86400.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += Duration::try_from_secs_f64(secs).map_err(|_| bad())?;
    }
    Ok(total)
}

/// Render a duration in the same syntax `parse_duration` accepts.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0s".into()
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The commented file `init` writes.
/// The template with `state.target` set to `branch` (the repository's default branch) when that is not
/// the built-in default, so merge-frame works without editing on a `master` (or any other) repository.
pub fn template_for(branch: Option<&str>) -> String {
    match branch {
        Some(b) if b != Config::default().state.target => TEMPLATE.replace(
            "# target = \"main\"                # branch merge-frame commits to",
            &format!("target = {}  # branch merge-frame commits to (this repository's default branch)", toml_string(b)),
        ),
        _ => TEMPLATE.to_string(),
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

pub const TEMPLATE: &str = r#"# git-neighbor configuration. Every key is optional; the values shown are the defaults.
# Reference: `git neighbor --help` and README.md.

[worktrees]
# root = "../{repo}.worktrees"   # where tenants live; {repo} = the main worktree's directory name
# branch = "neighbor/{name}"     # branch template; {name}, {owner}, {task} available
# base = "HEAD"                  # default base for new tenants
# carry = []                     # uncommitted files/globs copied into every new tenant (plus .worktreeinclude)
# prune-after = "1h"             # minimum age before prune removes a clean, merged tenant

[fleet]
# stagger = "0s"                 # minimum gap between launches through the elevator
# live-window = "10m"            # an upstream commit younger than this means the fleet is live

[state]
# dir = "state"                  # canonical state directory (deltas may only touch files under it)
# canonical = ["state/**"]       # paths only merge-frame may commit (pre-commit guard)
# target = "main"                # branch merge-frame commits to

[merge]
# expect = []                    # stream names merge-frame expects every frame
"#;

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: if std::env::var("NEIGHBOR_LONG").is_ok_and(|v| v == "1") { 20_000 } else { 512 }, ..Default::default() })]

        /// Any document: no panic; whatever is accepted is as valid as the matching flag would be.
        #[test]
        fn hostile_documents_never_panic_or_pass_bad_values(
            section in proptest::sample::select(vec!["state", "merge", "worktrees", "fleet", "x"]),
            key in proptest::sample::select(vec!["dir", "expect", "target", "carry", "canonical", "root", "branch", "stagger"]),
            value in proptest::prop_oneof![
                r#""([.gGiItT~1/ a]|\\n|\\u0000|\.\.|Neighbor-Frame: 9){0,8}""#,
                r#"\[("[a-z.~/\\n -]{0,6}", ?){0,3}\]"#,
                r#"[\[\]"{}=.a-z0-9 ,\n]{0,24}"#,
            ],
            junk in r#"[\[\]"=.a-z \n]{0,12}"#,
        ) {
            let text = format!("[{section}]\n{key} = {value}\n{junk}");
            let mut c = Config::default();
            if c.apply_file(&text, Path::new(FILE)).is_ok() {
                proptest::prop_assert!(crate::frames::delta::validate_rel_path(&c.state.dir).is_ok(), "{:?}", c.state.dir);
                for s in &c.merge.expect {
                    proptest::prop_assert!(crate::building::registry::validate_name_as("stream", s).is_ok(), "{:?}", s);
                }
                let all = [&c.state.dir, &c.state.target, &c.worktrees.root, &c.worktrees.branch, &c.worktrees.base];
                for s in all.into_iter().chain(&c.state.canonical).chain(&c.worktrees.carry).chain(&c.merge.expect) {
                    proptest::prop_assert!(!s.chars().any(char::is_control), "{:?}", s);
                }
            }
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("10 minutes").is_err());
        assert!(parse_duration("m").is_err());
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
    }

    #[test]
    fn template_parses_to_defaults() {
        let mut c = Config::default();
        c.apply_file(TEMPLATE, Path::new(FILE)).expect("template is valid");
        assert_eq!(c.worktrees.prune_after, Duration::from_secs(3600));
    }

    #[test]
    fn unknown_key_names_line_and_suggests() {
        let mut c = Config::default();
        let e = c.apply_file("[fleet]\n\nstager = \"3s\"\n", Path::new(FILE)).expect_err("unknown key");
        assert_eq!(e.message, ".neighbor.toml:3: unknown key `fleet.stager`");
        assert_eq!(e.hints, vec!["did you mean `fleet.stagger`?".to_string()]);
    }

    #[test]
    fn wrong_type_names_key() {
        let mut c = Config::default();
        let e = c.apply_file("[worktrees]\ncarry = \"x\"\n", Path::new(FILE)).expect_err("wrong type");
        assert!(e.message.starts_with(".neighbor.toml:2: worktrees.carry: expected an array"), "{}", e.message);
    }

    /// A document parsed on top of the defaults, as `load` does.
    fn parse(text: &str) -> Result<Config, Error> {
        let mut c = Config::default();
        c.apply_file(text, Path::new(FILE)).map(|()| c)
    }

    /// The defaults with one `-c` override, as `load` does.
    fn with_c(spec: &str) -> Result<Config, Error> {
        let mut c = Config::default();
        c.apply_override(spec).map(|()| c)
    }

    #[test]
    fn unknown_key_in_every_section_names_line_and_suggests() {
        for (text, key, meant) in [
            ("[worktrees]\nroot = \"x\"\nbrnach = \"y\"\n", "worktrees.brnach", "worktrees.branch"),
            ("# c\n[fleet]\nlive_window = \"1m\"\n", "fleet.live_window", "fleet.live-window"),
            ("[state]\n\n\ntargt = \"main\"\n", "state.targt", "state.target"),
            ("[merge]\nexpects = []\n", "merge.expects", "merge.expect"),
        ] {
            let e = parse(text).expect_err(text);
            let line = text.lines().position(|l| l.starts_with(key.rsplit('.').next().unwrap_or(key))).map(|i| i + 1);
            let line = line.expect("the test names a key on some line");
            assert_eq!(e.message, format!(".neighbor.toml:{line}: unknown key `{key}`"), "{text:?}");
            assert_eq!(e.hints, vec![format!("did you mean `{meant}`?")], "{text:?}");
            assert_eq!(e.kind, crate::error::Kind::Error);
        }
        // Nothing close: the hint lists what the section has.
        let e = parse("[merge]\nzzzzzzzz = 1\n").expect_err("unknown");
        assert_eq!(e.message, ".neighbor.toml:2: unknown key `merge.zzzzzzzz`");
        assert_eq!(e.hints, vec!["known keys here: merge.expect".to_string()]);
    }

    #[test]
    fn unknown_section_names_line_and_suggests() {
        let e = parse("[fleet]\nstagger = \"1s\"\n\n[worktree]\nroot = \"x\"\n").expect_err("unknown section");
        assert_eq!(e.message, ".neighbor.toml:4: unknown key `worktree`");
        assert_eq!(e.hints, vec!["did you mean `worktrees`?".to_string()]);
        // A dotted key at the top level names the section too.
        let e = parse("flet.stagger = \"1s\"\n").expect_err("unknown section");
        assert_eq!(e.message, ".neighbor.toml:1: unknown key `flet`");
        assert_eq!(e.hints, vec!["did you mean `fleet`?".to_string()]);
    }

    #[test]
    fn wrong_types_name_line_and_key() {
        for (text, line, key, why) in [
            ("[worktrees]\nroot = 3\n", 2, "worktrees.root", "expected a string, found an integer"),
            ("[worktrees]\n\nprune-after = 5\n", 3, "worktrees.prune-after", "expected a duration string"),
            ("[fleet]\nstagger = \"soon\"\n", 2, "fleet.stagger", "invalid duration \"soon\""),
            (
                "[state]\ncanonical = [\"a\", 1]\n",
                2,
                "state.canonical",
                "expected an array of strings, found an item of type an integer",
            ),
            ("[merge]\nexpect = \"a\"\n", 2, "merge.expect", "expected an array of strings, found a string"),
            ("[state]\ndir = \".git\"\n", 2, "state.dir", "\".git\" is not a usable state directory"),
        ] {
            let e = parse(text).expect_err(text);
            let at = format!(".neighbor.toml:{line}");
            assert!(
                e.message.starts_with(&at) && e.message.contains(&format!(" {key}: {why}")),
                "{text:?}: {}",
                e.message
            );
            assert_eq!(e.hints, vec![format!("fix {key} in .neighbor.toml")], "{text:?}");
        }
        let e = parse("fleet = 3\n").expect_err("section not a table");
        assert!(
            e.message.starts_with(".neighbor.toml:1") && e.message.contains("`fleet` must be a table"),
            "{}",
            e.message
        );
    }

    #[test]
    fn duplicate_keys_and_bad_syntax_name_the_line() {
        let e = parse("[fleet]\nstagger = \"1s\"\nstagger = \"2s\"\n").expect_err("duplicate key");
        assert!(e.message.starts_with(".neighbor.toml:3") && e.message.contains("invalid TOML"), "{}", e.message);
        assert!(!e.message.contains('\n'), "one line: {:?}", e.message);
        let e = parse("[fleet]\n[fleet]\n").expect_err("duplicate section");
        assert!(e.message.starts_with(".neighbor.toml:2") && e.message.contains("invalid TOML"), "{}", e.message);
        let e = parse("[worktrees]\nroot = \"x\"\nbranch = [unclosed\n").expect_err("syntax");
        assert!(e.message.starts_with(".neighbor.toml:3") && !e.message.contains('\n'), "{:?}", e.message);
        assert_eq!(e.hints, vec!["fix the syntax in .neighbor.toml".to_string()]);
    }

    #[test]
    fn unknown_override_key_is_a_usage_error_with_a_suggestion() {
        let e = with_c("fleet.stager=3s").expect_err("unknown key");
        assert_eq!(
            (e.kind, e.message.as_str()),
            (crate::error::Kind::Usage, "-c fleet.stager: unknown key `fleet.stager`")
        );
        assert_eq!(e.hints, vec!["did you mean `fleet.stagger`?".to_string()]);
        let e = with_c("flet.stagger=3s").expect_err("unknown section");
        assert_eq!(
            (e.kind, e.message.as_str()),
            (crate::error::Kind::Usage, "-c flet.stagger: unknown key `flet.stagger`")
        );
        assert_eq!(e.hints, vec!["did you mean `fleet.stagger`?".to_string()]);
        let e = with_c("state.dir=.git").expect_err("bad value");
        assert_eq!(e.kind, crate::error::Kind::Usage);
        assert!(e.message.starts_with("-c state.dir: "), "{}", e.message);
        // Values: TOML when they parse as TOML, else the bare word; a quoted string is not retried bare.
        assert_eq!(with_c("worktrees.base=123").expect("bare word").worktrees.base, "123");
        assert_eq!(with_c("fleet.live-window=0").expect("zero").fleet.live_window, Duration::ZERO);
        assert!(with_c("state.target=\"a..b\"").is_err());
        assert!(with_c("merge.expect=a").is_err());
    }

    #[test]
    fn overrides_apply_on_top_of_the_file() {
        let mut c = parse("[fleet]\nstagger = \"2s\"\nlive-window = \"1m\"\n").expect("valid");
        c.apply_override("fleet.stagger=5s").expect("ok");
        assert_eq!((c.fleet.stagger, c.fleet.live_window), (Duration::from_secs(5), Duration::from_secs(60)));
    }

    #[test]
    fn overrides() {
        let mut c = Config::default();
        c.apply_override("fleet.stagger=3s").expect("ok");
        c.apply_override("worktrees.branch=agents/{name}").expect("bare string ok");
        c.apply_override("merge.expect=[\"a\",\"b\"]").expect("list ok");
        assert_eq!(c.fleet.stagger, Duration::from_secs(3));
        assert_eq!(c.worktrees.branch, "agents/{name}");
        assert_eq!(c.merge.expect, vec!["a", "b"]);
        assert!(c.apply_override("fleet.stager=3s").is_err());
        assert!(c.apply_override("fleet.stagger").is_err());
    }
}
