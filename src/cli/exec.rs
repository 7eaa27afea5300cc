//! `exec-env` and `exec-file`: hand decrypted values to a command without
//! writing them to disk (a FIFO for exec-file unless --no-fifo).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use zeroize::Zeroizing;

use super::args::{ExecEnvArgs, ExecFileArgs};
use super::{Fail, decrypted, output_format};
use shroud::error::exit;

/// Run `cmd` and return its exit code (128 + signal when killed, as a
/// shell reports it), forwarding the usual signals to it meanwhile.
fn run_child(mut cmd: Command) -> Result<i32> {
    let mut child = cmd.spawn().context("could not start the command")?;
    let pid = child.id() as libc::pid_t;
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2])
            .context("could not set up signal forwarding")?;
    let handle = signals.handle();
    let forwarder = std::thread::spawn(move || {
        for sig in signals.forever() {
            // SAFETY: kill(2) with our child's pid and a valid signal number.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    });
    let status = child.wait().context("could not wait for the command")?;
    handle.close();
    let _ = forwarder.join();
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

fn shell(command: &str) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command);
    cmd
}

pub fn run_env(args: ExecEnvArgs) -> Result<i32> {
    let (vars, masks) = decrypted(
        &args.file,
        args.input_type.as_deref(),
        args.ignore_mac,
        |_, doc, edits| {
            let vars = shroud::exec::env_vars(doc, edits, args.flatten)?;
            let masks = args
                .mask
                .is_some()
                .then(|| shroud::exec::github_masks(edits));
            Ok((vars, masks))
        },
    )?;
    if let Some(m) = masks {
        super::io::write_stdout(m.as_bytes())?;
    }
    let mut cmd = shell(&args.command);
    if args.pristine {
        cmd.env_clear();
    }
    for (k, v) in &vars {
        cmd.env(k, v.as_str());
    }
    if args.same_process {
        // Replace shroud with the shell: nothing of shroud stays behind.
        let err = cmd.exec();
        return Err(anyhow::Error::new(err).context("could not run the command"));
    }
    run_child(cmd)
}

/// The file name the command sees: a plain name, never a path.
fn check_filename(name: &str) -> Result<()> {
    let p = Path::new(name);
    let plain = p.components().count() == 1
        && matches!(p.components().next(), Some(std::path::Component::Normal(_)));
    if plain {
        Ok(())
    } else {
        Err(Fail::new(
            exit::GENERIC,
            format!("--filename {name:?} must be a plain file name, not a path"),
        )
        .into())
    }
}

pub fn run_file(args: ExecFileArgs) -> Result<i32> {
    check_filename(&args.filename)?;
    let text: Zeroizing<Vec<u8>> = decrypted(
        &args.file,
        args.input_type.as_deref(),
        args.ignore_mac,
        |format, doc, edits| {
            let out = output_format(args.output_type.as_deref(), format)?;
            let text = if out != format {
                let tree = shroud::convert::tree(doc.leaves(), edits)?;
                shroud::convert::emit(&tree, out)?
            } else {
                doc.render(edits, None)?.text
            };
            Ok(Zeroizing::new(text.into_bytes()))
        },
    )?;

    // A private folder for the file or FIFO; removed when this returns.
    let dir = tempfile::Builder::new()
        .prefix(".shroud-exec-")
        .permissions(fs::Permissions::from_mode(0o700))
        .tempdir()
        .context("could not create a private temporary folder")?;
    let path = dir.path().join(&args.filename);
    let command = args.command.replace("{}", &path.to_string_lossy());

    if args.no_fifo {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(&text)?;
        drop(f);
        let code = run_child(shell(&command));
        // Remove the plaintext before anything else, whatever happened.
        let _ = fs::remove_file(&path);
        return code;
    }

    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).context("temporary path")?;
    // SAFETY: mkfifo(3) with a NUL-terminated path we own.
    if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } != 0 {
        return Err(anyhow::Error::new(std::io::Error::last_os_error())
            .context("could not create the FIFO"));
    }
    let writer_path = path.clone();
    let writer = std::thread::spawn(move || {
        // Blocks until the command opens the FIFO for reading.
        if let Ok(mut f) = OpenOptions::new().write(true).open(&writer_path) {
            let _ = f.write_all(&text);
        }
    });
    let code = run_child(shell(&command));
    if !writer.is_finished() {
        // The command never read the FIFO: open it ourselves so the writer
        // gets a reader, and then EOF/EPIPE, instead of blocking forever.
        let _reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path);
        let _ = writer.join();
    }
    code
}
