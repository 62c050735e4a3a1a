//! One integration-test binary, a module per area; every test drives the real binary against real
//! repositories in temp dirs, hermetically (HOME, git config, dates, locale pinned).
#![allow(clippy::unwrap_used)]

mod common;
mod faults;

mod add;
mod bad_input;
mod doctor;
mod frames;
mod hooks;
mod land;
mod layouts;
mod listing;
mod prune;
mod remove;
mod run;
mod safe_pull;
mod streams;
