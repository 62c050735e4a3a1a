//! One integration-test binary, a module per area; every test drives the real binary against real
//! repositories in temp dirs, hermetically (HOME, git config, dates, locale pinned).
#![allow(clippy::unwrap_used)]

mod common;
mod completion;
mod faults;

mod add;
mod bad_input;
mod conflicts;
mod crash;
mod doctor;
mod frames;
mod frames_atomic;
mod frames_attack;
mod frames_check;
mod frames_crash;
mod frames_history;
mod frames_push_race;
mod frames_race;
mod frames_recovery;
mod frames_trust;
mod harness;
mod hooks;
mod install;
mod invariants;
mod land;
mod layouts;
mod listing;
mod mcp;
mod ports;
mod pre_commit_framework;
mod prune;
mod queue;
mod removal;
mod remove;
mod run;
mod safe_pull;
mod setup;
mod snapshots;
mod streams;
mod stress;
mod tasks;
mod tenant_suites;
mod tenants;

/// Every `.rs` file in this directory is a module of this harness: a test file that is not declared here
/// would never run and never fail.
#[test]
fn every_test_file_is_part_of_the_harness() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".rs") else { continue };
        if stem != "main" && !main.lines().any(|l| l.trim() == format!("mod {stem};")) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "test files not declared in tests/integration/main.rs: {missing:?}");
    // And nothing else under tests/ is a test target of its own that the README's command would miss.
    let top: Vec<String> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rs"))
        .collect();
    assert!(top.is_empty(), "stray test files at tests/: {top:?}");
}
