//! The MCP server behind `git neighbor mcp`: the Model Context Protocol over stdio (newline-delimited
//! JSON-RPC 2.0, through the official `rmcp` SDK), with one tool per command an agent needs.
//!
//! A second front end beside [`crate::cli`], so it lives beside it rather than under `commands/` (which
//! only parses and renders) or `harness` (which is the domain side of Claude Code's hooks): each tool
//! parses its arguments, makes the SAME domain call the command makes, and returns the JSON the command
//! prints with `--json` (built by [`ui::json_value`], `schema_version` included). An error or refusal is
//! a tool result with `isError: true` whose content is `{schema_version, code, kind, message, causes,
//! hints}` (`code` is the exit code the command would have given, e.g. 3 for a refusal); an unknown tool
//! or a request with bad parameters is a JSON-RPC error and the session goes on. A line that is not JSON
//! at all (or nests deeper than 128 levels, or is longer than 16 MiB) gets no answer: the SDK's stdio codec
//! drops it and reads the next line, so the session goes on but a client waiting on that line's id waits
//! in vain. JSON-RPC's examples answer -32700 with a null id there; the official SDKs, rmcp among them, do
//! not on purpose (rust-sdk issue 938: a peer that echoes what it cannot parse would make an endless
//! exchange of errors), and this server keeps to the SDK. Well-formed JSON that is not a message is
//! answered with -32600 (invalid request) by the SDK.
//!
//! stdout is the protocol channel, so nothing else may write there: before serving, the process keeps
//! private (close-on-exec) duplicates of its stdin and stdout for the protocol, then points fd 0 at
//! `/dev/null` and fd 1 at stderr. Domain code does not print, but git's hooks, `land --test`'s test and
//! any other child inherit fds 0 and 1: this way none of them can read a request or corrupt a response,
//! and what they print shows up on stderr, which MCP leaves to the server's logs. (rmcp's own stdio
//! transport, tokio's `io-std`, would talk over fds 0 and 1 themselves; the duplicates are plain files.)
//!
//! Each tool runs on tokio's blocking pool: a panic there is caught by the join and becomes a tool error,
//! never the end of the session. `run` is the one tool that runs a child `git neighbor run` rather than
//! calling in: it installs process-wide signal handlers, holds its lease in an fd its children inherit and
//! gives CMD our stdin and stdout, none of which a long-lived server can share; it runs as `run --json`, whose report (stdout) and output (stderr) are captured and
//! capped, and it is bounded by a timeout (default 2 minutes) on both sides.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::handler::server::common::schema_for_input;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer, ServerInitializeError};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::building::land::{self, LandRequest, Mode};
use crate::building::{self, AddRequest, rescue};
use crate::cli::{self, Global};
use crate::config;
use crate::error::{Error, Kind};
use crate::frames::mailbox::{self, WriteRequest};
use crate::frames::merge;
use crate::ui::{self, ColorChoice, Ui};

/// Serve MCP on stdin/stdout until the client closes stdin; returns the exit code (0 at end of input).
pub fn serve(global: &Global) -> Result<u8, Error> {
    let (input, output) = protocol_streams()?;
    let tools = tools()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| Error::new(format!("cannot start the MCP server's runtime: {e}")))?;
    let server = Server { global: global.clone(), tools: Arc::new(tools) };
    rt.block_on(async move {
        let transport = (tokio::fs::File::from_std(input), tokio::fs::File::from_std(output));
        match server.serve(transport).await {
            Ok(running) => match running.waiting().await {
                Ok(_) => Ok(0),
                Err(e) => Err(Error::new(format!("the MCP session ended abnormally: {e}"))),
            },
            // The client went away before (or while) initializing: nothing was asked, nothing to report.
            Err(ServerInitializeError::ConnectionClosed(_)) => Ok(0),
            Err(e) => Err(Error::new(format!("MCP initialization failed: {e}"))
                .hint("the client must send `initialize` first (newline-delimited JSON-RPC 2.0 on stdin)")),
        }
    })
}

