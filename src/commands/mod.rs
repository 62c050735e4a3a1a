//! One module per command: an `Args` struct (its doc comments are the help) and a `run` function.
#![allow(missing_docs)]

pub mod add;
pub mod claude;
pub mod complete;
pub mod completions;
pub mod conflicts;
pub mod delta;
pub mod demo;
pub mod doctor;
pub mod fleet;
pub mod gen_docs;
pub mod hook;
pub mod hooks;
pub mod init;
pub mod keep;
pub mod keeper;
pub mod land;
pub mod lint;
pub mod list;
pub mod lock;
pub mod log;
pub mod mcp;
pub mod merge_frame;
pub mod pool;
pub mod prompt_watch;
pub mod prune;
pub mod queue;
pub mod reaper;
pub mod remove;
pub mod rescue;
pub mod run;
pub mod safe_pull;
pub mod status;
pub mod task;
pub mod trust;
