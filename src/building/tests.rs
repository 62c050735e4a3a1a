//! Unit tests of the building's domain functions on a real repository (see `crate::testing`).
#![allow(clippy::unwrap_used)]

use crate::building::{self, AddRequest, Status};
use crate::error::Kind;
use crate::testing::{Fixture, write_in};

fn req(name: &str) -> AddRequest {
    AddRequest { name: name.into(), ..AddRequest::default() }
}

#[test]
fn add_survey_remove_round_trip() {
    let f = Fixture::new();
    let ctx = f.ctx();
    let t = building::add(&ctx, &req("t1")).unwrap();
    assert!(t.path.join("README.md").exists(), "checked out");
    assert_eq!(t.branch, "neighbor/t1");
    let rows = building::survey(&ctx).unwrap();
    let row = rows.iter().find(|r| r.name.as_deref() == Some("t1")).unwrap();
    assert_eq!(row.status, Status::Active);
    let removed = building::remove(&ctx, &t, false, false).unwrap();
    assert_eq!(removed.branch_deleted.as_deref(), Some("neighbor/t1"));
    assert!(!t.path.exists());
    assert!(ctx.repo.ref_target("refs/heads/neighbor/t1").is_none());
}

#[test]
fn remove_refuses_uncommitted_work_and_touches_nothing() {
    let f = Fixture::new();
    let ctx = f.ctx();
    let t = building::add(&ctx, &req("t1")).unwrap();
    write_in(&t.path, "notes.txt", "mine\n");
    let work = building::work_in(&ctx, &t).unwrap();
    assert_eq!(work.dirty, vec!["notes.txt".to_string()]);
    let err = building::remove(&ctx, &t, false, false).unwrap_err();
    assert_eq!(err.kind, Kind::Refused, "{}", err.message);
    assert!(t.path.join("notes.txt").exists());
    assert!(ctx.repo.ref_target("refs/heads/neighbor/t1").is_some());
}

#[test]
fn a_name_is_taken_once() {
    let f = Fixture::new();
    let ctx = f.ctx();
    building::add(&ctx, &req("t1")).unwrap();
    let err = building::add(&ctx, &req("t1")).unwrap_err();
    assert!(err.message.contains("already exists"), "{}", err.message);
    let err = building::add(&ctx, &req("../escape")).unwrap_err();
    assert_eq!(err.kind, Kind::Usage, "{}", err.message);
}
