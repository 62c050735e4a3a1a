//! Frames: deltas written by streams, the mailbox that holds them, and the merge that applies a frame's
//! deltas to the canonical state in one commit.

pub mod delta;
mod history;
pub mod mailbox;
pub mod merge;
pub mod publish;
mod store;

#[cfg(test)]
mod tests;
