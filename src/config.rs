//! `.neighbor.toml`: the schema, loading, `-c key=value` overrides, and errors that name file, line and key.
//!
//! The structs below are the schema, defined once: serde refuses unknown keys (`deny_unknown_fields`),
//! each field's `deserialize_with` checks its type and value, and toml's spans place every error at its
//! line. A new section is a struct like these plus one field on [`Config`]: loading, `-c` overrides and
//! the did-you-mean suggestions follow from the derives.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use toml::de::{DeTable, DeValue};

use crate::error::{Error, Kind};
use crate::git::Repo;

/// The config file name, at the repository root.
pub const FILE: &str = ".neighbor.toml";

/// Effective configuration. Every field must serialize (no `skip_serializing_if`): the keys it
/// serializes to are the ones suggestions and `-c` are checked against.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Config {
    /// `[worktrees]`
    pub worktrees: Worktrees,
    /// `[fleet]`
    pub fleet: Fleet,
    /// `[state]`
    pub state: State,
    /// `[merge]`
    pub merge: Merge,
    /// `[hooks]`
    pub hooks: Hooks,
    /// `[setup]`
    pub setup: Setup,
    /// `[tasks]`
    pub tasks: Tasks,
    /// Where the file was read from, if any.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[worktrees]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Worktrees {
    /// Where tenants live; `{repo}` is the building name.
    #[serde(deserialize_with = "text")]
    pub root: String,
    /// Branch template with `{name}`, `{owner}`, `{task}`.
    #[serde(deserialize_with = "text")]
    pub branch: String,
    /// Default base revision.
    #[serde(deserialize_with = "text")]
    pub base: String,
    /// Files/globs copied into every new tenant.
    #[serde(deserialize_with = "globs")]
    pub carry: Vec<String>,
    /// Minimum age before prune removes a clean merged tenant.
    #[serde(with = "duration")]
    pub prune_after: Duration,
}

impl Default for Worktrees {
    fn default() -> Self {
        Worktrees {
            root: "../{repo}.worktrees".into(),
            branch: "neighbor/{name}".into(),
            base: "HEAD".into(),
            carry: Vec::new(),
            prune_after: Duration::from_secs(3600),
        }
    }
}

/// `[fleet]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Fleet {
    /// Minimum gap between launches.
    #[serde(with = "duration")]
    pub stagger: Duration,
    /// Upstream commit younger than this means the fleet is live.
    #[serde(with = "duration")]
    pub live_window: Duration,
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet { stagger: Duration::ZERO, live_window: Duration::from_secs(600) }
    }
}

/// `[state]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct State {
    /// Canonical state directory.
    #[serde(deserialize_with = "state_dir")]
    pub dir: String,
    /// Paths only merge-frame may commit.
    #[serde(deserialize_with = "globs")]
    pub canonical: Vec<String>,
    /// Branch merge-frame commits to.
    #[serde(deserialize_with = "branch_name")]
    pub target: String,
}

impl Default for State {
    fn default() -> Self {
        State { dir: "state".into(), canonical: vec!["state/**".into()], target: "main".into() }
    }
}

/// `[merge]` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Merge {
    /// Streams expected every frame.
    #[serde(deserialize_with = "streams")]
    pub expect: Vec<String>,
}

/// `[hooks]` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Hooks {
    /// The building requires the hooks in every clone: `doctor` counts missing hooks as a problem
    /// (exit 1) instead of a warning.
    pub required: bool,
}

/// `[setup]` section: commands run in every new tenant after it is created. A committed file is
/// untrusted, so they run only once `git neighbor trust` approved exactly these commands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Setup {
    /// Shell command lines, run in order with `sh -c` in the new tenant; the first that fails stops setup.
    #[serde(deserialize_with = "commands")]
    pub run: Vec<String>,
}

/// `[tasks]` section: the task plane.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Tasks {
    /// The remote every task change goes through (a remote configured in this clone; "" = none, unless
    /// `task sync` recorded one).
    #[serde(deserialize_with = "remote_name")]
    pub remote: String,
    /// A claim from another host whose heartbeat is older than this has expired.
    #[serde(with = "duration")]
    pub claim_ttl: Duration,
}

