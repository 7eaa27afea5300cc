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
    if buf.len() >= shroud::stream::STREAM_FROM {
        super::huge_pages(true);
    }
    Ok(buf)
}

/// The name prefix of the temporary files [`write_atomic`] creates beside
/// the target. A process killed between creating and renaming one (SIGKILL,
/// power loss) cannot remove it: such a leftover is recognisable by this
/// prefix, is mode 0600, holds what was being written (ciphertext, or the
/// plaintext of an in-place decrypt), and is safe to delete.
pub const TEMP_PREFIX: &str = ".shroud-tmp-";

/// Write `data` to `path` so that at every moment, even if the process is
/// killed or the machine loses power, `path` is either the complete old
/// file or the complete new one:
/// 1. a temporary file `.shroud-tmp-*` in the same directory (so the rename
///    cannot cross filesystems), created 0600;
/// 2. the data written, the old file's permissions and owner copied onto it
///    (the owner only as root, the only user allowed to give files away),
///    and everything flushed to disk (`fsync`);
/// 3. renamed over `path` (atomic on POSIX filesystems);
/// 4. the directory flushed, so the rename itself survives a crash.
///
/// A new file is created 0600, since it holds secrets (or their ciphertext).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    write_atomic_with(path, &mut |w| w.write_all(data))
}

/// [`write_atomic`] of what `produce` writes, which goes to the temporary
/// file through a buffer as it comes, so the output is never held whole in
/// memory. If `produce` fails, the temporary file is removed and `path` is
/// left as it was.
pub fn write_atomic_with(
    path: &Path,
    produce: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
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
    let old = fs::metadata(path).ok();
    let perms = old
        .as_ref()
        .map_or_else(|| Permissions::from_mode(0o600), |m| m.permissions());
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .permissions(Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| wrap(e, "could not create a temporary file beside it"))?;
    {
        let mut w = WipingBuf::new(tmp.as_file_mut());
        produce(&mut w)
            .and_then(|_| w.flush())
            .map_err(|e| wrap(e, "could not write"))?;
    }
    if let Some(old) = &old {
        keep_owner(tmp.as_file(), old).map_err(|e| wrap(e, "could not keep the file's owner"))?;
    }
    tmp.as_file()
        .set_permissions(perms)
        .map_err(|e| wrap(e, "could not set permissions"))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| wrap(e, "could not flush to disk"))?;
    tmp.persist(path)
        .map_err(|e| wrap(e.error, "could not replace the file"))?;
    if let Ok(d) = File::open(dir) {
        // Make the rename itself durable; not all filesystems support it.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Give the new file the old one's owner and group. Only root may give a
/// file to another user; anyone else's new file is theirs already, or the
/// change is not theirs to make, so a refusal is not an error for them.
fn keep_owner(file: &File, old: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let new = file.metadata()?;
    if new.uid() == old.uid() && new.gid() == old.gid() {
        return Ok(());
    }
    match std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())) {
        // SAFETY: geteuid has no preconditions and cannot fail.
        Err(e) if unsafe { libc::geteuid() } == 0 => Err(e),
        _ => Ok(()),
    }
}

/// Write to standard output; a closed pipe is not an error worth a message.
pub fn write_stdout(data: &[u8]) -> Result<()> {
    write_stdout_with(&mut |w| w.write_all(data))
}

/// [`write_stdout`] of what `produce` writes, through a buffer, as it comes.
pub fn write_stdout_with(produce: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let mut out = io::stdout().lock();
    let mut w = WipingBuf::new(&mut out);
    match produce(&mut w).and_then(|_| w.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("could not write to standard output"),
    }
}

/// [`write_stdout_with`] for output that may still fail half-way (a
/// streamed encryption can find a bad piece late): it goes to an unnamed
/// temporary file first (0600, unlinked from the start, so nothing is left
/// behind on any exit), and only a complete output is copied to standard
/// output. For ciphertext only: plaintext never goes to disk this way.
pub fn write_stdout_spooled(
    mut spool: File,
    produce: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    use std::io::{Seek, SeekFrom};
    {
        let mut w = io::BufWriter::with_capacity(WRITE_CHUNK, &mut spool);
        produce(&mut w).and_then(|_| w.flush())?;
    }
    spool
        .seek(SeekFrom::Start(0))
        .context("could not read back the temporary file")?;
    let mut out = io::stdout().lock();
    match io::copy(&mut spool, &mut out).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map(|_| ()).context("could not write to standard output"),
    }
}

/// How much output is gathered before each write to the destination.
const WRITE_CHUNK: usize = 256 * 1024;

/// A write buffer that is wiped when dropped, since plaintext passes
/// through it (`std::io::BufWriter` leaves its buffer in freed memory).
/// Writes of a chunk or more go straight through.
struct WipingBuf<W: Write> {
    inner: W,
    buf: Zeroizing<Vec<u8>>,
}

impl<W: Write> WipingBuf<W> {
    fn new(inner: W) -> WipingBuf<W> {
        WipingBuf {
            inner,
            buf: Zeroizing::new(Vec::with_capacity(WRITE_CHUNK)),
        }
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.inner.write_all(&self.buf)?;
        // Vec::clear keeps the capacity, so the bytes stay until the drop
        // (or the next chunk) overwrites them; wipe them now.
        zeroize::Zeroize::zeroize(&mut *self.buf);
        Ok(())
    }
}

impl<W: Write> Write for WipingBuf<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > WRITE_CHUNK {
            self.flush_buf()?;
            if data.len() >= WRITE_CHUNK {
                self.inner.write_all(data)?;
                return Ok(data.len());
            }
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.inner.flush()
    }
}
