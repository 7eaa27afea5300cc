//! `shroud diff A B` and `shroud diff FILE --rev REV`: decrypt both sides
//! in memory and print a unified diff of the plaintext, or with
//! `--keys-only` just the key paths that were added, removed or changed
//! (no values: safe for CI logs). Exit status as diff(1): 0 same,
//! 1 different, 2 or a sops code on error.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use zeroize::Zeroizing;

use super::git::{Opened, blob, open_bytes, toplevel};
use super::{Fail, exit_code, io};
use shroud::git::{KeyChange, entries, key_changes};

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The old file (with --rev: the file, compared with its version at REV)
    pub a: PathBuf,
    /// The new file
    #[arg(required_unless_present = "rev", conflicts_with = "rev")]
    pub b: Option<PathBuf>,
    /// Compare FILE in the work tree with its version at this git revision
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// Print only the key paths added, removed or changed, never a value
    #[arg(long)]
    pub keys_only: bool,
    /// The format of both files, if not from their names
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
}

/// One side: its label, and its content opened.
fn side(label: String, bytes: &[u8], input_type: Option<&str>) -> Result<(String, Opened)> {
    let opened = open_bytes(&label, bytes, input_type)?;
    Ok((label, opened))
}

/// The path of `file` from the repository top, as `git show REV:path` wants.
fn repo_path(file: &Path) -> Result<String> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let top = toplevel(Some(dir))?.canonicalize()?;
    let abs = std::path::absolute(file)?;
    // The folder may be a symlink; canonicalize it, keep the file name.
    let abs = match (abs.parent(), abs.file_name()) {
        (Some(d), Some(n)) => d.canonicalize()?.join(n),
        _ => abs,
    };
    let rel = abs.strip_prefix(&top).map_err(|_| {
        Fail::new(
            2,
            format!("{} is not inside the git repository", file.display()),
        )
    })?;
    Ok(rel.to_string_lossy().into_owned())
}

fn colour_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn paint(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let code = if line.starts_with("+++") || line.starts_with("---") {
            "1"
        } else if line.starts_with('+') {
            "32"
        } else if line.starts_with('-') {
            "31"
        } else if line.starts_with("@@") {
            "36"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            let body = line.trim_end_matches('\n');
            out.push_str(&format!("\x1b[{code}m{body}\x1b[0m"));
            if line.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

fn inner(args: DiffArgs) -> Result<i32> {
    let it = args.input_type.as_deref();
    let ((la, a), (lb, b)) = match (&args.b, &args.rev) {
        (Some(b), None) => (
            side(
                args.a.display().to_string(),
                &io::read_input(Some(&args.a))?,
                it,
            )?,
            side(b.display().to_string(), &io::read_input(Some(b))?, it)?,
        ),
        (None, Some(rev)) => {
            let old = blob(rev, &repo_path(&args.a)?)?;
            let name = args.a.display().to_string();
            // The label keeps the file's extension last, for the format.
            let (_, old) = side(name.clone(), &old, it)?;
            (
                (format!("{name} ({rev})"), old),
                side(name.clone(), &io::read_input(Some(&args.a))?, it)?,
            )
        }
        _ => {
            return Err(Fail::new(2, "give two files, or one file and --rev REV").into());
        }
    };

    if args.keys_only {
        let (Ok(ta), Ok(tb)) = (
            std::str::from_utf8(&a.plaintext),
            std::str::from_utf8(&b.plaintext),
        ) else {
            return Err(Fail::new(2, "--keys-only needs structured files, not binary data").into());
        };
        let da = a.format.parse(ta)?;
        let db = b.format.parse(tb)?;
        let changes = key_changes(&entries(da.as_ref()), &entries(db.as_ref()));
        let mut out = String::new();
        for c in &changes {
            let line = match c {
                KeyChange::Added(p) => format!("added   {p}\n"),
                KeyChange::Removed(p) => format!("removed {p}\n"),
                KeyChange::Changed(p) => format!("changed {p}\n"),
            };
            out.push_str(&line);
        }
        io::write_stdout(out.as_bytes())?;
        return Ok(i32::from(!changes.is_empty()));
    }

    if a.plaintext == b.plaintext {
        return Ok(0);
    }
    let (Ok(ta), Ok(tb)) = (
        std::str::from_utf8(&a.plaintext),
        std::str::from_utf8(&b.plaintext),
    ) else {
        io::write_stdout(format!("Binary files {la} and {lb} differ\n").as_bytes())?;
        return Ok(1);
    };
    let diff = similar::TextDiff::from_lines(ta, tb);
    let text = Zeroizing::new(
        diff.unified_diff()
            .context_radius(3)
            .header(&la, &lb)
            .to_string(),
    );
    if colour_wanted() {
        io::write_stdout(Zeroizing::new(paint(&text)).as_bytes())?;
    } else {
        io::write_stdout(text.as_bytes())?;
    }
    Ok(1)
}

pub fn run(args: DiffArgs) -> Result<i32> {
    // Exit status 1 means "different", so an error must not use it.
    inner(args).map_err(|e| {
        if exit_code(&e) == 1 {
            e.context(Fail::new(2, "shroud diff failed"))
        } else {
            e
        }
    })
}

#[cfg(test)]
mod tests {
    use super::paint;

    #[test]
    fn colour_marks_whole_lines_and_keeps_the_text() {
        let text = "--- a\n+++ b\n@@ -1 +1 @@\n ctx\n-old\n+new";
        let painted = paint(text);
        assert_eq!(
            painted,
            "\x1b[1m--- a\x1b[0m\n\x1b[1m+++ b\x1b[0m\n\x1b[36m@@ -1 +1 @@\x1b[0m\n ctx\n\
             \x1b[31m-old\x1b[0m\n\x1b[32m+new\x1b[0m"
        );
    }
}
