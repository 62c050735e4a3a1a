//! Presentation: data goes to stdout, status and errors to stderr; colour only when wanted.
//!
//! `--color auto` means stderr/stdout is a terminal and `NO_COLOR` is unset. A closed stdout
//! (`git neighbor list | head`) is not an error: writes report `BrokenPipe`, which `main` exits on quietly.

use std::io::{IsTerminal, Write};

use owo_colors::{OwoColorize, Style};
use serde::Serialize;

use crate::error::Error;

/// The version of the JSON vocabulary (`schema_version` on every top-level object and error).
pub const SCHEMA_VERSION: u32 = 1;

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// How to talk to the user.
#[derive(Debug, Clone)]
pub struct Ui {
    /// `--json`
    pub json: bool,
    /// `-q`
    pub quiet: bool,
    /// `-v` count
    pub verbose: u8,
    color_out: bool,
    color_err: bool,
    err_tty: bool,
}

/// A spinner on stderr for long work, shown only on a terminal (never with `-q`, `--json`, or when stderr
/// is a file or pipe); it clears itself when dropped.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// Change what the spinner says.
    pub fn set(&self, msg: impl Into<String>) {
        if let Some(p) = &self.0 {
            p.set_message(msg.into());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            p.finish_and_clear();
        }
    }
}

impl Ui {
    /// Decide colour once at start-up.
    pub fn new(json: bool, quiet: bool, verbose: u8, color: ColorChoice) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let (out, err) = match color {
            ColorChoice::Always => (true, true),
            ColorChoice::Never => (false, false),
            ColorChoice::Auto if no_color => (false, false),
            ColorChoice::Auto => (std::io::stdout().is_terminal(), std::io::stderr().is_terminal()),
        };
        Ui { json, quiet, verbose, color_out: out, color_err: err, err_tty: std::io::stderr().is_terminal() }
    }

    /// A spinner saying `msg` while long work runs (see [`Progress`]).
    pub fn progress(&self, msg: impl Into<String>) -> Progress {
        if self.quiet || self.json || !self.err_tty {
            return Progress(None);
        }
        let p = indicatif::ProgressBar::new_spinner().with_message(msg.into());
        p.enable_steady_tick(std::time::Duration::from_millis(100));
        Progress(Some(p))
    }

    fn paint(&self, on: bool, s: &str, style: Style) -> String {
        if on { s.style(style).to_string() } else { s.to_string() }
    }

    /// Whether stdout gets colour (`--color`, `NO_COLOR`, a terminal).
    pub fn colors_stdout(&self) -> bool {
        self.color_out
    }

    /// Style a word for stdout.
    pub fn out_style(&self, s: &str, style: Style) -> String {
        self.paint(self.color_out, s, style)
    }

    /// A status line on stderr (silenced by `-q`).
    pub fn status(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            message(format_args!("{}", msg.as_ref()));
        }
    }

    /// A detail line on stderr, shown with `-v`.
    pub fn verbose(&self, msg: impl AsRef<str>) {
        if self.verbose > 0 && !self.quiet {
            message(format_args!("{}", msg.as_ref()));
        }
    }

    /// A warning on stderr (never silenced).
    pub fn warn(&self, msg: impl AsRef<str>) {
        message(format_args!(
            "{} {}",
            self.paint(self.color_err, "warning:", Style::new().yellow().bold()),
            msg.as_ref()
        ));
    }

    /// An error that does not stop the command, shown as a warning with its causes and hints.
    pub fn warn_error(&self, e: &Error, going_on: &str) {
        self.warn(format!("{} ({going_on})", e.message));
        for c in &e.causes {
            message(format_args!("{} {c}", self.paint(self.color_err, "caused by:", Style::new().bold())));
        }
        for h in &e.hints {
            message(format_args!("{} {h}", self.paint(self.color_err, "hint:", Style::new().cyan().bold())));
        }
    }

    /// Print an error with its causes and hints; under `--json`, as one JSON object on stderr.
    pub fn error(&self, e: &Error) {
        if self.json {
            let v = serde_json::json!({"schema_version": SCHEMA_VERSION, "error": error_fields(e)});
            message(format_args!("{v}"));
            return;
        }
        message(format_args!("{} {}", self.paint(self.color_err, "error:", Style::new().red().bold()), e.message));
        for c in &e.causes {
            message(format_args!("{} {c}", self.paint(self.color_err, "caused by:", Style::new().bold())));
        }
        for h in &e.hints {
            message(format_args!("{} {h}", self.paint(self.color_err, "hint:", Style::new().cyan().bold())));
        }
    }

    /// Write data lines to stdout.
    pub fn data(&self, text: &str) -> Result<(), Error> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(pipe)
    }

    /// Write a value as pretty JSON to stdout. A top-level object carries `"schema_version"` first, so a
    /// consumer can tell which vocabulary it reads.
    pub fn json_out<T: Serialize>(&self, v: &T) -> Result<(), Error> {
        let mut s = json_text(&json_value(v)?)?;
        s.push('\n');
        self.data(&s)
    }
}

