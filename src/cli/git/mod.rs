//! `shroud git ...`: what git calls (textconv, merge driver), the pre-commit
//! check, and `setup`, which wires them into a repository.

mod check;
mod merge;
mod setup;
mod textconv;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use super::{Fail, as_text, keyring, warn};
use shroud::engine;
use shroud::error::exit;
use shroud::formats::Format;

#[derive(Args, Debug)]
pub struct GitArgs {
    #[command(subcommand)]
    pub command: GitCommand,
}

#[derive(Subcommand, Debug)]
pub enum GitCommand {
    /// Write .gitattributes and git config so git diffs and merges encrypted files
    #[command(
        after_help = "Examples:\n  shroud git setup\n  shroud git setup --hook\n  \
shroud --config deploy/.sops.yaml git setup"
    )]
    Setup(SetupArgs),
    /// Print a file decrypted, for git's diff.<driver>.textconv (never fails)
    #[command(after_help = "Examples:\n  shroud git textconv secrets.yaml\n  \
git config diff.shroud.textconv 'shroud git textconv'")]
    Textconv(TextconvArgs),
    /// Merge an encrypted file key by key, as git's merge driver (%O %A %B %P)
    #[command(after_help = "Examples:\n  \
git config merge.shroud.driver 'shroud git merge-driver %O %A %B %P'\n  \
shroud git merge-driver base.yaml ours.yaml theirs.yaml secrets.yaml")]
    MergeDriver(MergeDriverArgs),
    /// Fail if a staged (or given) file is not encrypted as .sops.yaml and its metadata say
    #[command(
        after_help = "Examples:\n  shroud git check\n  shroud git check secrets/*.yaml\n  \
shroud git setup --hook   # run it before every commit"
    )]
    Check(CheckArgs),
}

#[derive(Args, Debug)]
pub struct SetupArgs {
    /// Also install .git/hooks/pre-commit running `shroud git check`
    #[arg(long)]
    pub hook: bool,
}

#[derive(Args, Debug)]
pub struct TextconvArgs {
    /// The file git hands over (a temporary copy of a blob, or the work tree file)
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct MergeDriverArgs {
    /// %O: the common ancestor's version
    pub base: PathBuf,
    /// %A: our version; the merged result is written here
    pub ours: PathBuf,
    /// %B: their version
    pub theirs: PathBuf,
    /// %P: the path of the file in the repository (for its format and messages)
    pub path: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Files to check in the work tree (default: every staged file, as staged)
    pub paths: Vec<PathBuf>,
}

pub fn run(args: GitArgs, config: Option<&Path>) -> Result<i32> {
    match args.command {
        GitCommand::Setup(a) => setup::run(a, config),
        GitCommand::Textconv(a) => textconv::run(a),
        GitCommand::MergeDriver(a) => merge::run(a),
        GitCommand::Check(a) => check::run(a, config),
    }
}

/// Run git with `args` in `dir` (the current folder if `None`) and return
/// its standard output; a failure names the git command.
pub fn git(dir: Option<&Path>, args: &[&str]) -> Result<Zeroizing<Vec<u8>>> {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd
        .args(args)
        .output()
        .map_err(|e| Fail::new(exit::GENERIC, format!("could not run git: {e}")))?;
    if !out.status.success() {
        return Err(Fail::new(
            exit::GENERIC,
            format!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        )
        .into());
    }
    Ok(Zeroizing::new(out.stdout))
}

/// `git ... ` output as one trimmed line.
pub fn git_line(dir: Option<&Path>, args: &[&str]) -> Result<String> {
    let out = git(dir, args)?;
    Ok(String::from_utf8_lossy(&out).trim_end().to_string())
}

/// The top folder of the repository around `dir`.
pub fn toplevel(dir: Option<&Path>) -> Result<PathBuf> {
    Ok(PathBuf::from(git_line(
        dir,
        &["rev-parse", "--show-toplevel"],
    )?))
}

/// The content of a file as git holds it at `rev` (`""` for the index),
/// `path` relative to the repository top.
pub fn blob(rev: &str, path: &str) -> Result<Zeroizing<Vec<u8>>> {
    git(None, &["show", &format!("{rev}:{path}")])
}

/// A file's content opened for reading: decrypted if it was encrypted.
pub struct Opened {
    pub format: Format,
    /// The plaintext (the file itself when it was not encrypted).
    pub plaintext: Zeroizing<Vec<u8>>,
}

/// Open `bytes`, named `name` (its extension gives the format unless
/// `input_type` does), decrypting it if it carries sops metadata.
pub fn open_bytes(name: &str, bytes: &[u8], input_type: Option<&str>) -> Result<Opened> {
    let format = super::input_format(input_type, Some(Path::new(name)), None)?;
    let plain = |format| Opened {
        format,
        plaintext: Zeroizing::new(bytes.to_vec()),
    };
    if format == Format::Binary {
        // A binary file is encrypted when it is a sops binary-store JSON.
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Ok(plain(format));
        };
        let Ok(doc) = format.parse(text) else {
            return Ok(plain(format));
        };
        if doc.metadata().is_none() {
            return Ok(plain(format));
        }
        let meta = engine::metadata(doc.as_ref()).with_context(|| name.to_string())?;
        let key = keyring::data_key(&meta).with_context(|| name.to_string())?;
        let (data, warnings) = shroud::formats::binary::decrypt(
            doc.as_ref(),
            &meta,
            &key,
            super::decrypt_options(false),
        )
        .with_context(|| name.to_string())?;
        for w in warnings {
            warn(&format!("{name}: {w}"));
        }
        return Ok(Opened {
            format,
            plaintext: data,
        });
    }
    let text = as_text(bytes, name)?;
    let doc = format.parse(text).with_context(|| name.to_string())?;
    if doc.metadata().is_none() {
        return Ok(plain(format));
    }
    let meta = engine::metadata(doc.as_ref()).with_context(|| name.to_string())?;
    let key = keyring::data_key(&meta).with_context(|| name.to_string())?;
    let out = engine::decrypt(doc.as_ref(), &meta, &key, super::decrypt_options(false))
        .with_context(|| name.to_string())?;
    for w in &out.warnings {
        warn(&format!("{name}: {w}"));
    }
    Ok(Opened {
        format,
        plaintext: Zeroizing::new(out.text.as_bytes().to_vec()),
    })
}

/// How git should start shroud: `shroud` when that is this program on
/// PATH, else this program's absolute path (quoted for the shell git uses).
pub fn shroud_command() -> String {
    let me = std::env::current_exe().and_then(|p| p.canonicalize()).ok();
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("shroud"))
            .find(|p| p.is_file())
            .and_then(|p| p.canonicalize().ok())
    });
    match me {
        Some(me) if on_path.as_ref() != Some(&me) => {
            let s = me.to_string_lossy().into_owned();
            shlex::try_quote(&s).map_or(s.clone(), |q| q.into_owned())
        }
        _ => "shroud".to_string(),
    }
}