impl Default for Tasks {
    fn default() -> Self {
        Tasks { remote: String::new(), claim_ttl: Duration::from_secs(600) }
    }
}

// Each field's checker. A committed config is untrusted input: its values reach paths, ref names and
// commit messages, so each is validated the way the matching flag is: no string may carry a control
// character, the state dir must be a plain relative directory git would check out, list entries are globs
// or stream names, and the target is a branch name. A checker's message is placed at the value's line.

fn checked<'de, D: Deserializer<'de>, T>(
    d: D,
    f: impl FnOnce(toml::Value) -> Result<T, String>,
) -> Result<T, D::Error> {
    f(toml::Value::deserialize(d)?).map_err(serde::de::Error::custom)
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, string)
}

fn state_dir<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, |v| {
        let s = string(v)?;
        let trimmed = s.strip_suffix('/').unwrap_or(&s);
        crate::frames::delta::validate_rel_path(trimmed)
            .map_err(|e| format!("{s:?} is not a usable state directory: {e}"))?;
        Ok(trimmed.to_string())
    })
}

fn branch_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, |v| {
        let s = string(v)?;
        let bad = |why: String| format!("{s:?} is not a branch name: {why}");
        if s.is_empty() || s.starts_with('-') {
            return Err(bad("it is empty or starts with '-'".into()));
        }
        gix::validate::reference::name(format!("refs/heads/{s}").as_bytes().into()).map_err(|e| bad(e.to_string()))?;
        Ok(s)
    })
}

fn remote_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, |v| {
        let s = string(v)?;
        if s.is_empty() {
            return Ok(s);
        }
        // A remote *name*, never a URL or a path: a committed file must not send the plane elsewhere.
        let ok = !s.starts_with('-')
            && !s.contains(':')
            && !s.contains('\\')
            && gix::validate::reference::name_partial(format!("remotes/{s}/x").as_bytes().into()).is_ok();
        if ok {
            Ok(s)
        } else {
            Err(format!("{s:?} is not a remote name (a name from `git remote`, not a URL or path)"))
        }
    })
}

fn streams<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    checked(d, |v| {
        let l = strings(v)?;
        for s in &l {
            crate::building::registry::validate_name_as("stream", s).map_err(|e| e.message)?;
        }
        Ok(l)
    })
}

fn globs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    checked(d, |v| {
        let l = strings(v)?;
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
        Ok(l)
    })
}

fn commands<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    checked(d, |v| {
        let l = strings(v)?;
        if l.iter().any(|s| s.trim().is_empty()) {
            return Err("a command is empty".into());
        }
        Ok(l)
    })
}

/// Durations are written and read in `parse_duration`'s syntax (`0` is allowed bare).
mod duration {
    use super::*;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        checked(d, |v| match v {
            toml::Value::String(s) => parse_duration(&s),
            toml::Value::Integer(0) => Ok(Duration::ZERO),
            other => Err(format!("expected a duration string like \"10m\", found {}", type_name(&other))),
        })
    }
}

fn string(v: toml::Value) -> Result<String, String> {
    match v {
        toml::Value::String(s) => no_control(s),
        other => Err(format!("expected a string, found {}", type_name(&other))),
    }
}

fn strings(v: toml::Value) -> Result<Vec<String>, String> {
    match v {
        toml::Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                toml::Value::String(s) => no_control(s),
                other => Err(format!("expected an array of strings, found an item of type {}", type_name(&other))),
            })
            .collect(),
        other => Err(format!("expected an array of strings, found {}", type_name(&other))),
    }
}

fn no_control(s: String) -> Result<String, String> {
    match s.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!("{s:?} contains the control character {c:?}")),
        None => Ok(s),
    }
}