/// Take the protocol's streams and make fds 0 and 1 harmless (see the module doc).
fn protocol_streams() -> Result<(std::fs::File, std::fs::File), Error> {
    use std::os::fd::AsFd;
    let dup = |what: &str, r: std::io::Result<std::os::fd::OwnedFd>| {
        r.map_err(|e| Error::new(format!("cannot duplicate {what} for the MCP channel: {e}")))
    };
    // `try_clone_to_owned` duplicates with F_DUPFD_CLOEXEC: children never inherit the channel.
    let input = dup("stdin", std::io::stdin().as_fd().try_clone_to_owned())?;
    let output = dup("stdout", std::io::stdout().as_fd().try_clone_to_owned())?;
    let null = std::fs::File::open("/dev/null").map_err(|e| Error::new(format!("cannot open /dev/null: {e}")))?;
    let redirect = |what: &str, r: nix::Result<()>| {
        r.map_err(|e| Error::new(format!("cannot redirect {what} away from the MCP channel: {e}")))
    };
    redirect("stdin", nix::unistd::dup2_stdin(&null))?;
    redirect("stdout", nix::unistd::dup2_stdout(std::io::stderr()))?;
    Ok((std::fs::File::from(input), std::fs::File::from(output)))
}

/// The server: the global options it was started with, and its tool list.
#[derive(Clone)]
struct Server {
    global: Global,
    tools: Arc<Vec<Tool>>,
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("git-neighbor", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "git-neighbor lets many writers share one git repository: each writer works in its own \
                 tenant (a worktree on its own branch). Tools return the JSON `git neighbor <command> --json` \
                 prints; an error is a result with isError and {code, kind, message, hints} (code 3: \
                 refused because work would be lost).",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(which) = Which::from_name(&request.name) else {
            let names: Vec<&str> = Which::ALL.iter().map(|w| w.name()).collect();
            return Err(ErrorData::invalid_params(
                format!("unknown tool '{}'", request.name),
                Some(serde_json::json!({ "tools": names })),
            ));
        };
        let args = Value::Object(request.arguments.unwrap_or_default());
        let global = self.global.clone();
        let outcome = tokio::task::spawn_blocking(move || call(which, &global, args)).await;
        let result = match outcome {
            Ok(Ok(v)) => ok_result(v),
            Ok(Err(e)) => err_result(&e),
            Err(join) => {
                let what = if join.is_panic() { "panicked" } else { "was cancelled" };
                err_result(
                    &Error::new(format!("internal error: the {} tool {what}; nothing else was affected", which.name()))
                        .hint("the server goes on; please report this with the server's stderr"),
                )
            }
        };
        Ok(result.into())
    }
}

/// A success: the command's `--json` text, and the same value as structured content when it is an
/// object (MCP's structured content is always an object; `list` and `rescue_list` are arrays).
fn ok_result(v: Value) -> CallToolResult {
    let text = ui::json_text(&v).unwrap_or_else(|_| v.to_string());
    let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
    if v.is_object() {
        r.structured_content = Some(v);
    }
    r
}

/// An error or refusal as a tool result: `isError` and `{schema_version, code, kind, message, causes, hints}`.
fn err_result(e: &Error) -> CallToolResult {
    let mut v = serde_json::json!({ "schema_version": ui::SCHEMA_VERSION });
    if let (Some(obj), Value::Object(fields)) = (v.as_object_mut(), ui::error_fields(e)) {
        obj.extend(fields);
    }
    let text = ui::json_text(&v).unwrap_or_else(|_| v.to_string());
    let mut r = CallToolResult::error(vec![ContentBlock::text(text)]);
    r.structured_content = Some(v);
    r
}

/// The tools, in the order `tools/list` gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Add,
    List,
    Status,
    Remove,
    Run,
    DeltaWrite,
    MergeFrame,
    Land,
    RescueList,
}

impl Which {
    const ALL: [Which; 9] = [
        Which::Add,
        Which::List,
        Which::Status,
        Which::Remove,
        Which::Run,
        Which::DeltaWrite,
        Which::MergeFrame,
        Which::Land,
        Which::RescueList,
    ];

