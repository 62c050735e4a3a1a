//! Where tasks live: one JSON blob per task behind `refs/neighbor/tasks/<id>`. Every write is a new blob and
//! a compare-and-swap of the ref from the exact blob that was read, so a change made from a stale read
//! fails instead of overwriting someone else's.

use crate::error::Error;
use crate::git::{Repo, blob, refs};

use super::Task;

/// The namespace of the task plane.
pub const PREFIX: &str = "refs/neighbor/tasks/";

/// A task as read, with the blob it was read from (the expected value of the next compare-and-swap).
#[derive(Debug, Clone)]
pub struct Stored {
    /// The task.
    pub task: Task,
    /// The blob `refs/neighbor/tasks/<id>` pointed at when it was read.
    pub oid: String,
}

/// The full ref of a task.
pub fn ref_of(id: &str) -> String {
    format!("{PREFIX}{id}")
}

/// Every task in the repository, in ref (id) order, and one error per ref that does not hold a task.
pub fn load_all(repo: &Repo) -> Result<(Vec<Stored>, Vec<Error>), Error> {
    let refs = refs::under(repo, PREFIX)?;
    let oids: Vec<String> = refs.iter().map(|(_, o)| o.clone()).collect();
    let found = blob::read_many(repo, &oids)?;
    let mut tasks = Vec::new();
    let mut bad = Vec::new();
    for ((name, oid), f) in refs.into_iter().zip(found) {
        match decode(&name, f) {
            Ok(task) => tasks.push(Stored { task, oid }),
            Err(e) => bad.push(e),
        }
    }
    Ok((tasks, bad))
}

/// One task by id; an unknown id or a ref that does not hold a task is an error.
pub fn load(repo: &Repo, id: &str) -> Result<Stored, Error> {
    super::validate_id(id)?;
    let name = ref_of(id);
    let Some(oid) = refs::oid_of(repo, &name)? else {
        return Err(Error::new(format!("no task named '{id}'")).hint("`git neighbor task list` shows the tasks"));
    };
    let found = blob::read_many(repo, std::slice::from_ref(&oid))?.into_iter().next().unwrap_or(blob::Found::Missing);
    Ok(Stored { task: decode(&name, found)?, oid })
}

/// Store a new task; `Moved` when a task with its id already exists.
pub fn create(repo: &Repo, task: &Task, why: &str) -> Result<refs::Cas, Error> {
    let oid = blob::store(repo, &encode(task)?)?.to_string();
    refs::create_if_absent(repo, &ref_of(&task.id), &oid, why)
}

/// Replace the task `old` was read as with `new`, only if its ref still points at `old.oid`.
pub fn swap(repo: &Repo, old: &Stored, new: &Task, why: &str) -> Result<refs::Cas, Error> {
    swap_to(repo, old, new, why).map(|(cas, _)| cas)
}

/// [`swap`], also returning the id of the blob written.
pub fn swap_to(repo: &Repo, old: &Stored, new: &Task, why: &str) -> Result<(refs::Cas, String), Error> {
    let oid = blob::store(repo, &encode(new)?)?.to_string();
    Ok((refs::update_if(repo, &ref_of(&new.id), &oid, &old.oid, why)?, oid))
}

/// Replace `old` with `new` only if every task in `seen` is still exactly as it was read (one
/// `update-ref --stdin` transaction): a change decided on the whole graph (a new blocker) cannot race
/// with another change to it. `false` when something moved.
pub fn swap_verified(repo: &Repo, old: &Stored, new: &Task, seen: &[Stored], why: &str) -> Result<bool, Error> {
    let oid = blob::store(repo, &encode(new)?)?.to_string();
    let mut script = format!("update {} {oid} {}\n", ref_of(&new.id), old.oid);
    for s in seen.iter().filter(|s| s.task.id != new.id) {
        script.push_str(&format!("verify {} {}\n", ref_of(&s.task.id), s.oid));
    }
    Ok(refs::transaction(repo, Some(why), &script).is_ok())
}

fn encode(task: &Task) -> Result<Vec<u8>, Error> {
    // What would be read back as malformed is never written (the text came from this command's input).
    if let Some(why) = super::control_in(task) {
        return Err(Error::usage(format!("task '{}': {why}", crate::ui::printable(&task.id)))
            .hint("task text is printed on terminals; take the control character out"));
    }
    let mut v = serde_json::to_vec_pretty(task).map_err(|e| Error::new(format!("cannot encode task: {e}")))?;
    v.push(b'\n');
    Ok(v)
}

fn decode(name: &str, found: blob::Found) -> Result<Task, Error> {
    let hint = || {
        format!(
            "inspect it with `git cat-file -p {name}`; remove it with `git update-ref -d {name}` or fix and re-push it"
        )
    };
    let bad = |why: String| Error::new(format!("{name} does not hold a task: {why}")).hint(hint());
    let id = name.strip_prefix(PREFIX).unwrap_or(name);
    if super::validate_id(id).is_err() {
        return Err(bad(format!("'{id}' is not a valid task id")));
    }
    let bytes = match found {
        blob::Found::Blob(b) => b,
        blob::Found::Other(kind) => return Err(bad(format!("it points at a {kind}, not a blob"))),
        blob::Found::Missing => return Err(bad("the object it points at is missing".into())),
    };
    let task: Task = serde_json::from_slice(&bytes).map_err(|e| {
        // serde's message is one line; keep it so.
        bad(format!("malformed JSON ({})", e.to_string().replace('\n', " ")))
    })?;
    if task.id != id {
        return Err(bad(format!("its id field says '{}'", crate::ui::printable(&task.id))));
    }
    if let Some(why) = super::control_in(&task) {
        return Err(bad(why));
    }
    for b in &task.blocked_by {
        if super::validate_id(b).is_err() {
            return Err(bad(format!("blocked_by names '{b}', which is not a valid task id")));
        }
    }
    Ok(task)
}
