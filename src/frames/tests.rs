//! Unit tests of the frame pipeline's domain functions on a real repository (see `crate::testing`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::frames::mailbox::{self, DELTAS, Kind};
use crate::frames::merge::{self, Options, Outcome};
use crate::testing::Fixture;

fn options() -> Options {
    Options { frame: None, expect: None, wait: Duration::ZERO, dry_run: false, push: None, reducer: None }
}

fn store(f: &crate::building::Ctx, frame: u64, stream: &str, delta: serde_json::Value) {
    mailbox::validate(delta.to_string().as_bytes()).unwrap();
    let env = mailbox::envelope(frame, stream, Kind::Ok, None, delta);
    mailbox::store(&f.repo, &env, false).unwrap();
}

#[test]
fn a_frame_applies_its_deltas_in_one_commit() {
    let f = Fixture::new();
    let ctx = f.ctx();
    store(&ctx, 1, "b", serde_json::json!({"ops":[{"op":"incr","path":"n.json","pointer":"/n","value":2}]}));
    store(&ctx, 1, "a", serde_json::json!({"ops":[{"op":"incr","path":"n.json","pointer":"/n","value":1}]}));
    assert_eq!(mailbox::list(&ctx.repo, DELTAS, Some(1)).unwrap().len(), 2);
    let before = f.git(&["rev-parse", "HEAD"]);
    let report = merge::merge(&ctx, &options()).unwrap();
    assert_eq!(report.frame, 1);
    let streams: Vec<(&str, Outcome)> = report.streams.iter().map(|s| (s.stream.as_str(), s.status)).collect();
    assert_eq!(streams, [("a", Outcome::Applied), ("b", Outcome::Applied)]);
    assert_eq!(f.git(&["rev-parse", "HEAD~1"]), before, "exactly one commit");
    let n: serde_json::Value = serde_json::from_str(&f.git(&["show", "HEAD:state/n.json"])).unwrap();
    assert_eq!(n["n"], 3);
    assert!(mailbox::list(&ctx.repo, DELTAS, Some(1)).unwrap().is_empty(), "mailbox emptied");
    assert_eq!(mailbox::last_merged_frame(&ctx.repo, "refs/heads/main").unwrap(), Some(1));
    // Merging again changes nothing.
    let again = merge::merge(&ctx, &Options { frame: Some(1), ..options() }).unwrap();
    assert!(again.already_merged);
}