fn type_name(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a datetime",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

impl Config {
    /// Load from the current worktree's `.neighbor.toml` (or the committed one at HEAD in a bare
    /// repository), then apply `-c` overrides.
    pub fn load(repo: &Repo, overrides: &[String]) -> Result<Config, Error> {
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
        let mut cfg = Config::resolve(text.as_deref().map(|t| (t, origin.as_path())), overrides)?;
        cfg.source = text.map(|_| origin);
        Ok(cfg)
    }

    /// The file (text and where it came from), if any, with the `-c` overrides applied on top.
    pub fn resolve(file: Option<(&str, &Path)>, overrides: &[String]) -> Result<Config, Error> {
        let cfg = match file {
            Some((text, origin)) => Config::parse(text, origin)?,
            None => Config::default(),
        };
        if overrides.is_empty() {
            return Ok(cfg);
        }
        // The file is valid, so its keys as a plain table take each override and deserialize again.
        let mut doc = file.and_then(|(text, _)| text.parse::<toml::Table>().ok()).unwrap_or_default();
        for o in overrides {
            apply_override(&mut doc, o)?;
        }
        Config::deserialize(doc).map_err(|e| Error::usage(format!("-c: {}", e.message())))
    }

    /// Parse a config document: syntax and schema errors name `origin`, the line and column, and the key.
    pub fn parse(text: &str, origin: &Path) -> Result<Config, Error> {
        let shown = origin.display().to_string();
        let at = |span: Option<Range<usize>>| {
            let (line, col) = line_col(text, span.map_or(0, |s| s.start));
            format!("{shown}:{line}:{col}")
        };
        let de = toml::de::Deserializer::parse(text).map_err(|e| {
            let why = e.message().trim().replace('\n', "; ");
            Error::new(format!("{}: invalid TOML: {why}", at(e.span()))).hint(format!("fix the syntax in {shown}"))
        })?;
        Config::deserialize(de).map_err(|e| {
            let path = e.span().map(|s| key_path_at(text, s.start)).unwrap_or_default();
            let at = at(e.span());
            let schema = schema();
            let sections: Vec<String> = schema.iter().map(|(s, _)| s.clone()).collect();
            match path.as_slice() {
                [s, rest @ ..] => match (schema.iter().find(|(name, _)| name == s), rest) {
                    (None, _) => unknown(&at, s, &sections),
                    (Some(_), []) => Error::new(format!("{at}: `{s}` must be a table ([{s}])"))
                        .hint(format!("put the `{s}` keys under a [{s}] line in {shown}")),
                    (Some((_, keys)), [k, ..]) if !keys.contains(k) => {
                        unknown(&at, &format!("{s}.{k}"), &qualified(s, keys))
                    }
                    (Some(_), [k, ..]) => {
                        Error::new(format!("{at}: {s}.{k}: {}", e.message())).hint(format!("fix {s}.{k} in {shown}"))
                    }
                },
                [] => Error::new(format!("{at}: {}", e.message())).hint(format!("fix {shown}")),
            }
        })
    }
}

/// Apply one `-c key=value` to `doc`. The key must be in the schema; the value is TOML if it parses as
/// TOML, else the bare word, and a value of another type than a string is tried as the bare word too
/// (`-c worktrees.base=123`). Every mistake is a usage error.
fn apply_override(doc: &mut toml::Table, spec: &str) -> Result<(), Error> {
    let Some((key, raw)) = spec.split_once('=') else {
        return Err(Error::usage(format!("-c {spec}: expected key=value")).hint("for example: -c fleet.stagger=3s"));
    };
    let key = key.trim();
    let at = format!("-c {key}");
    let schema = schema();
    let (section, name) = key.split_once('.').unwrap_or(("", key));
    let Some((_, keys)) = schema.iter().find(|(s, _)| s == section) else {
        let all: Vec<String> = schema.iter().flat_map(|(s, keys)| qualified(s, keys)).collect();
        return Err(usage(unknown(&at, key, &all)));
    };
    if !keys.iter().any(|k| k == name) {
        return Err(usage(unknown(&at, key, &qualified(section, keys))));
    }
    let bare = toml::Value::String(raw.to_string());
    let tries = match raw.parse::<toml::Value>() {
        Ok(v @ toml::Value::String(_)) => vec![v],
        Ok(v) => vec![v, bare],
        Err(_) => vec![bare],
    };
    let mut first = None;
    for value in tries {
        let mut trial = doc.clone();
        if let toml::Value::Table(t) = trial.entry(section).or_insert_with(|| toml::Table::new().into()) {
            t.insert(name.to_string(), value);
        }
        match Config::deserialize(trial.clone()) {
            Ok(_) => {
                *doc = trial;
                return Ok(());
            }
            Err(e) => first = first.or_else(|| Some(e.message().to_string())),
        }
    }
    Err(Error::usage(format!("{at}: {}", first.unwrap_or_default())))
}

fn usage(mut e: Error) -> Error {
    e.kind = Kind::Usage;
    e
}

/// The schema's sections and their keys, as the defaults serialize (every field serializes).
fn schema() -> Vec<(String, Vec<String>)> {
    let Ok(toml::Value::Table(sections)) = toml::Value::try_from(Config::default()) else { return Vec::new() };
    sections
        .into_iter()
        .map(|(s, v)| (s, v.as_table().map(|t| t.keys().cloned().collect()).unwrap_or_default()))
        .collect()
}

fn qualified(section: &str, keys: &[String]) -> Vec<String> {
    keys.iter().map(|k| format!("{section}.{k}")).collect()
}

/// `key` is not in the schema: say so where it is, and suggest the closest of `known` by last segment.
fn unknown(at: &str, key: &str, known: &[String]) -> Error {
    let last = |k: &str| k.rsplit('.').next().unwrap_or(k).to_string();
    let best = known.iter().map(|k| (strsim::levenshtein(&last(key), &last(k)), k)).filter(|(d, _)| *d <= 3).min();
    // The key comes from an untrusted file: escaped, it cannot break the one-line message.
    let e = Error::new(format!("{at}: unknown key `{}`", key.escape_debug()));
    match best {
        Some((_, k)) => e.hint(format!("did you mean `{k}`?")),
        None => e.hint(format!("known keys here: {}", known.join(", "))),
    }
}

/// The 1-based line and column (in characters) of byte `pos` in `text`.
fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..pos.min(text.len())];
    let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (before.iter().filter(|b| **b == b'\n').count() + 1, col)
}

