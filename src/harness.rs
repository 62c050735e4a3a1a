//! Agent harnesses: Claude Code's WorktreeCreate and WorktreeRemove hooks, served by the same code paths
//! as `add` and `remove` (registry, elevator-free creation, carry, refusal and rescue rules), and the
//! setup that registers them in `.claude/settings.json` without disturbing anything else there.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::building::{self, AddRequest, Ctx};
use crate::error::{Error, Kind};

/// What Claude Code sends on stdin to a WorktreeCreate or WorktreeRemove hook (unknown fields ignored).
#[derive(Debug, Default, Deserialize)]
pub struct Payload {
    /// The worktree's name (WorktreeCreate).
    pub name: Option<String>,
    /// The same, as some versions spell it.
    pub worktree_name: Option<String>,
    /// Directory new worktrees go under.
    pub base_path: Option<PathBuf>,
    /// What to branch from.
    pub source_ref: Option<String>,
    /// Where the worktree is (WorktreeRemove), or should be (WorktreeCreate).
    pub worktree_path: Option<PathBuf>,
    /// The session's directory: the repository.
    pub cwd: Option<PathBuf>,
}

/// Read one JSON object from `input` (without waiting for end of input after it).
pub fn read_payload(input: impl std::io::Read) -> Result<Payload, Error> {
    let mut it = serde_json::Deserializer::from_reader(input).into_iter::<Payload>();
    match it.next() {
        Some(Ok(p)) => Ok(p),
        Some(Err(e)) => Err(Error::usage(format!("the hook's input is not the JSON object Claude Code sends: {e}"))
            .hint("git neighbor claude reads {\"name\": …} (worktree-create) or {\"worktree_path\": …} on stdin")),
        None => Err(Error::usage("the hook's input is empty").hint("Claude Code sends a JSON object on stdin")),
    }
}

/// The repository directory the payload is about (its `cwd`, else ours).
pub fn repo_dir(p: &Payload) -> Result<PathBuf, Error> {
    match &p.cwd {
        Some(d) => Ok(d.clone()),
        None => Ok(std::env::current_dir()?),
    }
}

/// WorktreeCreate: a tenant named as asked, where asked; returns its absolute path.
pub fn worktree_create(ctx: &Ctx, p: &Payload) -> Result<PathBuf, Error> {
    let name = p.name.clone().or_else(|| p.worktree_name.clone()).ok_or_else(|| {
        Error::usage("the WorktreeCreate input has no \"name\"").hint("Claude Code sends {\"name\": …}")
    })?;
    let path = match (&p.worktree_path, &p.base_path) {
        (Some(w), _) => Some(w.clone()),
        (None, Some(b)) => Some(b.join(&name)),
        (None, None) => None,
    };
    let req = AddRequest { name, base: p.source_ref.clone(), path, setup: true, ..AddRequest::default() };
    Ok(building::add(ctx, &req)?.path)
}

/// What WorktreeRemove did.
#[derive(Debug, serde::Serialize)]
pub struct RemoveOutcome {
    /// The tenant, when the path is one.
    pub tenant: Option<String>,
    /// Whether it was removed.
    pub removed: bool,
    /// Why not, when kept.
    pub kept_because: Option<String>,
}

/// WorktreeRemove: remove the tenant at `worktree_path` when nothing would be lost; otherwise keep it and
/// say why (a kept tenant is not an error for the harness). A path that is not a tenant is left alone.
pub fn worktree_remove(ctx: &Ctx, p: &Payload) -> Result<RemoveOutcome, Error> {
    let path = p.worktree_path.as_deref().ok_or_else(|| {
        Error::usage("the WorktreeRemove input has no \"worktree_path\"")
            .hint("Claude Code sends {\"worktree_path\": …}")
    })?;
    let Some(spec) = path.to_str() else {
        return Err(Error::usage(format!("worktree_path {} is not valid UTF-8", path.display())));
    };
    let t = match building::resolve_tenant(ctx, Some(spec)) {
        Ok(t) => t,
        Err(_) => {
            return Ok(RemoveOutcome {
                tenant: None,
                removed: false,
                kept_because: Some(format!("{} is not a git-neighbor tenant; left alone", path.display())),
            });
        }
    };
    match building::remove(ctx, &t, false, false) {
        Ok(_) => Ok(RemoveOutcome { tenant: Some(t.name), removed: true, kept_because: None }),
        Err(e) if e.kind == Kind::Refused => {
            let why = e.message.clone();
            let _ = building::set_kept(ctx, &t.name, Some(format!("claude worktree-remove: {why}")));
            Ok(RemoveOutcome { tenant: Some(t.name), removed: false, kept_because: Some(why) })
        }
        Err(e) => Err(e),
    }
}

/// The command Claude Code runs for each hook.
const CREATE: &str = "git neighbor claude worktree-create";
const REMOVE: &str = "git neighbor claude worktree-remove";

/// Add both hooks to `<root>/.claude/settings.json`, keeping every other setting (and any other hook for
/// the same events); a second run changes nothing. Returns whether the file changed.
pub fn install_claude_hooks(root: &Path) -> Result<bool, Error> {
    let path = root.join(".claude").join("settings.json");
    let mut doc: serde_json::Value = match std::fs::read(&path) {
        Ok(b) if !b.iter().all(u8::is_ascii_whitespace) => serde_json::from_slice(&b).map_err(|e| {
            Error::new(format!("{} is not valid JSON: {e}", path.display()))
                .hint("fix it (Claude Code would not read it either), then run init --claude again")
        })?,
        Ok(_) => serde_json::json!({}),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
        Err(e) => return Err(Error::new(format!("cannot read {}: {e}", path.display()))),
    };
    let Some(top) = doc.as_object_mut() else {
        return Err(Error::new(format!("{} is not a JSON object", path.display())));
    };
    let hooks = top.entry("hooks").or_insert_with(|| serde_json::json!({}));
    let Some(hooks) = hooks.as_object_mut() else {
        return Err(Error::new(format!("{}: \"hooks\" is not an object", path.display())));
    };
    let mut changed = false;
    for (event, command) in [("WorktreeCreate", CREATE), ("WorktreeRemove", REMOVE)] {
        let list = hooks.entry(event).or_insert_with(|| serde_json::json!([]));
        let Some(list) = list.as_array_mut() else {
            return Err(Error::new(format!("{}: \"hooks.{event}\" is not an array", path.display())));
        };
        let present = list.iter().any(|group| {
            group["hooks"].as_array().is_some_and(|hs| hs.iter().any(|h| h["command"].as_str() == Some(command)))
        });
        if !present {
            list.push(serde_json::json!({"hooks": [{"type": "command", "command": command}]}));
            changed = true;
        }
    }
    if changed {
        let mut text = serde_json::to_string_pretty(&doc).map_err(|e| Error::new(e.to_string()))?;
        text.push('\n');
        crate::building::state_dir::atomic_write(&path, text.as_bytes())?;
    }
    Ok(changed)
}