    fn name(self) -> &'static str {
        match self {
            Which::Add => "add",
            Which::List => "list",
            Which::Status => "status",
            Which::Remove => "remove",
            Which::Run => "run",
            Which::DeltaWrite => "delta_write",
            Which::MergeFrame => "merge_frame",
            Which::Land => "land",
            Which::RescueList => "rescue_list",
        }
    }

    fn from_name(name: &str) -> Option<Which> {
        Which::ALL.into_iter().find(|w| w.name() == name)
    }

    fn description(self) -> &'static str {
        match self {
            Which::Add => {
                "Create a tenant: a worktree on its own branch (git neighbor add). Returns its list entry \
                 (name, path, branch, status)."
            }
            Which::List => "Every worktree of the building with its status (git neighbor list).",
            Which::Status => {
                "Summary of the building: tenants by status, leases, the building lock, fleet liveness \
                 (git neighbor status)."
            }
            Which::Remove => {
                "Remove a tenant (git neighbor remove). Refuses (code 3) if it holds uncommitted changes or \
                 unmerged commits, unless force, which first saves them as a rescue ref."
            }
            Which::Run => {
                "Run a command (argv, no shell) in its own tenant (git neighbor run): a new ephemeral tenant, \
                 or the named one. Bounded by timeout (default 2m, at most 1h; exit code 124 when it fires); \
                 its output (stdout and stderr, in order) is captured, capped to its last max_output bytes, \
                 beside run's report (the tenant it ran in, what became of it)."
            }
            Which::DeltaWrite => {
                "Validate a delta ({\"ops\": [...]}) and store it in the mailbox for a frame and stream \
                 (git neighbor delta write). Refuses (code 3) an occupied slot unless replace."
            }
            Which::MergeFrame => {
                "Apply all of a frame's deltas to the target branch in one commit (git neighbor merge-frame)."
            }
            Which::Land => {
                "Land a tenant onto its target branch: up to date, optionally tested, compare-and-swap \
                 (git neighbor land)."
            }
            Which::RescueList => "Work saved under refs/neighbor/rescue/, newest first (git neighbor rescue list).",
        }
    }

    fn schema(self) -> Result<Arc<serde_json::Map<String, Value>>, String> {
        match self {
            Which::Add => schema_for_input::<AddParams>(),
            Which::List => schema_for_input::<ListParams>(),
            Which::Status => schema_for_input::<StatusParams>(),
            Which::Remove => schema_for_input::<RemoveParams>(),
            Which::Run => schema_for_input::<RunParams>(),
            Which::DeltaWrite => schema_for_input::<DeltaWriteParams>(),
            Which::MergeFrame => schema_for_input::<MergeFrameParams>(),
            Which::Land => schema_for_input::<LandParams>(),
            Which::RescueList => schema_for_input::<NoParams>(),
        }
    }
}

/// The tool list with each tool's input schema.
fn tools() -> Result<Vec<Tool>, Error> {
    Which::ALL
        .into_iter()
        .map(|w| {
            let schema = w.schema().map_err(|e| Error::new(format!("the {} tool's input schema: {e}", w.name())))?;
            Ok(Tool::new(w.name(), w.description(), schema))
        })
        .collect()
}

/// `add`'s arguments (the command's options an agent needs; not `--ephemeral`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AddParams {
    /// Tenant name (letters, digits, '.', '_', '-').
    name: String,
    /// Base revision (default: worktrees.base, normally HEAD).
    base: Option<String>,
    /// Branch name (default: the worktrees.branch template, normally neighbor/<name>).
    branch: Option<String>,
    /// Worktree path (default: <worktrees.root>/<name>).
    path: Option<PathBuf>,
    /// Uncommitted files, directories or globs to copy from the server's worktree.
    #[serde(default)]
    carry: Vec<String>,
    /// Owner recorded in the registry.
    owner: Option<String>,
    /// Task id recorded in the registry.
    task: Option<String>,
}

/// `list`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListParams {
    /// Also compute dirty and ahead/behind base (slower).
    #[serde(default)]
    full: bool,
}