/// The dotted key whose name or value covers byte `pos` of `text`, deepest first: what a span points at.
/// It knows nothing of the schema; it only reads the document's shape.
fn key_path_at(text: &str, pos: usize) -> Vec<String> {
    fn walk(table: &DeTable<'_>, pos: usize, path: &mut Vec<String>) -> bool {
        let covers = |s: Range<usize>| s.start <= pos && pos < s.end.max(s.start + 1);
        for (k, v) in table.iter() {
            path.push(k.get_ref().to_string());
            if let DeValue::Table(inner) = v.get_ref()
                && walk(inner, pos, path)
            {
                return true;
            }
            if covers(k.span()) || covers(v.span()) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = Vec::new();
    if let Ok(doc) = DeTable::parse(text) {
        walk(doc.get_ref(), pos, &mut path);
    }
    path
}

/// Parse `1h30m`, `10m`, `2s`, `500ms`, `1d`, or `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}: use a number and a unit, like 500ms, 30s, 10m, 1h");
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
# Reference: `man 7 git-neighbor-reference` (CONFIGURATION).

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

[hooks]
# required = false               # true: doctor fails (exit 1) in a clone without the hooks

[setup]
# run = []                       # commands run with `sh -c` in each new tenant (e.g. ["npm ci"]);
#                                # they run only after `git neighbor trust` approved exactly these

[tasks]
# remote = ""                    # remote name every task change goes through (default: the one `task sync` used)
# claim-ttl = "10m"              # a claim from another host expires when its heartbeat is older than this
"#;

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: if std::env::var("NEIGHBOR_LONG").is_ok_and(|v| v == "1") { 20_000 } else { 512 }, ..Default::default() })]

        /// Any document: no panic; whatever is accepted is as valid as the matching flag would be.
        #[test]
        fn hostile_documents_never_panic_or_pass_bad_values(
            section in proptest::sample::select(vec!["state", "merge", "worktrees", "fleet", "setup", "x"]),
            key in proptest::sample::select(vec!["dir", "expect", "target", "carry", "canonical", "root", "branch", "stagger", "run"]),
            value in proptest::prop_oneof![
                r#""([.gGiItT~1/ a]|\\n|\\u0000|\.\.|Neighbor-Frame: 9){0,8}""#,
                r#"\[("[a-z.~/\\n -]{0,6}", ?){0,3}\]"#,
                r#"[\[\]"{}=.a-z0-9 ,\n]{0,24}"#,
            ],
            junk in r#"[\[\]"=.a-z \n]{0,12}"#,
        ) {
            let text = format!("[{section}]\n{key} = {value}\n{junk}");
            let parsed = Config::parse(&text, Path::new(FILE));
            if let Err(e) = &parsed {
                proptest::prop_assert!(!e.message.chars().any(char::is_control), "one line: {:?}", e.message);
            }
            if let Ok(c) = parsed {
                proptest::prop_assert!(crate::frames::delta::validate_rel_path(&c.state.dir).is_ok(), "{:?}", c.state.dir);
                for s in &c.merge.expect {
                    proptest::prop_assert!(crate::building::registry::validate_name_as("stream", s).is_ok(), "{:?}", s);
                }
                let all = [&c.state.dir, &c.state.target, &c.worktrees.root, &c.worktrees.branch, &c.worktrees.base];
                for s in all.into_iter().chain(&c.state.canonical).chain(&c.worktrees.carry).chain(&c.merge.expect).chain(&c.setup.run) {
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
        let c = Config::parse(TEMPLATE, Path::new(FILE)).expect("template is valid");
        assert_eq!(c.worktrees.prune_after, Duration::from_secs(3600));
    }

    /// The keys suggestions and `-c` check against are read off the serialized defaults: every one of them
    /// must be a key the file accepts, and the serialized shape is what the contract documents.
    #[test]
    fn serialized_defaults_are_the_schema() {
        let text = toml::to_string(&Config::default()).expect("serializes");
        let back = Config::parse(&text, Path::new(FILE)).expect("every serialized key is accepted");
        assert_eq!(toml::to_string(&back).expect("serializes"), text);
        let names: Vec<String> = schema().iter().flat_map(|(s, keys)| qualified(s, keys)).collect();
        assert_eq!(names.len(), 15, "{names:?}");
        assert_eq!(
            serde_json::to_string(&Config::default()).expect("serializes"),
            r#"{"worktrees":{"root":"../{repo}.worktrees","branch":"neighbor/{name}","base":"HEAD","carry":[],"prune-after":"1h"},"fleet":{"stagger":"0s","live-window":"10m"},"state":{"dir":"state","canonical":["state/**"],"target":"main"},"merge":{"expect":[]},"hooks":{"required":false},"setup":{"run":[]},"tasks":{"remote":"","claim-ttl":"10m"}}"#
        );
    }

    #[test]
    fn unknown_key_names_line_and_suggests() {
        let e = parse("[fleet]\n\nstager = \"3s\"\n").expect_err("unknown key");
        assert_eq!(e.message, ".neighbor.toml:3:1: unknown key `fleet.stager`");
        assert_eq!(e.hints, vec!["did you mean `fleet.stagger`?".to_string()]);
    }

    #[test]
    fn wrong_type_names_key() {
        let e = parse("[worktrees]\ncarry = \"x\"\n").expect_err("wrong type");
        assert!(e.message.starts_with(".neighbor.toml:2:9: worktrees.carry: expected an array"), "{}", e.message);
    }

    /// A document parsed on top of the defaults, as `load` does.
    fn parse(text: &str) -> Result<Config, Error> {
        Config::parse(text, Path::new(FILE))
    }

    /// The defaults with one `-c` override, as `load` does.
    fn with_c(spec: &str) -> Result<Config, Error> {
        Config::resolve(None, &[spec.to_string()])
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
            assert_eq!(e.message, format!(".neighbor.toml:{line}:1: unknown key `{key}`"), "{text:?}");
            assert_eq!(e.hints, vec![format!("did you mean `{meant}`?")], "{text:?}");
            assert_eq!(e.kind, crate::error::Kind::Error);
        }
        // Nothing close: the hint lists what the section has.
        let e = parse("[merge]\nzzzzzzzz = 1\n").expect_err("unknown");
        assert_eq!(e.message, ".neighbor.toml:2:1: unknown key `merge.zzzzzzzz`");
        assert_eq!(e.hints, vec!["known keys here: merge.expect".to_string()]);
    }

    #[test]
    fn unknown_section_names_line_and_suggests() {
        let e = parse("[fleet]\nstagger = \"1s\"\n\n[worktree]\nroot = \"x\"\n").expect_err("unknown section");
        assert_eq!(e.message, ".neighbor.toml:4:2: unknown key `worktree`");
        assert_eq!(e.hints, vec!["did you mean `worktrees`?".to_string()]);
        // A dotted key at the top level names the section too.
        let e = parse("flet.stagger = \"1s\"\n").expect_err("unknown section");
        assert_eq!(e.message, ".neighbor.toml:1:1: unknown key `flet`");
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
            let at = format!(".neighbor.toml:{line}:");
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

    /// A committed file is untrusted: whatever its keys hold, the error stays one line.
    #[test]
    fn hostile_key_names_stay_on_one_line() {
        for text in ["\"a\\nerror: forged\" = 1\n", "[fleet]\n\"x\\u001b[2J\" = 1\n", "[\"a\\rb\"]\n"] {
            let e = parse(text).expect_err(text);
            assert!(!e.message.chars().any(char::is_control), "{text:?}: {:?}", e.message);
            assert!(e.hints.iter().all(|h| !h.chars().any(char::is_control)), "{text:?}: {:?}", e.hints);
        }
    }

    /// A value's own control characters never reach the message (found by the property test above).
    #[test]
    fn a_bad_duration_with_a_newline_stays_on_one_line() {
        let e = parse("[fleet]\nstagger = \"\\n\"\n").expect_err("not a duration");
        assert!(!e.message.chars().any(char::is_control), "{:?}", e.message);
        assert!(e.message.contains(r#"invalid duration "\n""#), "{:?}", e.message);
    }

    /// The column counts characters, so an editor lands on the key or value a message names.
    #[test]
    fn errors_name_the_column_of_the_key_or_value() {
        let e = parse("# é\n[fleet]\n  stagger = 5\n").expect_err("wrong type");
        assert!(e.message.starts_with(".neighbor.toml:3:13: fleet.stagger: "), "{}", e.message);
        let e = parse("[worktrees]\ncarry = [\"é\", 1]\n").expect_err("wrong item");
        assert!(e.message.starts_with(".neighbor.toml:2:9: worktrees.carry: "), "{}", e.message);
        let e = parse("[fleet]\n  stager = 5\n").expect_err("unknown key");
        assert!(e.message.starts_with(".neighbor.toml:2:3: unknown key"), "{}", e.message);
        let e = parse("[fleet]\nstagger = \"1s\"\n\tstagger = \"2s\"\n").expect_err("duplicate key");
        assert!(e.message.starts_with(".neighbor.toml:3:2: invalid TOML"), "{}", e.message);
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
        let text = "[fleet]\nstagger = \"2s\"\nlive-window = \"1m\"\n";
        let c = Config::resolve(Some((text, Path::new(FILE))), &["fleet.stagger=5s".into()]).expect("ok");
        assert_eq!((c.fleet.stagger, c.fleet.live_window), (Duration::from_secs(5), Duration::from_secs(60)));
    }

    #[test]
    fn overrides() {
        let all = ["fleet.stagger=3s", "worktrees.branch=agents/{name}", "merge.expect=[\"a\",\"b\"]"];
        let c = Config::resolve(None, &all.map(String::from)).expect("string, bare string, list");
        assert_eq!(c.fleet.stagger, Duration::from_secs(3));
        assert_eq!(c.worktrees.branch, "agents/{name}");
        assert_eq!(c.merge.expect, vec!["a", "b"]);
        assert!(with_c("fleet.stager=3s").is_err());
        assert!(with_c("fleet.stagger").is_err());
    }
}
