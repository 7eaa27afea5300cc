//! Command-line parsing and the edge of the program: printing and exit codes.

mod args;
mod batch;
mod decrypt;
mod diff;
mod docgen;
mod edit;
mod encrypt;
mod exec;
mod extract;
mod git;
mod groups;
mod io;
mod keygen;
mod keyring;
mod keys_cmd;
mod reopen;
mod set;
mod status;
mod tty;
pub mod ui;
mod unset;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use shroud::error::{FormatError, exit};
use shroud::formats::Format;

/// An error that carries its own exit code and message.
#[derive(Debug)]
pub struct Fail {
    pub code: i32,
    pub message: String,
}

impl Fail {
    pub fn new(code: i32, message: impl Into<String>) -> Fail {
        Fail {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Fail {}

/// The SOPS exit code for an error anywhere in the chain.
fn exit_code(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Fail>() {
            return f.code;
        }
        if let Some(e) = cause.downcast_ref::<shroud::error::Error>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<FormatError>() {
            return e.exit_code();
        }
    }
    exit::GENERIC
}

/// Kept for the command modules (and other branches) that import
/// `super::warn`; see `ui` for the conventions.
pub use ui::warn;

/// Whether files without `shroud_auth` are refused: `--strict` or
/// `shroud: {strict: true}` in the `.sops.yaml` that applies. Set once in
/// [`main`] before a command that decrypts runs.
static STRICT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// The decrypt options every command uses: `--ignore-mac` as given, and
/// strict mode as [`main`] settled it.
pub fn decrypt_options(ignore_mac: bool) -> shroud::engine::DecryptOptions {
    shroud::engine::DecryptOptions {
        ignore_mac,
        require_auth: STRICT.get().copied().unwrap_or(false),
    }
}

/// Whether memory faulted in from now on may come as transparent huge
/// pages. The allocator asks for them, and a whole-file command on a big
/// input runs faster with them (a fifth fewer page faults' worth of CPU),
/// but every 2 MiB page that is only partly used counts in full towards
/// peak memory: most of a small or streamed command's peak (issue 2:
/// under 5x the input). So the process starts without them (`main`),
/// reading a big input turns them on ([`io::read_input`]), and a command
/// that then streams it turns them off again. Linux only.
pub fn huge_pages(on: bool) {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a
    // flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, libc::c_ulong::from(!on), 0, 0, 0);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = on;
}

/// Whether strict mode is on, as [`main`] settled it.
pub fn strict() -> bool {
    STRICT.get().copied().unwrap_or(false)
}

/// Strict mode from the flag or the configuration file.
fn strict_mode(flag: bool, config_flag: Option<&Path>) -> anyhow::Result<bool> {
    if flag {
        return Ok(true);
    }
    let cwd = std::env::current_dir()?;
    match shroud::config::find(config_flag, &cwd) {
        Some(path) => Ok(shroud::config::strict_setting(&path)?),
        None => Ok(false),
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    ui::init(cli.quiet, cli.verbose);
    let decrypts = !matches!(
        cli.command,
        Command::Encrypt(_)
            | Command::Filestatus(_)
            | Command::Keygen(_)
            | Command::Completions(_)
            | Command::Man(_)
    );
    if decrypts {
        match strict_mode(cli.strict, cli.config.as_deref()) {
            Ok(strict) => {
                let _ = STRICT.set(strict);
            }
            Err(err) => {
                ui::error(&format!("{err:#}"));
                return ExitCode::from(exit::ERROR_READING_CONFIG as u8);
            }
        }
    }
    let result = match cli.command {
        Command::Encrypt(a) => encrypt::run(a, cli.config.as_deref()).map(|()| 0),
        Command::Decrypt(a) => decrypt::run(a).map(|()| 0),
        Command::Edit(a) => edit::run(a, cli.config.as_deref()),
        Command::Set(a) => set::run(a),
        Command::Unset(a) => unset::run(a),
        Command::ExecEnv(a) => exec::run_env(a),
        Command::ExecFile(a) => exec::run_file(a),
        Command::Rotate(a) => keys_cmd::run_rotate(a),
        Command::Updatekeys(a) => keys_cmd::run_updatekeys(a, cli.config.as_deref()),
        Command::Filestatus(a) => keys_cmd::run_filestatus(a),
        Command::Groups(a) => groups::run(a),
        Command::Status(a) => status::run(a, cli.config.as_deref()),
        Command::Keygen(a) => keygen::run(a).map(|()| 0),
        Command::Diff(a) => diff::run(a),
        Command::Git(a) => git::run(a, cli.config.as_deref()),
        Command::Completions(a) => docgen::completions(a).map(|()| 0),
        Command::Man(a) => docgen::man(a).map(|()| 0),
    };
    match result {
        // A child's exit code passes through (exec-env, exec-file).
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) => {
            ui::error(&format!("{err:#}"));
            ExitCode::from(u8::try_from(exit_code(&err)).unwrap_or(1))
        }
    }
}

/// Work out the input format from `--input-type`, the file name, or
/// `--filename-override`; unknown extensions are binary, as in sops.
pub fn input_format(
    explicit: Option<&str>,
    path: Option<&Path>,
    name_override: Option<&Path>,
) -> anyhow::Result<Format> {
    if let Some(name) = explicit {
        return Format::from_name(name).ok_or_else(|| {
            Fail::new(
                exit::GENERIC,
                format!(
                    "unknown --input-type {name:?} (expected one of {})",
                    Format::names()
                ),
            )
            .into()
        });
    }
    match name_override.or(path) {
        Some(p) => Ok(Format::from_path(p)),
        None => Err(Fail::new(
            exit::CONFLICTING_PARAMETERS,
            "reading standard input needs --input-type or --filename-override to know the format",
        )
        .into()),
    }
}

/// The output format: `--output-type` or the input's. Structured formats
/// convert into each other; binary files stay binary.
pub fn output_format(explicit: Option<&str>, input: Format) -> anyhow::Result<Format> {
    let Some(name) = explicit else {
        return Ok(input);
    };
    let f = Format::from_name(name).ok_or_else(|| {
        Fail::new(
            exit::GENERIC,
            format!(
                "unknown --output-type {name:?} (expected one of {})",
                Format::names()
            ),
        )
    })?;
    if f != input && (f == Format::Binary || input == Format::Binary) {
        return Err(Fail::new(
            exit::GENERIC,
            format!("cannot convert {input} to {f}: binary files are stored whole"),
        )
        .into());
    }
    Ok(f)
}

/// Decrypt a structured file and hand its document and decrypted leaves to
/// `f`; warnings are printed on the way.
pub fn decrypted<T>(
    path: &Path,
    input_type: Option<&str>,
    ignore_mac: bool,
    f: impl FnOnce(
        Format,
        &dyn shroud::document::Document,
        &[shroud::document::Replacement],
    ) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    use anyhow::Context;
    let name = path.display().to_string();
    let format = input_format(input_type, Some(path), None)?;
    if format == Format::Binary {
        return Err(Fail::new(
            exit::GENERIC,
            format!("{name}: a binary file has no values to hand over; use --input-type"),
        )
        .into());
    }
    let input = io::read_input(Some(path))?;
    let text = as_text(&input, &name)?;
    let doc = parse_encrypted(format, text, &name)?;
    let meta = shroud::engine::metadata(doc.as_ref()).with_context(|| name.clone())?;
    let key = keyring::data_key(&meta).with_context(|| name.clone())?;
    let options = decrypt_options(ignore_mac);
    let (edits, warnings) = shroud::engine::decrypt_leaves(doc.as_ref(), &meta, &key, options)
        .with_context(|| name.clone())?;
    for w in &warnings {
        warn(&format!("{name}: {w}"));
    }
    f(format, doc.as_ref(), &edits).with_context(|| name.clone())
}

/// Parse a file that should already be encrypted. sops exits 1 when it
/// cannot parse such a file (2 is for plaintext input to `encrypt`), so
/// scripts checking for 2 only see it for plaintext.
pub fn parse_encrypted<'a>(
    format: Format,
    text: &'a str,
    name: &str,
) -> anyhow::Result<Box<dyn shroud::document::Document + 'a>> {
    format
        .parse(text)
        .map_err(|e| Fail::new(exit::GENERIC, format!("{name}: {e}")).into())
}