/// `status`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct StatusParams {
    /// Fetch the upstream before judging fleet liveness.
    #[serde(default)]
    fetch: bool,
}

/// `remove`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RemoveParams {
    /// Tenant name, or a path in its worktree.
    name: String,
    /// Remove even with uncommitted changes or unmerged commits, after saving them as a rescue ref.
    #[serde(default)]
    force: bool,
    /// Keep the tenant's branch.
    #[serde(default)]
    keep_branch: bool,
}

/// `run`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RunParams {
    /// The command and its arguments (run directly, no shell).
    cmd: Vec<String>,
    /// Tenant to run in: claimed if it exists, created otherwise (default: a new ephemeral tenant).
    name: Option<String>,
    /// Kill the command after this long (e.g. "30s", "5m"; default "2m", at most "1h").
    timeout: Option<String>,
    /// Frame this run writes for; with stream, a fallback delta is left if the command writes none.
    frame: Option<u64>,
    /// Stream this run writes for.
    stream: Option<String>,
    /// Base revision for a new tenant.
    base: Option<String>,
    /// Keep the tenant afterwards, whatever it holds.
    #[serde(default)]
    keep: bool,
    /// Remove the tenant afterwards even if it holds work (saved as a rescue ref first).
    #[serde(default)]
    rm: bool,
    /// Skip the elevator (the launch stagger).
    #[serde(default)]
    no_stagger: bool,
    /// Keep at most this many bytes of the command's output (the last ones; default 65536, at most
    /// 16 MiB).
    max_output: Option<usize>,
}

/// `delta_write`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DeltaWriteParams {
    /// The delta: {"ops": [...], "meta": {...}} (may be omitted with fallback).
    delta: Option<Value>,
    /// Frame (default: the next frame to merge).
    frame: Option<u64>,
    /// Stream (default: the tenant the server runs in).
    stream: Option<String>,
    /// A fallback delta ("ran, nothing to say"): no ops.
    #[serde(default)]
    fallback: bool,
    /// Overwrite this stream's delta for the frame.
    #[serde(default)]
    replace: bool,
}

/// `merge_frame`'s arguments (not `--reducer`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct MergeFrameParams {
    /// Frame to merge (default: the last merged frame + 1).
    frame: Option<u64>,
    /// Streams expected this frame (default: merge.expect).
    expect: Option<Vec<String>>,
    /// Wait this long for expected streams before recording them missing (e.g. "10s"; default "0s",
    /// at most "1h").
    wait: Option<String>,
    /// Compute the plan and the resulting diff; change nothing.
    #[serde(default)]
    dry_run: bool,
    /// Also publish to this remote (the target and the delta refs, atomically).
    push: Option<String>,
}

/// How `land` brings the work in.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum LandMode {
    /// Merge the target into the tenant, then fast-forward the target.
    #[default]
    Merge,
    /// Always make a merge commit on the target.
    NoFf,
    /// The tenant's changes as one commit.
    Squash,
    /// Rebase the tenant onto the target instead.
    Rebase,
}

/// `land`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LandParams {
    /// Tenant to land.
    name: String,
    /// Branch to land into (default: the tenant's base branch, else state.target).
    into: Option<String>,
    /// Test to run in the tenant after it is brought up to date (run with `sh -c`).
    test: Option<String>,
    /// How to land (default: merge).
    #[serde(default)]
    mode: LandMode,
    /// Keep the tenant after landing (default: remove it).
    #[serde(default)]
    keep: bool,
}

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NoParams {}

/// Decode a tool's arguments; a mismatch is a usage error (code 2), like a bad command line.
fn params<T: for<'de> Deserialize<'de>>(which: Which, args: Value) -> Result<T, Error> {
    serde_json::from_value(args).map_err(|e| {
        Error::usage(format!("invalid arguments for {}: {e}", which.name()))
            .hint("tools/list gives each tool's input schema")
    })
}