/// The JSON value `--json` prints for `v`: a top-level object gets `"schema_version"` first. The one
/// definition of the vocabulary, shared by [`Ui::json_out`] and the MCP server's tool results.
pub fn json_value<T: Serialize>(v: &T) -> Result<serde_json::Value, Error> {
    let value = serde_json::to_value(v).map_err(|e| Error::new(format!("cannot encode JSON: {e}")))?;
    Ok(match value {
        serde_json::Value::Object(fields) => {
            let mut out = serde_json::Map::new();
            out.insert("schema_version".into(), SCHEMA_VERSION.into());
            out.extend(fields);
            serde_json::Value::Object(out)
        }
        other => other,
    })
}

/// The text `--json` prints for a value from [`json_value`] (without the final newline).
pub fn json_text(v: &serde_json::Value) -> Result<String, Error> {
    serde_json::to_string_pretty(v).map_err(|e| Error::new(format!("cannot encode JSON: {e}")))
}

/// An error's fields in JSON: `kind`, `code` (the exit code), `message`, `causes`, `hints`. `--json`
/// prints them under `"error"` on stderr; the MCP server returns them as a tool error's content.
pub fn error_fields(e: &Error) -> serde_json::Value {
    serde_json::json!({
        "kind": e.kind.name(),
        "code": e.kind.code(),
        "message": e.message,
        "causes": e.causes,
        "hints": e.hints,
    })
}

fn pipe(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Error::broken_pipe()
    } else {
        Error::new(format!("cannot write to stdout: {e}"))
    }
}

/// Write one line to stderr, never panicking: a closed or full stderr (`2>&1 | true`, `2>/dev/full`) must
/// not turn a command that did its work into a crash, nor skip the cleanup that follows the message.
pub fn message(line: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(line).and_then(|()| err.write_all(b"\n"));
}

/// `text` as a terminal may show it: every control character (escape sequences, carriage returns, bells,
/// line ends) written out visibly (`\u{1b}`, `\r`, `\n`). For one-line fields that come from others (a
/// task pulled from a remote, say), so a field never drives the terminal that prints it.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect(),
    )
}

/// [`printable`] for text of several lines: line ends (a CRLF one as a plain one) and tabs stay as they are.
pub fn printable_lines(text: &str) -> String {
    text.replace("\r\n", "\n")
        .split('\n')
        .map(|line| line.split('\t').map(|p| printable(p).into_owned()).collect::<Vec<_>>().join("\t"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Render rows as aligned columns (last column unpadded).
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(visible_len(c));
        }
    }
    let mut s = String::new();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            s.push_str(c);
            if i + 1 < r.len() {
                s.push_str(&" ".repeat(widths[i] - visible_len(c) + 2));
            }
        }
        s.push('\n');
    }
    s
}

fn visible_len(s: &str) -> usize {
    // Skip ANSI escapes so coloured cells align.
    let mut n = 0;
    let mut esc = false;
    for c in s.chars() {
        match (esc, c) {
            (false, '\u{1b}') => esc = true,
            (true, 'm') => esc = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(printable("plain text"), "plain text");
        assert_eq!(printable("a\u{1b}]52;c;eA==\u{7}b\r\n"), "a\\u{1b}]52;c;eA==\\u{7}b\\r\\n");
        assert_eq!(printable("\u{9b}2J"), "\\u{9b}2J", "C1 controls too");
        assert_eq!(printable_lines("one\r\n\ttwo\rover\u{1b}[2J\n"), "one\n\ttwo\\rover\\u{1b}[2J\n");
    }

    #[test]
    fn no_spinner_off_a_terminal_or_when_quiet() {
        let mut ui = Ui::new(false, false, 0, ColorChoice::Never);
        ui.err_tty = false;
        assert!(ui.progress("x").0.is_none(), "stderr is not a terminal");
        ui.err_tty = true;
        ui.quiet = true;
        assert!(ui.progress("x").0.is_none(), "-q");
        ui.quiet = false;
        ui.json = true;
        assert!(ui.progress("x").0.is_none(), "--json");
        ui.json = false;
        let shown = ui.progress("x");
        assert!(shown.0.is_some(), "a terminal, not quiet: shown");
    }
}
