//! Everything shroud prints to stderr for people (not data) goes through here,
//! so the conventions are decided once:
//!
//! - `error(..)`   always printed: `shroud: error: ...` (red `error` on a terminal).
//! - `warn(..)`    `shroud: warning: ...`; hidden by `--quiet`.
//! - `note(..)`    `shroud: ...`, plain information; hidden by `--quiet`.
//! - `verbose(..)` `shroud: ...` only with `-v/--verbose`: which key source,
//!   identity and creation rule were used. Never pass it a secret value,
//!   a data key or identity text: names, paths and public keys only.
//! - `progress_wanted()`: whether a progress bar may be drawn (a terminal,
//!   not `--quiet`); `cli::batch` draws it with indicatif.
//!
//! Colour: only when the stream is a terminal, never when `NO_COLOR` is set
//! (no-color.org), always when `CLICOLOR_FORCE` is set to something other
//! than `0` (unless `NO_COLOR` is set too), never for `TERM=dumb`. clap's
//! own help output follows the same variables through anstream.
//!
//! Data (decrypted text, `filestatus` JSON, completions) goes to stdout
//! through `io::write_stdout`, never through this module.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};

/// How much to say; set once from the global flags by [`init`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Quiet = 0,
    Normal = 1,
    Verbose = 2,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Normal as u8);

/// Set the level from `--quiet` / `-v`. `--quiet` wins when both are given
/// (clap rejects that combination anyway).
pub fn init(quiet: bool, verbose: bool) {
    let level = if quiet {
        Level::Quiet
    } else if verbose {
        Level::Verbose
    } else {
        Level::Normal
    };
    LEVEL.store(level as u8, Ordering::Relaxed);
}

pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Level::Quiet,
        2 => Level::Verbose,
        _ => Level::Normal,
    }
}

pub fn is_verbose() -> bool {
    level() == Level::Verbose
}

/// Whether to colour a stream that is (or is not) a terminal, given the
/// environment. Separate from the process state so it can be tested.
pub fn colour_wanted(is_terminal: bool, var: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    if set("NO_COLOR") {
        return false;
    }
    if var("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    if var("TERM").is_some_and(|t| t == "dumb") {
        return false;
    }
    is_terminal
}

/// Whether messages on stderr may be coloured.
pub fn stderr_colour() -> bool {
    colour_wanted(std::io::stderr().is_terminal(), |k| std::env::var(k).ok())
}

/// Whether output on stdout may be coloured (nothing uses it yet; here so
/// `status`/`diff` output decides the same way).
#[allow(dead_code)]
pub fn stdout_colour() -> bool {
    colour_wanted(std::io::stdout().is_terminal(), |k| std::env::var(k).ok())
}

fn paint(text: &str, ansi: &str) -> String {
    if stderr_colour() {
        format!("\x1b[{ansi}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn emit(line: &str) {
    let mut err = std::io::stderr().lock();
    // A closed stderr is no reason to fail the command.
    let _ = writeln!(err, "{line}");
}

/// An error: always printed, whatever the level.
pub fn error(message: &str) {
    emit(&format!("shroud: {}: {message}", paint("error", "1;31")));
}

/// Something the user should know about but that did not stop the command.
pub fn warn(message: &str) {
    if level() >= Level::Normal {
        emit(&format!("shroud: {}: {message}", paint("warning", "1;33")));
    }
}

/// Plain information (a file created, nothing to do, ...).
pub fn note(message: &str) {
    if level() >= Level::Normal {
        emit(&format!("shroud: {message}"));
    }
}

/// Details for `-v`: sources, rules, recipients. Never secrets.
pub fn verbose(message: &str) {
    if level() >= Level::Verbose {
        emit(&format!("shroud: {}", paint(message, "2")));
    }
}

/// Whether a progress bar may be drawn: only on a terminal and not under
/// `--quiet`, so logs and pipes never see carriage returns. (The bar itself is
/// indicatif's, in `cli::batch`.)
pub fn progress_wanted() -> bool {
    level() >= Level::Normal && std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::colour_wanted;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn colour_only_on_a_terminal_by_default() {
        assert!(colour_wanted(true, env(&[])));
        assert!(!colour_wanted(false, env(&[])));
    }

    #[test]
    fn no_color_wins_over_everything() {
        assert!(!colour_wanted(true, env(&[("NO_COLOR", "1")])));
        assert!(!colour_wanted(
            true,
            env(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")])
        ));
        // An empty NO_COLOR does not count (no-color.org).
        assert!(colour_wanted(true, env(&[("NO_COLOR", "")])));
    }

    #[test]
    fn clicolor_force_colours_a_pipe() {
        assert!(colour_wanted(false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!colour_wanted(false, env(&[("CLICOLOR_FORCE", "0")])));
    }

    #[test]
    fn dumb_terminals_get_no_colour() {
        assert!(!colour_wanted(true, env(&[("TERM", "dumb")])));
    }
}
