//! Protecting live branches and shared state from the people and tools around the fleet: `safe-pull`,
//! fleet liveness, the canonical-state guard and the hooks that run it, `doctor`, and the shell linter.

pub mod doctor;
pub mod guard;
pub mod hooks;
pub mod lint;
pub mod liveness;
pub mod safe_pull;
pub mod trust;

#[cfg(test)]
mod tests;
