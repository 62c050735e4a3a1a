//! The trust gate for `[setup]`: a committed `.neighbor.toml` is untrusted input, and its setup commands
//! are shell lines run on the user's machine. They run only when `git neighbor trust` has approved
//! exactly these commands: the approval is a hash of the setup section, kept in
//! `<git-common-dir>/neighbor/trust.json` (written atomically under the building lock), so any change to
//! the commands — a pulled commit, an agent's branch — is refused until approved again.

use serde::{Deserialize, Serialize};

use crate::building::Ctx;
use crate::building::state_dir::{self, StateDir};
use crate::config::Setup;
use crate::error::Error;

/// What was approved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Approval {
    /// [`digest`] of the approved setup section.
    pub hash: String,
    /// The approved commands, as shown to the approver.
    pub run: Vec<String>,
    /// When (RFC 3339).
    pub approved_at: String,
    /// The file they were read from, when there was one.
    pub config: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TrustFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    setup: Option<Approval>,
}

fn path(state: &StateDir) -> std::path::PathBuf {
    state.root.join("trust.json")
}

/// The hash an approval names: the git blob id (SHA-1) of the setup section as compact JSON
/// (`{"run":["npm ci"]}`), so the same commands give the same hash on every machine.
pub fn digest(setup: &Setup) -> String {
    let json = serde_json::to_vec(setup).unwrap_or_default();
    gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, &json)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// The approval on record, if any.
pub fn approved(state: &StateDir) -> Result<Option<Approval>, Error> {
    let p = path(state);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice::<TrustFile>(&b).map(|f| f.setup).map_err(|e| {
            Error::new(format!("corrupt trust file {}: {e}", p.display()))
                .hint("delete it and approve the setup again: git neighbor trust")
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::new(format!("cannot read {}: {e}", p.display()))),
    }
}

/// The setup commands to run in a new tenant: none when the section is empty; the commands when they are
/// approved; otherwise a refusal (exit 3) that lists them and gives the exact command that approves them,
/// and `skip`, the caller's own way to create the tenant without them, when it has one.
pub fn check(ctx: &Ctx, skip: Option<&str>) -> Result<Vec<String>, Error> {
    let setup = &ctx.config.setup;
    if setup.run.is_empty() {
        return Ok(Vec::new());
    }
    let hash = digest(setup);
    let on_record = approved(&ctx.state)?;
    if on_record.as_ref().is_some_and(|a| a.hash == hash) {
        return Ok(setup.run.clone());
    }
    let from = ctx.config.source.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "-c".into());
    let what = if on_record.is_some() { "changed since it was approved" } else { "not approved" };
    let mut e = Error::refused(format!("the [setup] commands in {from} are {what}; nothing was created"));
    for c in &setup.run {
        e = e.hint(format!("setup would run: sh -c {}", shell_quote(c)));
    }
    e = e.hint(format!("if you trust them, approve exactly these: git neighbor trust --expect {}", &hash[..12]));
    if let Some(skip) = skip {
        e = e.hint(format!("or create the tenant without setup: {skip}"));
    }
    Err(e)
}

/// `s` quoted for a POSIX shell, for showing.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What `trust` did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `approved`, `unchanged`, `shown` or `revoked`.
    pub action: &'static str,
    /// The setup commands the current configuration has.
    pub current: Vec<String>,
    /// Their hash (empty when there are none).
    pub current_hash: String,
    /// Whether the current commands are the approved ones.
    pub current_approved: bool,
    /// The approval on record after the command (`None`: nothing approved).
    pub approved: Option<Approval>,
}

/// How `trust` was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask<'a> {
    /// Approve the current commands (only if their hash starts with the given prefix, when one is given).
    Approve(Option<&'a str>),
    /// Show, change nothing.
    Show,
    /// Withdraw the approval.
    Revoke,
}

/// `trust`: approve the current setup commands, show the approval, or revoke it.
pub fn trust(ctx: &Ctx, ask: Ask<'_>) -> Result<Report, Error> {
    let setup = &ctx.config.setup;
    let current_hash = if setup.run.is_empty() { String::new() } else { digest(setup) };
    ctx.locked(|| {
        let before = approved(&ctx.state)?;
        let matches =
            |a: &Option<Approval>| !current_hash.is_empty() && a.as_ref().is_some_and(|a| a.hash == current_hash);
        let report = |action, approved: Option<Approval>| Report {
            action,
            current: setup.run.clone(),
            current_hash: current_hash.clone(),
            current_approved: matches(&approved),
            approved,
        };
        match ask {
            Ask::Show => Ok(report("shown", before)),
            Ask::Revoke => {
                if before.is_some() {
                    state_dir::atomic_write(&path(&ctx.state), &encode(&TrustFile { setup: None })?)?;
                }
                Ok(report("revoked", None))
            }
            Ask::Approve(expect) => {
                if let Some(want) = expect {
                    let ok = want.len() >= 7 && want.chars().all(|c| c.is_ascii_hexdigit());
                    if !ok {
                        return Err(Error::usage(format!(
                            "--expect {want}: expected at least 7 hex digits of the hash"
                        )));
                    }
                    if !current_hash.starts_with(&want.to_ascii_lowercase()) {
                        let now = if current_hash.is_empty() {
                            "there are none now".to_string()
                        } else {
                            format!("they hash to {} now", &current_hash[..12])
                        };
                        return Err(Error::refused(format!("the [setup] commands changed since you saw them: {now}"))
                            .hint("look at them again: git neighbor trust --show"));
                    }
                }
                if setup.run.is_empty() || matches(&before) {
                    return Ok(report(if setup.run.is_empty() { "shown" } else { "unchanged" }, before));
                }
                let a = Approval {
                    hash: current_hash.clone(),
                    run: setup.run.clone(),
                    approved_at: state_dir::rfc3339(state_dir::now_ms()),
                    config: ctx.config.source.as_ref().map(|p| p.display().to_string()),
                };
                state_dir::atomic_write(&path(&ctx.state), &encode(&TrustFile { setup: Some(a.clone()) })?)?;
                crate::building::events::append(
                    &ctx.state,
                    &crate::building::events::Event::new("trust").with("hash", current_hash.clone()),
                )?;
                Ok(report("approved", Some(a)))
            }
        }
    })
}

fn encode(f: &TrustFile) -> Result<Vec<u8>, Error> {
    serde_json::to_vec_pretty(f).map_err(|e| Error::new(format!("cannot encode trust file: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_follows_the_commands_exactly() {
        let a = Setup { run: vec!["npm ci".into()] };
        let b = Setup { run: vec!["npm ci ".into()] };
        assert_eq!(digest(&a), digest(&a.clone()));
        assert_ne!(digest(&a), digest(&b));
        assert_eq!(digest(&a).len(), 40);
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