/// Make sure the file about to be written passes its own `shroud_auth`.
///
/// The engine seals what the format *will* write, from the leaves and the
/// edits. That holds unless the format had to change the document's shape
/// while rendering (a YAML alias written out as a copy), which it always
/// reports as a render warning. Only then is the output parsed again and,
/// if the tag does not match, sealed over what was really written, so
/// shroud never writes a file it would refuse.
pub fn settle_auth(
    format: Format,
    out: shroud::engine::Output,
    key: &shroud::crypto::DataKey,
) -> anyhow::Result<shroud::engine::Output> {
    if out.warnings.is_empty() {
        return Ok(out);
    }
    let doc = format.parse(&out.text)?;
    let node = doc.metadata().ok_or(shroud::error::Error::NotEncrypted)?;
    let valid = matches!(
        shroud::integrity::verify(key, doc.leaves(), node),
        Ok(shroud::integrity::Status::Valid)
    );
    if valid {
        drop(doc);
        return Ok(out);
    }
    let keep = vec![shroud::document::Replacement::Keep; doc.leaves().len()];
    let mut node = doc
        .metadata()
        .cloned()
        .ok_or(shroud::error::Error::NotEncrypted)?;
    // The stored MAC is the one the engine computed for these values; only
    // its IV (the tag) changes.
    shroud::integrity::reseal(key, doc.leaves(), &keep, &mut node)?;
    let text = zeroize::Zeroizing::new(doc.render(&keep, Some(&node))?.text);
    Ok(shroud::engine::Output {
        text,
        warnings: out.warnings,
    })
}