/// A duration argument, at most `max`.
fn duration(what: &str, s: Option<&str>, default: Duration, max: Duration) -> Result<Duration, Error> {
    let d = match s {
        Some(s) => config::parse_duration(s).map_err(|e| Error::usage(format!("{what}: {e}")))?,
        None => default,
    };
    if d > max {
        let (d, max) = (config::format_duration(d), config::format_duration(max));
        return Err(Error::usage(format!("{what} {d} is longer than the {max} allowed")));
    }
    Ok(d)
}

/// How a tool talks to the user beside its result: status lines and warnings on stderr, never a spinner.
fn stderr_ui(g: &Global) -> Ui {
    Ui::new(false, g.quiet, g.verbose, ColorChoice::Never)
}

/// Run one tool: parse its arguments, make the command's domain call, return the command's `--json` value.
fn call(which: Which, g: &Global, args: Value) -> Result<Value, Error> {
    crate::failpoint::hit("mcp-tool");
    match which {
        Which::Add => {
            let p: AddParams = params(which, args)?;
            let ctx = cli::open(g)?;
            let req = AddRequest {
                name: p.name,
                base: p.base,
                branch: p.branch,
                path: p.path,
                carry: p.carry,
                owner: p.owner,
                task: p.task,
                ..Default::default()
            };
            let t = building::add(&ctx, &req)?;
            ui::json_value(&building::entry(&ctx, &t.name)?)
        }
        Which::List => {
            let p: ListParams = params(which, args)?;
            let ctx = cli::open_read_only(g, &stderr_ui(g))?;
            let mut rows = building::survey(&ctx)?;
            if p.full {
                building::survey_full(&ctx, &mut rows);
            }
            ui::json_value(&rows)
        }
        Which::Status => {
            let p: StatusParams = params(which, args)?;
            let ctx = cli::open_read_only(g, &stderr_ui(g))?;
            ui::json_value(&building::summary(&ctx, p.fetch)?)
        }
        Which::Remove => {
            let p: RemoveParams = params(which, args)?;
            let ctx = cli::open(g)?;
            let t = building::resolve_tenant(&ctx, Some(&p.name))?;
            ui::json_value(&building::remove(&ctx, &t, p.force, p.keep_branch)?)
        }
        Which::Run => run(g, params(which, args)?),
        Which::DeltaWrite => {
            let p: DeltaWriteParams = params(which, args)?;
            let ctx = cli::open(g)?;
            let delta = match &p.delta {
                Some(d) => Some(serde_json::to_vec(d).map_err(|e| Error::new(format!("cannot encode delta: {e}")))?),
                None => None,
            };
            let req =
                WriteRequest { frame: p.frame, stream: p.stream, delta, fallback: p.fallback, replace: p.replace };
            ui::json_value(&mailbox::write(&ctx, &req)?)
        }
        Which::MergeFrame => {
            let p: MergeFrameParams = params(which, args)?;
            let ctx = cli::open(g)?;
            let opts = merge::Options {
                frame: p.frame,
                expect: p.expect,
                wait: duration("wait", p.wait.as_deref(), Duration::ZERO, Duration::from_secs(3600))?,
                dry_run: p.dry_run,
                push: p.push,
                reducer: None,
            };
            ui::json_value(&merge::merge(&ctx, &opts)?)
        }
        Which::Land => {
            let p: LandParams = params(which, args)?;
            let ctx = cli::open(g)?;
            let mode = match p.mode {
                LandMode::Merge => Mode::Merge,
                LandMode::NoFf => Mode::NoFf,
                LandMode::Squash => Mode::Squash,
                LandMode::Rebase => Mode::Rebase,
            };
            let req = LandRequest { name: p.name, into: p.into, test: p.test, mode, keep: p.keep };
            let ui = stderr_ui(g);
            ui::json_value(&land::land(&ctx, &req, &|line| ui.status(line))?)
        }
        Which::RescueList => {
            let _: NoParams = params(which, args)?;
            let ctx = cli::open(g)?;
            ui::json_value(&rescue::list(&ctx.repo)?)
        }
    }
}

