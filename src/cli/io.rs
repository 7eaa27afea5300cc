//! Reading inputs and writing outputs without ever leaving a partial file.

use std::fs::{self, File, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use super::Fail;
use shroud::error::exit;

/// Read a file, or standard input for `-`/no path.
pub fn read_input(path: Option<&Path>) -> Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    match path {
        None => {
            io::stdin()
                .read_to_end(&mut buf)
                .context("could not read standard input")?;
        }
        Some(p) => {
            let mut f = File::open(p).map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    Fail::new(
                        exit::NO_FILE_SPECIFIED,
                        format!(
                            "{}: cannot operate on a file that does not exist (check the path; \
                             `shroud edit` creates a new encrypted file)",
                            p.display()
                        ),
                    )
                    .into()
                } else {
                    anyhow::Error::new(e)
                        .context(format!("{}: could not read the file", p.display()))
                }
            })?;
            // Size the buffer up front: growing it by doubling would leave
            // copies of the (secret) content behind in freed memory.
            if let Ok(m) = f.metadata() {
                buf.reserve_exact(m.len() as usize + 1);
            }
            f.read_to_end(&mut buf)
                .with_context(|| format!("{}: could not read the file", p.display()))?;
        }
    }
    Ok(buf)
}

/// Write `data` to `path` atomically: a temporary file in the same
/// directory, flushed to disk, then renamed over the target, and the
/// directory synced. An existing file keeps its permissions; a new one is
/// created 0600, since it holds secrets (or their ciphertext).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let wrap = |e: io::Error, what: &str| {
        Fail::new(
            exit::COULD_NOT_WRITE_OUTPUT,
            format!(
                "{}: {what}: {e} (does the folder exist, and may you write to it?); nothing was written",
                path.display()
            ),
        )
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let perms = match fs::metadata(path) {
        Ok(m) => m.permissions(),
        Err(_) => Permissions::from_mode(0o600),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".shroud-")
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| wrap(e, "could not create a temporary file beside it"))?;
    tmp.write_all(data)
        .map_err(|e| wrap(e, "could not write"))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| wrap(e, "could not flush to disk"))?;
    fs::set_permissions(tmp.path(), perms).map_err(|e| wrap(e, "could not set permissions"))?;
    tmp.persist(path)
        .map_err(|e| wrap(e.error, "could not replace the file"))?;
    if let Ok(d) = File::open(dir) {
        // Make the rename itself durable; not all filesystems support it.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Write to standard output; a closed pipe is not an error worth a message.
pub fn write_stdout(data: &[u8]) -> Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(data).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("could not write to standard output"),
    }
}
