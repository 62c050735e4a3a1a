//! `mcp`: serve the Model Context Protocol on stdin/stdout (the server is [`crate::mcp`]).

use crate::cli::Global;
use crate::error::Error;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(g: &Global, _a: &Args) -> Result<u8, Error> {
    crate::mcp::serve(g)
}