/// Where the result goes.
pub enum Destination {
    Stdout,
    File(PathBuf),
}

/// Resolve `-i` / `--output` the way SOPS does: they exclude each other,
/// and `-i` needs a file.
pub fn destination(
    in_place: bool,
    output: Option<PathBuf>,
    input: Option<&Path>,
) -> anyhow::Result<Destination> {
    match (in_place, output, input) {
        (true, Some(_), _) => Err(Fail::new(
            exit::CONFLICTING_PARAMETERS,
            "--in-place and --output cannot be used together",
        )
        .into()),
        (true, None, None) => Err(Fail::new(
            exit::CONFLICTING_PARAMETERS,
            "--in-place needs a file, not standard input",
        )
        .into()),
        (true, None, Some(p)) => Ok(Destination::File(p.to_path_buf())),
        (false, Some(o), _) => Ok(Destination::File(o)),
        (false, None, _) => Ok(Destination::Stdout),
    }
}

pub fn write_output(dest: &Destination, data: &[u8]) -> anyhow::Result<()> {
    match dest {
        Destination::Stdout => io::write_stdout(data),
        Destination::File(p) => io::write_atomic(p, data),
    }
}

/// Write planned output ([`shroud::document::Document::plan`]) to `dest`
/// piece by piece, never assembling it whole in memory. Everything that
/// can refuse the output (span checks, the MAC, shroud_auth) has run
/// before this, so a plaintext is only written once it is verified.
pub fn write_plan(dest: &Destination, plan: &shroud::document::Plan<'_>) -> anyhow::Result<()> {
    match dest {
        Destination::Stdout => io::write_stdout_with(&mut |w| plan.write_to(w)),
        Destination::File(p) => io::write_atomic_with(p, &mut |w| plan.write_to(w)),
    }
}

/// The text of an input, which must be UTF-8 for the structured formats.
pub fn as_text<'a>(bytes: &'a [u8], name: &str) -> anyhow::Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let loc = shroud::error::Location::of(
            &String::from_utf8_lossy(&bytes[..e.valid_up_to()]),
            e.valid_up_to(),
        );
        Fail::new(
            exit::COULD_NOT_READ_INPUT,
            format!("{name}: {loc}: the file is not valid UTF-8"),
        )
        .into()
    })
}

/// How a file is named in messages.
pub fn display_name(path: Option<&Path>) -> String {
    path.map_or_else(|| "<stdin>".to_string(), |p| p.display().to_string())
}