/// What the `run` tool returns.
#[derive(Debug, serde::Serialize)]
struct RunResult {
    /// The command's exit code; 124 when the timeout ended it, 128+N when signal N did.
    exit_code: i32,
    /// Whether the timeout ended it.
    timed_out: bool,
    /// How long the run took, tenant set-up and clean-up included.
    duration_ms: u64,
    /// The end of what the command wrote, stdout and stderr interleaved as they came (lossy UTF-8), with
    /// `git neighbor run`'s own status lines.
    output: String,
    /// How many bytes that was in all.
    output_bytes: u64,
    /// Whether `output` was cut to its last `max_output` bytes.
    output_truncated: bool,
    /// `git neighbor run --json`'s report: the tenant it ran in, what became of it, the fallback delta.
    run: Value,
}

const RUN_TIMEOUT: Duration = Duration::from_secs(120);
const RUN_TIMEOUT_MAX: Duration = Duration::from_secs(3600);
const RUN_GRACE: Duration = Duration::from_secs(3);
const OUTPUT_CAP: usize = 64 * 1024;
const OUTPUT_CAP_MAX: usize = 16 * 1024 * 1024;

/// The `run` tool: `git neighbor run` as a child (see the module doc for why), its output captured.
fn run(g: &Global, p: RunParams) -> Result<Value, Error> {
    if p.cmd.is_empty() {
        return Err(Error::usage("run: cmd is empty").hint("pass the command as an array, e.g. [\"make\", \"test\"]"));
    }
    // The name goes on run's command line as an operand: one that clap would read as a flag must not get
    // there (run validates it again, as it validates everything else).
    if let Some(n) = &p.name {
        building::registry::validate_name(n)?;
    }
    let timeout = duration("timeout", p.timeout.as_deref(), RUN_TIMEOUT, RUN_TIMEOUT_MAX)?;
    let cap = p.max_output.unwrap_or(OUTPUT_CAP);
    if cap > OUTPUT_CAP_MAX {
        return Err(Error::usage(format!("max_output {cap} is more than the {OUTPUT_CAP_MAX} bytes allowed")));
    }
    let exe = std::env::current_exe().map_err(|e| Error::new(format!("cannot find our own binary: {e}")))?;
    let mut c = Command::new(exe);
    for o in &g.config {
        c.arg(format!("-c{o}"));
    }
    c.arg(format!("--lock-timeout={}", config::format_duration(g.lock_timeout)));
    c.args(["--json", "--color=never", "run"]);
    c.arg(format!("--timeout={}", config::format_duration(timeout)));
    c.arg(format!("--grace={}", config::format_duration(RUN_GRACE)));
    if let Some(f) = p.frame {
        c.arg(format!("--frame={f}"));
    }
    if let Some(s) = &p.stream {
        c.arg(format!("--stream={s}"));
    }
    if let Some(b) = &p.base {
        c.arg(format!("--base={b}"));
    }
    for (on, flag) in [(p.keep, "--keep"), (p.rm, "--rm"), (p.no_stagger, "--no-stagger")] {
        if on {
            c.arg(flag);
        }
    }
    if let Some(n) = &p.name {
        c.arg(n);
    }
    c.arg("--").args(&p.cmd);
    c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = c.spawn().map_err(|e| Error::new(format!("cannot start git neighbor run: {e}")))?;
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    // stdout carries only run's report: kept whole (it is small), whatever max_output says.
    let out = child.stdout.take().map(|s| std::thread::spawn(move || capture(s, OUTPUT_CAP_MAX)));
    let err = child.stderr.take().map(|s| std::thread::spawn(move || capture(s, cap)));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    // `run` enforces the timeout itself; this is the backstop if it cannot (a stuck clean-up): TERM (it
    // cleans up and ends CMD's group), then KILL.
    let backstop = timeout + RUN_GRACE + Duration::from_secs(30);
    let status = match rx.recv_timeout(backstop) {
        Ok(s) => s,
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(s) => s,
                Err(_) => {
                    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                    rx.recv().map_err(|_| Error::new("lost track of git neighbor run"))?
                }
            }
        }
    }
    .map_err(|e| Error::new(format!("cannot wait for git neighbor run: {e}")))?;
    let elapsed = started.elapsed();
    let joined = |h: Option<std::thread::JoinHandle<Captured>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
    let (out, err) = (joined(out), joined(err));
    let code = match (status.code(), std::os::unix::process::ExitStatusExt::signal(&status)) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        (None, None) => 1,
    };
    // `run --json` prints its report on stdout when it ran the command (the command's own stdout goes to
    // its stderr, with the command's stderr, in order); without a report, run itself failed (a refusal,
    // a bad name, a lock timeout) and its `--json` error is the last line of its stderr.
    let report: Option<Value> = serde_json::from_slice(&out.tail).ok().filter(|v: &Value| v.get("exit").is_some());
    let Some(report) = report else {
        return Err(run_error(&err.tail, code).unwrap_or_else(|| {
            Error::new(format!("git neighbor run ended with {code} and no report"))
                .hint(String::from_utf8_lossy(&err.tail).trim().to_string())
        }));
    };
    let timed_out = report.pointer("/end/kind").and_then(Value::as_str) == Some("timed_out");
    ui::json_value(&RunResult {
        exit_code: code,
        timed_out,
        duration_ms: elapsed.as_millis() as u64,
        output: String::from_utf8_lossy(&err.tail).into_owned(),
        output_bytes: err.total,
        output_truncated: err.total > err.tail.len() as u64,
        run: report,
    })
}

