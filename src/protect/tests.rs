//! Unit tests of the protection wing on a real repository (see `crate::testing`).
#![allow(clippy::unwrap_used)]

use crate::protect::guard::{self, Kind, Overrides};
use crate::protect::liveness;
use crate::testing::Fixture;

#[test]
fn pre_commit_flags_conflict_markers_in_staged_state() {
    let f = Fixture::new();
    f.write("state/agents.json", "{\n<<<<<<< HEAD\n  \"a\": 1\n=======\n  \"a\": 2\n>>>>>>> other\n}\n");
    f.git(&["add", "state/agents.json"]);
    let found = guard::pre_commit(&f.ctx(), Overrides::default()).unwrap();
    assert!(found.iter().any(|v| v.kind == Kind::ConflictMarker && v.path == "state/agents.json"), "{found:?}");
}

#[test]
fn a_quiet_building_is_not_live() {
    let f = Fixture::new();
    let l = liveness::observe(&f.ctx(), false).unwrap();
    assert!(!l.live, "{:?}", l.evidence);
    assert!(l.leases.is_empty());
}
