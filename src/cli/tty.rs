//! Asking for a passphrase on the terminal, as sops does (`age/tui.go`):
//! the prompt goes to and the answer comes from `/dev/tty`, never stdin or
//! stdout (which may carry the file), with echo off. Without a controlling
//! terminal (CI, cron, a pipe under `setsid`) nothing is asked and the
//! caller reports that no passphrase could be read.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use age::secrecy::SecretString;
use shroud::keys::Prompt;
use zeroize::{Zeroize, Zeroizing};

/// The CLI's [`Prompt`]: passphrases (of passphrase-protected identity
/// files, encrypted SSH keys, plugin PINs) on the terminal. Messages,
/// confirmations and public strings are declined as before.
pub struct TerminalPrompt;

impl Prompt for TerminalPrompt {
    fn message(&self, _: &str) {}

    fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }

    fn public_string(&self, _: &str) -> Option<String> {
        None
    }

    fn passphrase(&self, description: &str) -> Option<SecretString> {
        read_passphrase(description)
    }
}

/// Restores the terminal's settings when dropped, also on early returns.
struct EchoOff<'a> {
    tty: &'a File,
    saved: libc::termios,
}

impl Drop for EchoOff<'_> {
    fn drop(&mut self) {
        // SAFETY: a valid descriptor and a termios read from it.
        unsafe { libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSANOW, &self.saved) };
    }
}

fn read_passphrase(prompt: &str) -> Option<SecretString> {
    let mut tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it or fails.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return None;
    }
    // Not line mode: the bytes come one by one and are edited here, with
    // signals off, so that Ctrl-C reaches this loop as a byte. Echo off
    // would otherwise outlive a Ctrl-C (the default SIGINT action ends the
    // process without restoring the terminal), leaving the user's shell
    // deaf to its own typing.
    let mut quiet = saved;
    quiet.c_lflag &= !(libc::ECHO | libc::ECHOE | libc::ECHOK | libc::ICANON | libc::ISIG);
    quiet.c_cc[libc::VMIN] = 1;
    quiet.c_cc[libc::VTIME] = 0;
    write!(tty, "{prompt} ").ok()?;
    tty.flush().ok()?;
    // SAFETY: as above.
    if unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &quiet) } != 0 {
        return None;
    }
    let restore = EchoOff { tty: &tty, saved };

    let mut line = Zeroizing::new(Vec::with_capacity(128));
    let mut byte = [0u8; 1];
    let mut reader = &tty;
    loop {
        match reader.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => match byte[0] {
                b'\n' | b'\r' => break,
                // Ctrl-D on an empty line: end of input.
                0x04 if line.is_empty() => break,
                // Ctrl-C: put the terminal back, then be interrupted as
                // the user asked (the shell sees a death by SIGINT).
                0x03 => {
                    line.zeroize();
                    drop(restore);
                    let _ = writeln!(&tty);
                    // SAFETY: raising a signal with its default action.
                    unsafe { libc::raise(libc::SIGINT) };
                    return None;
                }
                // Backspace and delete: drop the last character.
                0x7f | 0x08 => {
                    while line.last().is_some_and(|b| b & 0xC0 == 0x80) {
                        line.pop();
                    }
                    line.pop();
                }
                // Ctrl-U: start again.
                0x15 => line.clear(),
                b => line.push(b),
            },
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    byte.zeroize();
    drop(restore);
    // Echo was off, so the Enter did not move the cursor.
    let _ = writeln!(&tty);
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    let text = std::str::from_utf8(&line).ok()?;
    // Exactly sized, so turning it into the secret's boxed str does not
    // reallocate and leave a copy behind.
    let mut exact = String::with_capacity(text.len());
    exact.push_str(text);
    Some(SecretString::from(exact))
}