/// The last bytes of a stream and how long it was.
#[derive(Default)]
struct Captured {
    tail: Vec<u8>,
    total: u64,
}

/// Read `r` to its end, keeping the last `cap` bytes.
fn capture(mut r: impl Read, cap: usize) -> Captured {
    let mut c = Captured::default();
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                c.total += n as u64;
                c.tail.extend_from_slice(&buf[..n]);
                if c.tail.len() > cap {
                    let cut = c.tail.len() - cap;
                    c.tail.drain(..cut);
                }
            }
        }
    }
    c
}

/// `git neighbor run --json`'s own error, if its stderr ends with one that matches its exit code.
fn run_error(stderr: &[u8], code: i32) -> Option<Error> {
    let text = String::from_utf8_lossy(stderr);
    let last = text.lines().rev().find(|l| !l.trim().is_empty())?;
    let v: Value = serde_json::from_str(last).ok()?;
    let e = v.get("error")?;
    if v.get("schema_version").is_none() || e.get("code")?.as_i64()? != i64::from(code) {
        return None;
    }
    let kind = match code {
        2 => Kind::Usage,
        3 => Kind::Refused,
        4 => Kind::LockTimeout,
        _ => Kind::Error,
    };
    let strings = |key: &str| -> Vec<String> {
        e.get(key)
            .and_then(|a| a.as_array())
            .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    Some(Error {
        kind,
        message: e.get("message").and_then(|m| m.as_str()).unwrap_or("git neighbor run failed").to_string(),
        hints: strings("hints"),
        causes: strings("causes"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_an_object_schema() {
        let tools = tools().expect("schemas");
        assert_eq!(tools.len(), 9);
        for t in &tools {
            assert_eq!(t.input_schema.get("type").and_then(|v| v.as_str()), Some("object"), "{}", t.name);
        }
    }

    #[test]
    fn capture_keeps_the_tail() {
        let c = capture(&b"0123456789"[..], 4);
        assert_eq!((c.tail.as_slice(), c.total), (&b"6789"[..], 10));
    }

    #[test]
    fn run_error_reads_only_a_matching_json_error() {
        let line =
            br#"{"schema_version":1,"error":{"kind":"refused","code":3,"message":"no","causes":[],"hints":["h"]}}"#;
        let e = run_error(line, 3).expect("an error");
        assert_eq!((e.kind, e.message.as_str(), e.hints.len()), (Kind::Refused, "no", 1));
        assert!(run_error(line, 1).is_none(), "CMD's own exit code");
        assert!(run_error(b"plain text", 3).is_none());
    }
}
